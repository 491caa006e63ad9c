"""Fixtures for the end-to-end tier: real redis-server, worker, bot and emulator."""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from cli.launcher import worker_command
from tests.emulator import BotApiEmulator
from tests.procs import Proc, free_port, python, wait_until
from tests.tiny_model import build_tiny_m2m100, build_tiny_marian

TOKEN = "123456:TEST-token_for-emulator"
NUM_BEAMS = 2


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


def wait_redis(server: RedisServer) -> None:
    """Wait until a redis-server answers PING."""

    def pong() -> bool:
        try:
            return bool(server.client().ping())
        except redis.ConnectionError:
            return False

    wait_until(pong, 20, "redis-server")


@pytest.fixture(scope="session")
def logdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where child processes write their logs."""
    return tmp_path_factory.mktemp("logs")


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory, logdir: Path) -> Iterator[RedisServer]:
    """A private redis-server on a free port."""
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not installed (apt-get install redis-server)")
    port, data = free_port(), tmp_path_factory.mktemp("redis")
    args = [
        "redis-server",
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(data),
    ]
    server = RedisServer(port, Proc("redis", args, dict(os.environ), logdir).start())
    wait_redis(server)
    yield server
    server.proc.stop()


@pytest.fixture(scope="session")
def model_template(tmp_path_factory: pytest.TempPathFactory) -> str:
    """MODEL_TEMPLATE for tiny en-ru and ru-en models built now (no downloads)."""
    root = tmp_path_factory.mktemp("models")
    build_tiny_marian(root / "opus-mt-en-ru", seed=0)
    build_tiny_marian(root / "opus-mt-ru-en", seed=1)
    build_tiny_marian(root / "opus-mt-de-en", seed=2)
    return str(root / "opus-mt-{src}-{tgt}")


@pytest.fixture(scope="session")
def m2m_model(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A tiny multilingual M2M100 model (en, ru, de, cs, ja, zh, is, ha)."""
    return str(build_tiny_m2m100(tmp_path_factory.mktemp("m2m") / "tiny-m2m100"))


@pytest.fixture(scope="session")
def emulator() -> Iterator[BotApiEmulator]:
    """The Bot API emulator on 127.0.0.1."""
    emu = BotApiEmulator(TOKEN)
    emu.start()
    yield emu
    emu.stop()


@pytest.fixture
def own_emulator() -> Iterator[BotApiEmulator]:
    """An emulator of the test's own: the session's bot must not poll it."""
    emulator = BotApiEmulator(TOKEN)
    emulator.start()
    yield emulator
    emulator.stop()


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


@pytest.fixture(scope="session")
def stack_env(
    redis_server: RedisServer, model_template: str, emulator: BotApiEmulator
) -> dict[str, str]:
    """The environment shared by the session's bot and worker (models preloaded, as in
    production, so the first inline query does not wait for a cold model)."""
    env = process_env(redis_server.url(), model_template, emulator.url)
    return {**env, "PRELOAD_PAIRS": "en-ru,ru-en,de-en"}


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


PRELOADED = 3  # models in the session stack's PRELOAD_PAIRS
CONCURRENCY = 2


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


@pytest.fixture(scope="session")
def worker(stack_env: dict[str, str], logdir: Path, redis_server: RedisServer) -> Iterator[Proc]:
    """The session's worker process."""
    proc = worker_proc("worker", stack_env, logdir, concurrency=CONCURRENCY)
    start_preloaded_worker(proc, redis_server)
    yield proc
    proc.stop()


@pytest.fixture(scope="session")
def bot(
    stack_env: dict[str, str],
    logdir: Path,
    emulator: BotApiEmulator,
    redis_server: RedisServer,
    worker: Proc,
) -> Iterator[BotHandle]:
    """The session's bot process (with a worker running)."""
    handle = BotHandle(stack_env, logdir, emulator, redis_server)
    handle.start()
    yield handle
    handle.stop()


_chat_ids = itertools.count(1000)


@pytest.fixture
def chat_id() -> int:
    """A chat id no other test uses."""
    return next(_chat_ids)
