"""Durable reply contexts: who gets the answer to which task, kept in Redis.

A context is written before its task is queued and deleted once its answer was
sent, so a bot restart loses nothing and a second result for the same task (a
task that ran twice) finds no context and sends nothing.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import asdict, dataclass

from redis.asyncio import Redis

_CONTEXT = "tolmach:reply:"
_CLAIM = "tolmach:claim:"
PENDING = "tolmach:pending"


@dataclass(frozen=True)
class ReplyContext:
    """Where and how to answer one accepted request.

    kind: "translate" answers every outcome; "auto" (group auto-translate) stays
        silent unless there is a translation; "inline" answers inline query `query_id`.
    source_id: the stored original, for "other language" buttons (None: no buttons).
    label: shown before the translation when one message asked for several targets.
    html: the translation is Telegram HTML (the source's formatting carried over).
    """

    chat_id: int
    message_id: int
    locale: str = "en"
    kind: str = "translate"
    source_id: str | None = None
    label: str | None = None
    html: bool = False
    query_id: str | None = None


class ReplyStore:
    """Redis-backed contexts with claims so that only one bot replica delivers."""

    def __init__(self, redis: Redis, ttl: int, claim_seconds: int = 60) -> None:
        self.redis = redis
        self.ttl = ttl
        self.claim_seconds = claim_seconds

    async def save(self, task_id: str, context: ReplyContext) -> None:
        """Remember a context before its task is queued."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(_CONTEXT + task_id, json.dumps(asdict(context)), ex=self.ttl)
            pipe.zadd(PENDING, {task_id: time.time()})
            await pipe.execute()

    async def claim(self, task_id: str) -> ReplyContext | None:
        """Take the right to answer `task_id`; None if answered or being answered."""
        raw = await self.redis.get(_CONTEXT + task_id)
        if raw is None:
            return None
        if not await self.redis.set(_CLAIM + task_id, "1", nx=True, ex=self.claim_seconds):
            return None
        return ReplyContext(**json.loads(raw))

    async def release(self, task_id: str) -> None:
        """Give a claim back after a failed delivery, so a later sweep retries it."""
        await self.redis.delete(_CLAIM + task_id)

    async def done(self, task_id: str) -> None:
        """Forget a context whose answer was sent (or whose task was never queued)."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(_CONTEXT + task_id)
            pipe.zrem(PENDING, task_id)
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
