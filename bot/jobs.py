"""Queue translation work: store the reply context, then send the task by name."""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

from celery import Celery
from kombu.exceptions import OperationalError
from redis.exceptions import RedisError

from bot.errors import QueueUnavailable
from bot.replies import ReplyContext, ReplyStore
from tasks.contract import QUEUE_CHAT, TRANSLATE, TranslateOptions, translate_args

log = logging.getLogger(__name__)
# A send_task takes milliseconds; a request saved this long ago and still not marked
# queued belongs to a bot that died in between.
STALE_AFTER = 10.0


class TranslationJobs:
    """Accepts requests from handlers; answers come later through the listener."""

    def __init__(self, producer: Celery, replies: ReplyStore) -> None:
        self.producer = producer
        self.replies = replies

    async def translate(
        self,
        context: ReplyContext,
        text: str,
        src: str,
        tgt: str,
        options: TranslateOptions | None = None,
        queue: str = QUEUE_CHAT,
    ) -> str:
        """Queue one translation; returns the task id.

        Raises:
            QueueUnavailable: Redis could not take the request (nothing was accepted).
        """
        return await self.submit(context, TRANSLATE, translate_args(text, src, tgt, options), queue)

    async def submit(
        self,
        context: ReplyContext,
        name: str,
        args: list[Any],
        queue: str,
        task_id: str = "",
        send_as: str = "",
    ) -> str:
        """Save the reply context, then send task `name`; returns the task id.

        `send_as`: the id the first task gets when the answer comes from another task
        (a document's chord) under `task_id`.

        Raises:
            QueueUnavailable: Redis could not take the request (nothing was accepted).
        """
        task_id = task_id or str(uuid.uuid4())
        job = {"name": name, "args": args, "queue": queue, "id": send_as or task_id}
        try:
            # The context goes first: a fast worker may finish before send_task returns.
            await self.replies.save(task_id, context, job)
            await self._send(task_id, job)
        except (OperationalError, RedisError, OSError) as exc:
            log.warning("could not queue %s: %r", task_id, exc)
            await self._forget(task_id)
            raise QueueUnavailable from exc
        return task_id

    async def requeue_stale(self, older_than: float = STALE_AFTER) -> int:
        """Send again the tasks of requests a bot accepted but died before queueing."""
        stale = await self.replies.unqueued(older_than)
        for task_id, job in stale:
            log.warning("task %s was accepted but never queued; sending it now", task_id)
            await self._send(task_id, job)
        return len(stale)

    async def _send(self, task_id: str, job: dict[str, Any]) -> None:
        # send_task does blocking socket I/O; keep it off the event loop.
        await asyncio.to_thread(
            self.producer.send_task,
            job["name"],
            args=job["args"],
            task_id=job.get("id") or task_id,
            queue=job["queue"],
        )
        await self.replies.queued(task_id)

    async def _forget(self, task_id: str) -> None:
        try:
            await self.replies.done(task_id)
        except (RedisError, OSError):
            log.warning("could not drop context %s", task_id)
