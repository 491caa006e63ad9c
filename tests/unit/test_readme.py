"""README.md opens with the run and test commands, and CI runs the same test command."""

from __future__ import annotations

import re

from tests.support.procs import ROOT


def commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    return re.findall(r"```sh\n(.+?)\n```", readme)


def test_readme_opens_with_run_and_test_commands() -> None:
    run, test = commands()[:2]
    assert "tolmach run" in run
    assert "pytest" in test


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert commands()[1] in ci
