"""Documents: accept a file, queue its translation, show progress, cancel it.

The worker downloads the file itself through the Bot API file route (only the path
crosses the queue). The answer comes back like any other: a ReplyContext of kind
"document" is saved before the task is sent, and the result listener hands the
finished task to `bot.documents_delivery`.
"""

from __future__ import annotations

import asyncio
import logging
import posixpath
import uuid
from typing import Any

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import Message
from celery import Celery
from redis.asyncio import Redis

from bot import texts
from bot.documents_progress import ProgressBoard, cancel_button, progress_bar
from bot.errors import BotError, QueueUnavailable
from bot.i18n import Texts
from bot.jobs import TranslationJobs
from bot.parsing import TranslateCommand
from bot.prefs import PrefsStore
from bot.replies import ReplyContext, ReplyStore
from tasks.contract import (
    DOCUMENT,
    QUEUE_DOCUMENTS,
    DocumentRequest,
    chunk_id,
    document_key,
    prepare_id,
)
from tasks.formats import supported_extensions
from tasks.languages import display_name

log = logging.getLogger(__name__)
MB = 1024 * 1024


class DocumentRefused(BotError):
    """A document refused before queuing; `message` and `values` word it."""

    def __init__(self, message: str, **values: Any) -> None:
        super().__init__(message)
        self.message, self.values = message, values


class DocumentFlow:
    """Queues documents, relays their progress and cancels them on request."""

    def __init__(
        self,
        bot: Bot,
        producer: Celery,
        replies: ReplyStore,
        prefs: PrefsStore,
        redis: Redis,
        phrases: Texts,
        max_bytes: int,
        jobs: TranslationJobs,
    ) -> None:
        self.bot, self.producer, self.replies, self.prefs = bot, producer, replies, prefs
        self.jobs = jobs
        self.redis, self.phrases, self.max_bytes = redis, phrases, max_bytes
        self.board = ProgressBoard(bot)

    async def accept(
        self, message: Message, request: TranslateCommand, *, addressed: bool = False
    ) -> bool:
        """Queue a message's document into the caption's languages (or the default).

        Only the caption's languages count: any other words in it are not translated.
        `addressed`: the caption is a command, so even a group's file without
        languages is for the bot (into the group's language, else the user's).

        Returns:
            False when the document is not for the bot (a group file without languages).

        Raises:
            DocumentRefused: Unknown format or over the size limit.
        """
        document = message.document
        in_group = message.chat.type != "private"
        if document is None or (in_group and not request.targets and not addressed):
            return False
        name = posixpath.basename(document.file_name or "document")
        if posixpath.splitext(name)[1].lower() not in supported_extensions():
            formats = ", ".join(sorted(e.lstrip(".") for e in supported_extensions()))
            raise DocumentRefused(texts.DOC_UNSUPPORTED, name=name, formats=formats)
        self._check_size(name, document.file_size or 0)
        try:
            file = await self.bot.get_file(document.file_id)
        except TelegramBadRequest as exc:  # api.telegram.org: "file is too big"
            log.info("getFile refused %r: %r", name, exc.message)
            self._check_size(name, max(document.file_size or 0, self.max_bytes + 1))
            raise
        targets = request.targets or await self._default_target(message)
        for tgt in targets:
            payload = DocumentRequest(
                file_path=file.file_path or "", file_name=name, src=request.src, tgt=tgt
            )
            await self._queue(message, payload)
        return True

    def _check_size(self, name: str, size: int) -> None:
        if size > self.max_bytes:
            raise DocumentRefused(
                texts.DOC_FILE_TOO_BIG,
                name=name,
                size=f"{size / MB:.1f}",
                max_size=f"{self.max_bytes / MB:.0f}",
            )

    async def _default_target(self, message: Message) -> tuple[str, ...]:
        if message.chat.type != "private":
            chat = await self.prefs.chat(message.chat.id)
            if chat.target:
                return (chat.target,)
        user = message.from_user
        prefs = await self.prefs.languages_of(
            user.id if user else None, user.language_code if user else None
        )
        return (prefs.target or "en",)

    async def _queue(self, message: Message, request: DocumentRequest) -> None:
        locale = (message.from_user.language_code if message.from_user else None) or "en"
        task_id = str(uuid.uuid4())
        label = request["file_name"]
        status = await message.reply(
            self.status_text(locale, label, request["tgt"], None),
            reply_markup=cancel_button(task_id, self.phrases(texts.DOC_CANCEL, locale)),
        )
        self.board.sent(message.chat.id)
        context = ReplyContext(
            message.chat.id,
            message.message_id,
            locale,
            kind="document",
            label=f"{label}\n{request['tgt']}",
            status_id=status.message_id,
        )
        args: list[Any] = [task_id, dict(request)]
        try:
            await self.jobs.submit(
                context, DOCUMENT, args, QUEUE_DOCUMENTS, task_id, send_as=prepare_id(task_id)
            )
        except QueueUnavailable:
            await self.board.delete((message.chat.id, status.message_id))
            raise

    def status_text(self, locale: str, name: str, tgt: str, progress: str | None) -> str:
        """The status message: what is translated into what, and how far it got."""
        language = display_name(tgt, self.phrases.locale(locale))
        head = self.phrases(texts.DOC_PROGRESS, locale, name=name, language=language)
        return f"{head}\n{progress or self.phrases(texts.DOC_QUEUED, locale)}"

    async def on_progress(self, task_id: str, meta: dict[str, Any]) -> None:
        """A PROGRESS state of a document task: update its status message."""
        try:
            context = await self.replies.peek(task_id)
            result = meta.get("result")
            if context is None or context.status_id is None or not isinstance(result, dict):
                return
            done, total = int(result.get("done", 0)), int(result.get("total", 0))
            name, _, tgt = (context.label or "\n").partition("\n")
            text = self.status_text(context.locale, name, tgt, progress_bar(done, total))
            markup = cancel_button(task_id, self.phrases(texts.DOC_CANCEL, context.locale))
            await self.board.progress((context.chat_id, context.status_id), done, text, markup)
        except Exception:  # cosmetic: never let a progress update break the listener
            log.exception("progress update of %s failed", task_id)

    async def cancel(self, task_id: str) -> bool:
        """Revoke a document's tasks and say so in its status message.

        Returns:
            False when the document was already answered (or cancelled).
        """
        context = await self.replies.claim(task_id)
        if context is None:
            return False
        # Running chunks see the flag and stop early; queued ones are revoked.
        await self.redis.set(document_key(task_id, "cancelled"), 1, ex=self.replies.ttl)
        chunks = int(await self.redis.get(document_key(task_id, "chunks")) or 0)
        ids = [prepare_id(task_id), task_id, *(chunk_id(task_id, i) for i in range(chunks))]
        await asyncio.to_thread(self.producer.control.revoke, ids)
        name = (context.label or "").partition("\n")[0]
        text = self.phrases(texts.DOC_CANCELLED, context.locale, name=name)
        await self.answer(context, text)
        await self.replies.done(task_id)
        return True

    async def answer(self, context: ReplyContext, text: str) -> None:
        """Put a final word in the status message (or reply, if it is gone)."""
        key = (context.chat_id, context.status_id or 0)
        if context.status_id is None or not await self.board.close(key, text):
            await self.bot.send_message(context.chat_id, text)
        self.board.forget(key)
