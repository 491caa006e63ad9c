"""Turn a finished task into chat messages and send them, honouring Telegram's limits."""

from __future__ import annotations

import asyncio
import html
import logging
import re
from typing import Any

from aiogram import Bot
from aiogram.enums import ParseMode
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import InlineKeyboardMarkup, ReplyParameters

from bot import texts
from bot.choices import LanguageChoices
from bot.i18n import Texts
from bot.inline import InlineFlow
from bot.keyboards import language_buttons, other_languages
from bot.listener import Deliver
from bot.replies import ReplyContext
from bot.splitting import split_message
from bot.typing_indicator import TypingIndicator
from tasks.languages import display_name

log = logging.getLogger(__name__)

_ERRORS = {
    "unsupported_pair": texts.UNSUPPORTED_PAIR,
    "model_unavailable": texts.MODEL_UNAVAILABLE,
    "text_too_long": texts.RESULT_TOO_LONG,
    "same_language": texts.SAME_LANGUAGE,
    "undetected": texts.UNDETECTED,
    "bad_request": texts.BAD_REQUEST,
}
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
        if result.get("error") == "skipped":
            return None
        message = _ERRORS.get(str(result.get("error")), texts.INTERNAL)
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
    """Sends answers as replies; retries what Telegram asks to retry."""

    def __init__(
        self,
        bot: Bot,
        phrases: Texts,
        typing: TypingIndicator,
        inline: InlineFlow,
        attempts: int = 5,
        documents: Deliver | None = None,
        choices: LanguageChoices | None = None,
    ) -> None:
        self.bot = bot
        self.choices = choices
        self.documents = documents
        self.inline = inline
        self.phrases = phrases
        self.typing = typing
        self.attempts = attempts

    async def __call__(self, context: ReplyContext, meta: dict[str, Any]) -> None:
        """Answer one request (possibly in several messages)."""
        if context.kind == "inline":
            await self.inline.collect(context, meta)
            return
        if context.kind == "document" and self.documents is not None:
            await self.documents(context, meta)
            return
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
            or self.choices is None
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
        """Send one message, waiting out 429s and retrying network errors.

        HTML that Telegram refuses (a split cut through a tag) is sent as plain text.
        A user who blocked the bot (403) is dropped: there is no one to answer.
        """
        reply = ReplyParameters(message_id=context.message_id, allow_sending_without_reply=True)
        mode: str | None = ParseMode.HTML if context.html else None
        for attempt in range(self.attempts):
            try:
                await self.bot.send_message(
                    context.chat_id,
                    text,
                    parse_mode=mode,
                    reply_parameters=reply,
                    reply_markup=markup,
                )
                return
            except TelegramRetryAfter as exc:
                log.info("429 for chat %r, waiting %ss", context.chat_id, exc.retry_after)
                await asyncio.sleep(exc.retry_after)
            except TelegramForbiddenError:
                log.info("chat %r blocked the bot; answer dropped", context.chat_id)
                return
            except TelegramBadRequest as exc:
                if mode is None or "parse entities" not in exc.message:
                    raise
                mode, text = None, html.unescape(_TAG.sub("", text))
            except (TelegramNetworkError, TelegramServerError) as exc:
                if attempt == self.attempts - 1:
                    raise
                log.warning("network error sending to %r: %r", context.chat_id, exc)
                await asyncio.sleep(2**attempt)
        raise RuntimeError(f"gave up sending to chat {context.chat_id}")
