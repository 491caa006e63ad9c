"""Who administers a chat, as Telegram says."""

from __future__ import annotations

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError


async def is_admin(bot: Bot, chat_id: int, user_id: int) -> bool:
    """Whether the user is the chat's creator or an administrator (False when Telegram
    cannot say: nothing is allowed on a guess)."""
    try:
        member = await bot.get_chat_member(chat_id, user_id)
    except TelegramAPIError:
        return False
    return member.status in ("creator", "administrator")
