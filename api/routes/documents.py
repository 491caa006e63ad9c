"""Documents over HTTP: upload a file, then download its translation (its progress is
the job's result: `routes/translate.py`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, HTTPException, UploadFile
from fastapi.responses import Response

from api.deps import GateDep, JobsDep, ServicesDep, owner
from api.uploads import FORM_LIMITS, accept_file, file_response

router = APIRouter(prefix="/api", tags=["documents"])


@router.post(
    "/translate_file_async",
    status_code=202,
    form_limits={"max_files": FORM_LIMITS["max_files"], "max_fields": FORM_LIMITS["max_fields"]},
)
async def translate_file_async(
    file: Annotated[UploadFile, File()],
    target_lang: Annotated[str, Form()],
    services: ServicesDep,
    gate: GateDep,
    source_lang: Annotated[str, Form()] = "auto",
) -> dict[str, str]:
    """Queue a document; progress and the download URL come with its result."""
    caller = await gate.admit([])
    return {"task_id": await accept_file(services, caller, file, source_lang, target_lang)}


@router.get("/file/{task_id}", dependencies=[Depends(owner)])
async def download(task_id: str, jobs: JobsDep) -> Response:
    """The translated file of a completed document job (kept a minute after this)."""
    found = await jobs.file(task_id)
    if found is None:
        raise HTTPException(404, f"no translated file for {task_id}")
    await jobs.downloaded(task_id)
    return file_response(*found)
