"""Documents over HTTP: upload a file, follow its progress, download the translation.

Every format the bot takes, with the same limits: the upload waits in Redis for the
workers' document task, which answers like any other job.
"""

from __future__ import annotations

import posixpath
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Header, HTTPException, Query, Request, UploadFile
from fastapi.responses import Response
from starlette.datastructures import UploadFile as FormFile

from api import languages
from api.services import ApiServices, services_of
from tasks.client.submit import QueueUnavailable
from tasks.formats import supported_extensions

router = APIRouter(prefix="/api", tags=["documents"])
MB = 1024 * 1024


async def accept_file(
    services: ApiServices, request: Request, file: FormFile, source: str, target: str
) -> str:
    """Check and queue an uploaded document; returns the job id.

    Raises:
        HTTPException: 400 (unknown format, empty, unknown language), 413 (too big),
            503 (queue down).
    """
    name = posixpath.basename(file.filename or "document")
    extension = posixpath.splitext(name)[1].lower()
    if extension not in supported_extensions():
        known = ", ".join(sorted(e.lstrip(".") for e in supported_extensions()))
        raise HTTPException(400, f"{name!r}: unknown file format; supported: {known}")
    limit = services.settings.document_byte_limit
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise HTTPException(413, f"{name!r} is over the size limit ({limit / MB:.0f} MB)")
    if not data:
        raise HTTPException(400, f"{name!r} is empty")
    src, tgt = languages.source(source), languages.target(target)
    user = services.guard.webapp_user(request)
    try:
        return await services.jobs.submit_file(
            name, data, src, tgt, owner=user.id if user is not None else None
        )
    except QueueUnavailable:
        raise HTTPException(503, "the queue is unavailable; try again later") from None


@router.post("/translate_file_async", status_code=202)
async def translate_file_async(
    request: Request,
    file: Annotated[UploadFile, File()],
    target_lang: Annotated[str, Form()],
    source_lang: Annotated[str, Form()] = "auto",
    x_api_key: Annotated[str | None, Header()] = None,
    api_key: Annotated[str | None, Query()] = None,
) -> dict[str, str]:
    """Queue a document; progress and the download URL come with its result."""
    services = services_of(request)
    await services.guard.admit(request, x_api_key or api_key, [])
    return {"task_id": await accept_file(services, request, file, source_lang, target_lang)}


@router.get("/file/{task_id}")
async def download(task_id: str, request: Request) -> Response:
    """The translated file of a completed document job."""
    found = await services_of(request).jobs.file(task_id)
    if found is None:
        raise HTTPException(404, f"no translated file for {task_id}")
    return file_response(*found)


def file_response(name: str, data: bytes) -> Response:
    """A download of `data` named `name` (any script: RFC 6266's UTF-8 form)."""
    disposition = f"attachment; filename*=UTF-8''{quote(name, safe='')}"
    return Response(
        data, media_type="application/octet-stream", headers={"Content-Disposition": disposition}
    )
