"""How a real worker batches a burst: never more than BATCH_MAX_REQUESTS requests in one
model call, however many it holds while its child is busy."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from celery import Celery
from redis import Redis

from config import Settings
from tasks.celery_app import make_celery
from tasks.client.requests import RequestRecord, RequestStore
from tasks.contract import API_PREFIX, QUEUE_CHAT, RESULT_KEY_PREFIX, TRANSLATE, translate_args
from tasks.worker.batches import BURST_AT_MOST, Load, flush_now, forming, share
from tasks.worker.metrics import BATCH_SIZE_KEY, STATS_KEY
from tests.support.procs import wait_until
from tests.support.stack import RedisServer, process_env, wait_worker_ready, worker_proc

BURST = 300
BATCH = Settings.model_fields["batch_max_requests"].default  # the default, 64


def paragraph(number: int) -> str:
    """A request of many sentences, so that a batch keeps the child busy a while and
    the rest of the burst piles up in the worker meanwhile."""
    return " ".join(f"Request {number} says sentence {i} about the weather." for i in range(30))


@pytest.mark.e2e
def test_a_burst_is_translated_in_batches_of_at_most_batch_max_requests(
    redis_server: RedisServer, model_template: str, logdir: Path, redis_db: int
) -> None:
    client, env, app = _fresh(redis_server, redis_db, model_template)
    proc = worker_proc("worker-batches", env, logdir, concurrency=1).start()
    try:
        wait_worker_ready(redis_server.url(redis_db), proc)
        started = time.monotonic()
        keys = [
            RESULT_KEY_PREFIX
            + app.send_task(
                TRANSLATE, args=translate_args(paragraph(i), "en", "ru"), queue=QUEUE_CHAT
            ).id
            for i in range(BURST)
        ]
        wait_until(lambda: client.exists(*keys) == BURST, 240, f"{BURST} results")
        took = time.monotonic() - started
        # A batch is counted just after its answers are stored: the last one a moment later.
        wait_until(
            lambda: int(client.hget(STATS_KEY, "requests") or 0) >= BURST, 30, "the last count"
        )
        sizes = {k.decode(): int(v) for k, v in client.hgetall(BATCH_SIZE_KEY).items()}
        stats = {k.decode(): int(v) for k, v in client.hgetall(STATS_KEY).items()}
        answers = [json.loads(raw) for raw in client.mget(keys)]
    finally:
        proc.stop()
    assert stats["requests"] == BURST, stats
    # Every result is a translation (not an error from an oversized batch).
    assert all(a["status"] == "SUCCESS" and a["result"]["ok"] for a in answers)
    over = {le: n for le, n in sizes.items() if le in ("128.0", "+Inf")}
    assert not over, f"batches over {BATCH} requests: {over} (all sizes: {sizes}, {took:.1f} s)"
    # The child was kept busy: most requests waited for a full batch.
    assert sizes.get(f"{float(BATCH)}", 0) >= 2, sizes


@pytest.mark.e2e
def test_a_request_that_finds_a_child_idle_is_not_held_for_the_batch_wait(
    redis_server: RedisServer, model_template: str, logdir: Path, redis_db: int
) -> None:
    client, env, app = _fresh(redis_server, redis_db, model_template)
    # The knob under test, far longer than a translation: an idle worker must not wait it.
    env["BATCH_WAIT_MS"] = "4000"
    proc = worker_proc("worker-no-wait", env, logdir, concurrency=1).start()
    try:
        wait_worker_ready(redis_server.url(redis_db), proc)
        took = []
        for i in range(3):  # one at a time, each to an idle worker
            started = time.monotonic()
            task = app.send_task(
                TRANSLATE, args=translate_args(f"Hello {i}.", "en", "ru"), queue=QUEUE_CHAT
            )
            wait_until(
                lambda t=task.id: client.exists(RESULT_KEY_PREFIX + t) == 1, 30, "the answer"
            )
            took.append(time.monotonic() - started)
    finally:
        proc.stop()
    assert max(took) < 2.0, took  # well under BATCH_WAIT_MS


@pytest.mark.e2e
def test_a_backlog_that_finds_the_worker_idle_is_batched_from_its_first_request(
    redis_server: RedisServer, model_template: str, logdir: Path, redis_db: int
) -> None:
    client, env, app = _fresh(redis_server, redis_db, model_template)
    # 30 requests queued while no worker runs (a worker restarted under load): the first
    # reaches the idle worker with the other 29 queued behind it.
    with app.producer_or_acquire() as producer, producer.batch(64):
        ids = [
            app.send_task(
                TRANSLATE,
                args=translate_args(f"Backlog request {i} about the weather.", "en", "ru"),
                queue=QUEUE_CHAT,
                producer=producer,
            ).id
            for i in range(30)
        ]
    # Two children, as a 2-core host runs by default.
    proc = worker_proc("worker-idle-backlog", env, logdir, concurrency=2).start()
    try:
        wait_worker_ready(redis_server.url(redis_db), proc)
        sizes = _batch_sizes(client, list(ids))
    finally:
        proc.stop()
    # The first request did not go alone (a model call for one sentence while 29 waited):
    # the backlog went to the two children as two batches of 15.
    assert sizes.get("1.0", 0) == 0, sizes
    assert sizes["count"] == 2, sizes


@pytest.mark.e2e
def test_a_burst_a_front_end_is_still_sending_is_batched_from_its_first_request(
    redis_server: RedisServer, model_template: str, logdir: Path, redis_db: int
) -> None:
    client, env, app = _fresh(redis_server, redis_db, model_template)
    proc = worker_proc("worker-sending-burst", env, logdir, concurrency=2).start()
    try:
        wait_worker_ready(redis_server.url(redis_db), proc)
        jobs = {
            uuid.uuid4().hex: translate_args(f"Burst request {i} about the weather.", "en", "ru")
            for i in range(20)
        }

        async def accept() -> None:
            # The front end's side: 20 requests accepted (recorded before they are sent).
            redis = aioredis.from_url(redis_server.url(redis_db))
            store = RequestStore(redis, ttl=600, prefix=API_PREFIX)
            for task_id, args in jobs.items():
                job = {"name": TRANSLATE, "args": args, "queue": QUEUE_CHAT, "id": task_id}
                await store.save(task_id, RequestRecord("api", {}), job)
            await redis.aclose()

        asyncio.run(accept())
        # ...then sent as a front end sends a burst: the first alone (it reaches the idle
        # worker with the broker's queue empty behind it), the rest in one pipeline a
        # moment later (built first: building takes longer than the moment).
        first, *rest = jobs.items()
        with app.producer_or_acquire() as producer, producer.batch(64):
            for task_id, args in rest:
                app.send_task(
                    TRANSLATE, args=args, task_id=task_id, queue=QUEUE_CHAT, producer=producer
                )
            app.send_task(TRANSLATE, args=first[1], task_id=first[0], queue=QUEUE_CHAT)
            time.sleep(0.005)

        async def sent() -> None:
            # ...and marked sent, as the front end does once the broker has them.
            redis = aioredis.from_url(redis_server.url(redis_db))
            await RequestStore(redis, ttl=600, prefix=API_PREFIX).queued(*jobs)
            await redis.aclose()

        asyncio.run(sent())
        sizes = _batch_sizes(client, list(jobs))
    finally:
        proc.stop()
    # The first waited for the rest of the burst the front end was sending.
    assert sizes.get("1.0", 0) == 0, sizes
    assert sizes["count"] == 2, sizes


def _fresh(
    redis_server: RedisServer, redis_db: int, model_template: str
) -> tuple[Redis, dict[str, str], Celery]:
    """An emptied database, a worker's environment for it (en-ru loaded at start) and a
    Celery app that sends there (no result backend: results are read as stored)."""
    client = redis_server.client(redis_db)
    client.flushdb()
    env = process_env(redis_server.url(redis_db), model_template, "http://127.0.0.1:9")
    env["PRELOAD_PAIRS"] = "en-ru"
    app = make_celery(Settings(redis_url=redis_server.url(redis_db)), results=False)  # type: ignore[arg-type]
    return client, env, app


def _batch_sizes(client: Redis, task_ids: list[str]) -> dict[str, int]:
    """The worker's batch-size histogram once every task is answered and counted."""
    keys = [RESULT_KEY_PREFIX + task_id for task_id in task_ids]
    wait_until(lambda: client.exists(*keys) == len(keys), 60, f"{len(keys)} results")
    # A batch's sizes are counted just after its results are stored.
    counted = lambda: int(float(client.hget(BATCH_SIZE_KEY, "sum") or 0))  # noqa: E731
    wait_until(lambda: counted() == len(keys), 10, f"{len(keys)} requests counted")
    return {k.decode(): int(v) for k, v in client.hgetall(BATCH_SIZE_KEY).items()}


