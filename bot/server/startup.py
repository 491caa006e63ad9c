"""What the bot needs before it takes updates: Redis answering, and Telegram taking its token.

A wrong token stops the process with one line. An outage (Telegram or Redis not
answering, Telegram answering 5xx) is waited out, with one warning line per attempt
and a backoff capped at `MAX_DELAY`: a bot started during a network hiccup, or before
its Redis, comes up by itself once the other side answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Awaitable, Callable
from typing import TypeVar
from urllib.parse import urlsplit

from aiogram import Bot
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

from config import Settings
from tasks.connections import sync_redis, uses_sentinel

log = logging.getLogger(__name__)
T = TypeVar("T")
MAX_DELAY = 30.0
TOKEN_REJECTED = "Telegram rejected BOT_TOKEN (401 Unauthorized): check the token from @BotFather"


class StartupError(Exception):
    """A fault at start that waiting cannot cure, worded as one line for the operator."""


async def wait_for_redis(settings: Settings) -> None:
    """Return once Redis answers PING; log a line per failed attempt."""
    # A client of our own, without the bot's retries (about a minute per command):
    # one attempt, one line, every few seconds. Blocking, so in a thread.
    client = sync_redis(
        settings, socket_connect_timeout=5, socket_timeout=5, retry=Retry(NoBackoff(), 0)
    )
    delay = 1.0
    try:
        while True:
            try:
                await asyncio.to_thread(client.ping)
                return
            except (RedisError, OSError) as exc:
                log.warning(
                    "Redis is unreachable at %s (%s); retrying in %d s",
                    redis_where(settings),
                    short_reason(exc),
                    delay,
                )
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_DELAY)
    finally:
        client.close()


async def call_telegram(api_url: str, call: Callable[[], Awaitable[T]]) -> T:
    """Make a start-up Bot API call, waiting out outages and flood limits.

    Raises:
        StartupError: Telegram rejected the token, or refused the call for good.
    """
    delay = 1.0
    while True:
        try:
            return await call()
        except TelegramUnauthorizedError:
            raise StartupError(TOKEN_REJECTED) from None
        except TelegramRetryAfter as exc:
            # A bot restarted in a loop can hit the flood limit on setWebhook.
            log.warning("Telegram asks to wait %d s (flood control)", exc.retry_after)
            await asyncio.sleep(exc.retry_after)
            continue
        except (TelegramNetworkError, TelegramServerError, ClientDecodeError) as exc:
            log.warning(
                "Telegram is unreachable at %s (%s); retrying in %d s",
                api_url,
                short_reason(exc),
                delay,
            )
        except TelegramAPIError as exc:
            raise StartupError(
                f"Telegram refused {exc.method.__api_method__} at {api_url} ({exc.message}): "
                "check TELEGRAM_API_URL and BOT_TOKEN"
            ) from None
        await asyncio.sleep(delay)
        delay = min(delay * 2, MAX_DELAY)


async def wait_for_telegram(bot: Bot, api_url: str) -> None:
    """Return once Telegram accepts the token (getMe); log a line per failed attempt.

    Raises:
        StartupError: Telegram rejected the token.
    """
    me = await call_telegram(api_url, bot.get_me)
    log.info("Telegram accepts the token of @%s", me.username)


def short_reason(exc: BaseException) -> str:
    """A few words for a network error: "connection refused", "timed out"…"""
    for err in _chain(exc):
        if isinstance(err, ConnectionRefusedError):
            return "connection refused"
        if isinstance(err, socket.gaierror):
            return "name not resolved"
        if isinstance(err, TimeoutError):
            return "timed out"
        if isinstance(err, ClientDecodeError):
            return "the answer is not the Bot API's"
        if isinstance(err, TelegramServerError):
            return f"server error: {err.message}"
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def redis_where(settings: Settings) -> str:
    """Where Redis is looked for, without the password REDIS_URL may hold."""
    if uses_sentinel(settings):
        sentinels = ",".join(settings.redis_sentinels)
        return f"REDIS_SENTINELS {sentinels} (master {settings.redis_sentinel_master!r})"
    url = urlsplit(str(settings.redis_url))
    return f"REDIS_URL {url.hostname}:{url.port or 6379}"


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception and what caused it, outermost first."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


async def cancel_and_wait(task: asyncio.Task[None]) -> None:
    """Cancel a task and wait until it has ended.

    Cancelling again until it ends: Python 3.11's `asyncio.wait_for` (which redis-py
    uses for writes) drops a cancellation that arrives as the awaited write completes,
    and a single `cancel()` can then go unnoticed forever.
    """
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=0.5)
    with contextlib.suppress(asyncio.CancelledError):
        await task
