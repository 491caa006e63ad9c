"""Turn a finished task into chat messages and send them, honouring Telegram's limits."""

from __future__ import annotations

import html
import logging
import re
from typing import Any

from aiogram import Bot
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.types import InlineKeyboardMarkup, ReplyParameters

from bot import texts
from bot.chat.choices import LanguageChoices
from bot.chat.keyboards import language_buttons, other_languages
from bot.chat.splitting import split_message
from bot.chat.typing_indicator import TypingIndicator
from bot.context import ReplyContext
from bot.i18n import Texts
from tasks.client.answering import answered
from tasks.languages import display_name

log = logging.getLogger(__name__)

_TAG = re.compile(r"<[^<>]*>")


def render(meta: dict[str, Any], context: ReplyContext, phrases: Texts) -> str | None:
    """The answer to one task, from its Celery result meta; None means stay silent."""
    status, result = meta.get("status"), meta.get("result")
    ok = status == "SUCCESS" and isinstance(result, dict) and result.get("ok")
    if context.kind == "auto" and not ok:
        return None  # auto-translate speaks only when it has a translation
    if status == "REVOKED":
        return phrases(texts.CANCELLED, context.locale)
    if status != "SUCCESS" or not isinstance(result, dict):
        return phrases(texts.INTERNAL, context.locale)
    if not result.get("ok"):
        message = texts.ERRORS.get(str(result.get("error")), texts.INTERNAL)
        if message is None:
            return None
        src, tgt = result.get("src", "?"), result.get("tgt", "?")
        return phrases(message, context.locale, src=src, tgt=tgt, code=src)
    text = str(result.get("text") or "")
    if not text.strip():
        text = phrases(texts.EMPTY_TRANSLATION, context.locale)
        text = html.escape(text) if context.html else text
    if context.label:
        text = f"[{context.label}] {text}"
    return text


class Delivery:
    """Answers chat requests ("translate", "auto") as replies to the asking message."""

    def __init__(
        self, *, bot: Bot, phrases: Texts, typing: TypingIndicator, choices: LanguageChoices
    ) -> None:
        self.bot = bot
        self.choices = choices
        self.phrases = phrases
        self.typing = typing

    async def __call__(self, context: ReplyContext, meta: dict[str, Any]) -> None:
        """Answer one request (possibly in several messages)."""
        self.typing.done(context.chat_id)
        text = render(meta, context, self.phrases)
        if text is None:
            return
        markup = self._buttons(context, meta)
        if (offer := await self._offer_targets(context, meta)) is not None:
            text, markup = offer
        pieces = split_message(text)
        for i, piece in enumerate(pieces):
            await self.send(context, piece, markup if i == len(pieces) - 1 else None)
        # Telegram took it: marked answered before anything else can delay it. (Killed
        # between two pieces, the restarted bot sends every piece again.)
        await answered()

    def _buttons(self, context: ReplyContext, meta: dict[str, Any]) -> InlineKeyboardMarkup | None:
        result = meta.get("result")
        if context.source_id is None or not isinstance(result, dict) or not result.get("ok"):
            return None
        exclude = {str(result.get("src")), str(result.get("tgt"))}
        return other_languages(context.source_id, exclude, self.phrases.locale(context.locale))

    async def _offer_targets(
        self, context: ReplyContext, meta: dict[str, Any]
    ) -> tuple[str, InlineKeyboardMarkup | None] | None:
        """Plain text already in the user's language: not an error, but a question.
        Buttons offer the languages the deployment translates it into."""
        result = meta.get("result")
        if (
            context.source_id is None
            or not isinstance(result, dict)
            or result.get("error") != "same_language"
        ):
            return None
        src = str(result.get("src"))
        targets = await self.choices.targets_from(src)
        locale = self.phrases.locale(context.locale)
        text = self.phrases(
            texts.ALREADY_IN_LANGUAGE if targets else texts.ALREADY_IN_LANGUAGE_NO_MODEL,
            context.locale,
            language=display_name(src, locale),
            src=src,
            example=(targets or ["en" if src != "en" else "ru"])[0],
        )
        markup = language_buttons(context.source_id, targets, locale) if targets else None
        return (html.escape(text) if context.html else text), markup

    async def send(
        self, context: ReplyContext, text: str, markup: InlineKeyboardMarkup | None = None
    ) -> None:
        """Send one message (the session's middleware waits out 429s and retries).

        HTML that Telegram refuses (a split cut through a tag) is sent as plain text.
        A user who blocked the bot (403) is dropped: there is no one to answer.
        """
        reply = ReplyParameters(message_id=context.message_id, allow_sending_without_reply=True)
        mode: str | None = ParseMode.HTML if context.html else None
        try:
            try:
                await self.bot.send_message(
                    context.chat_id,
                    text,
                    parse_mode=mode,
                    reply_parameters=reply,
                    reply_markup=markup,
                )
            except TelegramBadRequest as exc:
                if mode is None or "parse entities" not in exc.message:
                    raise
                plain = html.unescape(_TAG.sub("", text))
                await self.bot.send_message(
                    context.chat_id, plain, reply_parameters=reply, reply_markup=markup
                )
        except TelegramForbiddenError:
            log.info("chat %r blocked the bot; answer dropped", context.chat_id)
        except TelegramBadRequest as exc:
            # Refused for good (the bot lost its rights in the chat, the chat is gone):
            # sent again at every sweep, it would be refused again for a day, and the
            # pieces before it sent each time.
            log.warning("chat %r refused the answer (%s); dropped", context.chat_id, exc.message)
