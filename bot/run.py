"""The running bot: wait for Redis and Telegram, then take updates (webhook when WEBHOOK_URL
is set, else polling) and answer results until stopped. `python -m bot` starts it."""

from __future__ import annotations

import asyncio
import logging
import os
import sys

from aiogram import Bot

from bot.commands import register_commands, register_menu_button
from bot.factory import Services, create_bot, create_dispatcher, create_listener, create_services
from bot.server.startup import StartupError, cancel_and_wait, wait_for_redis, wait_for_telegram
from bot.server.updates import run_polling, run_webhook
from bot.server.web import web_app
from config import Settings
from tasks.languages import known_names


async def run(settings: Settings) -> None:
    """Wait for Redis and Telegram, then take updates and answer results until stopped."""
    bot = create_bot(settings)
    services = create_services(settings, bot)
    try:
        # Both before the listener starts: a fault found here ends the process cleanly.
        await wait_for_redis(settings)
        await wait_for_telegram(bot, settings.telegram_api_url)
        await serve(settings, bot, services)
    finally:
        await services.redis.aclose()
        await bot.session.close()


async def serve(settings: Settings, bot: Bot, services: Services) -> None:
    """Receive updates (webhook or polling) and listen for results until stopped."""
    dispatcher = create_dispatcher(settings, services)
    known_names()  # every command resolves languages: build babel's names before the first
    listener = create_listener(bot, services)
    listening = asyncio.create_task(listener.run())
    app = web_app(services.metrics, services.redis)
    try:
        await register_commands(bot, services.phrases)
        await register_menu_button(bot, settings.webapp_url)
        await services.intake.replay(bot, dispatcher)  # what an earlier bot left parked
        receive = run_webhook if settings.webhook_url else run_polling
        await receive(settings, bot, dispatcher, app, services.intake)
    finally:
        await cancel_and_wait(listening)
        await listener.drain()


def serve_forever(settings: Settings) -> None:
    """Run until stopped; a start-up fault is one line on stderr and exit status 1."""
    try:
        asyncio.run(run(settings))
    except StartupError as exc:
        # The line on stderr, exit status 1, and gone at once: `tolmach run` silences the
        # other services when this process exits, and what they print between this line
        # and the exit would land below it (the interpreter's teardown takes seconds on
        # a busy machine). Everything was closed when run() returned.
        logging.shutdown()
        print(exc, file=sys.stderr, flush=True)
        os._exit(1)
    except KeyboardInterrupt:
        sys.exit(130)  # Ctrl-C while still waiting for Redis or Telegram
