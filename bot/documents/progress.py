"""Status messages of documents in progress: a progress bar, edited at most once a second
per chat (Telegram throttles faster edits), and a Cancel button.

Progress arrives as fast as chunks finish; edits for a message that is waiting its turn
are merged into one, showing the newest figure. Edits live in this process only: with
several bot replicas each keeps its own pace (Telegram's limit is per bot, loosely).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot import texts
from bot.context import ReplyContext
from bot.i18n import Texts
from tasks.languages import display_name

log = logging.getLogger(__name__)

BAR_CELLS = 10
EDIT_INTERVAL = 1.0
_Key = tuple[int, int]  # (chat id, status message id)


class CancelDocument(CallbackData, prefix="dc"):
    """Callback data of a status message's Cancel button: the document's task id."""

    task: str


def cancel_button(task_id: str, label: str) -> InlineKeyboardMarkup:
    """The status message's keyboard: one Cancel button."""
    builder = InlineKeyboardBuilder()
    builder.button(text=label, callback_data=CancelDocument(task=task_id))
    return builder.as_markup()


def progress_bar(done: int, total: int) -> str:
    """E.g. `▓▓▓░░░░░░░ 30%`."""
    percent = 100 * done // total if total > 0 else 0
    filled = BAR_CELLS * percent // 100
    return f"{'▓' * filled}{'░' * (BAR_CELLS - filled)} {percent}%"


def status_text(phrases: Texts, locale: str, name: str, tgt: str, progress: str | None) -> str:
    """The status message: what is translated into what, and how far it got."""
    language = display_name(tgt, phrases.locale(locale))
    head = phrases(texts.DOC_PROGRESS, locale, name=name, language=language)
    return f"{head}\n{progress or phrases(texts.DOC_QUEUED, locale)}"


class ProgressBoard:
    """Edits status messages, at most one edit per `interval` seconds in each chat."""

    def __init__(self, bot: Bot, interval: float = EDIT_INTERVAL) -> None:
        self.bot = bot
        self.interval = interval
        self._locks: defaultdict[int, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._next: dict[int, float] = {}
        self._wanted: dict[_Key, tuple[str, InlineKeyboardMarkup | None]] = {}
        self._best: dict[_Key, int] = {}
        self._closed: set[_Key] = set()

    def sent(self, chat_id: int) -> None:
        """A status message was just sent to the chat: it counts as an edit."""
        self._next[chat_id] = time.monotonic() + self.interval

    async def progress(
        self, key: _Key, done: int, text: str, markup: InlineKeyboardMarkup | None
    ) -> None:
        """Show `text`, unless the message is closed or shows a larger `done` already."""
        if key in self._closed or done < self._best.get(key, -1):
            return
        self._best[key] = done
        waiting = key in self._wanted
        self._wanted[key] = (text, markup)
        if not waiting:  # else the edit already waiting for its turn shows this text
            await self._edit_in_turn(key)

    async def close(self, key: _Key, text: str | None) -> bool:
        """The last edit of a status message (None: no edit, e.g. it is deleted).

        Returns:
            Whether the edit was made (False: the message is gone; answer another way).
        """
        self._closed.add(key)
        self._best.pop(key, None)
        if text is None:
            self._wanted.pop(key, None)
            return True
        self._wanted[key] = (text, None)
        return await self._edit_in_turn(key)

    def forget(self, key: _Key) -> None:
        """Drop what is kept of a finished status message."""
        self._closed.discard(key)
        if len(self._closed) > 10_000:  # keep memory bounded if forget() was missed
            self._closed.clear()

    async def _edit_in_turn(self, key: _Key) -> bool:
        chat_id = key[0]
        async with self._locks[chat_id]:
            wait = self._next.get(chat_id, 0.0) - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            wanted = self._wanted.pop(key, None)
            if wanted is None:
                return True
            try:
                await self._edit(key, *wanted)
            except TelegramAPIError as exc:
                log.info("could not edit status %r: %r", key, exc)
                return False
            finally:
                self._next[chat_id] = time.monotonic() + self.interval
        return True

    async def _edit(self, key: _Key, text: str, markup: InlineKeyboardMarkup | None) -> None:
        try:
            await self.bot.edit_message_text(
                text=text, chat_id=key[0], message_id=key[1], reply_markup=markup
            )
        except TelegramAPIError as exc:
            if "message is not modified" not in str(exc):
                raise

    async def delete(self, key: _Key) -> None:
        """Delete a status message (the translated file replaced it)."""
        await self.close(key, None)
        with contextlib.suppress(TelegramAPIError):
            await self.bot.delete_message(key[0], key[1])
        self.forget(key)

    async def finish(self, context: ReplyContext, text: str) -> None:
        """Put a document's final word in its status message (or send it, if gone)."""
        key = (context.chat_id, context.status_id or 0)
        if context.status_id is None or not await self.close(key, text):
            await self.bot.send_message(context.chat_id, text)
        self.forget(key)
