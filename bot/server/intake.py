"""Confirm fetched updates to Telegram only once they were handled.

getUpdates confirms every update below its `offset`, and Telegram never resends a
confirmed one. aiogram's polling asks for the next batch as soon as it has started
handling the last one, so a bot killed a moment later lost the messages whose
handlers had not saved their request records yet. Here the next getUpdates waits
until every update fetched so far was handled (`bot.middlewares.dedupe` reports
each), so a bot that dies first has confirmed nothing of that batch: the next one
gets it again. Handling a message takes milliseconds (its record saved, its task
sent). A handler whose call waits out Telegram's flood limit in its chat (a 429) is
not waited for, or one busy chat would stall every other: its update is parked in
Redis instead (`PARKED`) and confirmed, and a bot that starts handles what an earlier
one left parked (it was killed or stopped meanwhile). Anything else stuck holds the
confirmation at most `HOLD_AT_MOST`.

Inline queries are not waited for: one is worth answering only while its user still
types (a restarted bot would answer a stale one), and each waits out a debounce.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Iterable
from typing import Any, cast

from aiogram import Bot, Dispatcher
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods import GetUpdates, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import Update
from pydantic import ValidationError
from redis.asyncio import Redis
from redis.exceptions import RedisError

from tasks.telegram.retries import waits_out

log = logging.getLogger(__name__)
HOLD_AT_MOST = 30.0
# update_id -> {"at": when, "update": the update}, while its handler waits out a 429;
# `bot.middlewares.dedupe` removes an entry once its update was handled.
PARKED = "tolmach:parked"
# Telegram keeps an update this long for getUpdates; a parked one is as old as that.
PARKED_FOR = 86_400


class Intake:
    """The updates fetched and not yet handled, with the tasks handling them."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._open: set[int] = set()
        # The tasks handling updates, each with its update (two copies of one update
        # may be in hand at once: one resent by Telegram, one an earlier bot parked).
        self._handling: dict[asyncio.Task[Any], Update] = {}
        self._replaying: set[asyncio.Task[Any]] = set()
        self._settled = asyncio.Event()
        self._settled.set()

    def fetched(self, update_ids: Iterable[int]) -> None:
        """Telegram handed these over; they are handled from now on."""
        self._open.update(update_ids)
        if self._open:
            self._settled.clear()

    def handling(self, update: Update) -> None:
        """The current task handles this update (cancelled if the bot stops first)."""
        if (task := asyncio.current_task()) is not None:
            self._handling[task] = update

    def taken(self, update_id: int) -> None:
        """This update was handled (or needs no waiting for)."""
        if (task := asyncio.current_task()) is not None:
            self._handling.pop(task, None)
        self._release(update_id)

    async def park(self) -> None:
        """The current task's handler waits out Telegram's flood limit (a 429 in its
        chat): the batch is not held for it, or one busy chat would stall every other.
        Its update is saved first, for the next bot if this one stops before it is
        handled; if it cannot be saved, the batch stays held."""
        task = asyncio.current_task()
        update = self._handling.get(task) if task is not None else None
        if update is None or (update_id := update.update_id) not in self._open:
            return  # not a handler's own call, or its batch is not held for it
        try:
            # exclude_unset: what Telegram sent, without aiogram's Default placeholders
            wire = update.model_dump(mode="json", by_alias=True, exclude_unset=True)
            entry = json.dumps({"at": time.time(), "update": wire})
            await self.redis.hset(PARKED, str(update_id), entry)
        except Exception as exc:  # never in place of the 429: the batch stays held instead
            log.warning("could not park update %d (%r); holding the batch for it", update_id, exc)
            return
        log.info("update %d waits out a 429; parked, not holding the next batch", update_id)
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

    async def replay(self, bot: Bot, dispatcher: Dispatcher) -> list[asyncio.Task[Any]]:
        """Handle, in the background, the updates an earlier bot parked and did not
        finish (`OncePerMessage` skips those it did finish meanwhile); their tasks."""
        try:
            entries = await self.redis.hgetall(PARKED)
        except (RedisError, OSError) as exc:
            log.warning("could not read the parked updates (%r); they wait for the next start", exc)
            return []
        for field, raw in entries.items():
            try:
                entry = json.loads(raw)
                if time.time() - float(entry["at"]) > PARKED_FOR:
                    raise ValueError("older than Telegram keeps an update")
                update = Update.model_validate(entry["update"], context={"bot": bot})
            except (ValueError, KeyError, TypeError, ValidationError) as exc:
                log.warning("dropping parked update %r: %s", field, exc)
                with contextlib.suppress(RedisError, OSError):
                    await self.redis.hdel(PARKED, field)
                continue
            log.info("handling update %d, parked by an earlier bot", update.update_id)
            task = asyncio.create_task(_replayed(bot, dispatcher, update))
            self._replaying.add(task)
            task.add_done_callback(self._replaying.discard)
        return list(self._replaying)

    async def cancel_open(self) -> None:
        """Cancel the handlers still running (the bot stops): their updates stay
        unconfirmed (Telegram sends them again) or parked, for the next bot."""
        tasks = list(self._handling)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _replayed(bot: Bot, dispatcher: Dispatcher, update: Update) -> None:
    try:
        await dispatcher.feed_update(bot, update)
    except Exception:  # as polling does: logged, the other updates go on
        log.exception("parked update %d failed", update.update_id)


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
            if waits_out(method):  # else the handler goes on at once: nothing to park
                await self.intake.park()
            raise
        if fetching:
            self.intake.fetched(u.update_id for u in cast("list[Update]", result))
        return result
