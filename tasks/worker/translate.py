"""The translate task: a thin wrapper around the translation service.

Translate requests are buffered with celery-batches and handed to the service
together, so concurrent requests share model calls. We use celery-batches rather
than our own buffering because it hooks into Celery's consumer strategy: messages
stay unacknowledged (acks_late) until their batch returns, prefetch limits apply,
and flushes run in the normal worker pool.
"""

from __future__ import annotations

from typing import Any

import redis
from celery.utils.log import get_task_logger
from celery_batches import SimpleRequest

from tasks.contract import DETECT, QUEUE_CHAT, TRANSLATE, TranslateFailed, TranslateResult
from tasks.engine.service import Job
from tasks.worker.batches import Requeue, SafeBatches
from tasks.worker.isolate import translate_isolated, unusable
from tasks.worker.metrics import STATS_KEY, record_batch
from tasks.worker.results import store_all
from tasks.worker.retry import retry_delay
from tasks.worker.runtime import REDIS_DOWN, app, redis_client, service, settings

log = get_task_logger(__name__)


@app.task(
    name=TRANSLATE,
    base=SafeBatches,
    acks_late=True,
    flush_every=settings.batch_max_requests,
    flush_interval=settings.batch_wait_ms / 1000,
)
def translate(requests: list[SimpleRequest]) -> Requeue:
    """Translate a batch of `(text, src, tgt)` requests; store one result for each.

    Returns the ids of requests to queue again (their results could not be stored).
    """
    jobs = [_job(request) for request in requests]
    valid = [job for job in jobs if job is not None]
    try:
        done = iter(translate_isolated(service().translate_many, valid, REDIS_DOWN))
        results: list[TranslateResult] = [next(done) if job else _bad_request() for job in jobs]
    except REDIS_DOWN as exc:
        log.warning("batch of %d met Redis down (%r); requeued", len(requests), exc)
        return Requeue(request.id for request in requests)
    except Exception:
        # Out of time (halves would be too), or no service: every request still gets an answer.
        log.exception("batch of %d failed", len(requests))
        results = [TranslateFailed(ok=False, error="internal") for _ in requests]
    again = Requeue()
    answers: list[tuple[SimpleRequest, TranslateResult]] = []
    for request, result in zip(requests, results, strict=True):
        if (delay := retry_delay(result, _attempt(request))) is None:
            answers.append((request, result))
            continue
        try:
            _send_back(request, delay)
        except REDIS_DOWN as exc:
            log.warning("could not send %s back (%r); requeued", request.id, exc)
            again.append(request.id)
    try:
        store_all(app.backend, answers)
    except (redis.RedisError, *REDIS_DOWN) as exc:
        log.warning("could not store %d results at once (%r); one by one", len(answers), exc)
        again.extend(_store_each(answers))
    _count(requests=len(requests), batches=1)
    record_batch(redis_client(), results)
    return again


def _store_each(answers: list[tuple[SimpleRequest, TranslateResult]]) -> list[str]:
    """Store results one at a time (the backend retries a lost connection, as
    result_backend_always_retry says); the ids of those it could not store."""
    lost = []
    for request, result in answers:
        try:
            app.backend.mark_as_done(request.id, result, request=request)
        except REDIS_DOWN as exc:
            log.warning("could not store the result of %s (%r); requeued", request.id, exc)
            lost.append(request.id)
    return lost


def _options(request: SimpleRequest) -> dict[str, Any]:
    args = request.args
    return dict(args[-1]) if len(args) == 4 and isinstance(args[-1], dict) else {}


def _attempt(request: SimpleRequest) -> int:
    attempt = _options(request).get("attempt", 0)
    return attempt if isinstance(attempt, int) else 0


def _send_back(request: SimpleRequest, delay: int) -> None:
    """Queue the request again under its own id (one answer still), later."""
    text, src, tgt = request.args[:3]
    options = {**_options(request), "attempt": _attempt(request) + 1}
    queue = (request.delivery_info or {}).get("routing_key") or QUEUE_CHAT
    log.warning("request %s failed transiently; retrying in %ss", request.id, delay)
    app.send_task(
        TRANSLATE, args=[text, src, tgt, options], task_id=request.id, queue=queue, countdown=delay
    )


def _count(**counters: int) -> None:
    try:
        with redis_client().pipeline(transaction=False) as pipe:
            for name, value in counters.items():
                pipe.hincrby(STATS_KEY, name, value)
            pipe.execute()
    except redis.RedisError:
        log.warning("could not record stats")


def _job(request: SimpleRequest) -> Job | None:
    args = list(request.args)
    options = args.pop() if len(args) == 4 and isinstance(args[-1], dict) else {}
    if len(args) != 3 or not all(isinstance(a, str) for a in args):
        return None
    skip = options.get("skip") or []
    fallback = options.get("fallback")
    # Any producer may send tasks: what front ends refuse is refused here too.
    if any(unusable(a) for a in args) or (isinstance(fallback, str) and unusable(fallback)):
        return None
    return Job(
        text=args[0],
        src=args[1],
        tgt=args[2],
        fallback=fallback if isinstance(fallback, str) else None,
        skip=tuple(str(s) for s in skip) if isinstance(skip, list) else (),
        html=options.get("html") is True,
    )


def _bad_request() -> TranslateResult:
    return TranslateFailed(ok=False, error="bad_request")


@app.task(name=DETECT, acks_late=True)
def detect(texts: list[str]) -> list[list[dict[str, Any]]]:
    """The likeliest languages of each text, `{"language", "confidence"}` (0 to 100);
    none for a text no detector can take (the rest are still answered)."""
    detector = service().detector
    return [
        [
            {"language": code, "confidence": round(100 * value, 1)}
            for code, value in detector.candidates(str(text))
        ]
        if not unusable(str(text))
        else []
        for text in texts
    ]
