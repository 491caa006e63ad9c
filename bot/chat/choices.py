"""Which languages to offer for a text: the deployment's pairs, as workers publish them."""

from __future__ import annotations

import json

from redis.asyncio import Redis

from bot.chat.keyboards import POPULAR
from tasks.catalog import CATALOG_KEY, reachable


class LanguageChoices:
    """Likely targets for text in a language, from the catalog workers keep in Redis."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def targets_from(self, src: str) -> list[str]:
        """Targets this deployment translates `src` into (directly or through English);
        popular languages when any pair may work or no worker has reported yet."""
        raw = await self.redis.get(CATALOG_KEY)
        found = reachable(json.loads(raw), src) if raw is not None else None
        if found is None:
            return [code for code in POPULAR if code != src]
        return found
