"""`/start`, `/help` and `/languages`."""

from __future__ import annotations

import json

from aiogram import Router
from aiogram.filters import Command, CommandStart
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _
from redis.asyncio import Redis

from bot import texts
from tasks.catalog import CATALOG_KEY

router = Router(name=__name__)


@router.message(CommandStart())
@router.message(Command("help"))
async def help_(message: Message) -> None:
    """Explain what the bot does, with examples."""
    await message.answer(_(texts.HELP))


@router.message(Command("languages"))
async def languages(message: Message, redis: Redis) -> None:
    """What this deployment can translate, as its workers reported it."""
    raw = await redis.get(CATALOG_KEY)
    if raw is None:
        await message.answer(_(texts.LANGUAGES_UNKNOWN))
        return
    catalog = json.loads(raw)
    lines = []
    if catalog["pairs"]:
        lines.append(_(texts.LANGUAGES_PAIRS).format(pairs=", ".join(catalog["pairs"])))
    if catalog["multilingual"]:
        lines.append(_(texts.LANGUAGES_MULTI).format(models=", ".join(catalog["multilingual"])))
    if catalog["hub_template"]:
        lines.append(_(texts.LANGUAGES_HUB))
    lines.append(_(texts.LANGUAGES_PIVOT))
    await message.answer("\n".join(lines))
