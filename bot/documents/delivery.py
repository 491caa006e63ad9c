"""Answer a finished document: send the translated file, or say why there is none."""

from __future__ import annotations

import contextlib
import logging
import posixpath
from typing import Any

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
)
from aiogram.types import BufferedInputFile, ReplyParameters
from redis.asyncio import Redis

from bot import texts
from bot.chat.delivery import render
from bot.context import ReplyContext
from bot.documents.progress import ProgressBoard, cancel_button, progress_bar, status_text
from bot.i18n import Texts
from tasks.client.answering import answered
from tasks.client.requests import RequestRecord
from tasks.formats import supported_extensions
from tasks.languages import display_name

log = logging.getLogger(__name__)
MB = 1024 * 1024


def describe_failure(meta: dict[str, Any], context: ReplyContext, phrases: Texts) -> str:
    """Why a document came back without a file, in the user's language."""
    result = meta.get("result")
    reason = result.get("reason") if isinstance(result, dict) else None
    # An engine failure carries its code as the reason too: `render` words those.
    engine = isinstance(result, dict) and reason == result.get("error")
    message = texts.REASONS.get(str(reason)) if reason is not None and not engine else None
    if meta.get("status") != "SUCCESS" or not isinstance(result, dict) or message is None:
        return render(meta, context, phrases) or phrases(texts.INTERNAL, context.locale)
    name = str(result.get("name") or "")
    chars, limit = int(result.get("chars") or 0), int(result.get("limit") or 0)
    return phrases(
        message,
        context.locale,
        name=name,
        format=posixpath.splitext(name)[1].lstrip(".").upper(),
        formats=", ".join(sorted(e.lstrip(".") for e in supported_extensions())),
        length=chars,
        limit=limit,
        size=f"{chars / MB:.1f}",
        max_size=f"{limit / MB:.0f}",
    )


class DocumentDelivery:
    """Answers requests of kind "document": the file, as a reply to the original."""

    def __init__(self, *, bot: Bot, redis: Redis, phrases: Texts, board: ProgressBoard) -> None:
        self.bot = bot
        self.redis = redis
        self.phrases = phrases
        self.board = board

    async def __call__(self, context: ReplyContext, meta: dict[str, Any]) -> None:
        """Send the file as a reply to the original and delete the status message."""
        result = meta.get("result")
        if meta.get("status") != "SUCCESS" or not isinstance(result, dict) or not result.get("ok"):
            await self.board.finish(context, describe_failure(meta, context, self.phrases))
            await answered()
            return
        data = await self.redis.get(str(result["key"]))
        if not isinstance(data, bytes):  # expired before a bot was there to send it
            await self.board.finish(context, self.phrases(texts.INTERNAL, context.locale))
            await answered()
            return
        language = display_name(str(result["tgt"]), self.phrases.locale(context.locale))
        caption = self.phrases(texts.DOC_DONE, context.locale, language=language)
        reply = ReplyParameters(message_id=context.message_id, allow_sending_without_reply=True)
        file = BufferedInputFile(data, str(result["name"]))
        try:
            await self.bot.send_document(
                context.chat_id, file, caption=caption, reply_parameters=reply
            )
        except TelegramForbiddenError:
            log.info("chat %r blocked the bot; document dropped", context.chat_id)
        except (TelegramBadRequest, TelegramEntityTooLarge) as exc:
            # Refused for good: tried again at every sweep, it would be refused for a day.
            # The status message says so (and stays); if even that is refused, so be it.
            log.warning("chat %r refused the document (%s)", context.chat_id, exc.message)
            with contextlib.suppress(TelegramAPIError):
                await self.board.finish(context, self.phrases(texts.INTERNAL, context.locale))
            await answered()
            await self.redis.delete(str(result["key"]))
            return
        await answered()  # Telegram took it: marked before the clean-up below
        await self.redis.delete(str(result["key"]))
        if context.status_id is not None:
            await self.board.delete((context.chat_id, context.status_id))

    async def progress(self, task_id: str, record: RequestRecord, meta: dict[str, Any]) -> None:
        """A PROGRESS state of a document task: update its status message."""
        context = ReplyContext.of(record)
        result = meta.get("result")
        if context.status_id is None or not isinstance(result, dict):
            return
        done, total = int(result.get("done", 0)), int(result.get("total", 0))
        name, _, tgt = (context.label or "\n").partition("\n")
        bar = progress_bar(done, total)
        text = status_text(self.phrases, context.locale, name, tgt, bar)
        markup = cancel_button(task_id, self.phrases(texts.DOC_CANCEL, context.locale))
        await self.board.progress((context.chat_id, context.status_id), done, text, markup)
