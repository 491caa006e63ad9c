"""Reliability figures: run the fault scenarios (tests/faults/test_faults.py) and print their
figures — requests, lost, duplicated, p50/p95 latency — as a Markdown table.

Not a test: `python bench/reliability.py`. Real processes throughout: redis-server, Celery
workers, the bot and the tests' Bot API emulator, with the tiny test models.
"""

from __future__ import annotations

import os
import platform
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINE = re.compile(
    r"\[figures\] (?P<scenario>.+?): requests (?P<requests>\d+), lost (?P<lost>\d+), "
    r"duplicated (?P<duplicated>\d+), latency p50 (?P<p50>[\d.]+) s, p95 (?P<p95>[\d.]+) s"
)


def main() -> None:
    """Run the scenarios and print the table (exit status: pytest's)."""
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-s",
            "-p",
            "no:cacheprovider",
            "tests/faults/test_faults.py",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    rows = [m.groupdict() for m in LINE.finditer(run.stdout)]
    cpus = os.cpu_count()
    print(f"Machine: {platform.machine()}, {cpus} CPUs, Python {platform.python_version()}")
    print("| scenario | requests | lost | duplicated | p50 (s) | p95 (s) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(
            f"| {r['scenario']} | {r['requests']} | {r['lost']} | {r['duplicated']} "
            f"| {r['p50']} | {r['p95']} |"
        )
    print(run.stdout.strip().splitlines()[-1] if run.stdout.strip() else run.stderr[-2000:])
    sys.exit(run.returncode)


if __name__ == "__main__":
    main()
