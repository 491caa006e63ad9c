"""Turn chat events into queued translations: which text, which languages, how to answer.

Handlers stay thin: they parse and call one method here.
"""

from __future__ import annotations

from aiogram.types import Message, User

from bot.chat.sources import Source, SourceStore
from bot.chat.typing_indicator import TypingIndicator
from bot.context import ReplyContext
from bot.errors import TextTooLong
from bot.middlewares.dedupe import Ticket
from tasks.client.admission import InvalidText, Policy, invalid_problem
from tasks.client.prefs import ChatPrefs, PrefsStore, UserPrefs
from tasks.client.submit import Submitter
from tasks.contract import TranslateOptions
from tasks.pairs import AUTO, NoTarget, TranslateCommand, UsageError


class TranslateFlow:
    """Builds requests from messages and user/chat settings, and queues them."""

    def __init__(
        self,
        *,
        submitter: Submitter,
        prefs: PrefsStore,
        sources: SourceStore,
        typing: TypingIndicator,
        policy: Policy,
    ) -> None:
        self.submitter = submitter
        self.prefs = prefs
        self.sources = sources
        self.typing = typing
        self.policy = policy

    async def command(
        self, message: Message, request: TranslateCommand, locale: str, ticket: Ticket
    ) -> None:
        """`/translate …`, possibly as a reply to the message to translate.

        One request per target, in order (`ticket.at` each: those saved are skipped).
        """
        text, html = request.text, False
        if not text and message.reply_to_message is not None:
            text, html = _content(message.reply_to_message, self.policy.max_chars)
        if not text:
            raise UsageError
        targets = request.targets or await self._default_targets(message)
        if not targets:
            raise NoTarget
        self.policy.check_work([text], targets)  # before any of them is queued
        reply_to = message.message_id
        for index, tgt in enumerate(targets):
            label = tgt if len(targets) > 1 else None
            original = Source(text, request.src, html)
            await self._queue(
                message,
                original,
                tgt,
                ticket.at(index),
                reply_to=reply_to,
                locale=locale,
                label=label,
            )

    async def private_text(self, message: Message, locale: str, ticket: Ticket) -> None:
        """Plain text in a private chat: into the user's language, else their second."""
        text, html = _content(message, self.policy.max_chars)
        if not text:
            return
        user = await self._user_prefs(message.from_user)
        assert user.target is not None
        options = TranslateOptions(fallback=user.second) if user.second else None
        await self._queue(
            message,
            Source(text, AUTO, html),
            user.target,
            ticket,
            reply_to=message.message_id,
            locale=locale,
            options=options,
            buttons=True,
        )

    async def group_text(
        self, message: Message, chat: ChatPrefs, locale: str, ticket: Ticket
    ) -> None:
        """A group message while auto-translate is on: only foreign-language text."""
        text, html = _content(message, self.policy.max_chars)
        if not text or chat.target is None:
            return
        options = TranslateOptions(skip=list(chat.languages))
        await self._queue(
            message,
            Source(text, AUTO, html),
            chat.target,
            ticket,
            reply_to=message.message_id,
            locale=locale,
            options=options,
            kind="auto",
        )

    async def again(
        self, message: Message, source_id: str, tgt: str, locale: str, ticket: Ticket
    ) -> bool:
        """A button under a translation: the same original into another language."""
        source = await self.sources.load(source_id)
        if source is None:
            return False
        if ticket.done:
            return True
        reply_to = message.reply_to_message.message_id if message.reply_to_message else 0
        context = ReplyContext(
            chat_id=message.chat.id,
            message_id=reply_to or message.message_id,
            locale=locale,
            source_id=source_id,
            html=source.html,
        )
        options = TranslateOptions(html=source.html)
        await self.submitter.translate(
            context.record(), source.text, source.src, tgt, options=options, also=ticket.marks()
        )
        await self.typing.start(message.chat.id)
        return True

    async def _queue(
        self,
        message: Message,
        original: Source,
        tgt: str,
        ticket: Ticket,
        *,
        reply_to: int,
        locale: str,
        label: str | None = None,
        options: TranslateOptions | None = None,
        kind: str = "translate",
        buttons: bool = False,
    ) -> None:
        if ticket.done:  # queued by a bot that died before it was done with the update
            return
        if len(original.text) > self.policy.max_chars:
            raise TextTooLong(len(original.text), self.policy.max_chars)
        if (problem := invalid_problem(original.text)) is not None:
            raise InvalidText(0, problem)
        source_id = await self.sources.save(original) if buttons else None
        context = ReplyContext(
            chat_id=message.chat.id,
            message_id=reply_to,
            locale=locale,
            kind=kind,
            source_id=source_id,
            label=label,
            html=original.html,
        )
        await self.submitter.translate(
            context.record(),
            original.text,
            original.src,
            tgt,
            options={**(options or {}), "html": original.html},
            also=ticket.marks(),
        )
        if kind != "auto":
            await self.typing.start(message.chat.id)

    async def _default_targets(self, message: Message) -> tuple[str, ...]:
        if message.chat.type != "private":
            chat = await self.prefs.chat(message.chat.id)
            if chat.target:
                return (chat.target,)
        user = await self._user_prefs(message.from_user)
        return (user.target,) if user.target else ()

    async def _user_prefs(self, user: User | None) -> UserPrefs:
        if user is None:
            return await self.prefs.languages_of(None, None)
        return await self.prefs.languages_of(user.id, user.language_code)


def _content(message: Message, limit: int) -> tuple[str, bool]:
    """A message's text or caption, as Telegram HTML when it carries formatting, unless
    its tags and escapes would take it over `limit` (MAX_TEXT_CHARS): the limit is on
    what the user wrote, so such a text is translated plain, without its formatting."""
    plain = message.text or message.caption or ""
    if message.entities or message.caption_entities:
        marked = message.html_text
        if len(marked) <= limit:
            return (marked, True)
    return (plain, False)
