"""`/translate en>ru text` (and `/tr`): parse, queue, return at once."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.errors import TextTooLong
from bot.jobs import TranslationJobs
from bot.parsing import parse_translate
from bot.replies import ReplyContext
from config import Settings

router = Router(name=__name__)


@router.message(Command("translate", "tr"))
async def translate(
    message: Message, command: CommandObject, jobs: TranslationJobs, settings: Settings
) -> None:
    """Queue the translation; the result listener sends the answer."""
    request = parse_translate(command.args)
    if len(request.text) > settings.max_text_chars:
        raise TextTooLong(len(request.text), settings.max_text_chars)
    locale = (message.from_user.language_code if message.from_user else None) or "en"
    context = ReplyContext(chat_id=message.chat.id, message_id=message.message_id, locale=locale)
    await jobs.translate(context, request.text, request.src, request.tgt)
