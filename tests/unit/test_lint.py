"""House style is checked with every test run: ruff and mypy stay clean."""

from __future__ import annotations

import subprocess
import sys

from tests.support.procs import ROOT


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True)


def test_ruff_is_clean() -> None:
    result = run("ruff", "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_is_clean() -> None:
    result = run("mypy")
    assert result.returncode == 0, result.stdout + result.stderr


def test_front_ends_never_import_model_libraries() -> None:
    code = (
        "import sys, bot.__main__, bot.run, bot.factory, cli.main, cli.launcher;"
        "import api.__main__, api.app, api.services;"
        "heavy = {'torch', 'transformers', 'ctranslate2'} & set(sys.modules);"
        "assert not heavy, heavy"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
