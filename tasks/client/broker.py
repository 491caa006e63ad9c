"""What the broker holds: task ids waiting in a queue or taken and not acknowledged."""

from __future__ import annotations

from redis.asyncio import Redis

from tasks.contract import queue_keys


async def queued_total(redis: Redis) -> int:
    """Tasks waiting in all queues (the busy ceiling's measure)."""
    async with redis.pipeline(transaction=False) as pipe:
        for key in queue_keys():
            pipe.llen(key)
        return sum(await pipe.execute())


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
