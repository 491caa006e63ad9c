"""Text jobs: a batch of texts into several targets, and language detection.

A text job is one translate task per (text, target), each with a durable request record
of kind "api" (the queue client's), so the workers batch them with everyone else's and
an API restart loses none. Each record carries the job's shape, so its deliverer needs
no read of the job's meta.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import math
import time
import uuid
from typing import Any

from redis.exceptions import RedisError

from api.jobs.store import DETECT_KIND, META, PREFIX, TEXT, stamped
from api.jobs.waiters import Waiters
from tasks.client.requests import RequestRecord
from tasks.client.submit import QueueUnavailable, Submitter
from tasks.connections import as_text
from tasks.contract import DETECT, QUEUE_CHAT

# A synchronous text job still out, by what it asks: its id (see `TextJobs.translate`).
SHARED = PREFIX + "shared:"


# KEYS: the shared key; ARGV: the job id. Deleted only while it still names this job.
_DROP_IF_MINE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
"""


def _digest(texts: list[str], src: str, targets: list[str], queue: str, html: bool) -> str:
    asked = json.dumps([texts, src, targets, queue, html], ensure_ascii=True)
    return hashlib.sha256(asked.encode()).hexdigest()


class TextJobs:
    """Queues text and detection jobs; a synchronous call waits for its own."""

    def __init__(self, submitter: Submitter, waiters: Waiters) -> None:
        self.submitter = submitter
        self.waiters = waiters

    async def submit(
        self,
        texts: list[str],
        src: str,
        targets: list[str],
        queue: str,
        *,
        html: bool = False,
        owner: str | None = None,
    ) -> str:
        """Queue a text job (`html`: the texts are HTML, tags kept; `owner`: the key or
        user it belongs to); returns its id.

        Raises:
            QueueUnavailable: Redis could not take the job.
        """
        job_id = uuid.uuid4().hex
        await self._submit(job_id, texts, src, targets, queue, html, owner)
        return job_id

    async def translate(
        self,
        texts: list[str],
        src: str,
        targets: list[str],
        queue: str,
        *,
        html: bool = False,
        seconds: float,
    ) -> dict[str, Any] | None:
        """Queue a text job and wait up to `seconds` for it (a synchronous call): its
        final status, or as it stands then.

        The same call while an identical one is still out (a client that timed out and
        sent it again: DeepL's SDKs give up after 10 s and retry five times) waits for
        that job instead of queueing the work once more.

        Listening starts before the job is queued, so a result this process finishes
        wakes the request with nothing to read back.

        Raises:
            QueueUnavailable: Redis could not take the job.
        """
        job_id = uuid.uuid4().hex
        shared = SHARED + _digest(texts, src, targets, queue, html)
        redis = self.submitter.requests.redis
        claimed = await redis.set(shared, job_id, nx=True, ex=math.ceil(seconds))
        if not claimed and (running := await redis.get(shared)) is not None:
            joined = await self.waiters.wait(as_text(running), seconds)
            if joined is not None:
                return joined
            # Its job is not saved yet (it was claimed a moment ago) or gone: our own.
        waiter = self.waiters.listen(job_id, early=True)
        try:
            await self._submit(job_id, texts, src, targets, queue, html, None)
            deadline = time.monotonic() + seconds
            return await self.waiters.until(job_id, waiter, deadline, look=False)
        finally:
            self.waiters.unlisten(job_id, waiter)
            # Done (or given up): the next identical call is a job of its own.
            with contextlib.suppress(RedisError, OSError):
                await redis.eval(_DROP_IF_MINE, 1, shared, job_id)

    async def submit_detect(self, texts: list[str]) -> str:
        """Queue language detection of `texts`; returns the job id.

        Raises:
            QueueUnavailable: Redis could not take the job.
        """
        job_id = uuid.uuid4().hex
        record = RequestRecord(DETECT_KIND, {"job": job_id})
        also = {META + job_id: stamped({"type": "detect"})}
        await self.submitter.submit(
            record, DETECT, [texts], queue=QUEUE_CHAT, task_id=job_id, also=also
        )
        return job_id

    async def _submit(
        self,
        job_id: str,
        texts: list[str],
        src: str,
        targets: list[str],
        queue: str,
        html: bool,
        owner: str | None,
    ) -> None:
        meta = {
            "type": "text",
            "texts": len(texts),
            "targets": targets,
            "source_lang": src,
            "client": owner,
        }
        try:
            await self._submit_parts(job_id, meta, texts, queue, html)
        except QueueUnavailable:
            # Parts already queued are answered, but the job can never complete: say so.
            error = {"code": "unavailable", "message": "the queue became unavailable"}
            with contextlib.suppress(RedisError, OSError):
                await self.waiters.finish(
                    job_id, {"status": "failed", "task_id": job_id, "error": error}
                )
            raise

    async def _submit_parts(
        self, job_id: str, meta: dict[str, Any], texts: list[str], queue: str, html: bool
    ) -> None:
        """Queue every part at once: their records share a round trip or two and their
        tasks one send, so the workers see the whole job arrive and batch it (one after
        another, 640 parts took a round trip and a send each, and reached the workers as
        a trickle of small batches).

        Raises:
            QueueUnavailable: a part could not be queued (once every part has settled).
        """
        src, targets = meta["source_lang"], meta["targets"]
        shape = {"texts": len(texts), "targets": targets, "src": src}
        parts = [(tgt, index, text) for tgt in targets for index, text in enumerate(texts)]
        # The job's meta goes in the first part's transaction, the first of the round
        # trips: no part's answer can come before it.
        first: dict[str, str | bytes] = {META + job_id: stamped(meta)}
        outcomes = await asyncio.gather(
            *(
                self.submitter.translate(
                    RequestRecord(TEXT, {"job": job_id, "index": index, "tgt": tgt, **shape}),
                    text,
                    src,
                    tgt,
                    options={"html": html},
                    queue=queue,
                    task_id=f"{job_id}.{tgt}.{index}",
                    also=first if n == 0 else None,
                )
                for n, (tgt, index, text) in enumerate(parts)
            ),
            return_exceptions=True,
        )
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
