"""`/start`, `/help` and `/languages`."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandStart
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from bot import texts
from tasks.client.catalog import CatalogReader

router = Router(name=__name__)


@router.message(CommandStart())
@router.message(Command("help"))
async def help_(message: Message) -> None:
    """Explain what the bot does, with examples."""
    await message.answer(_(texts.HELP))


@router.message(Command("languages"))
async def languages(message: Message, catalog: CatalogReader) -> None:
    """What this deployment can translate, as its workers reported it."""
    read = await catalog()
    if read is None:
        await message.answer(_(texts.LANGUAGES_UNKNOWN))
        return
    lines = []
    if read["pairs"]:
        lines.append(_(texts.LANGUAGES_PAIRS).format(pairs=", ".join(read["pairs"])))
    if read["multilingual"]:
        lines.append(_(texts.LANGUAGES_MULTI).format(models=", ".join(read["multilingual"])))
    if read["hub_template"]:
        lines.append(_(texts.LANGUAGES_HUB))
    lines.append(_(texts.LANGUAGES_PIVOT))
    await message.answer("\n".join(lines))
