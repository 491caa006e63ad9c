"""The one retry policy of the bot's Telegram calls (`tasks.telegram.retries`), on the
session middleware chain aiogram runs: 429s waited out, 5xx retried, some calls once."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter, TelegramServerError
from aiogram.methods import AnswerInlineQuery, SendChatAction, SendMessage, TelegramMethod

from tasks.telegram import retries
from tasks.telegram.retries import RetryTelegram
from tests.support.stack import TOKEN


class Telegram:
    """The next link of the chain: fails as told, then answers."""

    def __init__(self, *failures: Exception) -> None:
        self.failures = list(failures)
        self.calls = 0

    async def __call__(self, bot: Bot, method: TelegramMethod[Any]) -> Any:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return True


@pytest.fixture(autouse=True)
def no_sleeping(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Waits are recorded, not slept (the delays themselves are what is checked)."""
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr(retries.asyncio, "sleep", sleep)
    return slept


def call(telegram: Telegram, method: TelegramMethod[Any]) -> Any:
    async def run() -> Any:
        async with Bot(TOKEN) as bot:
            return await RetryTelegram()(telegram, bot, method)

    return asyncio.run(run())


SEND = SendMessage(chat_id=1, text="hi")


def test_a_429_is_waited_out_for_as_long_as_telegram_says(no_sleeping: list[float]) -> None:
    telegram = Telegram(TelegramRetryAfter(SEND, "Too Many Requests", 7))
    assert call(telegram, SEND) is True
    assert telegram.calls == 2 and no_sleeping == [7]


def test_server_errors_back_off_then_give_up(no_sleeping: list[float]) -> None:
    telegram = Telegram(*[TelegramServerError(SEND, "Bad Gateway") for _ in range(5)])
    with pytest.raises(TelegramServerError):
        call(telegram, SEND)
    assert telegram.calls == 5 and no_sleeping == [1, 2, 4, 8]


def test_a_server_error_then_success_is_one_answer() -> None:
    telegram = Telegram(TelegramServerError(SEND, "Bad Gateway"))
    assert call(telegram, SEND) is True and telegram.calls == 2


@pytest.mark.parametrize(
    "method",
    [
        AnswerInlineQuery(inline_query_id="q", results=[]),
        SendChatAction(chat_id=1, action="typing"),
    ],
)
def test_deadline_bound_and_cosmetic_calls_go_once(
    method: TelegramMethod[Any], no_sleeping: list[float]
) -> None:
    telegram = Telegram(TelegramRetryAfter(method, "Too Many Requests", 3))
    with pytest.raises(TelegramRetryAfter):
        call(telegram, method)
    assert telegram.calls == 1 and no_sleeping == []


def test_a_retried_error_is_logged_without_the_token(caplog: pytest.LogCaptureFixture) -> None:
    """aiohttp's errors can carry the request URL, and the Bot API's URLs carry the token."""
    url = f"http://127.0.0.1:1/bot{TOKEN}/sendMessage"
    telegram = Telegram(TelegramNetworkError(SEND, f"InvalidURL: {url}"))
    with caplog.at_level(logging.WARNING, logger=retries.__name__):
        assert call(telegram, SEND) is True
    [line] = caplog.messages
    assert "sendMessage" in line and "<redacted>" in line
    assert TOKEN.partition(":")[2] not in caplog.text
