"""A throwaway redis-server for a benchmark run (no persistence, a free port)."""

from __future__ import annotations

import os
from pathlib import Path

import redis

from tests.support.procs import Proc, free_port, wait_until


def start_redis(folder: Path) -> tuple[Proc, str]:
    """Start redis-server with its files in `folder`; returns it and its URL."""
    port = free_port()
    server = Proc(
        "redis",
        ["redis-server", "--port", str(port), "--save", "", "--dir", str(folder)],
        dict(os.environ),
        folder,
    ).start()
    url = f"redis://127.0.0.1:{port}/0"
    wait_until(lambda: _pings(url), 20, "redis")
    return server, url


def _pings(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url).ping())
    except redis.RedisError:
        return False
