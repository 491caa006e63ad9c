"""The one place where errors become replies: users see words, never tracebacks."""

from __future__ import annotations

import logging
from functools import partial

from aiogram import Router
from aiogram.exceptions import TelegramAPIError
from aiogram.types import CallbackQuery, ErrorEvent, Message
from redis.exceptions import RedisError

from bot import errors, texts
from bot.documents.flow import DocumentRefused
from bot.i18n import Texts
from tasks import pairs
from tasks.client import admission
from tasks.client.submit import QueueUnavailable

router = Router(name=__name__)
log = logging.getLogger(__name__)


def describe(error: Exception, phrases: Texts, locale: str) -> str:
    """Word a handler error for the user, in their language."""
    match error:
        case pairs.PairError():
            return pairs.words(error, partial(phrases, locale=locale))
        case errors.TextTooLong(length=length, limit=limit):
            return phrases(texts.TEXT_TOO_LONG, locale, length=length, limit=limit)
        case admission.InvalidText():
            return phrases(texts.INVALID_TEXT, locale)
        case admission.TooMuchWork():
            return phrases(texts.TOO_MUCH_WORK, locale)
        case QueueUnavailable() | RedisError():
            return phrases(texts.QUEUE_UNAVAILABLE, locale)
        case errors.AdminsOnly():
            return phrases(texts.ADMINS_ONLY, locale)
        case errors.RateLimited(retry_after=seconds):
            return phrases(texts.RATE_LIMITED, locale, seconds=seconds)
        case errors.Busy(retry_after=seconds):
            return phrases(texts.BUSY, locale, seconds=seconds)
        case errors.NotAllowed():
            return phrases(texts.NOT_ALLOWED, locale)
        case DocumentRefused(message=message, values=values):
            return phrases(message, locale, **values)
    return phrases(texts.INTERNAL, locale)


@router.error()
async def on_error(event: ErrorEvent, phrases: Texts, locale: str = "en") -> None:
    """Reply to the message that failed; log what was not a typed error."""
    error = event.exception
    typed = errors.BotError | pairs.PairError | QueueUnavailable | admission.Refused
    if not isinstance(error, typed):
        log.error("handler failed", exc_info=error)
    if isinstance(error, errors.TryLater) and not error.notify:
        return  # told once already; the rest of the burst is dropped quietly
    if (query := event.update.callback_query) is not None:
        await _answer_callback(query, describe(error, phrases, locale))
        return
    message = event.update.message or event.update.edited_message
    if not isinstance(message, Message):
        return
    try:
        await message.reply(describe(event.exception, phrases, locale))
    except TelegramAPIError as exc:
        log.warning("could not report an error to chat %r: %r", message.chat.id, exc)


async def _answer_callback(query: CallbackQuery, text: str) -> None:
    try:
        await query.answer(text, show_alert=True)
    except TelegramAPIError as exc:
        log.warning("could not answer callback %r: %r", query.id, exc)
