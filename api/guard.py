"""Who may call, how often, and how much: API keys, rate limits, character and batch limits.

Rate limits use the same Redis token buckets as the bot's limits: a key's own bucket,
or without one the client address's.
"""

from __future__ import annotations

import math

from fastapi import HTTPException, Request

from api.keys import ApiKey, KeyStore
from api.telegram import InvalidInitData, WebAppUser, validate
from config import Settings
from tasks.client.access import AllowList
from tasks.client.buckets import Bucket, TokenBuckets


class Guard:
    """Admits a request or raises the HTTP error that says why not."""

    def __init__(self, *, settings: Settings, keys: KeyStore, buckets: TokenBuckets) -> None:
        self.settings = settings
        self.allow = AllowList(settings)
        self.keys = keys
        self.buckets = buckets

    def webapp_user(self, request: Request) -> WebAppUser | None:
        """The Telegram user of a Mini App request (`X-Telegram-Init-Data`), if any.

        Raises:
            HTTPException: 401 for forged or stale initData (or no bot token to check it).
        """
        init_data = request.headers.get("x-telegram-init-data")
        if not init_data:
            return None
        token = self.settings.bot_token
        if token is None:
            raise HTTPException(401, "Telegram sign-in needs BOT_TOKEN on the server")
        try:
            return validate(init_data, token.get_secret_value())
        except InvalidInitData as exc:
            raise HTTPException(401, f"invalid Telegram initData: {exc}") from None

    def require_user(self, request: Request) -> WebAppUser:
        """The Mini App user of a call only they may make.

        Raises:
            HTTPException: 401 without valid initData.
        """
        user = self.webapp_user(request)
        if user is None:
            raise HTTPException(401, "no Telegram initData")
        return user

    async def admit(self, request: Request, api_key: str | None, texts: list[str]) -> ApiKey | None:
        """Check the key (or the Mini App user), take a token, and check the size of
        `texts`.

        Raises:
            HTTPException: 401 (initData), 403 (key), 429 (rate), 400 (characters or
                batch size).
        """
        user = self.webapp_user(request)
        if user is not None and not self.allow.allows(user.id, None):
            raise HTTPException(
                403, "This is a private translation bot; its owner has not let you in"
            )
        # A Mini App user is a bot user: the bot's access rules apply, not API keys.
        key = None if user is not None else await self._key(api_key)
        await self._rate(request, key, user)
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

    async def _rate(self, request: Request, key: ApiKey | None, user: WebAppUser | None) -> None:
        settings = self.settings
        per_minute = settings.api_rate_per_minute
        if user is not None:  # the bot's own bucket of this user: one budget for both
            per_minute = settings.rate_user_per_minute
            bucket = Bucket(f"u:{user.id}", per_minute, settings.rate_user_burst)
        elif key is not None:
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
