"""How a real worker batches a burst: never more than BATCH_MAX_REQUESTS requests in one
model call, however many it holds while its child is busy."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from celery import Celery

from config import Settings
from tasks.celery_app import make_celery
from tasks.contract import QUEUE_CHAT, RESULT_KEY_PREFIX, TRANSLATE, translate_args
from tasks.worker.batches import Load, flush_now, forming, share
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
    client = redis_server.client(redis_db)
    client.flushdb()
    env = process_env(redis_server.url(redis_db), model_template, "http://127.0.0.1:9")
    env["PRELOAD_PAIRS"] = "en-ru"
    proc = worker_proc("worker-batches", env, logdir, concurrency=1).start()
    try:
        wait_worker_ready(redis_server.url(redis_db), proc)
        # No result backend here: results are read from Redis as stored.
        settings = Settings(redis_url=redis_server.url(redis_db))  # type: ignore[arg-type]
        app: Celery = make_celery(settings, results=False)
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
    client = redis_server.client(redis_db)
    client.flushdb()
    env = process_env(redis_server.url(redis_db), model_template, "http://127.0.0.1:9")
    # The knob under test, far longer than a translation: an idle worker must not wait it.
    env.update(PRELOAD_PAIRS="en-ru", BATCH_WAIT_MS="4000")
    proc = worker_proc("worker-no-wait", env, logdir, concurrency=1).start()
    try:
        wait_worker_ready(redis_server.url(redis_db), proc)
        app: Celery = make_celery(Settings(redis_url=redis_server.url(redis_db)), results=False)  # type: ignore[arg-type]
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
    # An idle worker: at once, however little waits.
    assert flush_now(1, Load([], cost=0.066, slots=2, now=0.0))
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
        Load([(0.0, 1)], cost=0.066, slots=2, now=0.0, single=single),
        quiet=0.002,
        oldest=0.050,
        wait=wait,
    )
    # ...until they stop coming (half of BATCH_WAIT_MS without one)...
    assert not forming(
        Load([(0.0, 1)], cost=0.066, slots=2, now=0.0, single=single),
        quiet=0.011,
        oldest=0.050,
        wait=wait,
    )
    # ...or the oldest has waited as long as a lone model call takes (BATCH_WAIT_MS
    # before the worker has timed one).
    assert not forming(
        Load([(0.0, 1)], cost=0.066, slots=2, now=0.0, single=single),
        quiet=0.002,
        oldest=0.31,
        wait=wait,
    )
    assert not forming(
        Load([(0.0, 1)], cost=0.066, slots=2, now=0.0, single=0.0),
        quiet=0.002,
        oldest=0.021,
        wait=wait,
    )
    # An idle worker never holds (no wait when idle); with every child busy there is no
    # free child to hold anything from.
    assert not forming(
        Load([], cost=0.066, slots=2, now=0.0, single=single), quiet=0.0, oldest=0.0, wait=wait
    )
    assert not forming(
        Load([(0.0, 1), (0.0, 1)], cost=0.066, slots=2, now=0.0, single=single),
        quiet=0.0,
        oldest=0.0,
        wait=wait,
    )
