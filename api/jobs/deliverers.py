"""What the result listener hands the API's finished tasks to, one deliverer per kind.

A text job's parts are gathered in a Redis hash; the last one in writes the job's
result. A document's result names its file, kept under the worker's key until
downloaded or `API_FILE_TTL`; its progress is kept for status answers.
"""

from __future__ import annotations

import json
from typing import Any

from api.files import FileLedger
from api.jobs.results import assemble, describe
from api.jobs.store import PARTS, PROGRESS, UPLOAD, JobStore
from api.jobs.waiters import Waiters
from tasks.client.requests import RequestRecord
from tasks.connections import as_text


class Deliverers:
    """The deliverers of kinds "api", "api_document" and "api_detect", and the
    document's progress."""

    def __init__(
        self, store: JobStore, waiters: Waiters, *, files: FileLedger, ttl: int, file_ttl: int
    ) -> None:
        self.store = store
        self.redis = store.redis
        self.waiters = waiters
        self.files = files
        self.ttl = ttl
        self.file_ttl = file_ttl

    async def collect(self, task_id: str, record: RequestRecord, meta: dict[str, Any]) -> None:
        """The deliverer of kind "api": store one part; the last one in turns the parts
        into the job's result."""
        context = record.context
        job_id, part = context["job"], f"{context['tgt']}|{context['index']}"
        result = meta.get("result") if meta.get("status") == "SUCCESS" else None
        if not isinstance(result, dict):
            result = {"ok": False, "error": "internal"}
        job = _shape(context)
        total = job["texts"] * len(job["targets"])
        if total == 1:
            # The only part (LibreTranslate's usual call): no parts to gather.
            await self.waiters.finish(job_id, assemble(job_id, job, {part: result}))
            return
        parts = PARTS + job_id
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(parts, part, json.dumps(result))
            pipe.expire(parts, self.ttl)
            pipe.hlen(parts)
            *_, count = await pipe.execute()
        if count >= total:
            stored = await self.redis.hgetall(parts)
            found = {as_text(k): json.loads(v) for k, v in stored.items()}
            await self.waiters.finish(job_id, assemble(job_id, job, found))
        else:
            await self.waiters.changed(job_id)

    async def collect_file(self, task_id: str, record: RequestRecord, meta: dict[str, Any]) -> None:
        """The deliverer of kind "api_document": the translated file, or why there is none."""
        job_id = record.context["job"]
        result = meta.get("result") if meta.get("status") == "SUCCESS" else None
        if isinstance(result, dict) and result.get("ok"):
            # The bytes stay under the worker's key until downloaded, or API_FILE_TTL.
            await self.redis.expire(str(result["key"]), self.file_ttl)
            await self.files.replace(UPLOAD + job_id, str(result["key"]))
            done = {
                "source_lang": result["src"],
                "target_lang": result["tgt"],
                "file_name": result["name"],
                "download_url": f"/api/file/{job_id}",
                "file_key": result["key"],
            }
            finished = {"status": "completed", "task_id": job_id, "result": done}
            await self.waiters.finish(job_id, finished)
        else:
            failed = result if isinstance(result, dict) else {"ok": False, "error": "internal"}
            error = describe(failed)
            await self.waiters.finish(
                job_id, {"status": "failed", "task_id": job_id, "error": error}
            )
            await self.files.forget(UPLOAD + job_id)
        await self.redis.delete(UPLOAD + job_id)

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
        await self.waiters.finish(job_id, done)

    async def file_progress(
        self, task_id: str, record: RequestRecord, meta: dict[str, Any]
    ) -> None:
        """A document's PROGRESS state: kept for `progress` answers."""
        result = meta.get("result")
        if isinstance(result, dict):
            progress = {"done": int(result.get("done", 0)), "total": int(result.get("total", 0))}
            await self.redis.set(
                PROGRESS + record.context["job"], json.dumps(progress), ex=self.ttl
            )
            await self.waiters.changed(record.context["job"])


def _shape(context: dict[str, Any]) -> dict[str, Any]:
    """A text job's shape, as each part's record carries it (see `api.jobs.texts`)."""
    return {"texts": context["texts"], "targets": context["targets"], "source_lang": context["src"]}
