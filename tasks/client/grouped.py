"""Redis commands of many coroutines in one round trip.

A burst of requests each saving a record (or claiming an answer, or dropping one) would
each take a pooled connection and a round trip of its own: a hundred connections and a
pipeline object each, which costs the front end more CPU than the requests themselves.
Here, what comes in while one round trip is out goes together in the next one: a burst
costs a round trip per group, and the first request waits for nobody.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

# Callers in one round trip at most: a burst's first requests go on (to the broker)
# while the rest are still being written.
GROUP_AT_MOST = 64
_REDIS_AWAY = (RedisConnectionError, RedisTimeoutError, OSError)
# Adds one caller's commands to the shared pipeline.
Commands = Callable[[Pipeline], object]


class GroupedPipeline:
    """Runs the callers' commands in MULTI/EXEC transactions, one group at a time: each
    caller's commands (and the whole group's) are applied all or none."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._waiting: list[tuple[Commands, asyncio.Future[list[Any]]]] = []
        self._draining: asyncio.Task[None] | None = None

    async def execute(self, commands: Commands) -> list[Any]:
        """Add `commands(pipe)` to the next round trip; their replies, in order.

        Raises what the round trip raised, or the first error among these replies.
        """
        done: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        self._waiting.append((commands, done))
        if self._draining is None or self._draining.done():
            self._draining = asyncio.create_task(self._drain())
        return await done

    async def _drain(self) -> None:
        while self._waiting:
            group = self._waiting[:GROUP_AT_MOST]
            self._waiting = self._waiting[GROUP_AT_MOST:]
            try:
                lost = await self._run(group)
            finally:
                for _, done in group:  # cancelled meanwhile (shutting down): so are they
                    done.cancel()
            if lost is not None:
                # The client's retries gave up on Redis: the groups behind this one would
                # each wait as long again. They fail now; later callers try afresh.
                waiting, self._waiting = self._waiting, []
                for _, done in waiting:
                    if not done.done():
                        done.set_exception(lost)

    async def _run(
        self, group: list[tuple[Commands, asyncio.Future[list[Any]]]]
    ) -> Exception | None:
        """One round trip for `group`; the connection error that failed it, if one did."""
        sizes = []
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                for commands, done in group:
                    before = len(pipe.command_stack)
                    if not done.done():  # a caller cancelled meanwhile sends nothing
                        try:
                            commands(pipe)
                        except Exception as exc:  # this caller's own fault: only it fails
                            del pipe.command_stack[before:]
                            done.set_exception(exc)
                    sizes.append(len(pipe.command_stack) - before)
                replies = await pipe.execute(raise_on_error=False) if any(sizes) else []
        except Exception as exc:  # the round trip failed: for every caller in it
            for _, done in group:
                if not done.done():
                    done.set_exception(exc)
            return exc if isinstance(exc, _REDIS_AWAY) else None
        start = 0
        for (_, done), size in zip(group, sizes, strict=True):
            mine, start = replies[start : start + size], start + size
            if done.done():
                continue
            error = next((reply for reply in mine if isinstance(reply, Exception)), None)
            if error is not None:
                done.set_exception(error)
            else:
                done.set_result(mine)
        return None
