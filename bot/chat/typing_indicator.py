"""Keep "typing…" showing in chats that wait for a translation.

Telegram shows a chat action for about five seconds, so it is repeated every four
until the chat's last pending answer was sent (or a minute passed).
"""

from __future__ import annotations

import asyncio
import contextlib
import time

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError

REPEAT_EVERY = 4.0
GIVE_UP_AFTER = 60.0


class TypingIndicator:
    """Counts pending answers per chat and shows "typing…" while any remain."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot
        self._pending: dict[int, tuple[int, float]] = {}
        self._loop: asyncio.Task[None] | None = None

    async def start(self, chat_id: int) -> None:
        """A request from this chat was accepted."""
        count, _ = self._pending.get(chat_id, (0, 0.0))
        self._pending[chat_id] = (count + 1, time.monotonic())
        await self._send(chat_id)
        if self._loop is None or self._loop.done():
            self._loop = asyncio.create_task(self._repeat())

    def done(self, chat_id: int) -> None:
        """An answer for this chat was sent."""
        count, since = self._pending.get(chat_id, (0, 0.0))
        if count <= 1:
            self._pending.pop(chat_id, None)
        else:
            self._pending[chat_id] = (count - 1, since)

    async def _repeat(self) -> None:
        while self._pending:
            await asyncio.sleep(REPEAT_EVERY)
            now = time.monotonic()
            for chat_id, (_, since) in list(self._pending.items()):
                if now - since > GIVE_UP_AFTER:
                    self._pending.pop(chat_id, None)
                else:
                    await self._send(chat_id)

    async def _send(self, chat_id: int) -> None:
        # Cosmetic: a failure here must never affect the request itself.
        with contextlib.suppress(TelegramAPIError, OSError, asyncio.TimeoutError):
            await self.bot.send_chat_action(chat_id, "typing")
