"""API keys, kept in Redis: `tolmach keys add|list|remove` writes them, the API reads them.

Only a key's SHA-256 digest is stored: a read of Redis (a backup, a replica) gives
no key that works. A key carries its own limits: requests per minute, characters
per request (0: the deployment's defaults) and characters per calendar month (UTC;
0: no quota), counted in Redis for every dialect the key is used with. `id` (the
digest's first 12 hex digits) names a key in listings and logs.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from dataclasses import asdict, dataclass

from fastapi import HTTPException
from redis.asyncio import Redis

from tasks.connections import as_text
from tasks.contract import unusable

KEYS = "tolmach:api:keys"
# Characters a key spent in a month: one counter per key and month, gone after it.
SPENT = "tolmach:api:spent:"
MONTH_TTL = 40 * 86_400
ID_LENGTH = 12
# Adds the characters unless that passes the quota (ARGV[2]; 0: none), atomically:
# concurrent requests cannot both slip under it. -1: refused.
_SPEND = """
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local quota = tonumber(ARGV[2])
if quota > 0 and used + tonumber(ARGV[1]) > quota then return -1 end
local total = redis.call('INCRBY', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return total
"""


class QuotaExceeded(HTTPException):
    """A key's characters this month would pass its quota: 456, as DeepL answers."""

    def __init__(self, quota: int) -> None:
        super().__init__(456, f"Quota exceeded: {quota} characters per month for this key")


@dataclass(frozen=True)
class ApiKey:
    """One key (by its digest) and what it may do."""

    digest: str
    per_minute: float = 0
    chars: int = 0
    created: float = 0.0
    per_month: int = 0

    @property
    def id(self) -> str:
        """The key's public name: the start of its digest."""
        return self.digest[:ID_LENGTH]


def digest_of(key: str) -> str:
    """The stored form of a key."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


class KeyStore:
    """The deployment's API keys."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def add(
        self, *, per_minute: float = 0, chars: int = 0, per_month: int = 0
    ) -> tuple[str, ApiKey]:
        """Create a key (random, URL-safe); returns it (shown once) and its record."""
        secret = secrets.token_urlsafe(24)
        key = ApiKey(digest_of(secret), per_minute, chars, time.time(), per_month)
        await self.redis.hset(KEYS, key.digest, json.dumps(asdict(key)))
        return secret, key

    async def get(self, secret: str) -> ApiKey | None:
        """The key `secret` is, or None when there is no such key."""
        digest = digest_of(secret)
        raw = await self.redis.hget(KEYS, digest)
        if raw is None:
            if unusable(secret):  # a lone surrogate: no key was ever stored as it
                return None
            return await self._upgrade(secret, digest)
        key = _load(raw)
        # The lookup was by digest already; compare once more in constant time so no
        # path through here depends on how much of a guess was right.
        return key if hmac.compare_digest(key.digest, digest) else None

    async def spend(self, key: ApiKey, chars: int) -> None:
        """Count `chars` against the key's month.

        Raises:
            QuotaExceeded: they would pass its monthly quota (nothing is counted).
        """
        if chars <= 0:
            return
        found = await self.redis.eval(_SPEND, 1, _month(key), chars, key.per_month, MONTH_TTL)
        if int(found) < 0:
            raise QuotaExceeded(key.per_month)

    async def spent(self, key: ApiKey) -> int:
        """Characters the key spent this month."""
        return int(await self.redis.get(_month(key)) or 0)

    async def all(self) -> list[ApiKey]:
        """Every key, oldest first."""
        stored = await self.redis.hgetall(KEYS)
        keys = [_load(v) for v in stored.values()]
        return sorted(keys, key=lambda k: k.created)

    async def remove(self, key_or_id: str) -> bool:
        """Delete a key, named by itself or by its id; False when there was none."""
        name = as_text(key_or_id)
        if await self.redis.hdel(KEYS, digest_of(name)):
            return True
        if len(name) >= ID_LENGTH:
            for key in await self.all():
                if key.id == name[:ID_LENGTH] and key.digest.startswith(name):
                    return bool(await self.redis.hdel(KEYS, key.digest))
        return False

    async def _upgrade(self, secret: str, digest: str) -> ApiKey | None:
        """A key stored in clear by an earlier version: stored as a digest from now on."""
        raw = await self.redis.hget(KEYS, secret)
        if raw is None:
            return None
        old = json.loads(raw)
        if "digest" in old:  # a digest sent as a key: digests are not keys
            return None
        key = _load(json.dumps({**old, "digest": digest}))
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(KEYS, digest, json.dumps(asdict(key)))
            pipe.hdel(KEYS, secret)
            await pipe.execute()
        return key


def _load(raw: bytes | str) -> ApiKey:
    data = json.loads(raw)
    return ApiKey(
        str(data["digest"]),
        float(data.get("per_minute", 0)),
        int(data.get("chars", 0)),
        float(data.get("created", 0.0)),
        int(data.get("per_month", 0)),
    )


def _month(key: ApiKey) -> str:
    return SPENT + key.digest + ":" + time.strftime("%Y-%m", time.gmtime())
