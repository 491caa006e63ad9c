"""`python -m bot`: run the Telegram bot (webhook when WEBHOOK_URL is set, else polling)."""

from __future__ import annotations

import asyncio
import contextlib

from bot.commands import register_commands
from bot.factory import create_bot, create_dispatcher, create_listener, create_services
from bot.web import web_app
from bot.webhook import run_polling, run_webhook
from config import Settings, load_settings
from config.logs import setup_logging


async def run(settings: Settings) -> None:
    """Receive updates (webhook or polling) and listen for results until stopped."""
    bot = create_bot(settings)
    services = create_services(settings, bot)
    dispatcher = create_dispatcher(settings, services)
    listener = create_listener(bot, services)
    listening = asyncio.create_task(listener.run())
    app = web_app(services.metrics, services.redis)
    try:
        await register_commands(bot, services.phrases)
        serve = run_webhook if settings.webhook_url else run_polling
        await serve(settings, bot, dispatcher, app)
    finally:
        listening.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listening
        await listener.drain()
        await services.redis.aclose()
        await bot.session.close()


def main() -> None:
    """Entry point: settings first, so a bad setting is one clear line."""
    settings = load_settings(need_bot_token=True)
    setup_logging(settings.log_level, settings.log_format)
    asyncio.run(run(settings))


if __name__ == "__main__":
    main()
