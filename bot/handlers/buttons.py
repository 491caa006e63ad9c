""" "Other language" buttons under a translation."""

from __future__ import annotations

from aiogram import Router
from aiogram.types import CallbackQuery, Message

from bot import texts
from bot.chat.flow import TranslateFlow
from bot.chat.keyboards import OtherLanguage
from bot.i18n import Texts
from bot.middlewares.dedupe import Ticket
from bot.middlewares.gate import COSTLY

router = Router(name=__name__)


@router.callback_query(OtherLanguage.filter(), flags=COSTLY)
async def other_language(
    query: CallbackQuery,
    callback_data: OtherLanguage,
    flow: TranslateFlow,
    phrases: Texts,
    locale: str,
    ticket: Ticket,
) -> None:
    """Queue the original again, into the language on the button."""
    if not isinstance(query.message, Message):
        await query.answer()
        return
    source, tgt = callback_data.source, callback_data.tgt
    queued = await flow.again(query.message, source, tgt, locale, ticket)
    # Not queued: the original is no longer kept (REPLY_TTL), not "cancelled".
    await query.answer(phrases(texts.OTHER_LANGUAGE if queued else texts.SOURCE_GONE, locale))
