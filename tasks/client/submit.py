"""Submit work: save the request record, then send the task by name; re-send what a
dead front end accepted but never queued, or what the broker lost."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from celery import Celery
from kombu.exceptions import OperationalError
from redis.exceptions import RedisError

from tasks.client.broker import in_broker
from tasks.client.requests import RequestRecord, RequestStore
from tasks.contract import (
    QUEUE_CHAT,
    RESULT_KEY_PREFIX,
    TRANSLATE,
    TranslateOptions,
    translate_args,
)

log = logging.getLogger(__name__)
# A send_task takes milliseconds; a request saved this long ago and still not marked
# queued belongs to a front end that died in between.
STALE_AFTER = 10.0
# A request this old with neither a result nor its task in the broker was lost there.
LOST_AFTER = 20.0
# Redis commands per round trip when a group of tasks is sent (a task and its sent
# event are two): the first of a burst reach the workers while the rest are built.
SEND_AT_ONCE = 64


# A task to send: its request's id, the job, and the future its sender awaits.
_Outgoing = tuple[str, dict[str, Any], "asyncio.Future[None]"]


class QueueUnavailable(Exception):
    """The request could not be queued (Redis down); nothing was accepted."""


class Submitter:
    """Accepts requests from a front end; answers come later through the listener."""

    def __init__(self, producer: Celery, requests: RequestStore) -> None:
        self.producer = producer
        self.requests = requests
        # kombu's connections are not thread-safe: while Redis is away, one thread's
        # publish retry would close the connection under another's. One sender thread.
        self._sender = ThreadPoolExecutor(max_workers=1, thread_name_prefix="send_task")
        # Tasks that came in while the sender thread was busy: handed over together and
        # marked queued in one round trip (a burst costs a hand-over per group, not each).
        self._outbox: list[_Outgoing] = []
        self._draining: asyncio.Task[None] | None = None

    async def translate(
        self,
        record: RequestRecord,
        text: str,
        src: str,
        tgt: str,
        *,
        options: TranslateOptions | None = None,
        queue: str = QUEUE_CHAT,
        task_id: str = "",
        also: Mapping[str, str | bytes] | None = None,
    ) -> str:
        """Queue one translation; returns the task id (`task_id`, or a new one).

        Raises:
            QueueUnavailable: Redis could not take the request (nothing was accepted).
        """
        args = translate_args(text, src, tgt, options)
        return await self.submit(record, TRANSLATE, args, queue=queue, task_id=task_id, also=also)

    async def submit(
        self,
        record: RequestRecord,
        name: str,
        args: list[Any],
        *,
        queue: str,
        task_id: str = "",
        send_as: str = "",
        also: Mapping[str, str | bytes] | None = None,
    ) -> str:
        """Save the request record, then send task `name`; returns the task id.

        `send_as`: the id the first task gets when the answer comes from another task
        (a document's chord) under `task_id`. `also`: the front end's own keys, saved
        with the record (`RequestStore.save`).

        Raises:
            QueueUnavailable: Redis could not take the request (nothing was accepted).
        """
        task_id = task_id or str(uuid.uuid4())
        job = {"name": name, "args": args, "queue": queue, "id": send_as or task_id}
        try:
            # The record goes first: a fast worker may finish before send_task returns.
            await self.requests.save(task_id, record, job, also=also)
            await self._send(task_id, job)
        except (OperationalError, RedisError, OSError) as exc:
            log.warning("could not queue %s: %r", task_id, exc)
            await self._forget(task_id)
            raise QueueUnavailable from exc
        return task_id

    async def requeue_stale(self, older_than: float = STALE_AFTER) -> int:
        """Send again the tasks of requests a front end accepted but died before queueing."""
        stale = await self.requests.unqueued(older_than)
        for task_id, job in stale:
            log.warning("task %s was accepted but never queued; sending it now", task_id)
            await self._send(task_id, job)
        return len(stale)

    async def recover(self) -> int:
        """Send again what was accepted but never queued, or queued and then lost."""
        return await self.requeue_stale() + await self.resend_lost()

    async def resend_lost(self, older_than: float = LOST_AFTER) -> int:
        """Send again tasks the broker no longer has although they were not answered.

        Redis going down the moment a worker's BRPOP is answered loses that message:
        popped from the queue, never recorded as taken. Sending it again is safe (same
        task id, one answer); only a task that finished in between runs twice.
        """
        waiting = []
        for task_id in await self.requests.pending(older_than):
            job = await self.requests.job(task_id)
            # A document answers under its own id, from a chain of other tasks: skip.
            if job is not None and job.get("id", task_id) == task_id:
                waiting.append((task_id, job))
        if not waiting:
            return 0
        redis = self.requests.redis
        async with redis.pipeline(transaction=False) as pipe:
            for task_id, _ in waiting:
                pipe.exists(RESULT_KEY_PREFIX + task_id)
            finished = await pipe.execute()
        unfinished = [(t, j) for (t, j), done in zip(waiting, finished, strict=True) if not done]
        held = await in_broker(redis, {task_id for task_id, _ in unfinished})
        lost = [(task_id, job) for task_id, job in unfinished if task_id not in held]
        for task_id, job in lost:
            log.warning("task %s was lost by the broker; sending it again", task_id)
            await self._send(task_id, job)
        return len(lost)

    async def _send(self, task_id: str, job: dict[str, Any]) -> None:
        """Send one task and mark it queued; raises what sending it raised."""
        sent: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._outbox.append((task_id, job, sent))
        if self._draining is None or self._draining.done():
            self._draining = asyncio.create_task(self._drain())
        await sent

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        while self._outbox:
            group, self._outbox = self._outbox, []
            try:
                await self._send_group(loop, group)
            finally:
                # Any still unresolved: the drain was cancelled (shutting down), and so
                # are they. Their records stay; the next start sends what never went.
                for _, _, done in group:
                    done.cancel()  # a no-op for those already answered

    async def _send_group(self, loop: asyncio.AbstractEventLoop, group: list[_Outgoing]) -> None:
        try:
            # send_task does blocking socket I/O (and waits out a Redis restart,
            # retrying): keep it off the event loop.
            failures = await loop.run_in_executor(self._sender, self._publish, group)
            pairs = zip(group, failures, strict=True)
            if sent := [task_id for (task_id, _, _), failure in pairs if failure is None]:
                await self.requests.queued(*sent)
        except Exception as exc:  # Redis away for `queued`: each of them says so
            failures = [exc] * len(group)
        for (_, _, done), failure in zip(group, failures, strict=True):
            if done.done():  # its request was cancelled meanwhile
                continue
            if failure is None:
                done.set_result(None)
            else:
                done.set_exception(failure)

    def _publish(self, group: list[_Outgoing]) -> list[Exception | None]:
        """In the sender thread: send the group's tasks; what each raised (None: sent).

        The group's messages (and their task-sent events) go in one pipeline. If that
        fails (Redis away), each is sent on its own with Celery's retries: one may then
        be in the queue twice, which its task id makes harmless (answered once).
        """
        if len(group) > 1:
            try:
                with self.producer.producer_or_acquire() as producer, producer.batch(SEND_AT_ONCE):
                    for task_id, job, _ in group:
                        self._send_task(task_id, job, producer)
                return [None] * len(group)
            except Exception as exc:
                log.warning("could not send %d tasks at once (%r); one by one", len(group), exc)
        failures: list[Exception | None] = []
        for task_id, job, _ in group:
            try:
                self._send_task(task_id, job)
            except Exception as exc:  # each request answers for its own task
                failures.append(exc)
            else:
                failures.append(None)
        return failures

    def _send_task(self, task_id: str, job: dict[str, Any], producer: Any = None) -> None:
        self.producer.send_task(
            job["name"],
            args=job["args"],
            task_id=job.get("id") or task_id,
            queue=job["queue"],
            producer=producer,
        )

    async def _forget(self, task_id: str) -> None:
        try:
            await self.requests.done(task_id)
        except (RedisError, OSError):
            log.warning("could not drop the record of %s", task_id)
