"""Group auto-translate: messages not in the group's languages are translated."""

from __future__ import annotations

import logging
from typing import Any

from aiogram import F, Router
from aiogram.types import Message

from bot.chat.flow import TranslateFlow
from bot.errors import TextTooLong
from bot.middlewares.dedupe import Ticket
from bot.middlewares.gate import UNASKED
from tasks.client.admission import Refused
from tasks.client.prefs import ChatPrefs, PrefsStore

log = logging.getLogger(__name__)
router = Router(name=__name__)
router.message.filter(F.chat.type.in_({"group", "supergroup"}))


async def auto_on(message: Message, prefs: PrefsStore) -> dict[str, Any] | bool:
    """Matches only while an admin has auto-translate on; hands the prefs over."""
    chat = await prefs.chat(message.chat.id)
    return {"chat_prefs": chat} if chat.auto else False


# A filter, not a check in the handler: the rate limit counts only messages we translate.
@router.message(F.text | F.caption, auto_on, flags=UNASKED)
async def auto_translate(
    message: Message, flow: TranslateFlow, chat_prefs: ChatPrefs, locale: str, ticket: Ticket
) -> None:
    """Translate a group message that is not in the group's languages. Auto-translate
    speaks only when it has a translation: a message it cannot take is left alone."""
    try:
        await flow.group_text(message, chat_prefs, locale, ticket)
    except (TextTooLong, Refused) as exc:
        log.info("auto-translate left message %s alone: %r", message.message_id, exc)