def test_a_free_child_takes_its_share_of_all_the_work_left() -> None:
    # A burst's first two requests went to the two children one each (0.3 s a request
    # at batch 1); the first to free takes half of the 30 that gathered meanwhile...
    assert share(30, Load([(0.0, 1)], cost=0.3, slots=2, now=0.31)) == 15
    # ...and the second, freeing just after, takes the other 15, all that is left: its
    # sibling has 15 requests' work ahead of it, as much as this one will.
    assert share(15, Load([(0.31, 15)], cost=0.066, slots=2, now=0.32)) == 15
    # A big backlog is split too (the caller caps a batch at BATCH_MAX_REQUESTS).
    assert share(254, Load([], cost=0.0, slots=2, now=0.0)) == 127
    # One child, or one request: all of it.
    assert share(40, Load([], cost=0.066, slots=1, now=0.0)) == 40
    assert share(1, Load([(0.0, 64)], cost=0.066, slots=2, now=0.0)) == 1
    # A sibling far into a long batch leaves more to this one than to itself.
    assert share(10, Load([(0.0, 64)], cost=0.066, slots=2, now=4.0)) == 7
    # A burst of 32: the first went alone to one child (0.3 s at batch 1, though requests
    # cost 0.066 s each in a batch); the free child, taking the other 31 once they are in,
    # counts the sibling's call as the 4 requests' work it still is, not as 1: it takes 18,
    # and the sibling, freeing at 0.3 s, the 13 left; both finish at about the same time.
    assert share(31, Load([(0.0, 1)], cost=0.066, slots=2, now=0.06, single=0.3)) == 18
    assert share(31, Load([(0.0, 1)], cost=0.066, slots=2, now=0.06)) == 16


