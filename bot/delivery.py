"""Turn a finished task into chat messages and send them, honouring Telegram's limits."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiogram import Bot
from aiogram.exceptions import (
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
)
from aiogram.types import ReplyParameters

from bot import texts
from bot.replies import ReplyContext
from bot.splitting import split_message

log = logging.getLogger(__name__)


def render(meta: dict[str, Any]) -> str:
    """The text answering one task, from its Celery result meta."""
    status, result = meta.get("status"), meta.get("result")
    if status == "REVOKED":
        return texts.CANCELLED
    if status != "SUCCESS" or not isinstance(result, dict):
        return texts.RESULT_ERRORS["internal"]
    if result.get("ok"):
        return str(result.get("text") or "") or texts.EMPTY_TRANSLATION
    template = texts.RESULT_ERRORS.get(str(result.get("error")), texts.RESULT_ERRORS["internal"])
    return template.format(src=result.get("src", "?"), tgt=result.get("tgt", "?"))


class Delivery:
    """Sends answers as replies; retries what Telegram asks to retry."""

    def __init__(self, bot: Bot, attempts: int = 5) -> None:
        self.bot = bot
        self.attempts = attempts

    async def __call__(self, context: ReplyContext, meta: dict[str, Any]) -> None:
        """Answer one request (possibly in several messages)."""
        for piece in split_message(render(meta)):
            await self.send(context, piece)

    async def send(self, context: ReplyContext, text: str) -> None:
        """Send one message, waiting out 429s and retrying network errors.

        A user who blocked the bot (403) is dropped: there is no one to answer.
        """
        reply = ReplyParameters(message_id=context.message_id, allow_sending_without_reply=True)
        for attempt in range(self.attempts):
            try:
                await self.bot.send_message(context.chat_id, text, reply_parameters=reply)
                return
            except TelegramRetryAfter as exc:
                log.info("429 for chat %r, waiting %ss", context.chat_id, exc.retry_after)
                await asyncio.sleep(exc.retry_after)
            except TelegramForbiddenError:
                log.info("chat %r blocked the bot; answer dropped", context.chat_id)
                return
            except TelegramNetworkError as exc:
                if attempt == self.attempts - 1:
                    raise
                log.warning("network error sending to %r: %r", context.chat_id, exc)
                await asyncio.sleep(2**attempt)
        raise RuntimeError(f"gave up sending to chat {context.chat_id}")
