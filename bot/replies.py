"""Durable reply contexts: who gets the answer to which task, kept in Redis.

A context is written before its task is queued and deleted once its answer was
sent, so a bot restart loses nothing and a second result for the same task (a
task that ran twice) finds no context and sends nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

_CONTEXT = "tolmach:reply:"
_CLAIM = "tolmach:claim:"
_JOB = "tolmach:job:"
PENDING = "tolmach:pending"
# Accepted requests whose task may not have reached the broker yet (see `unqueued`).
UNQUEUED = "tolmach:unqueued"


@dataclass(frozen=True)
class ReplyContext:
    """Where and how to answer one accepted request.

    kind: "translate" answers every outcome; "auto" (group auto-translate) stays
        silent unless there is a translation; "inline" answers inline query `query_id`;
        "document" sends a translated file and edits the status message `status_id`.
    source_id: the stored original, for "other language" buttons (None: no buttons).
    label: shown before the translation when one message asked for several targets
        (for a document: its file name and target language, one per line).
    html: the translation is Telegram HTML (the source's formatting carried over).
    accepted_at: when the request was accepted (Unix time), for the latency metric.
    """

    chat_id: int
    message_id: int
    locale: str = "en"
    kind: str = "translate"
    source_id: str | None = None
    label: str | None = None
    html: bool = False
    query_id: str | None = None
    status_id: int | None = None
    accepted_at: float = field(default_factory=time.time)


class ReplyStore:
    """Redis-backed contexts with claims so that only one bot replica delivers."""

    def __init__(self, redis: Redis, ttl: int, claim_seconds: int = 15) -> None:
        self.redis = redis
        self.ttl = ttl
        self.claim_seconds = claim_seconds

    async def save(
        self, task_id: str, context: ReplyContext, job: dict[str, Any] | None = None
    ) -> None:
        """Remember a context before its task is queued, with the task to send (`job`:
        name, args, queue) until `queued` says the broker has it."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(_CONTEXT + task_id, json.dumps(asdict(context)), ex=self.ttl)
            pipe.zadd(PENDING, {task_id: time.time()})
            if job is not None:
                pipe.set(_JOB + task_id, json.dumps(job), ex=self.ttl)
                pipe.zadd(UNQUEUED, {task_id: time.time()})
            await pipe.execute()

    async def queued(self, task_id: str) -> None:
        """The broker has the task: nothing to resend if this bot dies now. The task
        itself is kept until answered, in case the broker loses it (see `job`)."""
        await self.redis.zrem(UNQUEUED, task_id)

    async def job(self, task_id: str) -> dict[str, Any] | None:
        """The task sent for a request still waiting for its answer."""
        raw = await self.redis.get(_JOB + task_id)
        return json.loads(raw) if raw else None

    async def unqueued(self, older_than: float) -> list[tuple[str, dict[str, Any]]]:
        """Tasks saved this long ago and never confirmed queued: their bot died in between.

        Sending one again is safe: the task id is the same, so a task that did reach
        the broker after all runs twice but is answered once.
        """
        ids = await self.redis.zrangebyscore(UNQUEUED, "-inf", time.time() - older_than)
        found = []
        for task_id in (i.decode() if isinstance(i, bytes) else str(i) for i in ids):
            raw = await self.redis.get(_JOB + task_id)
            if raw is None:
                await self.redis.zrem(UNQUEUED, task_id)
            else:
                found.append((task_id, json.loads(raw)))
        return found

    async def claim(self, task_id: str) -> ReplyContext | None:
        """Take the right to answer `task_id`; None if answered or being answered."""
        raw = await self.redis.get(_CONTEXT + task_id)
        if raw is None:
            return None
        if not await self.redis.set(_CLAIM + task_id, "1", nx=True, ex=self.claim_seconds):
            return None
        return ReplyContext(**json.loads(raw))

    async def hold(self, task_id: str) -> None:
        """Keep a claim while its delivery still works (a 429 wait can be long)."""
        while True:
            await asyncio.sleep(self.claim_seconds / 3)
            with contextlib.suppress(RedisError, OSError):
                await self.redis.expire(_CLAIM + task_id, self.claim_seconds)

    async def peek(self, task_id: str) -> ReplyContext | None:
        """The context of a task still waiting for its answer, without claiming it."""
        raw = await self.redis.get(_CONTEXT + task_id)
        return ReplyContext(**json.loads(raw)) if raw else None

    async def release(self, task_id: str) -> None:
        """Give a claim back after a failed delivery, so a later sweep retries it."""
        await self.redis.delete(_CLAIM + task_id)

    async def done(self, task_id: str) -> None:
        """Forget a context whose answer was sent (or whose task was never queued)."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(_CONTEXT + task_id, _JOB + task_id)
            pipe.zrem(PENDING, task_id)
            pipe.zrem(UNQUEUED, task_id)
            # The claim stays until it expires: a duplicate result arriving now
            # must not find the context gone *and* the claim free at once.
            await pipe.execute()

    async def pending(self, older_than: float = 0.0) -> list[str]:
        """Task ids still waiting for an answer, oldest first."""
        upto = time.time() - older_than
        ids = await self.redis.zrangebyscore(PENDING, "-inf", upto)
        return [i.decode() if isinstance(i, bytes) else str(i) for i in ids]


_SOURCE = "tolmach:source:"


@dataclass(frozen=True)
class Source:
    """An original text kept for re-translation into other languages (buttons)."""

    text: str
    src: str
    html: bool


class SourceStore:
    """Originals under short ids (callback data is limited to 64 bytes)."""

    def __init__(self, redis: Redis, ttl: int) -> None:
        self.redis = redis
        self.ttl = ttl

    async def save(self, source: Source) -> str:
        """Store an original; returns its id."""
        source_id = uuid.uuid4().hex[:16]
        await self.redis.set(_SOURCE + source_id, json.dumps(asdict(source)), ex=self.ttl)
        return source_id

    async def load(self, source_id: str) -> Source | None:
        """An original by id, or None once expired."""
        raw = await self.redis.get(_SOURCE + source_id)
        return Source(**json.loads(raw)) if raw else None
