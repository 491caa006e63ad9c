"""Send a file to a user's chat as the bot, for front ends other than the bot itself
(the web page's "Send to chat"); Telegram's refusals become typed errors that carry no
library text (aiohttp's errors can carry the request URL, and it carries the token)."""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.exceptions import (
    AiogramError,
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramRetryAfter,
    TelegramUnauthorizedError,
)
from aiogram.types import BufferedInputFile

from tasks.telegram.retries import redact

log = logging.getLogger(__name__)


class SendFailed(Exception):
    """Telegram did not take the file (the subclass says why)."""


class ChatClosed(SendFailed):
    """The bot may not write to the user: never started, or blocked (Telegram's 403, or
    400 "chat not found")."""


class FileRefused(SendFailed):
    """Telegram refused this file (a 400 other than the chat, a 413, …): sending it again
    will not help."""


class TelegramUnavailable(SendFailed):
    """Telegram was unreachable, failing (5xx) or flooded after the retry policy gave up,
    or refused the bot's token: later may work."""

    def __init__(self, retry_after: int | None = None) -> None:
        super().__init__()
        self.retry_after = retry_after


class FileSender:
    """Sends files to users' chats through a Bot of `create_bot` (its retry policy
    included); one per process, closed with `close`."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def send(self, chat_id: int, name: str, data: bytes, caption: str) -> None:
        """Send `data` as a document named `name` to the private chat `chat_id`.

        Raises:
            ChatClosed: the user never started the bot, or blocked it.
            FileRefused: Telegram refused the file itself.
            TelegramUnavailable: Telegram could not be reached or is failing.
        """
        try:
            await self.bot.send_document(chat_id, BufferedInputFile(data, name), caption=caption)
        except AiogramError as exc:
            failure = _failure(exc)
            words = redact(f"{type(exc).__name__}: {exc}", self.bot.token)
            log.warning("sendDocument to %s failed: %s", chat_id, words)
            raise failure from None

    async def close(self) -> None:
        """Close the Bot's HTTP session."""
        await self.bot.session.close()


def _failure(exc: AiogramError) -> SendFailed:
    """The typed error an aiogram error stands for."""
    if isinstance(exc, TelegramForbiddenError):
        return ChatClosed()
    if isinstance(exc, TelegramBadRequest):
        # A user who never pressed Start has no chat with the bot yet.
        return ChatClosed() if "chat not found" in exc.message.lower() else FileRefused()
    if isinstance(exc, TelegramEntityTooLarge):  # before its base, TelegramNetworkError
        return FileRefused()
    if isinstance(exc, TelegramRetryAfter):
        return TelegramUnavailable(exc.retry_after)
    if isinstance(exc, TelegramUnauthorizedError):
        log.error("Telegram rejected BOT_TOKEN (401 Unauthorized): check the token from @BotFather")
    # Network errors, 5xx, an unreadable answer: the retry policy already waited.
    return TelegramUnavailable()
