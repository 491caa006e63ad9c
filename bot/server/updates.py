"""How updates reach the bot: a webhook when WEBHOOK_URL is set, long polling otherwise.

Either way one small aiohttp server also answers `/health` and `/metrics` (in webhook
mode the webhook's own server, else one on METRICS_PORT).
"""

from __future__ import annotations

import asyncio
import logging
import signal
from urllib.parse import urlparse

from aiogram import Bot, Dispatcher
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web

from bot.server.intake import ConfirmWhenHandled, Intake
from bot.server.startup import call_telegram
from bot.server.web import serving
from config import Settings

log = logging.getLogger(__name__)
DEFAULT_PATH = "/webhook"
# On the way out, how long the updates in hand may take to be handled.
STOP_WAIT = 5.0
# How long a webhook post may wait for its update to be handled before its 200.
HANDLING_LIMIT = 3600.0


def webhook_path(url: str) -> str:
    """The path Telegram posts to: the path of WEBHOOK_URL (a proxy may sit in front)."""
    return urlparse(url).path or DEFAULT_PATH


async def run_webhook(
    settings: Settings, bot: Bot, dispatcher: Dispatcher, app: web.Application, intake: Intake
) -> None:
    """Serve Telegram's webhook until SIGINT or SIGTERM.

    aiogram's handler answers 401 to a request without the right
    `X-Telegram-Bot-Api-Secret-Token`. Telegram gets its 200 once the update was
    handled (its request record saved), not before: a bot that dies meanwhile fails
    the request, and Telegram posts the update again. Every replica behind a load
    balancer calls setWebhook with the same URL and secret (idempotent); none deletes
    it on exit, as the others keep serving.
    """
    assert settings.webhook_url and settings.webhook_secret, "load_settings checks this"
    url, secret = settings.webhook_url, settings.webhook_secret.get_secret_value()
    # aiogram answers 200 after 55 s even if the handler still runs; wait it out instead
    # (a copy Telegram posts meanwhile waits for this one, see OncePerMessage).
    handler = SimpleRequestHandler(
        dispatcher, bot, handle_in_background=False, secret_token=secret, _timeout=HANDLING_LIMIT
    )
    handler.register(app, path=webhook_path(settings.webhook_url))
    setup_application(app, dispatcher, bot=bot)
    async with serving(app, settings.http_host, settings.webhook_port):
        await call_telegram(
            settings.telegram_api_url,
            lambda: bot.set_webhook(
                url,
                secret_token=secret,
                allowed_updates=dispatcher.resolve_used_update_types(),
            ),
        )
        log.info("webhook mode: Telegram posts to %r", url)
        await _until_stopped()


async def run_polling(
    settings: Settings, bot: Bot, dispatcher: Dispatcher, app: web.Application, intake: Intake
) -> None:
    """Long-poll Telegram until stopped, serving /health and /metrics on METRICS_PORT.

    A fetched batch is confirmed once handled (`ConfirmWhenHandled`); on the way out
    the updates in hand are finished before Redis closes.
    """
    # getUpdates fails while a webhook is set (from an earlier run in webhook mode).
    await call_telegram(settings.telegram_api_url, bot.delete_webhook)
    bot.session.middleware(ConfirmWhenHandled(intake))

    async def finish_updates_in_hand() -> None:  # before Redis and the session close
        await intake.settled(STOP_WAIT)
        await intake.cancel_open()  # what is left (stuck, or waiting out a 429) drops its claim

    dispatcher.shutdown.register(finish_updates_in_hand)
    async with serving(app, settings.http_host, settings.metrics_port, optional=True):
        await dispatcher.start_polling(bot, handle_signals=True)


async def _until_stopped() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
