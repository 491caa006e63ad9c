"""Document jobs: room reserved for an upload, the document queued through the queue
client under the job's id (kind "api_document"), and cancelled on request."""

from __future__ import annotations

import uuid

from api.files import FileLedger
from api.jobs.results import describe
from api.jobs.store import DOCUMENT_KIND, META, UPLOAD, JobStore, stamped
from api.jobs.waiters import Waiters
from tasks.client.queue import QueueClient
from tasks.client.requests import RequestRecord
from tasks.contract import DocumentRequest


class DocumentJobs:
    """Reserves, queues and cancels document jobs."""

    def __init__(
        self,
        store: JobStore,
        waiters: Waiters,
        *,
        client: QueueClient,
        files: FileLedger,
    ) -> None:
        self.store = store
        self.redis = store.redis
        self.waiters = waiters
        self.client = client
        self.files = files

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
        also: dict[str, str | bytes] = {META + job_id: stamped(meta), UPLOAD + job_id: data}
        await self.client.submit_document(record, request, task_id=job_id, also=also)

    async def cancel(self, job_id: str) -> bool:
        """Stop a document job (see `QueueClient.cancel_document`); its result says
        "cancelled". False when it already finished."""
        job = await self.store.meta(job_id)
        if job is None or job["type"] != "document":
            return False

        async def tell(record: RequestRecord) -> None:
            error = describe({"ok": False, "error": "bad_request", "reason": "cancelled"})
            failed = {"status": "failed", "task_id": job_id, "error": error}
            await self.waiters.finish(job_id, failed)

        if not await self.client.cancel_document(job_id, tell):
            return False  # answered (or being answered) already
        await self.redis.delete(UPLOAD + job_id)
        await self.files.forget(UPLOAD + job_id)
        return True
