"""Plain text in a private chat is translated into the user's language."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import Message

from bot.chat.flow import TranslateFlow
from bot.middlewares.dedupe import Ticket
from bot.middlewares.gate import COSTLY

router = Router(name=__name__)
router.message.filter(F.chat.type == "private")


@router.message(F.text | F.caption, flags=COSTLY)
async def plain_text(message: Message, flow: TranslateFlow, locale: str, ticket: Ticket) -> None:
    """Anything that is not a command."""
    await flow.private_text(message, locale, ticket)
