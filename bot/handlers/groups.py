"""Group auto-translate: messages not in the group's languages are translated."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import Message

from bot.flow import TranslateFlow
from bot.prefs import PrefsStore

router = Router(name=__name__)
router.message.filter(F.chat.type.in_({"group", "supergroup"}))


@router.message(F.text | F.caption)
async def auto_translate(message: Message, flow: TranslateFlow, prefs: PrefsStore) -> None:
    """Only when an admin turned auto-translate on (and the bot can see messages)."""
    chat = await prefs.chat(message.chat.id)
    if chat.auto:
        await flow.group_text(message, chat)
