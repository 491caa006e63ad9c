"""Answer a finished document: send the translated file, or say why there is none."""

from __future__ import annotations

import asyncio
import logging
import posixpath
from typing import Any

from aiogram.exceptions import TelegramForbiddenError, TelegramNetworkError, TelegramRetryAfter
from aiogram.types import BufferedInputFile, ReplyParameters

from bot import texts
from bot.delivery import render
from bot.documents import DocumentFlow
from bot.i18n import Texts
from bot.replies import ReplyContext
from tasks.formats import supported_extensions
from tasks.languages import display_name

log = logging.getLogger(__name__)

# `reason` of a refused document (tasks.formats.errors, tasks.worker.document_state) -> message.
_REASONS = {
    "unsupported_format": texts.DOC_UNSUPPORTED,
    "file_too_big": texts.DOC_FILE_TOO_BIG,
    "binary": texts.DOC_BINARY,
    "corrupt": texts.DOC_CORRUPT,
    "encrypted": texts.DOC_ENCRYPTED,
    "too_large": texts.DOC_TOO_MANY_CHARS,
    "archive_limits": texts.DOC_ARCHIVE_BOMB,
    "too_many_pages": texts.DOC_TOO_MANY_PAGES,
    "too_many_cues": texts.DOC_TOO_MANY_CUES,
    "empty": texts.DOC_EMPTY,
    "download": texts.DOC_DOWNLOAD,
}
MB = 1024 * 1024


def describe_failure(meta: dict[str, Any], context: ReplyContext, phrases: Texts) -> str:
    """Why a document came back without a file, in the user's language."""
    result = meta.get("result")
    reason = result.get("reason") if isinstance(result, dict) else None
    if meta.get("status") != "SUCCESS" or not isinstance(result, dict) or reason not in _REASONS:
        return render(meta, context, phrases) or phrases(texts.INTERNAL, context.locale)
    name = str(result.get("name") or "")
    chars, limit = int(result.get("chars") or 0), int(result.get("limit") or 0)
    return phrases(
        _REASONS[str(reason)],
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
    """The listener's delivery for ReplyContexts of kind "document"."""

    def __init__(self, flow: DocumentFlow, attempts: int = 5) -> None:
        self.flow = flow
        self.attempts = attempts

    async def __call__(self, context: ReplyContext, meta: dict[str, Any]) -> None:
        """Send the file as a reply to the original and delete the status message."""
        result = meta.get("result")
        if meta.get("status") != "SUCCESS" or not isinstance(result, dict) or not result.get("ok"):
            await self.flow.answer(context, describe_failure(meta, context, self.flow.phrases))
            return
        data = await self.flow.redis.get(str(result["key"]))
        if not isinstance(data, bytes):  # expired before a bot was there to send it
            await self.flow.answer(context, self.flow.phrases(texts.INTERNAL, context.locale))
            return
        language = display_name(str(result["tgt"]), self.flow.phrases.locale(context.locale))
        caption = self.flow.phrases(texts.DOC_DONE, context.locale, language=language)
        await self._send(context, BufferedInputFile(data, str(result["name"])), caption)
        await self.flow.redis.delete(str(result["key"]))
        if context.status_id is not None:
            await self.flow.board.delete((context.chat_id, context.status_id))

    async def _send(self, context: ReplyContext, file: BufferedInputFile, caption: str) -> None:
        reply = ReplyParameters(message_id=context.message_id, allow_sending_without_reply=True)
        for attempt in range(self.attempts):
            try:
                await self.flow.bot.send_document(
                    context.chat_id, file, caption=caption, reply_parameters=reply
                )
                return
            except TelegramRetryAfter as exc:
                await asyncio.sleep(exc.retry_after)
            except TelegramForbiddenError:
                log.info("chat %r blocked the bot; document dropped", context.chat_id)
                return
            except TelegramNetworkError as exc:
                if attempt == self.attempts - 1:
                    raise
                log.warning("network error sending a document to %r: %r", context.chat_id, exc)
                await asyncio.sleep(2**attempt)
        raise RuntimeError(f"gave up sending a document to chat {context.chat_id}")
