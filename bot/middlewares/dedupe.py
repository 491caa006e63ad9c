"""Cross-cutting concerns: each update is handled once, even if Telegram resends it, and
one that a dead bot left half-handled is handled by the next.

An update is claimed by this bot process while it is handled (a short claim, kept
while the handler runs) and marked seen when it was. Telegram resends an update the
bot fetched but did not confirm (the bot died first; `bot.server.intake` confirms a
batch only once it was handled), and a webhook retry or a second replica may bring it
too. The copy finds the update seen (skipped) or claimed: then it waits until the
update is marked seen (handled there) or the claim is dropped or lapses (its handler
was cancelled, or its process died), and takes it over. A copy of an inline query is
dropped instead: its user has typed on.

A request record saved for the update also says how many of the update's records are
saved (`Ticket.marks`, written in the record's own transaction): the bot that takes over
skips those, so a request neither goes unanswered nor is answered twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

from aiogram import BaseMiddleware
from aiogram.dispatcher.event.bases import UNHANDLED, CancelHandler, SkipHandler
from aiogram.exceptions import TelegramNetworkError
from aiogram.types import ErrorEvent, TelegramObject, Update
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.server.intake import PARKED, Intake
from tasks.client.submit import QueueUnavailable
from tasks.connections import as_text

log = logging.getLogger(__name__)
SEEN, CLAIM = "tolmach:seen:", "tolmach:seen-claim:"
SAVED = "saved:"  # the seen key while handled: "saved:N" of its records; "1" once handled
# A claim lapses this long after its process died; kept while its handler runs.
CLAIM_SECONDS = 5
# Between looks at another process's claim.
LOOK_EVERY = 0.25

# KEYS: seen, claim, parked; ARGV: this process's id, the claim's seconds, update_id.
# Returns {state, value}: {"done", ""}, {"mine", what seen said} or {"held", owner}.
_TAKE = """
local seen = redis.call('GET', KEYS[1])
if seen == '1' then
  redis.call('HDEL', KEYS[3], ARGV[3])
  return {'done', ''}
end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'EX', ARGV[2]) then return {'mine', seen or ''} end
return {'held', redis.call('GET', KEYS[2]) or ''}
"""
# KEYS: the claim; ARGV: this process's id, the claim's seconds. Only a claim still ours.
_KEEP = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
# KEYS: seen, claim, parked; ARGV: this process's id, the seen mark's seconds ('': not
# handled), update_id.
_FINISH = """
if ARGV[2] ~= '' then
  redis.call('SET', KEYS[1], '1', 'EX', ARGV[2])
  redis.call('HDEL', KEYS[3], ARGV[3])
end
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
return 1
"""
# A handler that failed on these was not handled: a copy Telegram resends (the bot
# stopped or died first) is handled afresh rather than skipped.
_NOT_HANDLED = (QueueUnavailable, RedisError, OSError, TelegramNetworkError)


@dataclass(frozen=True)
class Ticket:
    """What a handler needs to save its records once: handlers get it as `ticket`, for
    the update's first record; `at(n)` is the one for record number n (from 0).

    key: the update's seen key.
    saved: how many of this update's records a bot that died had saved already.
    """

    key: str
    saved: int = 0
    index: int = 0

    def at(self, index: int) -> Ticket:
        """The ticket of the update's record number `index`."""
        return replace(self, index=index)

    @property
    def done(self) -> bool:
        """This record was saved before (by a bot that died): skip it."""
        return self.index < self.saved

    def marks(self) -> dict[str, str]:
        """Keys to save with this record (`RequestStore.save(also=...)`)."""
        return {self.key: f"{SAVED}{self.index + 1}"}


