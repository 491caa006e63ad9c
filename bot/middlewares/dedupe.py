"""Cross-cutting concerns: each update is handled once, even if Telegram resends it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update
from redis.asyncio import Redis

SEEN = "tolmach:seen:"


class OncePerMessage(BaseMiddleware):
    """Skips an update whose message (or edit of it) was already handled.

    After a crash Telegram redelivers unconfirmed updates; several bot replicas may
    also see the same update. An edit has its own `edit_date`, so an edited command
    is answered again, while a redelivered one is not.
    """

    def __init__(self, redis: Redis, ttl: int = 86_400) -> None:
        self.redis = redis
        self.ttl = ttl

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        key = _key(event) if isinstance(event, Update) else None
        if key is not None and not await self.redis.set(SEEN + key, "1", nx=True, ex=self.ttl):
            return None
        return await handler(event, data)


def _key(update: Update) -> str | None:
    message = update.message or update.edited_message
    if message is not None:
        return f"{message.chat.id}:{message.message_id}:{message.edit_date or 0}"
    if update.callback_query is not None:
        return f"cb:{update.callback_query.id}"
    if update.inline_query is not None:
        return f"iq:{update.inline_query.id}"
    # Anything else: a webhook retry (or another replica) carries the same update_id.
    return f"u:{update.update_id}"
