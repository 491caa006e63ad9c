"""Who may use this deployment: the allow-list (ALLOWED_USERS, ALLOWED_CHATS, admins).

Shared by the bot's gate and the Mini App's sign-in, so both front ends let in the same
people.
"""

from __future__ import annotations

from config import Settings


class AllowList:
    """Allow-list mode: with ALLOWED_USERS or ALLOWED_CHATS set, only they (and admins)."""

    def __init__(self, settings: Settings) -> None:
        self.users = frozenset(settings.allowed_users) | frozenset(settings.admin_ids)
        self.chats = frozenset(settings.allowed_chats)
        self.active = bool(settings.allowed_users or settings.allowed_chats)

    def allows(self, user_id: int | None, chat_id: int | None) -> bool:
        """Whether this user, in this chat, may use the bot."""
        if not self.active:
            return True
        return user_id in self.users or chat_id in self.chats
