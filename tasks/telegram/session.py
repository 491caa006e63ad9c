"""The deployment's aiogram Bot: one way to build it, for the bot and the HTTP API alike."""

from __future__ import annotations

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from config import Settings
from tasks.telegram.retries import RetryTelegram


def create_bot(settings: Settings) -> Bot:
    """The aiogram Bot, talking to TELEGRAM_API_URL (a local Bot API server works);
    every call it makes goes through one retry policy (`RetryTelegram`).

    The session opens its connections on the first call; close it with
    `await bot.session.close()` when the process stops.
    """
    assert settings.bot_token is not None, "load_settings(need_bot_token=True) checks this"
    session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
    session.middleware(RetryTelegram())
    return Bot(settings.bot_token.get_secret_value(), session=session)
