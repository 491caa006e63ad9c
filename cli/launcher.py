"""Start Tolmach's processes on one host: Redis if none is reachable, a worker, the bot."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

import redis

from cli.supervise import Service, supervise
from config import Settings, load_settings
from tasks.connections import uses_sentinel


def bot_command() -> list[str]:
    """Command line of the bot process."""
    return [sys.executable, "-m", "bot"]


def api_command() -> list[str]:
    """Command line of the HTTP API process."""
    return [sys.executable, "-m", "api"]


def worker_command(extra: list[str] | None = None) -> list[str]:
    """Command line of a worker process."""
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "tasks",
        "worker",
        "--loglevel",
        "INFO",
        *(extra or []),
    ]


def run_one(command: list[str]) -> int:
    """Run one process in the foreground and return its exit code.

    A SIGTERM to this launcher alone (`kill PID`, a supervisor stopping its main process)
    is passed on, so the service stops rather than living on without it. Ctrl-C reaches
    the service from the terminal itself; passing it on would make it a second Ctrl-C,
    which uvicorn and Celery read as "stop now".
    """
    proc = subprocess.Popen(command)

    def forward(signum: int, _frame: object) -> None:
        if proc.poll() is None:
            proc.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    while True:
        with contextlib.suppress(KeyboardInterrupt):
            code = proc.wait()
            # Stopped by a signal (uvicorn re-raises the SIGTERM it handled): the shell's
            # 128 + N, not a negative number that `sys.exit` would wrap around.
            return 128 - code if code < 0 else code


def redis_reachable(url: str) -> bool:
    """Whether a Redis server answers at `url`."""
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except (redis.RedisError, OSError):
        return False


def needs_private_redis(settings: Settings) -> bool:
    """Whether `tolmach run` starts its own redis-server: nothing answers at REDIS_URL
    and no REDIS_SENTINELS are set (with them the deployment has its own Redis, and a
    private one would split it)."""
    return not uses_sentinel(settings) and not redis_reachable(str(settings.redis_url))


def start_private_redis(settings: Settings) -> tuple[subprocess.Popen[bytes], str]:
    """Start `redis-server` with AOF in a data folder of ours; returns it and its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit(
            "Redis is not reachable at REDIS_URL and no redis-server is on PATH: "
            "install it (apt-get install redis-server) or set REDIS_URL"
        )
    url = urlparse(str(settings.redis_url))
    port = url.port or 6379
    data = Path(os.environ.get("TOLMACH_DATA", Path.home() / ".local/share/tolmach")) / "redis"
    data.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(data),
            "--appendonly",
            "yes",
            "--save",
            "",
        ],
        stdout=subprocess.DEVNULL,
    )
    local = f"redis://127.0.0.1:{port}{url.path or '/0'}"
    deadline = time.monotonic() + 15
    while not redis_reachable(local):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"could not start redis-server on port {port}")
        threading.Event().wait(0.1)
    return proc, local


def run_all() -> int:
    """`tolmach run`: everything for one host, stopped together by Ctrl-C: a worker, the
    HTTP API and, when BOT_TOKEN is set, the bot."""
    settings = load_settings()
    env = dict(os.environ)
    children: list[subprocess.Popen[bytes]] = []
    if needs_private_redis(settings):
        server, env["REDIS_URL"] = start_private_redis(settings)
        children.append(server)
        print(f"started a private redis-server at {env['REDIS_URL']}", file=sys.stderr)
    env["PYTHONUNBUFFERED"] = "1"  # their lines reach us (and the user) as written
    services = [
        Service("worker", worker_command(), env),
        Service("api", api_command(), env),
    ]
    if settings.bot_token is not None:
        services.append(Service("bot", bot_command(), env))
    else:
        print("BOT_TOKEN is not set: serving the HTTP API without the bot", file=sys.stderr)
    print(f"HTTP API on http://{settings.api_host}:{settings.api_port}", file=sys.stderr)
    children[:0] = [service.proc for service in services]  # stopped before Redis
    stopping = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    code = supervise(services, stopping)
    # All told at once, then waited for together: a worker whose children are still
    # loading models takes a while, and the others need not wait their turn behind it.
    services_procs = children[: len(services)]
    for proc in services_procs:
        if proc.poll() is None:
            proc.terminate()
    deadline = time.monotonic() + 30
    for proc in children:
        if proc not in services_procs and proc.poll() is None:
            proc.terminate()  # Redis last, once the services are gone
        try:
            proc.wait(max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            proc.kill()
    for service in services:
        service.drain()
    return code
