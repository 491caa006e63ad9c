"""One retry policy for every call the bot makes to Telegram, from any front end: an
aiogram session middleware.

A 429 is waited out for as long as Telegram says; a network error or a 5xx is retried
with backoff (1, 2, 4, 8 s), then raised. Calls with a deadline or a patience of their
own are passed through once: long polling (aiogram backs off by itself), the calls the
start-up check retries itself (`bot.server.startup`: getMe, set/deleteWebhook),
inline/callback answers (useless once late) and cosmetic calls (the typing indicator,
the command menu), which must never hold up a request.

A logged error is redacted first: aiohttp's errors can carry the request URL, and the
Bot API's URLs carry the token.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter, TelegramServerError
from aiogram.methods import (
    AnswerCallbackQuery,
    AnswerInlineQuery,
    DeleteWebhook,
    GetMe,
    GetUpdates,
    Response,
    SendChatAction,
    SetMyCommands,
    SetWebhook,
    TelegramMethod,
)
from aiogram.methods.base import TelegramType

if TYPE_CHECKING:
    from aiogram import Bot

log = logging.getLogger(__name__)
ATTEMPTS = 5
_ONCE: tuple[type[TelegramMethod[Any]], ...] = (
    GetUpdates,
    GetMe,
    SetWebhook,
    DeleteWebhook,
    AnswerInlineQuery,
    AnswerCallbackQuery,
    SendChatAction,
    SetMyCommands,
)


def waits_out(method: TelegramMethod[Any]) -> bool:
    """Whether a 429 on this call is waited out (and a failure retried) here."""
    return not isinstance(method, _ONCE)


class RetryTelegram(BaseRequestMiddleware):
    """Waits out 429s and retries transient failures of Telegram calls."""

    def __init__(self, attempts: int = ATTEMPTS) -> None:
        self.attempts = attempts

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        if not waits_out(method):
            return await make_request(bot, method)
        name = type(method).__name__
        for attempt in range(self.attempts):
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                if attempt == self.attempts - 1:
                    raise
                log.info("429 on %s, waiting %ss", name, exc.retry_after)
                await asyncio.sleep(exc.retry_after)
            except (TelegramNetworkError, TelegramServerError) as exc:
                if attempt == self.attempts - 1:
                    raise
                reason = redact(f"{type(exc).__name__}: {exc}", bot.token)
                log.warning("%s failed (%s); retrying in %ss", name, reason, 2**attempt)
                await asyncio.sleep(2**attempt)
        raise AssertionError("unreachable: the last attempt returns or raises")


def redact(text: str, token: str) -> str:
    """`text` without the bot token: its secret part (after the colon) is cut out
    wherever it appears, whole token or not."""
    secret = token.partition(":")[2] or token
    return text.replace(secret, "<redacted>") if secret else text
