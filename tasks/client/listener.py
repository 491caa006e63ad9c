"""The result listener: Celery's Redis result backend PUBLISHes every stored
result; we subscribe to those channels and hand finished ones to the deliverer
that the front end registered for the request's kind.

No polling for results and no blocking wait on a result. A sweep over the
pending records at start (and now and then after) delivers results that were
published while no front end was listening.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from tasks.client.answering import Answering, Deliver
from tasks.client.requests import RequestRecord, RequestStore
from tasks.connections import as_text
from tasks.contract import PROGRESS, READY_STATES, RESULT_KEY_PREFIX

log = logging.getLogger(__name__)
__all__ = ["Deliver", "Progress", "ResultListener"]  # front ends import Deliver from here

# Shows how far a long task got (documents): task id, record and PROGRESS meta.
Progress = Callable[[str, RequestRecord, dict[str, Any]], Awaitable[None]]


class ResultListener:
    """Subscribes to task results and delivers each accepted request's answer once."""

    def __init__(
        self,
        redis: Redis,
        requests: RequestStore,
        deliverers: Mapping[str, Deliver],
        *,
        progress: Mapping[str, Progress] | None = None,
        requeue: Callable[[], Awaitable[int]] | None = None,
        sweep_every: float = 10.0,
    ) -> None:
        self.redis = redis
        self.requests = requests
        self.deliverers = dict(deliverers)
        self.progress = dict(progress or {})
        self.requeue = requeue
        self.sweep_every = sweep_every
        self.ready = asyncio.Event()
        self._inflight: set[asyncio.Task[None]] = set()
        self._answering = Answering(requests)
        self._unknown: set[str] = set()  # claimed with no deliverer for their kind

    async def run(self) -> None:
        """Listen until cancelled, reconnecting to Redis with backoff."""
        delay = 0.5
        while True:
            try:
                await self._listen()
            except (RedisError, OSError) as exc:
                self.ready.clear()
                log.warning("result listener lost Redis (%r); retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
            else:
                delay = 0.5

    async def _listen(self) -> None:
        async with self.redis.pubsub() as pubsub:
            await pubsub.psubscribe(RESULT_KEY_PREFIX + "*")
            # Subscribe first, then sweep: a result published in between is
            # seen by both, and the claim makes sure it is sent once.
            await self.sweep()
            self.ready.set()
            sweeper = asyncio.create_task(self._sweep_forever())
            subscribed = 0
            try:
                while True:
                    message = await pubsub.get_message(timeout=5)
                    if message is None:
                        continue
                    if message["type"] == "pmessage":
                        self._handle(message["channel"], message["data"])
                    elif message["type"] == "psubscribe" and (subscribed := subscribed + 1) > 1:
                        # redis-py reconnected and subscribed again by itself (a Redis
                        # restart): results published in between are found by a sweep.
                        self._track(self._sweep_quietly())
            finally:
                sweeper.cancel()

    def _handle(self, channel: bytes | str, data: bytes | str) -> None:
        channel = as_text(channel)
        try:
            meta = json.loads(data)
        except ValueError:
            log.warning("undecodable result on %r", channel)
            return
        if meta.get("status") in READY_STATES:
            self._spawn(channel.removeprefix(RESULT_KEY_PREFIX), meta)
        elif meta.get("status") == PROGRESS and self.progress:
            self._track(self._progress(channel.removeprefix(RESULT_KEY_PREFIX), meta))

    def _spawn(self, task_id: str, meta: dict[str, Any]) -> None:
        self._track(self._deliver(task_id, meta))

    def _track(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._inflight.add(task)
        task.add_done_callback(self._inflight.discard)

    async def _progress(self, task_id: str, meta: dict[str, Any]) -> None:
        try:
            record = await self.requests.peek(task_id)
            if record is not None and (show := self.progress.get(record.kind)) is not None:
                await show(task_id, record, meta)
        except Exception:  # cosmetic: never let a progress update break the listener
            log.exception("progress update of %s failed", task_id)

    async def sweep(self, older_than: float = 0.0) -> None:
        """Deliver finished results of records still pending; queue what a dead front
        end accepted but never sent to the broker."""
        for task_id in await self.requests.pending(older_than):
            raw = await self.redis.get(RESULT_KEY_PREFIX + task_id)
            if raw is None:
                continue
            meta = json.loads(raw)
            if meta.get("status") in READY_STATES:
                self._spawn(task_id, meta)
        if self.requeue is not None:
            await self.requeue()

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(self.sweep_every)
            await self._sweep_quietly(older_than=self.sweep_every)

    async def _sweep_quietly(self, older_than: float = 0.0) -> None:
        with contextlib.suppress(RedisError, OSError):
            await self.sweep(older_than=older_than)

    async def _deliver(self, task_id: str, meta: dict[str, Any]) -> None:
        if task_id in self._answering.forgetting:
            return
        try:
            record = await self.requests.claim(task_id)
            if record is None:
                return
        except (RedisError, OSError) as exc:
            log.warning("could not claim %s: %r", task_id, exc)
            return
        deliver = self.deliverers.get(record.kind)
        if deliver is None:
            # Written by a newer replica that knows this kind: leave it to that one
            # (said once per task, not at every sweep).
            if task_id not in self._unknown:
                if len(self._unknown) > 10_000:
                    self._unknown.clear()
                self._unknown.add(task_id)
                log.warning(
                    "no deliverer for %s of kind %r; left for a replica that has one",
                    task_id,
                    record.kind,
                )

            with contextlib.suppress(RedisError, OSError):
                await self.requests.release(task_id)
            return
        # A short claim, renewed while we work: if this process dies mid-delivery,
        # another replica (or this one restarted) takes the answer over within seconds.
        holding = asyncio.create_task(self.requests.hold(task_id))
        try:
            await self._answering.deliver(task_id, record, meta, deliver)
        finally:
            holding.cancel()

    async def drain(self) -> None:
        """Wait for deliveries in flight (on shutdown)."""
        if self._inflight:
            await asyncio.gather(*self._inflight, return_exceptions=True)
