"""`/app`: a button that opens the web page inside Telegram (a Mini App)."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Message, WebAppInfo
from aiogram.utils.i18n import gettext as _

from bot import texts
from config import Settings

router = Router(name=__name__)


@router.message(Command("app"))
async def open_app(message: Message, settings: Settings) -> None:
    """Offer the page (WEBAPP_URL); without one, say so."""
    if settings.webapp_url is None:
        await message.reply(_(texts.APP_NONE))
        return
    button = InlineKeyboardButton(
        text=_(texts.APP_BUTTON), web_app=WebAppInfo(url=settings.webapp_url)
    )
    await message.reply(
        _(texts.APP_OPEN), reply_markup=InlineKeyboardMarkup(inline_keyboard=[[button]])
    )
