"""Celery tasks of the document path: prepare, then chunks in parallel, then build.

`prepare` (id `prepare_id(T)`) downloads and parses the file and fans out a chord:
one `translate_chunk` per few thousand characters (ids `chunk_id(T, i)`), in
DOCUMENT_PARALLEL chains any workers may take, then `build` under the bot's own id T
writes the translated file. Each
chunk publishes a PROGRESS state on T's result channel, where the bot's listener
sees it. Every task is idempotent (acks_late: a task whose worker died runs again).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from celery import chain, chord, group
from celery.exceptions import Retry
from celery.utils.log import get_task_logger

from tasks.contract import (
    DOCUMENT,
    DOCUMENT_BUILD,
    DOCUMENT_CHUNK,
    PROGRESS,
    DocumentFailed,
    DocumentOk,
    DocumentProgress,
    DocumentRequest,
    chunk_id,
)
from tasks.engine.service import Job, TranslationService
from tasks.errors import TranslationError
from tasks.formats import output_name, rebuild, segments
from tasks.worker.document_state import (
    DocumentState,
    DownloadFailed,
    failure,
    fetch,
    plan_chunks,
    source_language,
)
from tasks.worker.isolate import translate_isolated
from tasks.worker.runtime import REDIS_DOWN, app, redis_client, service, settings
from tasks.worker.source import source_of

log = get_task_logger(__name__)
# Parsing and writing a large document may take longer than one translation.
LONG = max(settings.task_soft_time_limit, 600)


@cache
def document_service() -> TranslationService:
    """The worker's service (same models and cache) with the document character limit."""
    base = service()
    return TranslationService(
        base.registry,
        cache=base.cache,
        detector=base.detector,
        max_chars=settings.document_max_chars,
        token_budget=settings.batch_token_budget,
    )


def _state(task_id: str) -> DocumentState:
    return DocumentState(redis_client(), task_id, settings.reply_ttl)


@app.task(
    name=DOCUMENT,
    bind=True,
    acks_late=True,
    ignore_result=True,
    max_retries=3,
    soft_time_limit=LONG,
    time_limit=LONG + 30,
)
def prepare(self: Any, task_id: str, request: DocumentRequest) -> None:
    """Download and parse the document, then queue its chunks and the final build."""
    doc = _state(task_id)
    if doc.client.exists(doc.key("launched")) or doc.cancelled():
        return  # ran before (worker lost after launching), or cancelled meanwhile
    name, src, tgt = request["file_name"], request["src"], request["tgt"]
    try:
        data = _download(self, request)
        texts = segments(name, data, max_chars=settings.document_max_chars)
        src = source_language(src, tgt, texts, document_service())
    except Retry:
        raise
    except TranslationError as exc:
        app.backend.mark_as_done(task_id, failure(exc, name, src, tgt))
        return
    except Exception:  # the user must hear something: the bot words "internal"
        log.exception("document %s could not be prepared", task_id)
        app.backend.mark_as_done(task_id, DocumentFailed(ok=False, error="internal", name=name))
        return
    if not texts:
        empty = DocumentFailed(ok=False, error="bad_request", reason="empty", name=name)
        app.backend.mark_as_done(task_id, empty)
        return
    chunks = list(plan_chunks(texts, settings.document_chunk_chars))
    doc.save_input(data, chunks)
    _progress(task_id, 0, len(texts))
    chord(_lanes(task_id, len(chunks), src, tgt))(
        build.si(task_id, name, src, tgt, len(chunks)).set(task_id=task_id)
    )
    doc.client.set(doc.key("launched"), 1, ex=settings.reply_ttl)
    log.info("document %s: %d segments in %d chunks", task_id, len(texts), len(chunks))


def _lanes(task_id: str, count: int, src: str, tgt: str) -> group:
    """A group of DOCUMENT_PARALLEL chains of chunks (lane k: chunks k, k+P, k+2P…).

    Chains queue a chunk only when the one before it finished, so a document has at most
    P chunks in the queue: workers prefetch many messages and run them in order, and a
    chat message must not wait behind a whole document's chunks.
    """
    lanes = min(settings.document_parallel, count)
    return group(
        chain(
            translate_chunk.si(task_id, i, src, tgt).set(task_id=chunk_id(task_id, i))
            for i in range(lane, count, lanes)
        )
        for lane in range(lanes)
    )


def _download(task: Any, request: DocumentRequest) -> bytes:
    """The document's bytes (`document_state.fetch`), network trouble retried a few times."""
    name = request["file_name"]
    try:
        return fetch(source_of(request), name, client=redis_client(), settings=settings)
    except OSError as exc:  # network trouble: try again a few times, then say so
        if task.request.retries >= task.max_retries:
            raise DownloadFailed(f"{name!r}: {type(exc).__name__}") from exc
        log.warning("download failed (%r); retrying", exc)
        raise task.retry(exc=exc, countdown=2**task.request.retries) from exc


def _progress(task_id: str, done: int, total: int) -> None:
    # Celery's Redis backend PUBLISHes this on T's channel; a later SUCCESS wins.
    app.backend.store_result(task_id, DocumentProgress(done=done, total=total), PROGRESS)


@app.task(name=DOCUMENT_CHUNK, acks_late=True)
def translate_chunk(task_id: str, index: int, src: str, tgt: str) -> dict[str, int]:
    """Translate one chunk's segments through the engine path; store them, not return."""
    doc = _state(task_id)
    if doc.cancelled() or doc.translated(index):
        return {"chunk": index}
    jobs = [Job(text, src, tgt) for text in doc.segments(index)]
    out: list[str] | dict[str, str]
    try:
        results = translate_isolated(document_service().translate_many, jobs, REDIS_DOWN)
        failed = [r for r in results if not r["ok"]]
        out = {"error": failed[0]["error"]} if failed else [str(r.get("text")) for r in results]
    except Exception:  # record it: the build task words it for the user
        log.exception("document %s chunk %d failed", task_id, index)
        out = {"error": "internal"}
    done, total = doc.save_output(index, out)
    _progress(task_id, done, total)
    return {"chunk": index}


@app.task(
    name=DOCUMENT_BUILD,
    bind=True,
    acks_late=True,
    max_retries=10,
    soft_time_limit=LONG,
    time_limit=LONG + 30,
)
def build(
    self: Any, task_id: str, name: str, src: str, tgt: str, chunks: int
) -> DocumentOk | DocumentFailed:
    """Write the translated document and leave it in Redis for the bot."""
    doc = _state(task_id)
    done = int(doc.client.get(doc.key("done")) or 0)
    ok = DocumentOk(
        ok=True, key=doc.key("result"), name=output_name(name, tgt), src=src, tgt=tgt,
        segments=done,
    )  # fmt: skip
    if doc.client.exists(doc.key("result")):
        return ok  # built before; this is a rerun after a lost worker
    outputs = doc.outputs(chunks)
    if doc.cancelled():
        return DocumentFailed(ok=False, error="bad_request", reason="cancelled", name=name)
    if any(o is None for o in outputs):
        # A chunk that ran twice can complete the chord early; wait for the rest.
        raise self.retry(countdown=2)
    errors = [o for o in outputs if isinstance(o, dict)]
    if errors:
        code = errors[0].get("error", "internal")
        return DocumentFailed(ok=False, error=code, src=src, tgt=tgt, name=name)  # type: ignore[typeddict-item]
    data = doc.client.get(doc.key("input"))
    if not isinstance(data, bytes):
        raise RuntimeError(f"document {task_id}: the original expired")
    translations = [text for o in outputs if isinstance(o, list) for text in o]
    doc.finish(rebuild(name, data, translations))
    return ok
