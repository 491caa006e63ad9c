"""Confirm fetched updates to Telegram only once they were handled.

getUpdates confirms every update below its `offset`, and Telegram never resends a
confirmed one. aiogram's polling asks for the next batch as soon as it has started
handling the last one, so a bot killed a moment later lost the messages whose
handlers had not saved their request records yet. Here the next getUpdates waits
until every update fetched so far was handled (`bot.middlewares.dedupe` reports
each), so a bot that dies first has confirmed nothing of that batch: the next one
gets it again. Handling a message takes milliseconds (its record saved, its task
sent). A handler whose reply waits out Telegram's flood limit in its chat (a 429) is
not waited for: a document parked so before its record is saved is the one case a
kill then loses. Anything else stuck holds the confirmation at most `HOLD_AT_MOST`.

Inline queries are not waited for: one is worth answering only while its user still
types (a restarted bot would answer a stale one), and each waits out a debounce.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from contextvars import ContextVar
from typing import Any, cast

from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods import GetUpdates, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import Update

log = logging.getLogger(__name__)
HOLD_AT_MOST = 30.0
# The update the current task handles (its handler's calls to Telegram see it).
_HANDLING: ContextVar[int | None] = ContextVar("tolmach_handling", default=None)


class Intake:
    """The updates fetched and not yet handled, with the tasks handling them."""

    def __init__(self) -> None:
        self._open: set[int] = set()
        self._tasks: dict[int, asyncio.Task[Any]] = {}
        self._settled = asyncio.Event()
        self._settled.set()

    def fetched(self, update_ids: Iterable[int]) -> None:
        """Telegram handed these over; they are handled from now on."""
        self._open.update(update_ids)
        if self._open:
            self._settled.clear()

    def handling(self, update_id: int) -> None:
        """The current task handles this update (cancelled if the bot stops first)."""
        _HANDLING.set(update_id)
        if (task := asyncio.current_task()) is not None:
            self._tasks[update_id] = task

    def taken(self, update_id: int) -> None:
        """This update was handled (or needs no waiting for)."""
        self._tasks.pop(update_id, None)
        self._release(update_id)

    def parked(self) -> None:
        """The current task's handler waits out Telegram's flood limit (a 429 in its
        chat): the batch is not held for it, or one busy chat would stall every other."""
        if (update_id := _HANDLING.get()) is not None and update_id in self._open:
            log.info("update %d waits out a 429; not holding the next batch for it", update_id)
            self._release(update_id)

    def _release(self, update_id: int) -> None:
        self._open.discard(update_id)
        if not self._open:
            self._settled.set()

    async def settled(self, at_most: float = HOLD_AT_MOST) -> bool:
        """Wait until every update fetched was handled; False if `at_most` passed first."""
        try:
            await asyncio.wait_for(self._settled.wait(), at_most)
        except TimeoutError:
            return False
        return True

    def give_up(self) -> None:
        """Stop waiting for the updates in hand (they are confirmed next): a stuck
        handler must not stall every chat's next batch too."""
        in_hand = sorted(self._open)
        log.warning("updates %s in hand for %.0f s; confirming them", in_hand, HOLD_AT_MOST)
        self._open.clear()
        self._settled.set()

    async def cancel_open(self) -> None:
        """Cancel the handlers still running (the bot stops): their updates stay
        unconfirmed, so Telegram sends them again to the next bot."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


class ConfirmWhenHandled(BaseRequestMiddleware):
    """Holds each getUpdates (which confirms the batch before it) until `intake` settles.

    Registered after the retry policy (`tasks.telegram.retries`), so it sees each try of
    a call: a handler's call answered 429 is parked, then waited out there.
    """

    def __init__(self, intake: Intake) -> None:
        self.intake = intake

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Any:
        fetching = isinstance(method, GetUpdates)
        if fetching and not await self.intake.settled():
            self.intake.give_up()
        try:
            result = await make_request(bot, method)
        except TelegramRetryAfter:
            self.intake.parked()
            raise
        if fetching:
            self.intake.fetched(u.update_id for u in cast("list[Update]", result))
        return result
