"""Documents through the queue: submitted as one request, cancelled by its id.

A document is the worker's chain of tasks: DOCUMENT sent under `prepare_id(T)` fans out
chunk tasks (`chunk_id(T, i)`) and answers under T itself. That layout and the worker's
state keys (`document_key`) are known here and in the worker; a front end only names
its request T and, to cancel, says what the user sees.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping

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


async def submit_document(
    submitter: Submitter,
    record: RequestRecord,
    request: DocumentRequest,
    *,
    task_id: str,
    also: Mapping[str, str | bytes] | None = None,
) -> str:
    """Queue a document's translation; its answer (and progress) come under `task_id`.

    Raises:
        QueueUnavailable: Redis could not take the request (nothing was accepted).
    """
    return await submitter.submit(
        record,
        DOCUMENT,
        [task_id, dict(request)],
        queue=QUEUE_DOCUMENTS,
        task_id=task_id,
        send_as=prepare_id(task_id),
        also=also,
    )


async def cancel_document(
    submitter: Submitter, task_id: str, tell: Callable[[RequestRecord], Awaitable[None]]
) -> bool:
    """Stop a document: its running chunks see the flag and stop early, its queued tasks
    are revoked, `tell(record)` says so where the answer would have gone, and then the
    request is forgotten.

    Returns:
        False when the document was already answered (or is being answered, or was
        cancelled): nothing was done.
    """
    requests = submitter.requests
    record = await requests.claim(task_id)
    if record is None:
        return False
    redis = requests.redis
    await redis.set(document_key(task_id, "cancelled"), 1, ex=requests.ttl)
    chunks = int(await redis.get(document_key(task_id, "chunks")) or 0)
    ids = [prepare_id(task_id), task_id, *(chunk_id(task_id, i) for i in range(chunks))]
    await asyncio.to_thread(submitter.producer.control.revoke, ids)
    await tell(record)
    await requests.done(task_id)
    return True
