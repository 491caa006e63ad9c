"""A worker serving 100 requests for one pair loads the model exactly once."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from celery import Celery

from config import Settings
from tasks.celery_app import make_celery
from tasks.contract import TRANSLATE, translate_args
from tasks.worker.metrics import MODEL_LOADS_KEY, STATS_KEY
from tests.support.emulator import BotApiEmulator
from tests.support.procs import wait_until
from tests.support.reference import reference
from tests.support.stack import RedisServer, process_env, wait_worker_ready, worker_proc

pytestmark = pytest.mark.e2e


@pytest.fixture
def single_worker(
    redis_server: RedisServer,
    model_template: str,
    emulator: BotApiEmulator,
    logdir: Path,
    redis_db: int,
) -> Iterator[Celery]:
    redis_server.client(redis_db).flushdb()
    env = process_env(redis_server.url(redis_db), model_template, emulator.url)
    proc = worker_proc("worker-once", env, logdir, concurrency=1).start()
    try:
        wait_worker_ready(redis_server.url(redis_db), proc)
        yield make_celery(Settings(redis_url=redis_server.url(redis_db)))  # type: ignore[arg-type]
    finally:
        proc.stop()


def test_hundred_requests_one_load(
    single_worker: Celery, redis_server: RedisServer, model_template: str, redis_db: int
) -> None:
    texts = [f"Hello, world {i}" if i % 2 else "How are you today?" for i in range(100)]
    # Sent together, as a front end sends a burst (one pipeline): sent one by one, the
    # first of them found the worker idle with nothing behind it, each alone.
    with (
        single_worker.producer_or_acquire() as producer,
        producer.batch(len(texts)),
    ):
        results = [
            single_worker.send_task(
                TRANSLATE, args=translate_args(t, "en", "ru"), producer=producer
            )
            for t in texts
        ]
    answers = [r.get(timeout=120) for r in results]
    # Drop the AsyncResults while Redis still runs: their __del__ talks to it.
    del results
    gc.collect()
    folder = Path(model_template.format(src="en", tgt="ru"))
    expected = dict(zip(set(texts), reference(model_template, list(set(texts))), strict=True))
    assert [a["text"] for a in answers] == [expected[t] for t in texts]
    # The worker preloads the deployment's pairs (default); en-ru was loaded once.
    loads = {
        k.decode(): int(v)
        for k, v in redis_server.client(redis_db).hgetall(MODEL_LOADS_KEY).items()
        if k.decode().startswith(f"{folder}|")
    }
    assert len(loads) == 1, loads
    [count] = loads.values()
    assert count == 1
    # Requests sent together were translated together (celery-batches).
    stats = {
        k.decode(): int(v) for k, v in redis_server.client(redis_db).hgetall(STATS_KEY).items()
    }
    assert stats["requests"] == 100
    assert stats["batches"] <= 25, stats


def test_preload_pairs_load_before_the_first_request(
    redis_server: RedisServer,
    model_template: str,
    emulator: BotApiEmulator,
    logdir: Path,
    take_redis_db: Callable[[], int],
) -> None:
    db = take_redis_db()  # not the first test's: no worker of that test serves it
    redis_server.client(db).flushdb()
    env = {
        **process_env(redis_server.url(db), model_template, emulator.url),
        "PRELOAD_PAIRS": "en-ru, de-ru",
    }
    proc = worker_proc("worker-preload", env, logdir, concurrency=1).start()
    try:
        wait_worker_ready(redis_server.url(db), proc)
        client = redis_server.client(db)
        folder = model_template.format(src="{}", tgt="{}")

        def loaded() -> set[str]:
            return {k.decode().split("|")[0] for k in client.hkeys(MODEL_LOADS_KEY)}

        # de-ru has no direct model: its route (de-en, then en-ru) is loaded instead.
        expected = {folder.format("en", "ru"), folder.format("de", "en")}
        wait_until(lambda: loaded() == expected, 60, "preloaded models")
    finally:
        proc.stop()
