"""Register the command menu with Telegram, in every UI language the bot has, and the
menu button that opens the web page (WEBAPP_URL) as a Mini App."""

from __future__ import annotations

import contextlib
import logging

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import BotCommand, MenuButtonWebApp, WebAppInfo

from bot import texts
from bot.i18n import Texts

log = logging.getLogger(__name__)


async def register_commands(bot: Bot, phrases: Texts) -> None:
    """setMyCommands for the default language and each translated one."""
    for locale in (None, *phrases.i18n.available_locales):
        commands = [
            BotCommand(command=name, description=phrases(description, locale or "en"))
            for name, description in texts.COMMANDS.items()
        ]
        # A menu is a nicety: the bot works without one.
        with contextlib.suppress(TelegramAPIError):
            await bot.set_my_commands(commands, language_code=locale)


async def register_menu_button(bot: Bot, url: str | None) -> None:
    """With WEBAPP_URL, the chat menu button opens the page inside Telegram."""
    if url is None:
        return
    button = MenuButtonWebApp(text="Tolmach", web_app=WebAppInfo(url=url))
    with contextlib.suppress(TelegramAPIError):  # a nicety as well
        await bot.set_chat_menu_button(menu_button=button)
