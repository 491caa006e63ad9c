"""Documents: accept a file, queue its translation, show progress, cancel it.

The worker downloads the file itself through the Bot API file route (only the path
crosses the queue). The answer comes back like any other: a request of kind
"document" is recorded before the task is sent, and the result listener hands the
finished task to `bot.documents.delivery`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import posixpath
import time
import uuid
from typing import Any

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import Message

from bot import texts
from bot.admins import is_admin
from bot.context import ReplyContext
from bot.documents.progress import ProgressBoard, cancel_button, status_text
from bot.errors import BotError
from bot.i18n import Texts
from bot.middlewares.dedupe import Ticket
from tasks.client.prefs import PrefsStore
from tasks.client.queue import QueueClient
from tasks.client.requests import RequestRecord
from tasks.client.submit import QueueUnavailable
from tasks.contract import DocumentRequest
from tasks.formats import supported_extensions
from tasks.pairs import TranslateCommand

log = logging.getLogger(__name__)
# An album's languages, from its captioned file: kept this long (seconds), and how long
# a file without a caption waits for them.
ALBUM = "tolmach:album:"
ALBUM_FOR, ALBUM_WAIT = 60, 1.5
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
        *,
        bot: Bot,
        client: QueueClient,
        prefs: PrefsStore,
        phrases: Texts,
        board: ProgressBoard,
        max_bytes: int,
    ) -> None:
        self.bot, self.client, self.prefs = bot, client, prefs
        self.phrases, self.board, self.max_bytes = phrases, board, max_bytes

    async def accept(
        self,
        message: Message,
        request: TranslateCommand,
        locale: str,
        ticket: Ticket,
        *,
        addressed: bool = False,
    ) -> bool:
        """Queue a message's document into the caption's languages (or the default),
        one request per language; those `ticket` says were saved are skipped.

        Only the caption's languages count: any other words in it are not translated.
        `addressed`: the caption is a command, so even a group's file without
        languages is for the bot (into the group's language, else the user's).

        Returns:
            False when the document is not for the bot (a group file without languages).

        Raises:
            DocumentRefused: Unknown format or over the size limit.
        """
        if message.media_group_id is not None:
            request, addressed = await self._album(message, request, addressed)
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
        # As for a text: at most MAX_TARGETS (a caption of 1,024 characters names ~340).
        self.client.admission.policy.check_work([], targets)
        for index, tgt in enumerate(targets):
            if (record := ticket.at(index)).done:
                continue
            payload = DocumentRequest(
                file_path=file.file_path or "", file_name=name, src=request.src, tgt=tgt
            )
            await self._queue(message, payload, locale, record.marks())
        return True

    async def _album(
        self, message: Message, request: TranslateCommand, addressed: bool
    ) -> tuple[TranslateCommand, bool]:
        """An album's caption is on one of its files (the first): the others follow it.

        A captioned file says its languages for the album; one without a caption waits
        a moment for them (the album's files come together, in any order, each an update
        of its own), else keeps its own default.
        """
        key = f"{ALBUM}{message.chat.id}:{message.media_group_id}"
        if message.caption:
            if len(request.targets) > self.client.admission.policy.max_targets:
                return request, addressed  # refused for this file: not for the others
            said = {"src": request.src, "targets": list(request.targets), "addressed": addressed}
            await self.client.redis.set(key, json.dumps(said), ex=ALBUM_FOR)
            return request, addressed
        deadline = time.monotonic() + ALBUM_WAIT
        while (raw := await self.client.redis.get(key)) is None:
            if time.monotonic() > deadline:
                return request, addressed
            await asyncio.sleep(0.1)
        said = json.loads(raw)
        caption = TranslateCommand(str(said["src"]), tuple(said["targets"]), "")
        return caption, bool(said["addressed"])

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

    async def _queue(
        self, message: Message, request: DocumentRequest, locale: str, also: dict[str, str]
    ) -> None:
        task_id = str(uuid.uuid4())
        label = request["file_name"]
        status = await message.reply(
            status_text(self.phrases, locale, label, request["tgt"], None),
            reply_markup=cancel_button(task_id, self.phrases(texts.DOC_CANCEL, locale)),
        )
        self.board.sent(message.chat.id)
        context = ReplyContext(
            chat_id=message.chat.id,
            message_id=message.message_id,
            locale=locale,
            kind="document",
            label=f"{label}\n{request['tgt']}",
            status_id=status.message_id,
            user_id=message.from_user.id if message.from_user else None,
        )
        try:
            await self.client.submit_document(context.record(), request, task_id=task_id, also=also)
        except QueueUnavailable:
            await self.board.delete((message.chat.id, status.message_id))
            raise

    async def may_cancel(self, task_id: str, chat_id: int, user_id: int) -> bool:
        """Whether this user, pressing Cancel in this chat, may cancel the document: the
        one who sent it, or an admin of its chat; in the chat it was sent to (a button's
        data can be forged). True for a document no longer waiting (nothing to cancel)."""
        record = await self.client.requests.peek(task_id)
        if record is None:
            return True
        context = ReplyContext.of(record)
        if context.chat_id != chat_id:
            return False
        if context.user_id is None or context.user_id == user_id:
            return True
        return await is_admin(self.bot, chat_id, user_id)

    async def cancel(self, task_id: str) -> bool:
        """Cancel a document (see `QueueClient.cancel_document`) and say so in its status
        message.

        Returns:
            False when the document was already answered (or cancelled).
        """

        async def tell(record: RequestRecord) -> None:
            context = ReplyContext.of(record)
            name = (context.label or "").partition("\n")[0]
            text = self.phrases(texts.DOC_CANCELLED, context.locale, name=name)
            await self.board.finish(context, text)

        return await self.client.cancel_document(task_id, tell)
