"""Durable request records: who gets the answer to which task, kept in Redis.

A record is written before its task is queued and deleted once its answer was
delivered, so a front end's restart loses nothing, and a second result for the same
task (a task that ran twice) finds no record and delivers nothing. What a record
says about where the answer goes (`context`) belongs to the front end that wrote it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import RedisError

from tasks.client.grouped import GroupedPipeline
from tasks.connections import as_text
from tasks.contract import BOT_PREFIX, unqueued_key

# The bot's keys; another front end keeps its records under a prefix of its own.
PREFIX = BOT_PREFIX
# The bot's requests still waiting for an answer (a sorted set by acceptance time).
PENDING = PREFIX + "pending"


# KEYS: the record, its claim; ARGV: the claim's seconds. The record if claimed now.
_CLAIM = """
local record = redis.call('GET', KEYS[1])
if not record then return false end
if not redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[1]) then return false end
return record
"""
# KEYS: the record, its job, the pending and unqueued sets; ARGV: the task id. The
# claim stays until it expires: a duplicate result arriving now must not find the
# record gone *and* the claim free at once.
_FORGET = """
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
return 1
"""


@dataclass(frozen=True)
class RequestRecord:
    """One accepted request.

    kind: picks the deliverer (the front end registered one per kind).
    context: the front end's own description of where the answer goes (JSON).
    accepted_at: when the request was accepted (Unix time), for latency metrics.
    """

    kind: str
    context: dict[str, Any]
    accepted_at: float = field(default_factory=time.time)

    def to_json(self) -> str:
        """The record as stored."""
        return json.dumps(
            {"kind": self.kind, "context": self.context, "accepted_at": self.accepted_at}
        )

    @classmethod
    def from_json(cls, raw: bytes | str) -> RequestRecord:
        """A stored record."""
        data = json.loads(raw)
        return cls(str(data["kind"]), dict(data["context"]), float(data["accepted_at"]))


class RequestStore:
    """Redis-backed records with claims so that only one front-end replica delivers."""

    def __init__(
        self, redis: Redis, ttl: int, *, prefix: str = PREFIX, claim_seconds: int = 15
    ) -> None:
        self.redis = redis
        self.ttl = ttl
        self.claim_seconds = claim_seconds
        self._record, self._claim, self._job = prefix + "reply:", prefix + "claim:", prefix + "job:"
        self.pending_key = prefix + "pending"
        # Accepted requests whose task may not have reached the broker yet (`unqueued`).
        self.unqueued_key = unqueued_key(prefix)
        # A burst's saves, claims and drops share round trips.
        self.grouped = GroupedPipeline(redis)

    async def save(
        self,
        task_id: str,
        record: RequestRecord,
        job: dict[str, Any],
        *,
        also: Mapping[str, str | bytes] | None = None,
    ) -> None:
        """Remember a request before its task is queued, with the task to send (`job`:
        name, args, queue, id) until `queued` says the broker has it.

        `also`: keys of the front end's own (kept as long) written in the same
        transaction, so a request costs one round trip here (shared with those that
        came in meanwhile).
        """
        now, stored, sent = time.time(), record.to_json(), json.dumps(job)

        def commands(pipe: Pipeline) -> None:
            for key, value in (also or {}).items():
                pipe.set(key, value, ex=self.ttl)
            pipe.set(self._record + task_id, stored, ex=self.ttl)
            pipe.zadd(self.pending_key, {task_id: now})
            pipe.set(self._job + task_id, sent, ex=self.ttl)
            pipe.zadd(self.unqueued_key, {task_id: now})

        await self.grouped.execute(commands)

    async def queued(self, *task_ids: str) -> None:
        """The broker has these tasks: nothing to resend if this front end dies now. A
        task itself is kept until answered, in case the broker loses it (see `job`)."""
        await self.redis.zrem(self.unqueued_key, *task_ids)

    async def job(self, task_id: str) -> dict[str, Any] | None:
        """The task sent for a request still waiting for its answer."""
        raw = await self.redis.get(self._job + task_id)
        return json.loads(raw) if raw else None

    async def unqueued(self, older_than: float) -> list[tuple[str, dict[str, Any]]]:
        """Tasks saved this long ago and never confirmed queued: their sender died in
        between.

        Sending one again is safe: the task id is the same, so a task that did reach
        the broker after all runs twice but is answered once.
        """
        ids = await self.redis.zrangebyscore(self.unqueued_key, "-inf", time.time() - older_than)
        found = []
        for task_id in map(as_text, cast("list[bytes]", ids)):
            raw = await self.redis.get(self._job + task_id)
            if raw is None:
                await self.redis.zrem(self.unqueued_key, task_id)
            else:
                found.append((task_id, json.loads(raw)))
        return found

    async def claim(self, task_id: str) -> RequestRecord | None:
        """Take the right to answer `task_id`; None if answered or being answered."""
        # One round trip, and no claim written for a result that is not ours.
        keys = [self._record + task_id, self._claim + task_id]
        # EVAL, not EVALSHA: in a transaction a script flushed by a Redis restart would
        # fail every claim of the group (NOSCRIPT) instead of being loaded again.
        (raw,) = await self.grouped.execute(
            lambda pipe: pipe.eval(_CLAIM, len(keys), *keys, self.claim_seconds)
        )
        return RequestRecord.from_json(raw) if raw else None

    async def hold(self, task_id: str) -> None:
        """Keep a claim while its delivery still works (a 429 wait can be long)."""
        while True:
            await asyncio.sleep(self.claim_seconds / 3)
            with contextlib.suppress(RedisError, OSError):
                await self.redis.expire(self._claim + task_id, self.claim_seconds)

    async def peek(self, task_id: str) -> RequestRecord | None:
        """The record of a task still waiting for its answer, without claiming it."""
        raw = await self.redis.get(self._record + task_id)
        return RequestRecord.from_json(raw) if raw else None

    async def release(self, task_id: str) -> None:
        """Give a claim back after a failed delivery, so a later sweep retries it."""
        await self.redis.delete(self._claim + task_id)

    async def done(self, task_id: str) -> None:
        """Forget a request whose answer was delivered (or whose task was never queued),
        in a round trip shared with what other requests hand in meanwhile."""
        keys = self._forget_keys(task_id)
        await self.grouped.execute(lambda pipe: pipe.eval(_FORGET, len(keys), *keys, task_id))

    async def answered(self, task_id: str) -> None:
        """Forget a request whose answer its recipient has just taken, as `done` does but
        in a command of its own: until it lands, a front end killed would answer the
        request again, so nothing may queue in front of it."""
        keys = self._forget_keys(task_id)
        await self.redis.eval(_FORGET, len(keys), *keys, task_id)

    def _forget_keys(self, task_id: str) -> list[str]:
        return [self._record + task_id, self._job + task_id, self.pending_key, self.unqueued_key]

    async def pending(self, older_than: float = 0.0) -> list[str]:
        """Task ids still waiting for an answer, oldest first."""
        ids = await self.redis.zrangebyscore(self.pending_key, "-inf", time.time() - older_than)
        return [as_text(i) for i in cast("list[bytes]", ids)]
