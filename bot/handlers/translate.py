"""`/translate` and `/tr` (also in captions, and when a command is edited)."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.chat.flow import TranslateFlow
from bot.middlewares.dedupe import Ticket
from bot.middlewares.gate import COSTLY
from tasks.pairs import parse_translate

router = Router(name=__name__)
# A file captioned with the command is the documents router's: the file is translated.
router.message.filter(~F.document)
router.edited_message.filter(~F.document)
COMMAND = Command("translate", "tr")


@router.message(COMMAND, flags=COSTLY)
@router.edited_message(COMMAND, flags=COSTLY)
async def translate(
    message: Message, command: CommandObject, flow: TranslateFlow, locale: str, ticket: Ticket
) -> None:
    """Queue the translation; the result listener sends the answer."""
    await flow.command(message, parse_translate(command.args), locale, ticket)
