"""Document jobs: room reserved for an upload, the workers' document task queued under
the job's id (kind "api_document"), and cancelled on request."""

from __future__ import annotations

import asyncio
import uuid

from api.files import FileLedger
from api.jobs.store import DOCUMENT_KIND, META, UPLOAD, JobStore, stamped
from api.jobs.waiters import Waiters
from tasks.client.requests import RequestRecord
from tasks.client.submit import Submitter
from tasks.contract import (
    DOCUMENT,
    QUEUE_DOCUMENTS,
    DocumentRequest,
    chunk_id,
    document_key,
    prepare_id,
)


class DocumentJobs:
    """Reserves, queues and cancels document jobs."""

    def __init__(
        self,
        store: JobStore,
        waiters: Waiters,
        *,
        submitter: Submitter,
        files: FileLedger,
        ttl: int,
    ) -> None:
        self.store = store
        self.redis = store.redis
        self.waiters = waiters
        self.submitter = submitter
        self.files = files
        self.ttl = ttl

    async def reserve_file(self, size: int, client: str) -> str:
        """Room for an upload of `size` bytes held for `client`; returns the id of the
        job it will be (before the upload is read into memory).

        Raises:
            FilesFull: no room for it.
        """
        job_id = uuid.uuid4().hex
        await self.files.admit(UPLOAD + job_id, size, client)
        return job_id

    async def release_file(self, job_id: str) -> None:
        """Give back a reservation whose upload was refused or never queued."""
        await self.files.forget(UPLOAD + job_id)

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
            file_path="", file_name=name, src=src, tgt=tgt, upload_key=UPLOAD + job_id
        )
        record = RequestRecord(DOCUMENT_KIND, {"job": job_id})
        await self.submitter.submit(
            record,
            DOCUMENT,
            [job_id, dict(request)],
            queue=QUEUE_DOCUMENTS,
            task_id=job_id,
            send_as=prepare_id(job_id),
            also={META + job_id: stamped(meta), UPLOAD + job_id: data},
        )

    async def cancel(self, job_id: str) -> bool:
        """Stop a document job: its running chunks see the flag, queued tasks are
        revoked, and its result says "cancelled". False when it already finished."""
        job = await self.store.meta(job_id)
        if job is None or job["type"] != "document":
            return False
        if await self.submitter.requests.claim(job_id) is None:
            return False  # answered (or being answered) already
        await self.redis.set(document_key(job_id, "cancelled"), 1, ex=self.ttl)
        chunks = int(await self.redis.get(document_key(job_id, "chunks")) or 0)
        ids = [prepare_id(job_id), job_id, *(chunk_id(job_id, i) for i in range(chunks))]
        await asyncio.to_thread(self.submitter.producer.control.revoke, ids)
        error = {"code": "cancelled", "message": "the translation was cancelled"}
        await self.waiters.finish(job_id, {"status": "failed", "task_id": job_id, "error": error})
        await self.submitter.requests.done(job_id)
        await self.redis.delete(UPLOAD + job_id)
        await self.files.forget(UPLOAD + job_id)
        return True
