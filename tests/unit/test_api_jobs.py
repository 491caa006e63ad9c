"""The API's jobs on their own (no HTTP, no worker): how parts are gathered into one result,
over a real redis-server and the real queue client. A worker's answer is written the way
Celery's result backend stores it."""

from __future__ import annotations

import asyncio
import json
from typing import Any, get_args, get_type_hints

import pytest
from redis.asyncio import Redis

from api.jobs import PREFIX, ApiJobs
from api.jobs.results import MESSAGES, REASONS, describe
from api.services import create_jobs
from config import Settings
from tasks.client.listener import ResultListener
from tasks.contract import RESULT_KEY_PREFIX, TranslateFailed
from tasks.formats.errors import DocumentError, TooManyParts
from tasks.worker import document_state
from tests.support.stack import RedisServer


def answer(text: str, src: str = "en") -> dict[str, Any]:
    """What a worker stores for one translated part."""
    return {"status": "SUCCESS", "result": {"ok": True, "text": text, "src": src}}


async def jobs_on(url: str, *, flush: bool = True) -> tuple[Redis, ApiJobs, ResultListener]:
    """An API replica's jobs and listener (`flush`: on an emptied database)."""
    redis = Redis.from_url(url)
    if flush:
        await redis.flushdb()
    jobs, listener = create_jobs(Settings(redis_url=url), redis)  # type: ignore[arg-type]
    return redis, jobs, listener


async def publish(redis: Redis, listener: ResultListener, answers: dict[str, Any]) -> None:
    """Store the workers' answers, then let the listener deliver them (as after a
    restart: a sweep finds them)."""
    for task_id, meta in answers.items():
        await redis.set(RESULT_KEY_PREFIX + task_id, json.dumps({**meta, "task_id": task_id}))
    await listener.sweep()
    await listener.drain()


def test_a_job_of_several_texts_and_targets_completes_once_every_part_is_in(
    redis_server: RedisServer,
    redis_db: int,
) -> None:
    async def scenario() -> tuple[Any, Any, Any, list[bytes]]:
        redis, jobs, listener = await jobs_on(redis_server.url(redis_db))
        job_id = await jobs.submit(["one", "two"], "en", ["ru", "de"], "chat")
        first = {f"{job_id}.ru.0": answer("odin"), f"{job_id}.de.1": answer("zwei")}
        await publish(redis, listener, first)
        halfway = await jobs.status(job_id)
        rest = {f"{job_id}.ru.1": answer("dva"), f"{job_id}.de.0": answer("eins")}
        await publish(redis, listener, rest)
        done = await jobs.wait(job_id, 5)
        pending = await redis.zrange(PREFIX + "pending", 0, -1)
        await redis.aclose()
        return job_id, halfway, done, pending

    job_id, halfway, done, pending = asyncio.run(scenario())
    assert halfway == {"status": "progress", "task_id": job_id, "progress": {"done": 2, "total": 4}}
    assert done == {
        "status": "completed",
        "task_id": job_id,
        "result": {
            "source_lang": "en",
            "translations": {"ru": ["odin", "dva"], "de": ["eins", "zwei"]},
        },
    }
    assert pending == []  # every part's record answered and dropped


def test_a_waiting_request_wakes_with_the_result_this_process_finished(
    redis_server: RedisServer,
    redis_db: int,
) -> None:
    async def scenario() -> tuple[Any, Any, float]:
        redis, jobs, listener = await jobs_on(redis_server.url(redis_db))
        job_id = await jobs.submit(["hello"], "auto", ["ru"], "chat")
        waiting = asyncio.create_task(jobs.wait(job_id, 30))
        await asyncio.sleep(0.2)
        started = asyncio.get_running_loop().time()
        await publish(redis, listener, {f"{job_id}.ru.0": answer("privet", src="en")})
        done = await waiting
        took = asyncio.get_running_loop().time() - started
        stored = await jobs.status(job_id)
        await redis.aclose()
        return done, stored, took

    done, stored, took = asyncio.run(scenario())
    assert done["status"] == "completed"
    assert done["result"] == {"source_lang": "en", "translations": {"ru": ["privet"]}}
    assert stored == done  # what a later GET (or another replica) reads is the same
    assert took < 5  # woken by the result, not by the 30 s deadline


