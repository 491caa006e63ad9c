"""What the broker holds: task ids waiting in a queue or taken and not acknowledged."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from tasks.contract import queue_keys


async def queued_total(redis: Redis) -> int:
    """Tasks waiting in all queues (the busy ceiling's measure)."""
    async with redis.pipeline(transaction=False) as pipe:
        for key in queue_keys():
            pipe.llen(key)
        return sum(await pipe.execute())


class QueueDepth:
    """`queued_total`, read once for every check that comes while a read is out.

    A burst of requests checks the queues together; each would otherwise send its own
    LLENs and parse their replies in the front end's one event loop, which is time a
    closed-loop client's next request waits. A check that joins a read already sent
    sees the depth its request would have seen had it come a moment earlier.
    """

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._reading: asyncio.Task[int] | None = None

    async def __call__(self) -> int:
        if self._reading is None or self._reading.get_loop() is not asyncio.get_running_loop():
            self._reading = asyncio.create_task(queued_total(self.redis))
            self._reading.add_done_callback(self._done)
        # Shielded: one caller cancelled (its client gone) leaves the others their read.
        return await asyncio.shield(self._reading)

    def _done(self, reading: asyncio.Task[int]) -> None:
        if self._reading is reading:
            self._reading = None
        if not reading.cancelled():
            reading.exception()  # retrieved here, should every caller be gone


async def in_broker(redis: Redis, task_ids: set[str]) -> set[str]:
    """Which of `task_ids` the broker holds: waiting in a queue, or taken by a worker
    and not acknowledged yet (kombu's `unacked` hash)."""
    async with redis.pipeline(transaction=False) as pipe:
        for key in queue_keys():
            pipe.lrange(key, 0, -1)
        pipe.hvals("unacked")
        replies = await pipe.execute()
    wanted = {task_id.encode(): task_id for task_id in task_ids}
    found: set[str] = set()
    for raw in (message for messages in replies for message in messages):
        found.update(task_id for key, task_id in wanted.items() if key in raw)
    return found
