"""The Redis keys of an API job and the read model over them.

A job is its meta (its shape and who it belongs to), the parts of a text job gathered
so far, a document's progress and upload, and its result once finished. Every key is
kept `REPLY_TTL` seconds; a translated file `API_FILE_TTL`, or `DOWNLOAD_GRACE` once
fetched.
"""

from __future__ import annotations

import json
import time
from typing import Any

from redis.asyncio import Redis

from api.files import FileLedger
from tasks.contract import API_PREFIX

# Request record kinds of the API's tasks, each with its deliverer.
TEXT, DOCUMENT_KIND, DETECT_KIND = "api", "api_document", "api_detect"
PREFIX = API_PREFIX
META, PARTS, RESULT = PREFIX + "meta:", PREFIX + "parts:", PREFIX + "result:"
PROGRESS, UPLOAD = PREFIX + "progress:", PREFIX + "upload:"
# Every change of a job is published here, for the waiters of every replica.
CHANGED = PREFIX + "changed"
FINAL = ("completed", "failed")
# Seconds a downloaded file is kept for a second fetch.
DOWNLOAD_GRACE = 60


class JobStore:
    """Reads a job's keys: its meta, status, owners and file."""

    def __init__(self, redis: Redis, *, files: FileLedger) -> None:
        self.redis = redis
        self.files = files

    async def meta(self, job_id: str) -> dict[str, Any] | None:
        """The job's meta as stored (see `stamped`); None for an unknown job."""
        raw = await self.redis.get(META + job_id)
        return json.loads(raw) if raw is not None else None

    async def status(self, job_id: str) -> dict[str, Any] | None:
        """What `GET /api/result/{id}` answers; None for an unknown (or expired) job."""
        async with self.redis.pipeline(transaction=False) as pipe:  # one round trip
            pipe.get(RESULT + job_id)
            pipe.get(META + job_id)
            pipe.get(PROGRESS + job_id)
            pipe.hlen(PARTS + job_id)
            raw, raw_meta, progress, done = await pipe.execute()
        if raw is not None:
            return shown(json.loads(raw))
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
        job = await self.meta(job_id)
        found = job.get("client") if job is not None else None
        return found if isinstance(found, str) else None

    async def owner(self, job_id: str) -> int | None:
        """The Mini App user a document job belongs to (None: anyone's, or no such job)."""
        job = await self.meta(job_id)
        return job.get("owner") if job is not None else None

    async def file(self, job_id: str) -> tuple[str, bytes] | None:
        """A finished document job's file name and bytes; None if there is none (now)."""
        raw = await self.redis.get(RESULT + job_id)
        result = json.loads(raw).get("result") if raw is not None else None
        if not isinstance(result, dict) or "file_key" not in result:
            return None
        data = await self.redis.get(result["file_key"])
        return (str(result["file_name"]), data) if isinstance(data, bytes) else None

    async def downloaded(self, job_id: str) -> None:
        """A job's file was fetched: it goes after a short grace (a retried fetch, the
        page's "Send to chat"), not after API_FILE_TTL."""
        raw = await self.redis.get(RESULT + job_id)
        result = json.loads(raw).get("result") if raw is not None else None
        if isinstance(result, dict) and "file_key" in result:
            await self.redis.expire(str(result["file_key"]), DOWNLOAD_GRACE)
            await self.files.forget(str(result["file_key"]))


def stamped(meta: dict[str, Any]) -> str:
    """A job's meta as stored, with when it was accepted."""
    return json.dumps({**meta, "accepted_at": time.time()})


def shown(result: dict[str, Any]) -> dict[str, Any]:
    """A finished job as answered: the document's storage key stays inside."""
    answered = dict(result)
    if isinstance(answered.get("result"), dict):
        answered["result"] = {k: v for k, v in answered["result"].items() if k != "file_key"}
    return answered
