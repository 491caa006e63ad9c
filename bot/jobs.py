"""Queue translation work: store the reply context, then send the task by name."""

from __future__ import annotations

import asyncio
import logging
import uuid

from celery import Celery
from kombu.exceptions import OperationalError
from redis.exceptions import RedisError

from bot.errors import QueueUnavailable
from bot.replies import ReplyContext, ReplyStore
from tasks.contract import QUEUE_CHAT, TRANSLATE, TranslateOptions, translate_args

log = logging.getLogger(__name__)


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
        task_id = str(uuid.uuid4())
        try:
            # The context goes first: a fast worker may finish before send_task returns.
            await self.replies.save(task_id, context)
            # send_task does blocking socket I/O; keep it off the event loop.
            await asyncio.to_thread(
                self.producer.send_task,
                TRANSLATE,
                args=translate_args(text, src, tgt, options),
                task_id=task_id,
                queue=queue,
            )
        except (OperationalError, RedisError, OSError) as exc:
            log.warning("could not queue %s: %r", task_id, exc)
            await self._forget(task_id)
            raise QueueUnavailable from exc
        return task_id

    async def _forget(self, task_id: str) -> None:
        try:
            await self.replies.done(task_id)
        except (RedisError, OSError):
            log.warning("could not drop context %s", task_id)
