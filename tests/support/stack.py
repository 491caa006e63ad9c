"""The one way tests build a stack: redis-server, worker, bot and their environment.

conftest.py's session fixtures and every module that starts processes of its own build
them from these pieces, so a stack is started the same way everywhere.
"""

from __future__ import annotations

import collections
import os
from dataclasses import dataclass
from pathlib import Path

import redis

from cli.launcher import worker_command
from tests.support.emulator import BotApiEmulator
from tests.support.ops import get
from tests.support.procs import Proc, free_port, python, wait_until

TOKEN = "123456:TEST-token_for-emulator"
NUM_BEAMS = 2
PRELOADED = 3  # models in the session stack's PRELOAD_PAIRS
CONCURRENCY = 2
# Enough that every module of a test process gets databases of its own (see RedisDbs).
DATABASES = 64


@dataclass
class RedisServer:
    """A redis-server the tests started."""

    port: int
    proc: Proc

    def url(self, db: int = 0) -> str:
        """Its URL for database `db`."""
        return f"redis://127.0.0.1:{self.port}/{db}"

    def client(self, db: int = 0) -> redis.Redis:
        """A client for database `db`."""
        return redis.Redis.from_url(self.url(db))


def redis_proc(
    name: str, port: int, data: Path, logdir: Path, *extra: str, env: dict[str, str] | None = None
) -> Proc:
    """A private redis-server on 127.0.0.1:`port` with its files in `data` and no snapshots
    (not started); `extra` are more of its options."""
    args = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    args += ["--dir", str(data), "--databases", str(DATABASES), *extra]
    return Proc(name, args, dict(os.environ) if env is None else env, logdir)


def start_redis(name: str, data: Path, logdir: Path, *extra: str) -> RedisServer:
    """Start a redis-server on a free port and wait until it answers."""
    port = free_port()
    server = RedisServer(port, redis_proc(name, port, data, logdir, *extra).start())
    wait_redis(server)
    return server


def wait_redis(server: RedisServer) -> None:
    """Wait until a redis-server answers PING."""

    def pong() -> bool:
        try:
            return bool(server.client().ping())
        except redis.ConnectionError:
            return False

    wait_until(pong, 20, "redis-server")


class RedisDbs:
    """Databases of one redis-server handed out to modules: each gets fresh ones, flushed
    before and after, so no module picks a number by hand or sees another's keys."""

    def __init__(self, server: RedisServer) -> None:
        self.server = server
        # 0 is the session stack's; one given back goes last, so a module gets a database
        # no earlier module used while there are such.
        self.free = collections.deque(range(1, DATABASES))

    def take(self) -> int:
        """A flushed database no one else holds."""
        if not self.free:
            raise RuntimeError(f"all {DATABASES - 1} test databases are in use")
        db = self.free.popleft()
        self.server.client(db).flushdb()
        return db

    def give_back(self, db: int) -> None:
        """Flush `db` and make it available again."""
        self.server.client(db).flushdb()
        self.free.append(db)


def process_env(redis_url: str, template: str, api_url: str) -> dict[str, str]:
    """Environment for bot and worker processes."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "REDIS_", "MODEL_"))}
    env.update(
        BOT_TOKEN=TOKEN,
        TELEGRAM_API_URL=api_url,
        REDIS_URL=redis_url,
        MODEL_TEMPLATE=template,
        DEVICE="cpu",
        NUM_BEAMS=str(NUM_BEAMS),
        TORCH_THREADS="1",
        MAX_TEXT_CHARS="12000",
        # Small document limits and chunks: several chunks, progress and limits testable.
        DOCUMENT_MAX_BYTES="1000000",
        DOCUMENT_MAX_CHARS="60000",
        DOCUMENT_CHUNK_CHARS="300",
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        PYTHONUNBUFFERED="1",
        METRICS_PORT="0",  # tests that scrape metrics pick a free port themselves
        WEBAPP_URL="https://tolmach.example/app",  # the Mini App's menu button is set
    )
    return env


def worker_proc(name: str, env: dict[str, str], logdir: Path, concurrency: int = 2) -> Proc:
    """A real `celery -A tasks worker` process."""
    args = worker_command(
        [
            "-P",
            "prefork",
            "-c",
            str(concurrency),
            "-n",
            f"{name}@%h",
            "--without-gossip",
            "--without-mingle",
        ]
    )
    return Proc(name, args, env, logdir)


def wait_worker_ready(redis_url: str, proc: Proc) -> None:
    """Wait until the worker answers a control ping."""
    from config import Settings
    from tasks.celery_app import make_celery

    app = make_celery(Settings(redis_url=redis_url))  # type: ignore[arg-type]

    def answers() -> bool:
        if not proc.alive():
            raise RuntimeError(f"worker died:\n{proc.tail()}")
        return bool(app.control.ping(timeout=0.5))

    wait_until(answers, 60, "the worker")


def start_preloaded_worker(proc: Proc, server: RedisServer) -> None:
    """(Re)start the session worker and wait until every child preloaded its models."""
    from tasks.worker.metrics import MODEL_LOADS_KEY

    client = server.client()
    client.delete(MODEL_LOADS_KEY)
    proc.start()
    wait_worker_ready(server.url(), proc)
    wait_until(
        lambda: client.hlen(MODEL_LOADS_KEY) >= PRELOADED * CONCURRENCY, 120, "preloaded models"
    )


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


class BotHandle:
    """The bot process, restartable by tests."""

    def __init__(
        self, env: dict[str, str], logdir: Path, emulator: BotApiEmulator, server: RedisServer
    ) -> None:
        self.env, self.logdir, self.emulator, self.server = env, logdir, emulator, server
        self.proc: Proc | None = None

    def start(self) -> None:
        """Start `python -m bot` and wait until it polls and listens."""
        polls = len(self.emulator.calls("getUpdates"))
        self.proc = Proc("bot", python("-m", "bot"), self.env, self.logdir).start()
        client = self.server.client()

        def ready() -> bool:
            if self.proc is None or not self.proc.alive():
                raise RuntimeError(f"bot died:\n{self.proc.tail() if self.proc else ''}")
            listening = int(client.execute_command("PUBSUB", "NUMPAT")) > 0
            return listening and len(self.emulator.calls("getUpdates")) > polls

        wait_until(ready, 60, "the bot")

    def stop(self) -> None:
        """Stop it gracefully."""
        if self.proc is not None:
            self.proc.stop()


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
