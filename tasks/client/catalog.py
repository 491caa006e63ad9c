"""The workers' catalog as every front end reads it: what this deployment translates.

Workers publish it under `CATALOG_KEY` as they start; a front end keeps what it read
for `CATALOG_FOR` seconds (it changes when workers start, not per request, and every
request, /languages and language button asks).
"""

from __future__ import annotations

import json
import time

from redis.asyncio import Redis

from tasks.catalog import CATALOG_KEY, Catalog

# Seconds a front end keeps the workers' catalog before reading it again.
CATALOG_FOR = 5.0


class CatalogReader:
    """Reads the catalog from Redis, at most every `keep` seconds."""

    def __init__(self, redis: Redis, *, keep: float = CATALOG_FOR) -> None:
        self.redis = redis
        self.keep = keep
        self._read: tuple[float, Catalog | None] = (-keep, None)

    async def __call__(self) -> Catalog | None:
        """What the workers published they serve; None before any worker started."""
        read_at, found = self._read
        if time.monotonic() - read_at < self.keep:
            return found
        raw = await self.redis.get(CATALOG_KEY)
        found = json.loads(raw) if raw is not None else None
        self._read = (time.monotonic(), found)
        return found
