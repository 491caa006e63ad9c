"""Middlewares that keep abuse out: the allow-list and the rate limits.

The allow-list runs on every update; the rate limit only on handlers flagged
`costly` (those that queue work), after their filters matched.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.dispatcher.flags import get_flag
from aiogram.types import Chat, TelegramObject, Update, User

from bot.errors import NotAllowed, TryLater
from bot.limits import Limiter
from tasks.client.access import AllowList

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]
COSTLY = {"costly": True}
# Work nobody asked for (group auto-translate): refused in silence, never with a reply.
UNASKED = {"costly": True, "unasked": True}


class Gate(BaseMiddleware):
    """Outer update middleware: in allow-list mode, strangers get one polite refusal."""

    def __init__(self, allow: AllowList, limiter: Limiter) -> None:
        self.allow = allow
        self.limiter = limiter

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: User | None = data.get("event_from_user")
        chat: Chat | None = data.get("event_chat")
        if self.allow.allows(user.id if user else None, chat.id if chat else None):
            return await handler(event, data)
        private = isinstance(event, Update) and _is_private_message(event)
        if private and user and await self.limiter.first_notice(f"stranger:{user.id}", 86_400):
            # The errors router (outermost) words the refusal, once a day per stranger.
            raise NotAllowed
        return None  # groups, inline, callbacks from strangers: ignored


class Throttle(BaseMiddleware):
    """Inner middleware: a `costly` handler runs only if the limiter admits the request."""

    def __init__(self, limiter: Limiter) -> None:
        self.limiter = limiter

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        if get_flag(data, "costly"):
            user: User | None = data.get("event_from_user")
            chat: Chat | None = data.get("event_chat")
            group = chat is not None and chat.type in ("group", "supergroup")
            # Anonymous admins, channels and their automatic forwards all come "from" one
            # of Telegram's service accounts: each is limited as the chat it speaks for,
            # or one group's flood would silence every other group's.
            sender: Chat | None = getattr(event, "sender_chat", None)
            who = sender.id if sender is not None else user.id if user else None
            try:
                await self.limiter.admit(who, chat.id if chat else None, group)
            except TryLater:
                if get_flag(data, "unasked"):
                    return None  # nobody asked: nothing to say, and nothing queued
                raise
        return await handler(event, data)


def _is_private_message(update: Update) -> bool:
    message = update.message
    return message is not None and message.chat.type == "private"