class OncePerMessage(BaseMiddleware):
    """Skips an update whose message (or edit of it) was handled or is in hand.

    An edit has its own `edit_date`, so an edited command is answered again, while a
    redelivered one is not. `intake` hears when each update was handled.
    """

    def __init__(self, redis: Redis, intake: Intake, ttl: int = 86_400) -> None:
        self.redis = redis
        self.intake = intake
        self.ttl = ttl
        self.owner = uuid.uuid4().hex  # this process, in its claims
        self._held: set[str] = set()  # the claims of the updates in hand here
        self._keeping: asyncio.Task[None] | None = None

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if not isinstance(event, Update):
            return await handler(event, data)
        if event.inline_query is not None:
            # Never held back: an inline query outlives no restart (see `Intake`).
            self.intake.taken(event.update_id)
        else:
            self.intake.handling(event)
        try:
            return await self._once(handler, event, data)
        finally:
            self.intake.taken(event.update_id)

    async def _once(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: Update,
        data: dict[str, Any],
    ) -> Any:
        key = update_key(event)
        ticket = await self._take(key, event.update_id)
        if ticket is None:
            return None
        data["ticket"] = ticket
        self._held.add(CLAIM + key)
        if self._keeping is None or self._keeping.done():
            self._keeping = asyncio.create_task(self._keep())
        handled = False
        try:
            result = await handler(event, data)
            handled = True
            return result
        except (asyncio.CancelledError, *_NOT_HANDLED):
            raise  # not marked; aiogram's ErrorsMiddleware (outside) still replies
        except (SkipHandler, CancelHandler):
            handled = True  # aiogram's own flow control, as its ErrorsMiddleware treats it
            raise
        except Exception as exc:
            # Resent, it would fail again: the error router's reply is its answer. That
            # reply goes out here, before the mark, so a bot killed in between answers
            # the copy Telegram resends rather than skipping it.
            dispatcher = data["dispatcher"]
            error = ErrorEvent(update=event, exception=exc)
            try:
                response = await dispatcher.propagate_event("error", error, **data)
            except Exception:  # not cancelled: the reply failed, and would fail again
                log.exception("the error reply to update %r failed", key)
                response = None
            handled = True  # only now: a stop that cancels the reply leaves it unmarked
            if response is UNHANDLED:
                raise
            return response
        finally:
            self._held.discard(CLAIM + key)
            await self._finish(key, event.update_id, handled)

    async def _take(self, key: str, update_id: int) -> Ticket | None:
        """This process's ticket for the update, or None once it was handled.

        A copy of an update in hand waits until it was handled (None) or its claim is
        dropped or lapses (its handler was cancelled, or its process died): then it is
        this copy's to handle.
        """
        keys = [SEEN + key, CLAIM + key, PARKED]
        waited = False
        while True:
            reply = await self.redis.eval(_TAKE, 3, *keys, self.owner, CLAIM_SECONDS, update_id)
            state, value = map(as_text, reply)
            if state == "mine":
                saved = int(value.removeprefix(SAVED)) if value.startswith(SAVED) else 0
                if waited or saved:
                    log.info("update %r: taken over, %d of its requests saved", key, saved)
                return Ticket(SEEN + key, saved)
            if state == "done" or key.startswith("iq:"):  # an inline query's user typed on
                return None
            waited = True
            await asyncio.sleep(LOOK_EVERY)

    async def _keep(self) -> None:
        """Keep this process's claims while their handlers run (a document's first
        calls can take seconds), all in one round trip; ends once none is held."""
        while self._held:
            await asyncio.sleep(CLAIM_SECONDS / 3)
            with contextlib.suppress(RedisError, OSError):
                async with self.redis.pipeline(transaction=False) as pipe:
                    for claim in self._held:
                        pipe.eval(_KEEP, 1, claim, self.owner, CLAIM_SECONDS)
                    await pipe.execute()

    async def _finish(self, key: str, update_id: int, handled: bool) -> None:
        """Mark the update seen and drop the claim (if still ours); only drop it if it
        was not handled: a copy Telegram resends is handled afresh."""
        keys = [SEEN + key, CLAIM + key, PARKED]
        seconds = self.ttl if handled else ""
        try:
            await self.redis.eval(_FINISH, 3, *keys, self.owner, seconds, update_id)
        except (RedisError, OSError) as exc:
            # The claim lapses by itself; a resent copy is handled again.
            log.warning("could not mark update %r handled: %r", key, exc)


def update_key(update: Update) -> str:
    """What makes copies of an update the same update (the suffix of its Redis keys)."""
    message = update.message or update.edited_message
    if message is not None:
        return f"{message.chat.id}:{message.message_id}:{message.edit_date or 0}"
    if update.callback_query is not None:
        return f"cb:{update.callback_query.id}"
    if update.inline_query is not None:
        return f"iq:{update.inline_query.id}"
    # Anything else: a webhook retry (or another replica) carries the same update_id.
    return f"u:{update.update_id}"
