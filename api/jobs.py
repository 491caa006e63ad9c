"""API jobs: a batch of texts into several targets, or one document, answered as one result.

A text job is one translate task per (text, target), each with a durable request
record of kind "api" (the queue client's), so the workers batch them with everyone
else's and an API restart loses none. The deliverer gathers the parts in Redis; the
last one in writes the job's result. A document job is the workers' document task
under the job's id (kind "api_document"). Results are kept `REPLY_TTL` seconds.

Every change of a job (a part in, progress, the result) is published on one channel,
so whichever API replica holds a waiting request wakes it, whichever one delivered.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import RedisError

from api.files import FileLedger
from tasks.client.requests import RequestRecord
from tasks.client.submit import QueueUnavailable, Submitter
from tasks.connections import as_text
from tasks.contract import (
    DETECT,
    DOCUMENT,
    QUEUE_CHAT,
    QUEUE_DOCUMENTS,
    DocumentRequest,
    chunk_id,
    document_key,
    prepare_id,
)

log = logging.getLogger(__name__)
TEXT, DOCUMENT_KIND, DETECT_KIND = "api", "api_document", "api_detect"
PREFIX = "tolmach:api:"
_META, _PARTS, _RESULT = PREFIX + "meta:", PREFIX + "parts:", PREFIX + "result:"
_PROGRESS, _UPLOAD = PREFIX + "progress:", PREFIX + "upload:"
CHANGED = PREFIX + "changed"
FINAL = ("completed", "failed")
# Seconds a downloaded file is kept for a second fetch.
DOWNLOAD_GRACE = 60


class ApiJobs:
    """Submits jobs, gathers their parts, and serves and streams their status."""

    def __init__(
        self, *, redis: Redis, submitter: Submitter, ttl: int, files: FileLedger, file_ttl: int
    ) -> None:
        self.redis = redis
        self.submitter = submitter
        self.ttl = ttl
        self.files = files
        self.file_ttl = file_ttl
        self._waiting: defaultdict[str, set[_Waiter]] = defaultdict(set)

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
        await self._submit_text(job_id, texts, src, targets, queue, html, owner)
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

        Listening starts before the job is queued, so a result this process finishes
        wakes the request with nothing to read back.

        Raises:
            QueueUnavailable: Redis could not take the job.
        """
        job_id = uuid.uuid4().hex
        waiter = self._listen(job_id, early=True)
        try:
            await self._submit_text(job_id, texts, src, targets, queue, html, None)
            deadline = time.monotonic() + seconds
            return await self._await(job_id, waiter, deadline, look=False)
        finally:
            self._unlisten(job_id, waiter)

    async def _submit_text(
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
                await self._finish(job_id, {"status": "failed", "task_id": job_id, "error": error})
            raise

    async def _submit_parts(
        self, job_id: str, meta: dict[str, Any], texts: list[str], queue: str, html: bool
    ) -> None:
        src, targets = meta["source_lang"], meta["targets"]
        # The job's meta goes in the first part's transaction; each record carries the
        # job's shape, so its deliverer needs no read of the meta.
        also: dict[str, str | bytes] = {_META + job_id: _stamped(meta)}
        shape = {"texts": len(texts), "targets": targets, "src": src}
        for tgt in targets:
            for index, text in enumerate(texts):
                record = RequestRecord(TEXT, {"job": job_id, "index": index, "tgt": tgt, **shape})
                await self.submitter.translate(
                    record,
                    text,
                    src,
                    tgt,
                    options={"html": html},
                    queue=queue,
                    task_id=f"{job_id}.{tgt}.{index}",
                    also=also,
                )
                also = {}

    async def reserve_file(self, size: int, client: str) -> str:
        """Room for an upload of `size` bytes held for `client`; returns the id of the
        job it will be (before the upload is read into memory).

        Raises:
            FilesFull: no room for it.
        """
        job_id = uuid.uuid4().hex
        await self.files.admit(_UPLOAD + job_id, size, client)
        return job_id

    async def release_file(self, job_id: str) -> None:
        """Give back a reservation whose upload was refused or never queued."""
        await self.files.forget(_UPLOAD + job_id)

    async def submit_file(
        self,
        job_id: str,
        name: str,
        data: bytes,
        src: str,
        tgt: str,
        *,
        owner: int | None = None,
        by: str | None = None,
    ) -> None:
        """Queue document job `job_id` (reserved); `owner`: the Mini App user it
        belongs to; `by`: the key or user that may read its result.

        Raises:
            QueueUnavailable: Redis could not take the job.
        """
        meta = {
            "type": "document",
            "source_lang": src,
            "name": name,
            "owner": owner,
            "client": by,
        }
        request = DocumentRequest(
            file_path="", file_name=name, src=src, tgt=tgt, upload_key=_UPLOAD + job_id
        )
        record = RequestRecord(DOCUMENT_KIND, {"job": job_id})
        await self.submitter.submit(
            record,
            DOCUMENT,
            [job_id, dict(request)],
            queue=QUEUE_DOCUMENTS,
            task_id=job_id,
            send_as=prepare_id(job_id),
            also={_META + job_id: _stamped(meta), _UPLOAD + job_id: data},
        )

    async def submit_detect(self, texts: list[str]) -> str:
        """Queue language detection of `texts`; returns the job id.

        Raises:
            QueueUnavailable: Redis could not take the job.
        """
        job_id = uuid.uuid4().hex
        record = RequestRecord(DETECT_KIND, {"job": job_id})
        also = {_META + job_id: _stamped({"type": "detect"})}
        await self.submitter.submit(
            record, DETECT, [texts], queue=QUEUE_CHAT, task_id=job_id, also=also
        )
        return job_id

    async def collect_detect(
        self, task_id: str, record: RequestRecord, meta: dict[str, Any]
    ) -> None:
        """The deliverer of kind "api_detect": the candidates of each text."""
        job_id = record.context["job"]
        result = meta.get("result")
        if meta.get("status") == "SUCCESS" and isinstance(result, list):
            done = {"status": "completed", "task_id": job_id, "result": {"detections": result}}
        else:
            error = describe({"ok": False, "error": "internal"})
            done = {"status": "failed", "task_id": job_id, "error": error}
        await self._finish(job_id, done)

    async def cancel(self, job_id: str) -> bool:
        """Stop a document job: its running chunks see the flag, queued tasks are
        revoked, and its result says "cancelled". False when it already finished."""
        job = await self._meta(job_id)
        if job is None or job["type"] != "document":
            return False
        if await self.submitter.requests.claim(job_id) is None:
            return False  # answered (or being answered) already
        await self.redis.set(document_key(job_id, "cancelled"), 1, ex=self.ttl)
        chunks = int(await self.redis.get(document_key(job_id, "chunks")) or 0)
        ids = [prepare_id(job_id), job_id, *(chunk_id(job_id, i) for i in range(chunks))]
        await asyncio.to_thread(self.submitter.producer.control.revoke, ids)
        error = {"code": "cancelled", "message": "the translation was cancelled"}
        await self._finish(job_id, {"status": "failed", "task_id": job_id, "error": error})
        await self.submitter.requests.done(job_id)
        await self.redis.delete(_UPLOAD + job_id)
        await self.files.forget(_UPLOAD + job_id)
        return True

    async def collect(self, task_id: str, record: RequestRecord, meta: dict[str, Any]) -> None:
        """The deliverer of kind "api": store one part; the last one in turns the parts
        into the job's result."""
        context = record.context
        job_id, part = context["job"], f"{context['tgt']}|{context['index']}"
        result = meta.get("result") if meta.get("status") == "SUCCESS" else None
        if not isinstance(result, dict):
            result = {"ok": False, "error": "internal"}
        # Records written before they carried the job's shape: read it from the meta.
        job = _shape(context) or await self._meta(job_id)
        total = job["texts"] * len(job["targets"]) if job is not None else None
        if job is not None and total == 1:
            # The only part (LibreTranslate's usual call): no parts to gather.
            await self._finish(job_id, assemble(job_id, job, {part: result}))
            return
        parts = _PARTS + job_id
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(parts, part, json.dumps(result))
            pipe.expire(parts, self.ttl)
            pipe.hlen(parts)
            *_, count = await pipe.execute()
        if job is not None and total is not None and count >= total:
            stored = await self.redis.hgetall(parts)
            found = {as_text(k): json.loads(v) for k, v in stored.items()}
            await self._finish(job_id, assemble(job_id, job, found))
        else:
            await self._changed(job_id)

    async def collect_file(self, task_id: str, record: RequestRecord, meta: dict[str, Any]) -> None:
        """The deliverer of kind "api_document": the translated file, or why there is none."""
        job_id = record.context["job"]
        result = meta.get("result") if meta.get("status") == "SUCCESS" else None
        if isinstance(result, dict) and result.get("ok"):
            # The bytes stay under the worker's key until downloaded, or API_FILE_TTL.
            await self.redis.expire(str(result["key"]), self.file_ttl)
            await self.files.replace(_UPLOAD + job_id, str(result["key"]))
            done = {
                "source_lang": result["src"],
                "target_lang": result["tgt"],
                "file_name": result["name"],
                "download_url": f"/api/file/{job_id}",
                "file_key": result["key"],
            }
            await self._finish(job_id, {"status": "completed", "task_id": job_id, "result": done})
        else:
            failed = result if isinstance(result, dict) else {"ok": False, "error": "internal"}
            error = describe(failed)
            await self._finish(job_id, {"status": "failed", "task_id": job_id, "error": error})
            await self.files.forget(_UPLOAD + job_id)
        await self.redis.delete(_UPLOAD + job_id)

    async def file_progress(
        self, task_id: str, record: RequestRecord, meta: dict[str, Any]
    ) -> None:
        """A document's PROGRESS state: kept for `progress` answers."""
        result = meta.get("result")
        if isinstance(result, dict):
            progress = {"done": int(result.get("done", 0)), "total": int(result.get("total", 0))}
            await self.redis.set(
                _PROGRESS + record.context["job"], json.dumps(progress), ex=self.ttl
            )
            await self._changed(record.context["job"])

    async def status(self, job_id: str) -> dict[str, Any] | None:
        """What `GET /api/result/{id}` answers; None for an unknown (or expired) job."""
        async with self.redis.pipeline(transaction=False) as pipe:  # one round trip
            pipe.get(_RESULT + job_id)
            pipe.get(_META + job_id)
            pipe.get(_PROGRESS + job_id)
            pipe.hlen(_PARTS + job_id)
            raw, raw_meta, progress, done = await pipe.execute()
        if raw is not None:
            return _shown(json.loads(raw))
        if raw_meta is None:
            return None
        job = json.loads(raw_meta)
        if job["type"] != "text":
            if progress is None:
                return {"status": "pending", "task_id": job_id}
            return {"status": "progress", "task_id": job_id, "progress": json.loads(progress)}
        if not done:
            return {"status": "pending", "task_id": job_id}
        total = job["texts"] * len(job["targets"])
        return {"status": "progress", "task_id": job_id, "progress": {"done": done, "total": total}}

    async def client(self, job_id: str) -> str | None:
        """The key or Mini App user (`k:…`, `u:…`) a job belongs to; None: anyone's."""
        job = await self._meta(job_id)
        found = job.get("client") if job is not None else None
        return found if isinstance(found, str) else None

    async def downloaded(self, job_id: str) -> None:
        """A job's file was fetched: it goes after a short grace (a retried fetch, the
        page's "Send to chat"), not after API_FILE_TTL."""
        raw = await self.redis.get(_RESULT + job_id)
        result = json.loads(raw).get("result") if raw is not None else None
        if isinstance(result, dict) and "file_key" in result:
            await self.redis.expire(str(result["file_key"]), DOWNLOAD_GRACE)
            await self.files.forget(str(result["file_key"]))

    async def owner(self, job_id: str) -> int | None:
        """The Mini App user a document job belongs to (None: anyone's, or no such job)."""
        job = await self._meta(job_id)
        return job.get("owner") if job is not None else None

    async def file(self, job_id: str) -> tuple[str, bytes] | None:
        """A finished document job's file name and bytes; None if there is none (now)."""
        raw = await self.redis.get(_RESULT + job_id)
        result = json.loads(raw).get("result") if raw is not None else None
        if not isinstance(result, dict) or "file_key" not in result:
            return None
        data = await self.redis.get(result["file_key"])
        return (str(result["file_name"]), data) if isinstance(data, bytes) else None

    async def wait(self, job_id: str, seconds: float) -> dict[str, Any] | None:
        """The job's status once finished, or as it stands after `seconds`."""
        deadline = time.monotonic() + seconds
        waiter = self._listen(job_id)
        try:
            return await self._await(job_id, waiter, deadline, look=True)
        finally:
            self._unlisten(job_id, waiter)

    async def _await(
        self, job_id: str, waiter: _Waiter, deadline: float, *, look: bool
    ) -> dict[str, Any] | None:
        """Wait for the job to finish or `deadline` to pass; `look`: read its status
        first (False: it was listened to since before it was queued, so nothing changed
        unless the waiter was woken)."""
        status: dict[str, Any] | None = None
        while True:
            if look:
                waiter.event.clear()  # before reading: a change meanwhile is not missed
                status = waiter.final or await self.status(job_id)
                if status is None or status["status"] in FINAL:
                    return status
            left = deadline - time.monotonic()
            if left <= 0:
                return status if look else await self.status(job_id)
            look = True
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(left):
                    await waiter.event.wait()

    async def watch(
        self, job_id: str, *, keepalive: float = 15.0
    ) -> AsyncIterator[dict[str, Any] | None]:
        """The job's status now and after each change, ending after the final one; the
        last status again after `keepalive` seconds without a change."""
        waiter = self._listen(job_id)
        try:
            while True:
                waiter.event.clear()
                status = waiter.final or await self.status(job_id)
                yield status
                if status is None or status["status"] in FINAL:
                    return
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(waiter.event.wait(), keepalive)
        finally:
            self._unlisten(job_id, waiter)

    def _listen(self, job_id: str, *, early: bool = False) -> _Waiter:
        waiter = _Waiter(early)
        self._waiting[job_id].add(waiter)
        return waiter

    def _unlisten(self, job_id: str, waiter: _Waiter) -> None:
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

    def _wake(
        self, job_id: str, final: dict[str, Any] | None = None, *, early_only: bool = False
    ) -> None:
        """Wake the job's waiters here; `final`: its result, finished by this process
        (they need not read it back); `early_only`: only waiters that read nothing back."""
        shown = _shown(final) if final is not None else None
        for waiter in self._waiting.get(job_id, ()):
            if early_only and not waiter.early:
                continue
            waiter.final = shown or waiter.final
            waiter.event.set()

    def _wake_all(self) -> None:
        for job_id in list(self._waiting):
            self._wake(job_id)

    async def _changed(self, job_id: str) -> None:
        self._wake(job_id)  # here at once; other replicas through the channel
        await self.redis.publish(CHANGED, job_id)

    async def _meta(self, job_id: str) -> dict[str, Any] | None:
        raw = await self.redis.get(_META + job_id)
        return json.loads(raw) if raw is not None else None

    async def _finish(self, job_id: str, result: dict[str, Any]) -> None:
        # A synchronous call takes the result as it is, first: woken by the channel
        # before this, it would read it back. (Not stored after all: the delivery fails
        # and is retried, and that call has its answer already.) Others may read what
        # they were told next (a download, a GET), so they wake once it is stored.
        self._wake(job_id, result, early_only=True)
        stored = json.dumps(result)

        def commands(pipe: Pipeline) -> None:
            pipe.set(_RESULT + job_id, stored, ex=self.ttl)
            pipe.publish(CHANGED, job_id)  # other replicas' waiters

        await self.submitter.requests.grouped.execute(commands)
        self._wake(job_id, result)


class _Waiter:
    """A request waiting on a job: woken on each change; `final` once this process
    finished the job; `early`: it reads nothing back, so it may take the result before
    it is stored."""

    def __init__(self, early: bool = False) -> None:
        self.event = asyncio.Event()
        self.final: dict[str, Any] | None = None
        self.early = early  # a synchronous call's: woken before the result is stored


def _stamped(meta: dict[str, Any]) -> str:
    """A job's meta as stored, with when it was accepted."""
    return json.dumps({**meta, "accepted_at": time.time()})


def _shape(context: dict[str, Any]) -> dict[str, Any] | None:
    """A text job's shape from a part's record (None in records without it)."""
    if "texts" not in context:
        return None
    return {"texts": context["texts"], "targets": context["targets"], "source_lang": context["src"]}


def _shown(result: dict[str, Any]) -> dict[str, Any]:
    """A finished job as answered: the document's storage key stays inside."""
    shown = dict(result)
    if isinstance(shown.get("result"), dict):
        shown["result"] = {k: v for k, v in shown["result"].items() if k != "file_key"}
    return shown


def assemble(job_id: str, job: dict[str, Any], parts: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A finished text job's result from its parts (`tgt|index` → task result)."""
    translations: dict[str, list[str]] = {}
    detected: str | None = None
    for tgt in job["targets"]:
        texts = []
        for index in range(job["texts"]):
            part = parts[f"{tgt}|{index}"]
            if not part.get("ok"):
                return {"status": "failed", "task_id": job_id, "error": describe(part)}
            detected = detected or str(part.get("src") or "")
            texts.append(str(part["text"]))
        translations[tgt] = texts
    source = job["source_lang"] if job["source_lang"] != "auto" else detected or "auto"
    return {
        "status": "completed",
        "task_id": job_id,
        "result": {"source_lang": source, "translations": translations},
    }


_MESSAGES = {
    "unsupported_pair": "no model for {src}>{tgt}",
    "model_unavailable": "the model for {src}>{tgt} could not be loaded; try again later",
    "text_too_long": "the text is over the length limit",
    "same_language": "the text already is in {tgt}",
    "undetected": "the source language could not be detected; name it",
    "bad_request": "the request could not be translated",
    "internal": "translation failed",
}
# A refused document's reason (tasks.formats.errors) → what to say.
_REASONS = {
    "unsupported_format": "unknown file format",
    "file_too_big": "the file is over the size limit",
    "binary": "the file holds binary data, not text",
    "corrupt": "the file is damaged or not of its format",
    "encrypted": "the file is encrypted",
    "too_large": "the file has more text than the limit",
    "archive_limits": "the file unpacks to far more data than it holds",
    "too_many_pages": "the file has too many pages",
    "too_many_cues": "the file has too many subtitles",
    "empty": "there is no text to translate in the file",
    "download": "the upload could not be read",
}


def describe(part: dict[str, Any]) -> dict[str, str]:
    """`{"code", "message"}` for a failed task result."""
    reason = part.get("reason")
    if isinstance(reason, str) and reason in _REASONS:
        limit = f" ({part['chars']} > {part['limit']})" if "limit" in part else ""
        return {"code": reason, "message": _REASONS[reason] + limit}
    code = str(part.get("error") or "internal")
    template = _MESSAGES.get(code, _MESSAGES["internal"])
    message = template.format(src=part.get("src", "?"), tgt=part.get("tgt", "?"))
    return {"code": code, "message": message}
