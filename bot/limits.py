"""Abuse limits: how often a user or chat may ask, and whether the queue has room.

Token buckets live in Redis so every bot replica shares them. A limited user hears
about it once per wait, not once per dropped message.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from redis.asyncio import Redis

from bot.errors import Busy, RateLimited
from config import Settings
from tasks.client.admission import Admission, QueueFull
from tasks.client.buckets import Bucket, TokenBuckets

_NOTICE = "tolmach:notice:"


@dataclass(frozen=True)
class Rates:
    """Bucket sizes and refill rates (requests per minute; 0 turns a bucket off)."""

    user_per_minute: float
    user_burst: int
    chat_per_minute: float
    chat_burst: int

    @classmethod
    def from_settings(cls, settings: Settings) -> Rates:
        """The limits the settings ask for."""
        return cls(
            settings.rate_user_per_minute,
            settings.rate_user_burst,
            settings.rate_chat_per_minute,
            settings.rate_chat_burst,
        )


class Limiter:
    """Admits a request or raises RateLimited / Busy."""

    def __init__(self, redis: Redis, rates: Rates, admission: Admission) -> None:
        self.redis = redis
        self.rates = rates
        self.admission = admission
        self.buckets = TokenBuckets(redis)

    async def admit(self, user_id: int | None, chat_id: int | None, group: bool) -> None:
        """Take a token for one request (a private chat is limited as its user).

        Raises:
            RateLimited: a bucket is empty; `notify` is true for the first refusal.
            Busy: the queues hold more than MAX_QUEUE_DEPTH requests.
        """
        await self._check_queue(user_id)
        rates = self.rates
        chat_rate = rates.chat_per_minute if group and chat_id is not None else 0
        user_rate = rates.user_per_minute if user_id is not None else 0
        wait = await self.buckets.take(
            Bucket(f"u:{user_id}", user_rate, rates.user_burst),
            Bucket(f"c:{chat_id}", chat_rate, rates.chat_burst),
        )
        if not wait:
            return
        seconds = max(1, math.ceil(float(wait)))
        # In a group the notice goes once per chat, whoever is refused: each member
        # told in turn would flood the chat the limit protects.
        who = f"u:{user_id}" if user_id is not None and not group else f"c:{chat_id}"
        raise RateLimited(seconds, await self.first_notice(who, seconds))

    async def _check_queue(self, user_id: int | None) -> None:
        try:
            await self.admission.check_queue()  # the ceiling every front end applies
        except QueueFull as exc:
            seconds = exc.retry_after
            raise Busy(seconds, await self.first_notice(f"busy:{user_id}", seconds)) from None

    async def first_notice(self, who: str, seconds: int) -> bool:
        """True only for the first refusal while the wait lasts."""
        return bool(await self.redis.set(_NOTICE + who, "1", nx=True, ex=seconds))
