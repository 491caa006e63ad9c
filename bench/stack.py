"""The real processes a benchmark measures, started as a deployment starts them.

The worker is started with `tolmach run`'s own command line and the deployment's
defaults: no `-c`, no TORCH_THREADS, ENGINE, NUM_BEAMS or batching settings (the tests'
environment sets some of them; they are taken out), so a benchmark measures whatever the
defaults are. Only what a benchmark needs is set: where Redis and the model are,
CACHE_TTL=0 (every request translated), and what `--engine` or DEVICE ask for.
"""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import redis

from cli.launcher import worker_command
from config import Settings
from tasks.worker.metrics import MODEL_LOADS_KEY
from tests.support.procs import Proc
from tests.support.stack import process_env

# Settings a deployment reads that the benchmark itself must set.
KEPT = frozenset({"BOT_TOKEN", "TELEGRAM_API_URL", "REDIS_URL", "MODEL_TEMPLATE", "METRICS_PORT"})
CONCURRENCY = re.compile(r"concurrency:\s*(\d+.*?)\s*$", re.MULTILINE)


class BenchError(RuntimeError):
    """The stack failed; the message names what."""


def deployment_env(
    redis_url: str, template: str, telegram_url: str, root: Path, engine: str | None
) -> dict[str, str]:
    """The environment of every process: the deployment's defaults, plus what the
    benchmark needs. DEVICE stays as this shell has it (unset: the default, auto)."""
    env = process_env(redis_url, template, telegram_url)
    for name in Settings.model_fields:
        if name.upper() not in KEPT:
            env.pop(name.upper(), None)
    env.update(
        PRELOAD_PAIRS="en-ru",
        MODEL_CACHE=str(root),  # the raw engine converted the model there (CT2)
        CACHE_TTL="0",  # every request translated, none served from the cache
    )
    if engine:
        env["ENGINE"] = engine
    if device := os.environ.get("DEVICE"):  # process_env put the tests' `cpu` there
        env["DEVICE"] = device
    return env


class Stack:
    """The started processes, with a liveness check over all of them."""

    def __init__(self) -> None:
        self.procs: list[Proc] = []

    def add(self, proc: Proc) -> Proc:
        self.procs.append(proc)
        return proc

    def check(self) -> None:
        """Raise if a process died."""
        for proc in self.procs:
            if not proc.alive():
                code = proc.popen.returncode if proc.popen else None
                raise BenchError(f"{proc.name} exited (code {code})")

    def wait(self, check: Callable[[], bool], timeout: float, what: str) -> None:
        """Poll `check` until true; fail if a process dies or `timeout` passes."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check()
            try:
                if check():
                    return
            except (OSError, redis.RedisError):
                pass
            time.sleep(0.1)
        raise BenchError(f"timed out after {timeout:.0f} s waiting for {what}")

    def logs(self, lines: int = 30) -> str:
        return "\n".join(
            f"--- {proc.name} log ({proc.log}), last {lines} lines ---\n{proc.tail(lines)}"
            for proc in self.procs
        )

    def stop(self) -> None:
        """Stop everything, the last started first; never raises."""
        for proc in reversed(self.procs):
            try:
                proc.stop(timeout=15)
            except Exception as exc:  # keep stopping the others
                print(f"could not stop {proc.name}: {exc!r}", file=sys.stderr)


def start_worker(stack: Stack, root: Path, env: dict[str, str], redis_url: str) -> Proc:
    """Start the worker as `tolmach run` does; wait until each child loaded the model."""
    worker = stack.add(Proc("worker", worker_command(), env, root).start())
    stack.wait(lambda: layout(worker) is not None, 120, "the worker's banner")
    children = int((layout(worker) or "1").split()[0])
    client = redis.Redis.from_url(redis_url)
    stack.wait(lambda: client.hlen(MODEL_LOADS_KEY) >= children, 300, "each child's model")
    return worker


def layout(worker: Proc) -> str | None:
    """The worker's layout as its Celery banner states it ("2 (prefork)"), once printed."""
    found = (
        CONCURRENCY.search(worker.log.read_text(errors="replace")) if worker.log.exists() else None
    )
    return found.group(1) if found else None


def cpu_seconds(proc: Proc) -> float:
    """User + system CPU seconds of a process and all its children, so far (a child that
    exits takes its seconds along: Celery's children live as long as the worker)."""
    assert proc.popen is not None
    root = psutil.Process(proc.popen.pid)
    total = 0.0
    for each in [root, *root.children(recursive=True)]:
        try:
            times = each.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total