@pytest.mark.parametrize("watching", ["before", "after"])
def test_a_synchronous_call_wakes_with_a_result_another_replica_finished(
    redis_server: RedisServer, watching: str, redis_db: int
) -> None:
    """`translate` listens before queueing and reads nothing until woken: a replica that
    delivers the answer wakes it through the shared channel, and so does this process's
    watcher subscribing only after the change was published (starting, or reconnecting
    after Redis went away): subscribing makes every waiter look again."""

    async def scenario() -> tuple[Any, float]:
        redis, here, _ = await jobs_on(redis_server.url(redis_db))
        _, _, their_listener = await jobs_on(redis_server.url(redis_db), flush=False)
        if watching == "before":
            following = asyncio.create_task(here.follow())
            await asyncio.sleep(0.2)  # subscribed
        calling = asyncio.create_task(here.translate(["hello"], "en", ["ru"], "chat", seconds=30))
        job_id = await queued_job(redis)
        started = asyncio.get_running_loop().time()
        await publish(redis, their_listener, {f"{job_id}.ru.0": answer("privet")})
        if watching == "after":
            following = asyncio.create_task(here.follow())
        done = await calling
        took = asyncio.get_running_loop().time() - started
        following.cancel()
        await redis.aclose()
        return done, took

    done, took = asyncio.run(scenario())
    assert done["status"] == "completed"
    assert done["result"] == {"source_lang": "en", "translations": {"ru": ["privet"]}}
    assert took < 5  # woken by the change, not by the 30 s deadline


async def queued_job(redis: Redis) -> str:
    """The id of the one text job a call queued, once its record is saved."""
    for _ in range(100):
        pending = await redis.zrange(PREFIX + "pending", 0, -1)
        if pending:
            return str(pending[0].decode()).split(".")[0]
        await asyncio.sleep(0.05)
    raise AssertionError("no job was queued")


def test_a_watcher_that_reconnected_by_itself_makes_the_call_look_again(
    redis_server: RedisServer,
    redis_db: int,
) -> None:
    """redis-py re-subscribes a dropped pub/sub connection on its own (a Redis restart):
    a change published in between is not heard, so every waiter looks once more."""

    async def scenario() -> tuple[Any, float]:
        redis, _, _ = await jobs_on(redis_server.url(redis_db))
        # The API's own client: it retries a dropped connection (and re-subscribes).
        settings = Settings(redis_url=redis_server.url(redis_db))  # type: ignore[arg-type]
        here, _ = create_jobs(settings)
        following = asyncio.create_task(here.follow())
        await asyncio.sleep(0.2)  # subscribed
        calling = asyncio.create_task(here.translate(["hello"], "en", ["ru"], "chat", seconds=30))
        job_id = await queued_job(redis)
        # Another replica finished the job while this watcher was away: stored, and its
        # notice went to nobody.
        finished = {
            "status": "completed",
            "task_id": job_id,
            "result": {"source_lang": "en", "translations": {"ru": ["privet"]}},
        }
        await redis.set(PREFIX + "result:" + job_id, json.dumps(finished))
        started = asyncio.get_running_loop().time()
        # Drop this watcher's connection (only this database's: other tests' stay).
        for found in await redis.client_list(_type="pubsub"):
            if found["db"] == str(redis_db):
                await redis.client_kill_filter(_id=found["id"])
        done = await calling
        took = asyncio.get_running_loop().time() - started
        following.cancel()
        await here.redis.aclose()
        await redis.aclose()
        return done, took

    done, took = asyncio.run(scenario())
    assert done["status"] == "completed"
    assert done["result"] == {"source_lang": "en", "translations": {"ru": ["privet"]}}
    assert took < 10  # woken by the re-subscription, not by the 30 s deadline


def test_the_wording_covers_every_failure_a_worker_can_send() -> None:
    """Every `error` code of the contract and every document `reason` (read from their
    definitions, so a new one fails here until it is worded) has words of its own."""
    codes = set(get_args(get_type_hints(TranslateFailed)["error"]))
    reasons = {error.reason for error in _subclasses(DocumentError)}
    # TooManyParts names its reason after its unit, when raised.
    units = get_args(get_type_hints(TooManyParts.__init__)["unit"])
    reasons |= {f"too_many_{unit}" for unit in units}
    # The scan sees the worker's own errors and the literal's codes.
    assert document_state.DownloadFailed.reason in reasons and "internal" in codes
    for code in codes:
        worded = describe({"ok": False, "error": code, "src": "en", "tgt": "ru"})
        assert code in MESSAGES and worded["code"] == code
    for reason in reasons:
        worded = describe({"ok": False, "error": "bad_request", "reason": reason})
        assert worded == {"code": reason, "message": REASONS[reason]}


def _subclasses(cls: type[DocumentError]) -> list[type[DocumentError]]:
    found = cls.__subclasses__()
    return [*found, *(deeper for sub in found for deeper in _subclasses(sub))]
