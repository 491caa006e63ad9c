"""`python -m bot`: run the Telegram bot with long polling."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from bot.commands import register_commands
from bot.factory import create_bot, create_dispatcher, create_listener, create_services
from config import Settings, load_settings


async def run(settings: Settings) -> None:
    """Poll Telegram and listen for results until stopped."""
    bot = create_bot(settings)
    services = create_services(settings, bot)
    dispatcher = create_dispatcher(settings, services)
    listener = create_listener(bot, services)
    listening = asyncio.create_task(listener.run())
    await register_commands(bot, services.phrases)
    try:
        await dispatcher.start_polling(bot, handle_signals=True)
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
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    asyncio.run(run(settings))


if __name__ == "__main__":
    main()
