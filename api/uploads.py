"""Uploads and downloads of documents, for every dialect's file routes: an upload
checked and queued (every format the bot takes, with the same limits: it waits in
Redis for the workers' document task, which answers like any other job), and the
translated file as a download.
"""

from __future__ import annotations

import contextlib
import posixpath
from typing import TypedDict
from urllib.parse import quote

from fastapi import HTTPException
from fastapi.responses import Response
from redis.exceptions import RedisError
from starlette.datastructures import UploadFile as FormFile

from api import languages
from api.files import FilesFull
from api.guard import Caller
from api.services import ApiServices
from tasks.client.submit import QueueUnavailable
from tasks.formats import supported_extensions

MB = 1024 * 1024
# Seconds a client refused for want of room for files is told to wait.
RETRY_FILES = 60


async def accept_file(
    services: ApiServices,
    caller: Caller,
    file: FormFile,
    source: str,
    target: str,
) -> str:
    """Check and queue an uploaded document; returns the job id.

    Raises:
        HTTPException: 400 (unknown format, empty, unknown language), 413 (too big),
            429 (the caller holds its share of files), 503 (queue down, or no room
            for files).
    """
    # Valid text, whatever the multipart part said (a lone surrogate would break the
    # download's header later).
    raw = (file.filename or "document").encode("utf-8", "replace").decode("utf-8")
    name = posixpath.basename(raw) or "document"
    extension = posixpath.splitext(name)[1].lower()
    if extension not in supported_extensions():
        known = ", ".join(sorted(e.lstrip(".") for e in supported_extensions()))
        raise HTTPException(400, f"{name!r}: unknown file format; supported: {known}")
    limit = services.settings.api_upload_limit
    too_big = HTTPException(413, f"{name!r} is over the size limit ({limit / MB:.0f} MB)")
    if file.size is not None and file.size > limit:
        raise too_big
    src, tgt = languages.source(source), languages.target(target)
    await services.guard.admission.check_targets(src, [tgt])
    jobs = services.jobs
    try:  # room is taken before the upload is read into memory
        job_id = await jobs.reserve_file(file.size or limit, caller.client)
    except FilesFull as exc:
        raise _files_full(services, exc) from None
    try:
        data = await file.read(limit + 1)
        if len(data) > limit:
            raise too_big
        if not data:
            raise HTTPException(400, f"{name!r} is empty")
        user = caller.user
        owner = user.id if user is not None else None
        await jobs.submit_file(job_id, name, data, src, tgt, owner=owner, by=caller.owner)
    except QueueUnavailable:
        await _release(services, job_id)
        raise HTTPException(503, "the queue is unavailable; try again later") from None
    except BaseException:
        await _release(services, job_id)
        raise
    return job_id


async def _release(services: ApiServices, job_id: str) -> None:
    with contextlib.suppress(RedisError, OSError):
        await services.jobs.release_file(job_id)


def _files_full(services: ApiServices, exc: FilesFull) -> HTTPException:
    settings = services.settings
    if exc.mine:
        return HTTPException(
            429,
            f"You have {settings.api_files_per_client} files in progress or waiting for "
            "download; fetch or cancel one first",
            headers={"Retry-After": str(RETRY_FILES)},
        )
    return HTTPException(
        503,
        "The server holds as many files as it may right now; try again in a few minutes",
        headers={"Retry-After": str(RETRY_FILES)},
    )


# A document upload is one file and a few fields. Starlette keeps each part under 1 MB
# in memory and allows 1,000 of them: 999 small "files" in one body were all held in
# RAM before any limit of ours saw them.
class FormLimits(TypedDict, total=False):
    """Starlette's `Request.form` limits (FastAPI's `form_limits` has the same keys)."""

    max_files: int
    max_fields: int


FORM_LIMITS: FormLimits = {"max_files": 1, "max_fields": 16}


def file_response(name: str, data: bytes) -> Response:
    """A download of `data` named `name` (any script: RFC 6266's UTF-8 form)."""
    disposition = f"attachment; filename*=UTF-8''{quote(name, safe='', errors='replace')}"
    return Response(
        data, media_type="application/octet-stream", headers={"Content-Disposition": disposition}
    )
