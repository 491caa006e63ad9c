"""Requests waiting on a job, woken on each of its changes by whichever replica made it.

A change is told to this process's waiters at once and published on `CHANGED` for the
other replicas', whose `follow` wakes theirs. A waiter reads the job's status when
woken, except one that listened since before its job was queued (a synchronous call):
it reads nothing until woken, and takes a result this process finished as it is.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any

from redis.asyncio.client import Pipeline
from redis.exceptions import RedisError

from api.jobs.store import CHANGED, FINAL, RESULT, JobStore, shown
from tasks.client.grouped import GroupedPipeline
from tasks.connections import as_text

log = logging.getLogger(__name__)


class Waiter:
    """A request waiting on a job: woken on each change; `final` once this process
    finished the job; `early`: it reads nothing back, so it may take the result before
    it is stored."""

    def __init__(self, early: bool = False) -> None:
        self.event = asyncio.Event()
        self.final: dict[str, Any] | None = None
        self.early = early  # a synchronous call's: woken before the result is stored


class Waiters:
    """This process's waiting requests, by job; tells them (and other replicas) of a
    job's changes and its result."""

    def __init__(self, store: JobStore, *, grouped: GroupedPipeline, ttl: int) -> None:
        self.store = store
        self.redis = store.redis
        self.grouped = grouped  # the request records' round trips, shared
        self.ttl = ttl
        self._waiting: defaultdict[str, set[Waiter]] = defaultdict(set)

    async def wait(self, job_id: str, seconds: float) -> dict[str, Any] | None:
        """The job's status once finished, or as it stands after `seconds`."""
        deadline = time.monotonic() + seconds
        waiter = self.listen(job_id)
        try:
            return await self.until(job_id, waiter, deadline, look=True)
        finally:
            self.unlisten(job_id, waiter)

    async def until(
        self, job_id: str, waiter: Waiter, deadline: float, *, look: bool
    ) -> dict[str, Any] | None:
        """Wait for the job to finish or `deadline` to pass; `look`: read its status
        first (False: it was listened to since before it was queued, so nothing changed
        unless the waiter was woken)."""
        status: dict[str, Any] | None = None
        while True:
            if look:
                waiter.event.clear()  # before reading: a change meanwhile is not missed
                status = waiter.final or await self.store.status(job_id)
                if status is None or status["status"] in FINAL:
                    return status
            left = deadline - time.monotonic()
            if left <= 0:
                return status if look else await self.store.status(job_id)
            look = True
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(left):
                    await waiter.event.wait()

    async def watch(
        self, job_id: str, *, keepalive: float = 15.0
    ) -> AsyncIterator[dict[str, Any] | None]:
        """The job's status now and after each change, ending after the final one; the
        last status again after `keepalive` seconds without a change."""
        waiter = self.listen(job_id)
        try:
            while True:
                waiter.event.clear()
                status = waiter.final or await self.store.status(job_id)
                yield status
                if status is None or status["status"] in FINAL:
                    return
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(waiter.event.wait(), keepalive)
        finally:
            self.unlisten(job_id, waiter)

    def listen(self, job_id: str, *, early: bool = False) -> Waiter:
        """A new waiter on the job (`early`: see `Waiter`); `unlisten` it when done."""
        waiter = Waiter(early)
        self._waiting[job_id].add(waiter)
        return waiter

    def unlisten(self, job_id: str, waiter: Waiter) -> None:
        """The waiter is done with the job."""
        self._waiting[job_id].discard(waiter)
        if not self._waiting[job_id]:
            del self._waiting[job_id]

    async def follow(self) -> None:
        """Wake this process's waiters on every change any replica publishes; runs until
        cancelled, reconnecting with backoff."""
        delay = 0.5
        while True:
            try:
                async with self.redis.pubsub() as pubsub:
                    await pubsub.subscribe(CHANGED)
                    delay = 0.5
                    # Changes published before this subscription were not heard: every
                    # waiter looks once more (one listening since before its job was
                    # queued reads nothing until woken).
                    self._wake_all()
                    subscribed = 0
                    async for message in pubsub.listen():
                        if message["type"] == "message":
                            self._wake(as_text(message["data"]))
                        elif message["type"] == "subscribe" and (subscribed := subscribed + 1) > 1:
                            # redis-py reconnected and subscribed again by itself (a Redis
                            # restart): changes published in between were not heard.
                            self._wake_all()
            except (RedisError, OSError) as exc:
                log.warning("job watcher lost Redis (%r); retrying in %.1fs", exc, delay)
                # Anything may have finished meanwhile: let every waiter look again.
                self._wake_all()
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)

    async def changed(self, job_id: str) -> None:
        """The job changed (a part in, progress): its waiters look again."""
        self._wake(job_id)  # here at once; other replicas through the channel
        await self.redis.publish(CHANGED, job_id)

    async def finish(self, job_id: str, result: dict[str, Any]) -> None:
        """Store the job's result and wake its waiters, here and on other replicas."""
        # A synchronous call takes the result as it is, first: woken by the channel
        # before this, it would read it back. (Not stored after all: the delivery fails
        # and is retried, and that call has its answer already.) Others may read what
        # they were told next (a download, a GET), so they wake once it is stored.
        self._wake(job_id, result, early_only=True)
        stored = json.dumps(result)

        def commands(pipe: Pipeline) -> None:
            pipe.set(RESULT + job_id, stored, ex=self.ttl)
            pipe.publish(CHANGED, job_id)  # other replicas' waiters

        await self.grouped.execute(commands)
        self._wake(job_id, result)

    def _wake(
        self, job_id: str, final: dict[str, Any] | None = None, *, early_only: bool = False
    ) -> None:
        """Wake the job's waiters here; `final`: its result, finished by this process
        (they need not read it back); `early_only`: only waiters that read nothing back."""
        answer = shown(final) if final is not None else None
        for waiter in self._waiting.get(job_id, ()):
            if early_only and not waiter.early:
                continue
            waiter.final = answer or waiter.final
            waiter.event.set()

    def _wake_all(self) -> None:
        for job_id in list(self._waiting):
            self._wake(job_id)
