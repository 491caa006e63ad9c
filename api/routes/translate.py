"""The async API: submit a batch, get a task id at once, then fetch, await or stream
the job's result, or cancel it (a text job's or a document's alike)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field

from api import languages
from api.deps import GateDep, GuardDep, JobsDep, OwnerDep, SettingsDep, owner
from api.responses import SafeJSONResponse
from tasks.client.submit import QueueUnavailable
from tasks.contract import QUEUE_CHAT, QUEUE_DOCUMENTS, QUEUE_INLINE

router = APIRouter(prefix="/api", tags=["async"])
# Priority picks the queue; workers empty inline first, documents last.
QUEUES = {"high": QUEUE_INLINE, "normal": QUEUE_CHAT, "low": QUEUE_DOCUMENTS}
MAX_WAIT = 60.0
# An SSE comment this often keeps proxies from closing a quiet stream.
KEEPALIVE = 15.0


class TranslateAsync(BaseModel):
    """`POST /api/translate_async`: texts, a source (or `auto`) and targets."""

    texts: list[str] = Field(min_length=1)
    source_lang: str = "auto"
    target_langs: list[str] = Field(min_length=1)
    priority: Literal["high", "normal", "low"] = "normal"
    # html: tags and entities are kept out of the model and come back in place.
    format: Literal["text", "html"] = "text"


@router.post("/translate_async", status_code=202)
async def translate_async(
    body: TranslateAsync, gate: GateDep, jobs: JobsDep, settings: SettingsDep
) -> dict[str, str]:
    """Queue the texts into every target; the answer is a task id."""
    if len(body.target_langs) > settings.max_targets:
        raise HTTPException(
            400, f"target_langs: at most {settings.max_targets} targets per request"
        )
    src = languages.source(body.source_lang)
    targets = list(dict.fromkeys(languages.target(t) for t in body.target_langs))
    # Before admission: a refused request must not spend the key's month.
    if any(not text.strip() for text in body.texts):
        raise HTTPException(400, "texts: every text must have characters to translate")
    caller = await gate.admit(body.texts, src=src, targets=targets)
    try:
        job_id = await jobs.submit(
            body.texts,
            src,
            targets,
            QUEUES[body.priority],
            html=body.format == "html",
            owner=caller.owner,
        )
    except QueueUnavailable:
        raise HTTPException(503, "the queue is unavailable; try again later") from None
    return {"task_id": job_id}


@router.get("/result/{task_id}", response_model=None)
async def result(
    task_id: str,
    caller: OwnerDep,
    jobs: JobsDep,
    guard: GuardDep,
    wait: Annotated[float, Query(ge=0.0, le=MAX_WAIT, description="long-poll this long")] = 0.0,
) -> dict[str, Any] | JSONResponse:
    """`pending`, `progress`, `completed` (with the result) or `failed` (with the error)."""
    if wait > 0:
        with guard.stream(caller):
            status = await jobs.wait(task_id, wait)
    else:
        status = await jobs.status(task_id)
    if status is None:
        return _unknown(task_id)
    return status


@router.get("/result/{task_id}/events", response_model=None)
async def events(
    task_id: str, caller: OwnerDep, jobs: JobsDep, guard: GuardDep
) -> StreamingResponse | JSONResponse:
    """Server-Sent Events: each `data:` is what `GET /api/result/{id}` would answer, on
    every change; the stream ends after the `completed` or `failed` event."""
    if await jobs.status(task_id) is None:
        return _unknown(task_id)
    guard.check_stream(caller)  # 429 now, while a status can still say so

    async def stream() -> AsyncIterator[str]:
        last: str | None = None
        # Taken inside the stream, so it is given back however the stream ends.
        with guard.stream(caller):
            async for status in jobs.watch(task_id, keepalive=KEEPALIVE):
                data = json.dumps(status)
                if data == last:
                    yield ": keepalive\n\n"
                    continue
                last = data
                yield f"data: {data}\n\n"

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)


@router.post("/result/{task_id}/cancel", dependencies=[Depends(owner)])
async def cancel(task_id: str, jobs: JobsDep) -> dict[str, bool]:
    """Cancel a document job; `cancelled` is false when it had finished already."""
    return {"cancelled": await jobs.cancel(task_id)}


def _unknown(task_id: str) -> JSONResponse:
    return SafeJSONResponse({"detail": f"no task {task_id}"}, status_code=404)
