"""Documents: a file (caption `en>ru`, `ru`, `/tr ru` or nothing) comes back translated."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.filters import CommandObject
from aiogram.types import CallbackQuery, Message

from bot import texts
from bot.documents.flow import DocumentFlow
from bot.documents.progress import CancelDocument
from bot.handlers.translate import COMMAND
from bot.i18n import Texts
from bot.middlewares.dedupe import Ticket
from bot.middlewares.gate import COSTLY
from tasks.pairs import PairError, parse_translate

router = Router(name=__name__)


@router.message(F.document, COMMAND, flags=COSTLY)
async def document_with_command(
    message: Message,
    command: CommandObject,
    documents: DocumentFlow,
    locale: str,
    ticket: Ticket,
) -> None:
    """A file captioned `/translate en>ru`, `/tr ru` or `/tr`: the file is translated."""
    request = parse_translate(command.args)
    await documents.accept(message, request, locale, ticket, addressed=True)


def _maybe_for_the_bot(message: Message) -> bool:
    """A file the bot may be asked to translate: any in a private chat; in a group, one
    whose caption names languages (or a pair it must refuse) or one of an album (its
    caption may be on another file). Others are not for the bot, and cost the group's
    rate budget nothing."""
    if message.chat.type == "private" or message.media_group_id is not None:
        return True
    try:
        return bool(parse_translate(message.caption).targets)
    except PairError:
        return True  # told why


@router.message(F.document, _maybe_for_the_bot, flags=COSTLY)
async def translate_document(
    message: Message, documents: DocumentFlow, locale: str, ticket: Ticket
) -> None:
    """Queue the file; a status message shows progress until the file is sent."""
    if not await documents.accept(message, parse_translate(message.caption), locale, ticket):
        raise SkipHandler  # a group's file without languages: let auto-translate see it


@router.callback_query(CancelDocument.filter())
async def cancel_document(
    query: CallbackQuery,
    callback_data: CancelDocument,
    documents: DocumentFlow,
    phrases: Texts,
    locale: str,
) -> None:
    """The Cancel button under a status message: for the one who sent the file, or an
    admin of the chat."""
    chat_id = query.message.chat.id if query.message else None
    if chat_id is None or not await documents.may_cancel(
        callback_data.task, chat_id, query.from_user.id
    ):
        await query.answer(phrases(texts.DOC_NOT_YOURS, locale), show_alert=True)
        return
    cancelled = await documents.cancel(callback_data.task)
    await query.answer(phrases(texts.CANCELLED if cancelled else texts.DOC_ALREADY_DONE, locale))