def test_a_lone_request_under_load_gathers_rather_than_costing_a_model_call_alone() -> None:
    # An idle worker: at once, however little waits...
    assert flush_now(1, Load([], cost=0.066, slots=2, now=0.0))
    # ...unless a burst was queued behind the first request (32 in all): it gathers
    # until all of it is in (or the timer finds arrivals stopped, see `forming`).
    assert not flush_now(1, Load([], cost=0.066, slots=2, now=0.0, burst=32))
    assert not flush_now(31, Load([], cost=0.066, slots=2, now=0.0, burst=32))
    assert flush_now(32, Load([], cost=0.066, slots=2, now=0.0, burst=32))
    # A sibling halfway through 32 requests (about 15 requests' work left): one request
    # would be a whole model call for one sentence; it waits for the tick or for more...
    assert not flush_now(1, Load([(0.0, 32)], cost=0.066, slots=2, now=1.1))
    assert not flush_now(8, Load([(0.0, 32)], cost=0.066, slots=2, now=1.1))
    # ...and goes at once when what waits is the free child's fair share of all the work.
    assert flush_now(16, Load([(0.0, 32)], cost=0.066, slots=2, now=1.1))
    # A sibling about to finish leaves the free child little more than what waits.
    assert flush_now(2, Load([(0.0, 32)], cost=0.066, slots=2, now=2.1))
    # A sibling's batch of one is the whole call (0.3 s), not one request's 0.066 s: a
    # burst's second request waits for more rather than costing the free child a call.
    assert not flush_now(1, Load([(0.0, 1)], cost=0.066, slots=2, now=0.01, single=0.3))
    assert flush_now(1, Load([(0.0, 1)], cost=0.066, slots=2, now=0.01))
    # A sibling's batch long past its expected end (its callback lost with a broker
    # connection, and maybe the flush timer too): arrivals still go to the free child.
    assert flush_now(1, Load([(0.0, 32)], cost=0.066, slots=2, now=600.0, single=0.3))
    # Every child busy: they gather (a child that frees takes them, or the tick does).
    assert not flush_now(40, Load([(0.0, 32), (0.5, 32)], cost=0.066, slots=2, now=1.0))
    # One child (a GPU worker's layout): at once when it is free, else gather.
    assert flush_now(1, Load([], cost=0.066, slots=1, now=0.0))
    assert not flush_now(1, Load([(0.0, 4)], cost=0.066, slots=1, now=0.1))


