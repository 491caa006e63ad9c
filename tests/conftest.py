"""Session fixtures every tier shares (one stack per test process): redis-server, the tiny
models, the emulator, the worker and the bot, built with tests.support.stack; and
`redis_db`, a module's own flushed Redis database."""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.emulator import BotApiEmulator
from tests.support.procs import Proc
from tests.support.stack import (
    CONCURRENCY,
    TOKEN,
    BotHandle,
    RedisDbs,
    RedisServer,
    process_env,
    start_preloaded_worker,
    start_redis,
    worker_proc,
)
from tests.support.tiny_model import build_tiny_m2m100, build_tiny_marian


@pytest.fixture(scope="session")
def logdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where child processes write their logs."""
    return tmp_path_factory.mktemp("logs")


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory, logdir: Path) -> Iterator[RedisServer]:
    """A private redis-server on a free port."""
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not installed (apt-get install redis-server)")
    server = start_redis("redis", tmp_path_factory.mktemp("redis"), logdir, "--appendonly", "no")
    yield server
    server.proc.stop()


@pytest.fixture(scope="session")
def redis_dbs(redis_server: RedisServer) -> RedisDbs:
    """The session server's databases other than the stack's (0), handed out per module."""
    return RedisDbs(redis_server)


@pytest.fixture(scope="module")
def take_redis_db(redis_dbs: RedisDbs) -> Iterator[Callable[[], int]]:
    """Take more flushed databases for this module; all are flushed and given back after it."""
    taken: list[int] = []

    def take() -> int:
        taken.append(redis_dbs.take())
        return taken[-1]

    yield take
    for db in taken:
        redis_dbs.give_back(db)


@pytest.fixture(scope="module")
def redis_db(take_redis_db: Callable[[], int]) -> int:
    """A database of this module's own on the session's redis-server, empty at the start:
    no worker or bot of another module serves it, and it is flushed after the module."""
    return take_redis_db()


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


@pytest.fixture(scope="session")
def stack_env(
    redis_server: RedisServer, model_template: str, emulator: BotApiEmulator
) -> dict[str, str]:
    """The environment shared by the session's bot and worker (models preloaded, as in
    production, so the first inline query does not wait for a cold model)."""
    env = process_env(redis_server.url(), model_template, emulator.url)
    return {**env, "PRELOAD_PAIRS": "en-ru,ru-en,de-en"}


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
