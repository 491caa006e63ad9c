"""Forgetting an answered request: the moment its answer was taken, not later.

A request's record stays in Redis until it is marked answered; a front end killed
before that answers it again once restarted. So a deliverer says `answered()` right
after its recipient took the answer, and the record goes then, in a Redis command of
its own: nothing grouped with other requests' commands, nothing the deliverer does
afterwards (clean-up, metrics) in between.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

from redis.exceptions import RedisError

from tasks.client.requests import RequestRecord, RequestStore

log = logging.getLogger(__name__)
# How long an answered task is retried as done while Redis is away; past that (the
# front end shuts down waiting for it) a sweep may answer it again.
FORGET_FOR = 120.0

# Answers one request: its task id, its record and the task's Celery result meta.
Deliver = Callable[[str, RequestRecord, dict[str, Any]], Awaitable[None]]
# Set while a deliverer runs: forgets its request (see `answered`).
_marking: ContextVar[Callable[[], Awaitable[None]] | None] = ContextVar("marking", default=None)


async def answered() -> None:
    """Called by a deliverer the moment its recipient took the answer (its last
    message): the request is marked answered now, so a front end killed from here on
    does not answer it again. A deliverer that never calls it is marked once it
    returns. Outside a delivery it does nothing."""
    if (mark := _marking.get()) is not None:
        await mark()


class Answering:
    """Runs a deliverer on a claimed request and forgets the request once answered."""

    def __init__(self, requests: RequestStore) -> None:
        self.requests = requests
        self.forgetting: set[str] = set()  # sent, not yet marked so in Redis

    async def deliver(
        self, task_id: str, record: RequestRecord, meta: dict[str, Any], deliver: Deliver
    ) -> None:
        """Deliver; forget the request when the deliverer says `answered`, or else once
        it returns. A delivery that fails before that is given back for a retry."""
        marked: list[bool] = []

        async def mark() -> None:
            if not marked:
                marked.append(True)
                await self.forget(task_id, at_once=True)

        token = _marking.set(mark)
        try:
            await deliver(task_id, record, meta)
        except Exception:
            if marked:  # sent and forgotten: nothing to retry
                log.exception("delivery of %s failed after its answer was taken", task_id)
                return
            log.exception("delivery of %s failed; it will be retried", task_id)
            with contextlib.suppress(RedisError, OSError):
                await self.requests.release(task_id)
            return
        finally:
            _marking.reset(token)
        if not marked:
            await self.forget(task_id)

    async def forget(self, task_id: str, *, at_once: bool = False) -> None:
        """Drop an answered task's record, retrying while Redis is away (a Sentinel
        failover takes seconds; by default half a minute): a record left behind is
        answered again by a sweep once the claim expires. `at_once`: in a command of its
        own, not in a round trip shared with other requests' commands."""
        self.forgetting.add(task_id)  # meanwhile this process's sweeps leave it alone
        delay, deadline = 0.5, time.monotonic() + FORGET_FOR
        try:
            while True:
                try:
                    await (self.requests.answered if at_once else self.requests.done)(task_id)
                    return
                except (RedisError, OSError) as exc:
                    if time.monotonic() > deadline:
                        log.error("could not mark %s answered: %r", task_id, exc)
                        return
                    log.warning("could not mark %s answered (%r); retrying", task_id, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
        finally:
            self.forgetting.discard(task_id)
