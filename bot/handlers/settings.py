"""`/lang` (user or group languages) and `/autotranslate` (group admins)."""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from bot import texts
from bot.admins import is_admin
from bot.errors import AdminsOnly
from tasks.client.prefs import ChatPrefs, PrefsStore, UserPrefs
from tasks.languages import display_name
from tasks.pairs import UsageError, parse_languages

router = Router(name=__name__)


@router.message(Command("lang"))
async def lang(
    message: Message, command: CommandObject, prefs: PrefsStore, bot: Bot, locale: str
) -> None:
    """Show or set languages: the user's in private, the group's (admins) in groups."""
    if message.chat.type != "private":
        await _require_admin(message, bot)
        if (codes := await _languages(message, command)) is None:
            return
        await prefs.set_chat(
            message.chat.id, ChatPrefs(codes, (await prefs.chat(message.chat.id)).auto)
        )
        await message.reply(_(texts.CHAT_LANG_SET).format(languages=names(codes, locale)))
        return
    assert message.from_user is not None
    if not command.args:
        current = await prefs.user(message.from_user.id)
        shown = [c for c in (current.target, current.second) if c]
        reply = (
            _(texts.LANG_SHOW).format(languages=names(shown, locale))
            if shown
            else _(texts.LANG_NONE)
        )
        await message.reply(reply)
        return
    if (codes := await _languages(message, command)) is None:
        return
    await prefs.set_user(
        message.from_user.id, UserPrefs(codes[0], codes[1] if len(codes) > 1 else None)
    )
    await message.reply(_(texts.LANG_SET).format(languages=names(codes[:2], locale)))


@router.message(Command("autotranslate"))
async def autotranslate(
    message: Message, command: CommandObject, prefs: PrefsStore, bot: Bot, locale: str
) -> None:
    """Turn group auto-translate on or off."""
    if message.chat.type == "private":
        await message.reply(_(texts.AUTO_GROUPS_ONLY))
        return
    await _require_admin(message, bot)
    mode = (command.args or "").strip().lower()
    if mode not in ("on", "off"):
        await message.reply(_(texts.AUTO_USAGE))
        return
    chat = await prefs.chat(message.chat.id)
    if mode == "on" and not chat.languages:
        await message.reply(_(texts.AUTO_NEEDS_LANGUAGES))
        return
    await prefs.set_chat(message.chat.id, ChatPrefs(chat.languages, mode == "on"))
    if mode == "off":
        await message.reply(_(texts.AUTO_OFF))
        return
    assert chat.target is not None
    await message.reply(
        _(texts.AUTO_ON).format(
            languages=names(chat.languages, locale), target=names([chat.target], locale)
        )
    )


def names(codes: list[str] | tuple[str, ...], locale: str) -> str:
    """Language names in the user's language (the bot's locale): "Russian, English"."""
    return ", ".join(display_name(c, locale) for c in codes)


async def _languages(message: Message, command: CommandObject) -> tuple[str, ...] | None:
    """The command's languages; None when it names none or too many (its usage said)."""
    try:
        return parse_languages(command.args)
    except UsageError:  # the /translate usage line would mislead here
        await message.reply(_(texts.LANG_USAGE))
        return None


async def _require_admin(message: Message, bot: Bot) -> None:
    if message.sender_chat is not None and message.sender_chat.id == message.chat.id:
        return  # an anonymous admin: only admins can write as the group itself
    if message.from_user is None or not await is_admin(bot, message.chat.id, message.from_user.id):
        raise AdminsOnly
