"""The queue client on its own (no Telegram, no worker): records, claims and the
`kind → deliverer` table, over a real redis-server."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from redis.asyncio import Redis

from tasks.client.answering import answered
from tasks.client.listener import ResultListener
from tasks.client.requests import RequestRecord, RequestStore
from tasks.contract import RESULT_KEY_PREFIX
from tests.support.stack import RedisServer


def test_a_record_keeps_the_front_ends_context_opaque() -> None:
    record = RequestRecord("api", {"job": "j1", "index": 2, "nested": {"a": [1]}})
    again = RequestRecord.from_json(record.to_json())
    assert again == record


def test_each_kind_goes_to_its_deliverer_and_an_unknown_kind_is_left(
    redis_server: RedisServer,
    redis_db: int,
) -> None:
    async def scenario() -> tuple[list[str], list[str], list[str], list[str]]:
        redis = Redis.from_url(redis_server.url(redis_db))
        await redis.flushdb()
        store = RequestStore(redis, ttl=60, prefix="test:")
        job = {"name": "n", "args": [], "queue": "q", "id": ""}
        for task_id, kind in (("t-known", "known"), ("t-other", "other")):
            await store.save(task_id, RequestRecord(kind, {"who": task_id}), job)
            meta = {"status": "SUCCESS", "result": {"ok": True}, "task_id": task_id}
            await redis.set(RESULT_KEY_PREFIX + task_id, json.dumps(meta))
        delivered: list[str] = []

        async def deliver(task_id: str, record: RequestRecord, meta: dict[str, Any]) -> None:
            delivered.append(f"{task_id}:{record.context['who']}:{meta['status']}")

        listener = ResultListener(redis, store, {"known": deliver})
        await listener.sweep()
        await listener.drain()
        await listener.sweep()  # a second sweep answers nothing twice
        await listener.drain()
        pending = await store.pending()
        claimed = [k.decode() for k in await redis.keys("test:claim:*")]
        # The other kind's record was released for a front end that knows it.
        free = [t for t in pending if f"test:claim:{t}" not in claimed]
        await redis.aclose()
        return delivered, pending, free, claimed

    delivered, pending, free, claimed = asyncio.run(scenario())
    assert delivered == ["t-known:t-known:SUCCESS"]
    assert pending == ["t-other"] and free == ["t-other"]
    assert claimed == ["test:claim:t-known"]  # kept until it expires: no second answer


def test_a_claim_is_taken_once_and_never_for_a_result_without_a_record(
    redis_server: RedisServer,
    redis_db: int,
) -> None:
    async def scenario() -> tuple[bool, bool, bool, list[bytes]]:
        redis = Redis.from_url(redis_server.url(redis_db))
        await redis.flushdb()
        store = RequestStore(redis, ttl=60, prefix="test:")
        job = {"name": "n", "args": [], "queue": "q", "id": ""}
        await store.save("mine", RequestRecord("known", {"who": "me"}), job)
        first = await store.claim("mine")
        second = await store.claim("mine")
        other = await store.claim("someone-elses")  # another front end's task
        claims = sorted(await redis.keys("test:claim:*"))
        await redis.aclose()
        return first is not None, second is None, other is None, claims

    first, second, other, claims = asyncio.run(scenario())
    assert first and second and other
    assert claims == [b"test:claim:mine"]  # nothing written for a result that is not ours


def test_a_request_is_forgotten_the_moment_its_deliverer_says_answered(
    redis_server: RedisServer,
    redis_db: int,
) -> None:
    """Killed after that, a front end does not answer again; failing after it, neither."""

    async def scenario() -> tuple[list[object], dict[str, int]]:
        redis = Redis.from_url(redis_server.url(redis_db))
        await redis.flushdb()
        store = RequestStore(redis, ttl=60, prefix="test:")
        job = {"name": "n", "args": [], "queue": "q", "id": ""}
        await store.save("t1", RequestRecord("known", {}), job)
        meta = {"status": "SUCCESS", "result": {"ok": True}, "task_id": "t1"}
        await redis.set(RESULT_KEY_PREFIX + "t1", json.dumps(meta))
        await answered()  # outside a delivery: nothing to mark
        seen: list[object] = []

        async def deliver(task_id: str, record: RequestRecord, meta: dict[str, Any]) -> None:
            await answered()  # its last message was taken
            seen.append(await redis.exists("test:reply:t1", "test:job:t1"))
            seen.append(await store.pending())
            raise RuntimeError("the clean-up after the send failed")

        listener = ResultListener(redis, store, {"known": deliver})
        await redis.config_resetstat()
        await listener.sweep()
        await listener.drain()
        stats = await redis.info("commandstats")
        await redis.delete("test:claim:t1")  # as if the claim had expired
        await listener.sweep()  # the failure is not retried: nothing left to answer
        await listener.drain()
        await redis.aclose()
        return seen, {
            n: int(stats.get(f"cmdstat_{n}", {}).get("calls", 0)) for n in ("exec", "eval")
        }

    seen, calls = asyncio.run(scenario())
    assert seen == [0, []]  # gone while the deliverer still ran, and delivered once
    # The claim went in a shared transaction (EXEC); the mark in a command of its own.
    assert calls == {"exec": 1, "eval": 2}