def test_a_batch_forms_while_a_burst_is_still_arriving() -> None:
    wait, single = 0.020, 0.3  # BATCH_WAIT_MS; a batch of one's seconds
    # A sibling busy and requests still coming in (the last 2 ms ago): hold them...
    assert forming(
        8,
        Load([(0.0, 1)], cost=0.066, slots=2, now=0.0, single=single),
        quiet=0.002,
        oldest=0.050,
        wait=wait,
    )
    # ...until they stop coming (half of BATCH_WAIT_MS without one)...
    assert not forming(
        8,
        Load([(0.0, 1)], cost=0.066, slots=2, now=0.0, single=single),
        quiet=0.011,
        oldest=0.050,
        wait=wait,
    )
    # ...or the oldest has waited as long as a lone model call takes (BATCH_WAIT_MS
    # before the worker has timed one).
    assert not forming(
        8,
        Load([(0.0, 1)], cost=0.066, slots=2, now=0.0, single=single),
        quiet=0.002,
        oldest=0.31,
        wait=wait,
    )
    assert not forming(
        8,
        Load([(0.0, 1)], cost=0.066, slots=2, now=0.0, single=0.0),
        quiet=0.002,
        oldest=0.021,
        wait=wait,
    )
    # An idle worker never holds (no wait when idle)...
    assert not forming(
        8, Load([], cost=0.066, slots=2, now=0.0, single=single), quiet=0.0, oldest=0.0, wait=wait
    )
    # ...unless its first request found a burst behind it (32 in all): it holds what
    # arrives while the burst keeps coming (a front end sends it in groups, up to
    # BATCH_WAIT_MS apart), until all of it is in, however long that takes (its size
    # bounds the wait), and no longer.
    idle_burst = Load([], cost=0.066, slots=2, now=0.0, single=single, burst=32)
    assert forming(20, idle_burst, quiet=0.002, oldest=0.030, wait=wait)
    assert forming(20, idle_burst, quiet=0.015, oldest=0.030, wait=wait)
    assert forming(20, idle_burst, quiet=0.002, oldest=0.31, wait=wait)
    assert not forming(32, idle_burst, quiet=0.002, oldest=0.030, wait=wait)
    assert not forming(20, idle_burst, quiet=0.021, oldest=0.030, wait=wait)
    # A worker short of CPU takes the burst slowly: while the broker still holds some of
    # it, it keeps gathering, but never past BURST_AT_MOST.
    assert forming(20, idle_burst, quiet=0.050, oldest=0.080, wait=wait, queued=12)
    assert not forming(20, idle_burst, quiet=0.050, oldest=BURST_AT_MOST, wait=wait, queued=12)
    # With every child busy there is no free child to hold anything from.
    assert not forming(
        8,
        Load([(0.0, 1), (0.0, 1)], cost=0.066, slots=2, now=0.0, single=single),
        quiet=0.0,
        oldest=0.0,
        wait=wait,
    )
