"""Typed errors raised by handlers and rendered in one place (handlers/errors.py).

A mistyped request's errors (`UsageError`, `UnknownLanguage`, …) are the shared
parser's, in tasks/pairs.py.
"""

from __future__ import annotations


class BotError(Exception):
    """An error the user is told about in words."""


class TextTooLong(BotError):
    """The text is over the configured limit."""

    def __init__(self, length: int, limit: int) -> None:
        super().__init__(f"{length} > {limit}")
        self.length, self.limit = length, limit


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
