"""DeepL's document routes: upload (`/v2/document`), status (`/v2/document/{id}`) and
result (`/v2/document/{id}/result`), on the API's document jobs (every format Tolmach
translates, with the same limits).

A document's `document_key` is a secret handed out with its id; only its digest is
kept, and status and result answer only to it. Its `document_id` is not the job's id:
the job's own routes (`/api/result`, `/api/file`, `/download_file`) answer to that id
alone, and a `document_id` is seen in access logs and URLs, where its key is not.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from api import deepl_common as common
from api.deps import JobsDep, RedisDep, ServicesDep
from api.uploads import FORM_LIMITS, accept_file, file_response

router = APIRouter(tags=["deepl"], dependencies=[Depends(common.dialect)])
_DOCUMENT = "tolmach:api:deepl:document:"
# A job's status → DeepL's word for it.
STATES = {"pending": "queued", "progress": "translating", "completed": "done", "failed": "error"}


@router.post("/document")
async def upload(request: Request, services: ServicesDep) -> dict[str, str]:
    """A multipart `file` into `target_lang` (from `source_lang`, or detected)."""
    form = await request.form(**FORM_LIMITS)
    file = form.get("file")
    if not isinstance(file, UploadFile):
        raise HTTPException(400, "Parameter 'file' not specified.")
    params = {key: form.get(key) for key in form if key != "file"}
    target = common.text_field(params.get("target_lang"), "target_lang")
    source = str(params.get("source_lang") or "")
    caller = await services.guard.admit(request, common.auth_key(request, params), [])
    known = common.served(await common.catalog(services.guard))
    src = common.our_code(source, known) if source.strip() else "auto"
    job_id = await accept_file(services, caller, file, src, common.our_code(target, known))
    document_id, key = secrets.token_hex(16).upper(), secrets.token_urlsafe(24)
    record = {"digest": _digest(key), "accepted": time.time(), "job": job_id}
    await services.redis.set(
        _DOCUMENT + document_id, json.dumps(record), ex=services.settings.reply_ttl
    )
    return {"document_id": document_id, "document_key": key}


@dataclass(frozen=True)
class Document:
    """A DeepL document its caller holds the key to: its job, and when it was accepted."""

    job: str
    accepted: float


async def accepted(
    document_id: str, params: common.FieldsDep, gate: common.GateDep, redis: RedisDep
) -> Document:
    """The document, for a caller with its key.

    Raises:
        HTTPException: 403 (the API key), 404 (no such document, or another key).
    """
    await gate.caller()
    raw = await redis.get(_DOCUMENT + document_id)
    record = json.loads(raw) if raw is not None else None
    given = params.get("document_key")
    if (
        record is None
        or not isinstance(given, str)
        or not hmac.compare_digest(record["digest"], _digest(given))
    ):
        raise HTTPException(404, "Document not found.")
    # A record from before ids and jobs were told apart is keyed by its job's id.
    return Document(str(record.get("job", document_id)), float(record["accepted"]))


AcceptedDep = Annotated[Document, Depends(accepted)]


@router.post("/document/{document_id}")
async def status(document_id: str, document: AcceptedDep, jobs: JobsDep) -> dict[str, Any]:
    """Where the document stands: `queued`, `translating` (with `seconds_remaining`),
    `done` or `error`."""
    found = await jobs.status(document.job)
    if found is None:
        raise HTTPException(404, "Document not found.")
    answer: dict[str, Any] = {"document_id": document_id, "status": STATES[found["status"]]}
    progress = found.get("progress")
    if isinstance(progress, dict) and progress.get("done"):
        # The pace so far, for what is left: an estimate, as DeepL's is.
        elapsed = time.time() - document.accepted
        left = progress["total"] - progress["done"]
        answer["seconds_remaining"] = max(1, round(elapsed * left / progress["done"]))
    if found["status"] == "failed":
        answer["error_message"] = found["error"]["message"]
    return answer


@router.post("/document/{document_id}/result")
async def result(document: AcceptedDep, jobs: JobsDep) -> Response:
    """The translated file (kept a short while after this, then deleted)."""
    found = await jobs.status(document.job)
    if found is not None and found["status"] == "failed":
        raise HTTPException(400, f"Document translation failed: {found['error']['message']}")
    file = await jobs.file(document.job)
    if file is None:
        raise HTTPException(503, "Document not ready.")
    await jobs.downloaded(document.job)
    return file_response(*file)


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
