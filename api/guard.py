"""Who may call, how often, and how much: API keys, rate limits, character and batch limits.

Rate limits use the same Redis token buckets as the bot's limits: a key's own bucket,
or without one the client address's.
"""

from __future__ import annotations

import math

from fastapi import HTTPException, Request

from api.keys import ApiKey, KeyStore
from config import Settings
from tasks.client.buckets import Bucket, TokenBuckets


class Guard:
    """Admits a request or raises the HTTP error that says why not."""

    def __init__(self, *, settings: Settings, keys: KeyStore, buckets: TokenBuckets) -> None:
        self.settings = settings
        self.keys = keys
        self.buckets = buckets

    async def admit(self, request: Request, api_key: str | None, texts: list[str]) -> ApiKey | None:
        """Check the key, take a token, and check the size of `texts`.

        Raises:
            HTTPException: 403 (key), 429 (rate), 400 (characters or batch size).
        """
        key = await self._key(api_key)
        await self._rate(request, key)
        limit = key.chars if key is not None and key.chars else self.settings.api_char_limit
        for text in texts:
            if len(text) > limit:
                raise HTTPException(
                    400, f"Invalid request: request ({len(text)}) exceeds text limit ({limit})"
                )
        if len(texts) > self.settings.api_batch_limit:
            raise HTTPException(
                400,
                f"Invalid request: request ({len(texts)}) exceeds batch limit "
                f"({self.settings.api_batch_limit})",
            )
        return key

    async def _key(self, api_key: str | None) -> ApiKey | None:
        mode = self.settings.api_keys
        if mode == "off":
            return None
        if not api_key:
            if mode == "required":
                raise HTTPException(403, "Please contact the server operator to get an API key")
            return None
        key = await self.keys.get(api_key)
        if key is None:
            raise HTTPException(403, "Invalid API key")
        return key

    async def _rate(self, request: Request, key: ApiKey | None) -> None:
        settings = self.settings
        per_minute = settings.api_rate_per_minute
        if key is not None:
            per_minute = key.per_minute or per_minute
            bucket = Bucket(f"k:{key.key}", per_minute, settings.api_rate_burst)
        else:
            address = request.client.host if request.client else "?"
            bucket = Bucket(f"ip:{address}", per_minute, settings.api_rate_burst)
        wait = await self.buckets.take(bucket)
        if wait:
            seconds = max(1, math.ceil(wait))
            raise HTTPException(
                429,
                f"Slowdown: {per_minute:g} per 1 minute (try again in {seconds} s)",
                headers={"Retry-After": str(seconds)},
            )
