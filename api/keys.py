"""API keys, kept in Redis: `tolmach keys add|list|remove` writes them, the API reads them.

A key carries its own limits: requests per minute and characters per request (0: the
deployment's defaults).
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import asdict, dataclass

from redis.asyncio import Redis

from tasks.connections import as_text

KEYS = "tolmach:api:keys"


@dataclass(frozen=True)
class ApiKey:
    """One key and what it may do."""

    key: str
    per_minute: float = 0
    chars: int = 0
    created: float = 0.0


class KeyStore:
    """The deployment's API keys."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def add(self, *, per_minute: float = 0, chars: int = 0) -> ApiKey:
        """Create a key (random, URL-safe)."""
        key = ApiKey(secrets.token_urlsafe(24), per_minute, chars, time.time())
        await self.redis.hset(KEYS, key.key, json.dumps(asdict(key)))
        return key

    async def get(self, key: str) -> ApiKey | None:
        """A key, or None when there is no such key."""
        raw = await self.redis.hget(KEYS, key)
        return ApiKey(**json.loads(raw)) if raw is not None else None

    async def all(self) -> list[ApiKey]:
        """Every key, oldest first."""
        stored = await self.redis.hgetall(KEYS)
        keys = [ApiKey(**json.loads(v)) for v in stored.values()]
        return sorted(keys, key=lambda k: k.created)

    async def remove(self, key: str) -> bool:
        """Delete a key; False when there was none."""
        return bool(await self.redis.hdel(KEYS, as_text(key)))
