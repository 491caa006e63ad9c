"""`/start` and `/help`."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandStart
from aiogram.types import Message

from bot import texts

router = Router(name=__name__)


@router.message(CommandStart())
@router.message(Command("help"))
async def help_(message: Message) -> None:
    """Explain what the bot does, with examples."""
    await message.answer(texts.HELP)
