"""The one place where errors become replies: users see words, never tracebacks."""

from __future__ import annotations

import logging

from aiogram import F, Router
from aiogram.filters import ExceptionTypeFilter
from aiogram.types import ErrorEvent, Message

from bot import errors, texts

router = Router(name=__name__)
log = logging.getLogger(__name__)


def describe(error: Exception) -> str:
    """Word a handler error for the user."""
    match error:
        case errors.UsageError():
            return texts.USAGE
        case errors.UnknownLanguage(code=code):
            return texts.UNKNOWN_LANGUAGE.format(code=code)
        case errors.SameLanguage(code=code):
            return texts.SAME_LANGUAGE.format(code=code)
        case errors.TextTooLong(length=length, limit=limit):
            return texts.TEXT_TOO_LONG.format(length=length, limit=limit)
        case errors.QueueUnavailable():
            return texts.QUEUE_UNAVAILABLE
    return texts.RESULT_ERRORS["internal"]


@router.error(ExceptionTypeFilter(errors.BotError), F.update.message.as_("message"))
async def bot_error(event: ErrorEvent, message: Message) -> None:
    """A typed error raised by a handler."""
    await message.reply(describe(event.exception))


@router.error(F.update.message.as_("message"))
async def unexpected(event: ErrorEvent, message: Message) -> None:
    """Anything else: log it with its traceback, tell the user politely."""
    log.error("handler failed", exc_info=event.exception)
    await message.reply(texts.RESULT_ERRORS["internal"])
