"""Helpers for the operations tests: a worker and bots on a Redis database of their own."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

from tests.conftest import RedisServer, wait_worker_ready, worker_proc
from tests.procs import Proc, python, wait_until


def start_worker(
    name: str, env: dict[str, str], server: RedisServer, db: int, logdir: Path
) -> Proc:
    """A one-child worker on database `db` with en-ru preloaded; waits until it serves."""
    proc = launch_worker(name, env, logdir)
    wait_worker(proc, server, db)
    return proc


def launch_worker(name: str, env: dict[str, str], logdir: Path) -> Proc:
    """Start a one-child worker with en-ru preloaded (see `wait_worker`)."""
    return worker_proc(name, {**env, "PRELOAD_PAIRS": "en-ru"}, logdir, concurrency=1).start()


def wait_worker(proc: Proc, server: RedisServer, db: int) -> None:
    """Wait until a worker on database `db` answers and has its model loaded."""
    from tasks.worker.metrics import MODEL_LOADS_KEY

    wait_worker_ready(server.url(db), proc)
    client = server.client(db)
    wait_until(lambda: client.hlen(MODEL_LOADS_KEY) >= 1, 120, "the preloaded model")


def start_bot(name: str, env: dict[str, str], logdir: Path, port: int) -> Proc:
    """`python -m bot`, waiting until its HTTP server answers /health on `port`."""
    proc = Proc(name, python("-m", "bot"), env, logdir).start()
    wait_healthy(proc, port)
    return proc


def wait_healthy(proc: Proc, port: int) -> None:
    """Wait until a bot process answers /health on `port`."""

    def healthy() -> bool:
        if not proc.alive():
            raise RuntimeError(f"{proc.name} died:\n{proc.tail()}")
        return get(f"http://127.0.0.1:{port}/health")[0] == 200

    wait_until(healthy, 60, proc.name)


def get(url: str) -> tuple[int, str]:
    """GET a URL: (status, body); status 0 when nothing listens."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except OSError:
        return 0, ""


def json_lines(log: Path) -> list[dict[str, object]]:
    """The JSON objects among a log file's lines."""
    lines = log.read_text(errors="replace").splitlines()
    return [json.loads(line) for line in lines if line.startswith("{")]
