"""Originals kept for re-translation: the "other language" buttons under a translation."""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass

from redis.asyncio import Redis

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
