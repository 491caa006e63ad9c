"""Plain text in a private chat is translated into the user's language."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from bot import texts
from bot.chat.flow import TranslateFlow
from bot.middlewares.dedupe import Ticket
from bot.middlewares.gate import COSTLY

router = Router(name=__name__)
router.message.filter(F.chat.type == "private")


def _a_command(message: Message) -> bool:
    """Starts with a command (Telegram marks it): one no other router took."""
    entities = message.entities or []
    return bool(entities) and entities[0].type == "bot_command" and entities[0].offset == 0


@router.message(F.text, _a_command)
async def unknown_command(message: Message) -> None:
    """A command this bot does not have (a typo, another bot's, `/settings`): the help,
    not a translation of the command's words."""
    await message.answer(_(texts.HELP))


async def _not_ours(message: Message, bot: Bot) -> bool:
    """Not one of this bot's own inline results, sent into its chat (a translation
    already: translated again it came back "already in your language")."""
    return message.via_bot is None or message.via_bot.id != (await bot.me()).id


@router.message(F.text | F.caption, _not_ours, flags=COSTLY)
async def plain_text(message: Message, flow: TranslateFlow, locale: str, ticket: Ticket) -> None:
    """Anything that is not a command."""
    await flow.private_text(message, locale, ticket)
