"""Typed errors raised by handlers and rendered in one place (handlers/errors.py)."""

from __future__ import annotations


class BotError(Exception):
    """An error the user is told about in words."""


class UsageError(BotError):
    """The command is empty or malformed; the user gets the usage line."""


class UnknownLanguage(BotError):
    """A language the bot does not recognise, with a close match if one exists."""

    def __init__(self, code: str, suggestion: str | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.suggestion = suggestion


class SameLanguage(BotError):
    """Source and target are the same language."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class TextTooLong(BotError):
    """The text is over the configured limit."""

    def __init__(self, length: int, limit: int) -> None:
        super().__init__(f"{length} > {limit}")
        self.length, self.limit = length, limit


class NoTarget(BotError):
    """No target language given and none set for the user or chat."""


class AdminsOnly(BotError):
    """A group setting changed by someone who is not an admin."""


class TryLater(BotError):
    """A request refused for now; `notify` only on the first refusal while it lasts."""

    def __init__(self, retry_after: int, notify: bool) -> None:
        super().__init__(f"retry after {retry_after}s")
        self.retry_after, self.notify = retry_after, notify


class RateLimited(TryLater):
    """A user or chat sent more than its share."""


class Busy(TryLater):
    """The queues are full; nothing was accepted."""


class NotAllowed(BotError):
    """Allow-list mode and this user or chat is not on it."""
