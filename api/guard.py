"""Who may call, how often, and how much: API keys, rate limits, and the queue client's
admission policy (the same limits the bot applies).

Rate limits use the same Redis token buckets as the bot's limits: a key's own bucket,
a Mini App user's bot bucket, or (only when the operator sets API_RATE_PER_MINUTE)
the client address's.
"""

from __future__ import annotations

import contextlib
import math
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from fastapi import HTTPException, Request

from api.keys import ApiKey, KeyStore
from api.telegram import InvalidInitData, WebAppUser, validate
from config import Settings
from tasks.client.access import AllowList
from tasks.client.admission import Admission
from tasks.client.buckets import Bucket, TokenBuckets


@dataclass(frozen=True)
class Caller:
    """Who made a request: a key, a Mini App user, or only an address (`client`
    names the one that counts: `k:<key id>`, `u:<user id>` or `ip:<address>`)."""

    key: ApiKey | None
    user: WebAppUser | None
    client: str

    @property
    def owner(self) -> str | None:
        """Whose job this caller's job is: a key or a user; None for an address."""
        return None if self.client.startswith("ip:") else self.client


class Guard:
    """Admits a request or raises the HTTP error that says why not."""

    def __init__(
        self, *, settings: Settings, keys: KeyStore, buckets: TokenBuckets, admission: Admission
    ) -> None:
        self.settings = settings
        self.allow = AllowList(settings)
        self.keys = keys
        self.buckets = buckets
        self.admission = admission
        self._streams: Counter[str] = Counter()

    def webapp_user(self, request: Request) -> WebAppUser | None:
        """The Telegram user of a Mini App request (`X-Telegram-Init-Data`), if any.

        Raises:
            HTTPException: 401 for forged or stale initData (or no bot token to check it).
        """
        # The query's form is for what a browser fetches itself (a stream, a link).
        init_data = request.headers.get("x-telegram-init-data") or request.query_params.get(
            "init_data"
        )
        if not init_data:
            return None
        token = self.settings.bot_token
        if token is None:
            raise HTTPException(401, "Telegram sign-in is not set up on this server")
        try:
            return validate(init_data, token.get_secret_value())
        except InvalidInitData as exc:
            raise HTTPException(401, f"invalid Telegram initData: {exc.why}") from None

    def require_user(self, request: Request) -> WebAppUser:
        """The Mini App user of a call only they may make.

        Raises:
            HTTPException: 401 without valid initData.
        """
        user = self.webapp_user(request)
        if user is None:
            raise HTTPException(401, "no Telegram initData")
        return user

    async def caller(self, request: Request, api_key: str | None) -> Caller:
        """Identify the caller: its key (checked) or its Mini App user (allowed).

        Raises:
            HTTPException: 401 (initData), 403 (no key where one is required, a wrong
                key, a user the allow-list leaves out).
        """
        user = self.webapp_user(request)
        if user is not None:
            # A Mini App user is a bot user: the bot's access rules apply, not API keys.
            if not self.allow.allows(user.id, None):
                raise HTTPException(
                    403, "This is a private translation bot; its owner has not let you in"
                )
            return Caller(None, user, f"u:{user.id}")
        key = await self._key(api_key)
        if key is not None:
            return Caller(key, None, f"k:{key.id}")
        return Caller(None, None, f"ip:{request.client.host if request.client else '?'}")

    async def admit(
        self,
        request: Request,
        api_key: str | None,
        texts: Sequence[str],
        *,
        src: str = "auto",
        targets: Sequence[str] = (),
    ) -> Caller:
        """Identify the caller, take a rate token, and apply the admission policy to
        `texts` into `targets` (the queue's room is checked for any request).

        Raises:
            HTTPException: 401, 403 (see `caller`), 429 (rate), 400 (too many texts).
            Refused: the policy's refusal (the app answers it as a 400 or 503).
            QuotaExceeded: 456, the key's characters this month would pass its quota.
        """
        caller = await self.caller(request, api_key)
        await self._rate(caller)
        if len(texts) > self.settings.api_batch_limit:
            raise HTTPException(
                400,
                f"Invalid request: request ({len(texts)}) exceeds batch limit "
                f"({self.settings.api_batch_limit})",
            )
        policy = self.admission.policy
        policy.check_texts(texts, self.text_limit(caller.key))
        if targets:
            policy.check_work(texts, targets)
            await self.admission.check_targets(src, targets)
        await self.admission.check_queue()
        if caller.key is not None:  # its monthly quota, whichever dialect spends it
            await self.keys.spend(caller.key, sum(map(len, texts)) * max(1, len(targets)))
        return caller

    def text_limit(self, key: ApiKey | None) -> int:
        """Characters of one text: a key's own limit or API_CHAR_LIMIT, never above
        MAX_TEXT_CHARS (what workers take)."""
        asked = key.chars if key is not None and key.chars else self.settings.api_char_limit
        return self.admission.policy.text_limit(asked)

    def check_stream(self, caller: Caller) -> None:
        """Raise 429 if the caller holds API_STREAMS_PER_CLIENT waits already."""
        cap = self.settings.api_streams_per_client
        if self._streams[caller.client] >= cap:
            raise HTTPException(
                429,
                f"Too many open waits: at most {cap} long-polls or event streams per client",
                headers={"Retry-After": "1"},
            )

    @contextlib.contextmanager
    def stream(self, caller: Caller) -> Iterator[None]:
        """Hold one of the caller's long-poll or event-stream slots (this process's).

        Raises:
            HTTPException: 429 when the caller holds API_STREAMS_PER_CLIENT already.
        """
        self.check_stream(caller)
        self._streams[caller.client] += 1
        try:
            yield
        finally:
            self._streams[caller.client] -= 1
            if self._streams[caller.client] <= 0:
                del self._streams[caller.client]

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

    async def _rate(self, caller: Caller) -> None:
        settings = self.settings
        per_minute = settings.api_rate_per_minute
        if caller.user is not None:  # the bot's own bucket of this user: one budget for both
            per_minute = settings.rate_user_per_minute
            bucket = Bucket(caller.client, per_minute, settings.rate_user_burst)
        elif caller.key is not None:
            per_minute = caller.key.per_minute or per_minute
            bucket = Bucket(caller.client, per_minute, settings.api_rate_burst)
        else:
            bucket = Bucket(caller.client, per_minute, settings.api_rate_burst)
        wait = await self.buckets.take(bucket)
        if wait:
            seconds = max(1, math.ceil(wait))
            raise HTTPException(
                429,
                f"Slowdown: {per_minute:g} per 1 minute (try again in {seconds} s)",
                headers={"Retry-After": str(seconds)},
            )
