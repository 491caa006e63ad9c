"""Celery tasks: thin wrappers around the translation service.

Translate requests are buffered with celery-batches and handed to the service
together, so concurrent requests share model calls. We use celery-batches rather
than our own buffering because it hooks into Celery's consumer strategy: messages
stay unacknowledged (acks_late) until their batch returns, prefetch limits apply,
and flushes run in the normal worker pool.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from functools import cache
from typing import Any

import redis
from celery.signals import worker_process_init, worker_ready
from celery.utils.log import get_task_logger
from celery_batches import SimpleRequest
from kombu.exceptions import OperationalError

import tasks.startup  # noqa: F401 (connects the worker_init checks and imports)
from tasks import worker_app
from tasks.batches import Requeue, SafeBatches
from tasks.cache import TranslationCache
from tasks.catalog import CATALOG_KEY, build_catalog, encode, to_preload
from tasks.connections import sync_redis
from tasks.contract import QUEUE_CHAT, TRANSLATE, TranslateFailed, TranslateResult
from tasks.detect import LanguageDetector
from tasks.errors import TranslationError
from tasks.metrics import MODEL_LOADS_KEY, STATS_KEY, record_batch
from tasks.metrics import record_load as record_load_time
from tasks.registry import ModelRegistry
from tasks.service import Job, TranslationService

app = worker_app()
settings = app.conf.tolmach_settings
log = get_task_logger(__name__)
# Outside a task: not the task logger (its lines show a task id, here "???").
worker_log = logging.getLogger("tasks.preload")

__all__ = ["MODEL_LOADS_KEY", "STATS_KEY", "app", "translate"]


@cache
def redis_client() -> redis.Redis:
    """This process's Redis client (cache and counters)."""
    return sync_redis(settings)


@cache
def service() -> TranslationService:
    """This process's service, created on first use inside the worker child."""
    client = redis_client()
    where = f"{socket.gethostname()}:{os.getpid()}"

    def record_load(model_id: str, seconds: float) -> None:
        # Operators (and the tests) can see that each process loads a model once.
        client.hincrby(MODEL_LOADS_KEY, f"{model_id}|{where}", 1)
        record_load_time(client, seconds)

    registry = ModelRegistry.from_settings(settings, on_load=record_load)
    return TranslationService(
        registry,
        cache=TranslationCache(client, settings.cache_ttl),
        detector=LanguageDetector(settings.detect_languages),
        max_chars=settings.max_text_chars,
        token_budget=settings.batch_token_budget,
    )


@worker_process_init.connect
def preload(**_signal: Any) -> None:
    """Load the deployment's pairs in each worker child before its first request."""
    pairs, why = to_preload(settings)
    if not pairs:
        worker_log.info("nothing to preload (%s)", why)
    for pair in pairs:
        src, _, tgt = pair.partition("-")
        started = time.perf_counter()
        try:
            service().registry.route(src, tgt)
        except TranslationError as exc:
            log.warning("could not preload %s: %s", pair, exc)
            continue
        took = time.perf_counter() - started
        worker_log.info("preloaded %s in %.2fs (%s; pid %d)", pair, took, why, os.getpid())


@worker_ready.connect
def publish_catalog(**_: Any) -> None:
    """Tell the bot which pairs this deployment serves (for /languages)."""
    try:
        redis_client().set(CATALOG_KEY, encode(build_catalog(settings)))
    except redis.RedisError as exc:
        log.warning("could not publish the catalog: %r", exc)


# Redis (or the broker) gone mid-batch: the batch goes back to the queue, not "internal".
REDIS_DOWN = (redis.ConnectionError, redis.TimeoutError, OperationalError, ConnectionError)


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
        done = iter(service().translate_many(valid))
        results: list[TranslateResult] = [next(done) if job else _bad_request() for job in jobs]
    except REDIS_DOWN as exc:
        log.warning("batch of %d met Redis down (%r); requeued", len(requests), exc)
        return Requeue(request.id for request in requests)
    except Exception:
        # The batch must never fail silently: every request still gets an answer.
        log.exception("batch of %d failed", len(requests))
        results = [TranslateFailed(ok=False, error="internal") for _ in requests]
    again = Requeue()
    for request, result in zip(requests, results, strict=True):
        try:
            if (delay := retry_delay(result, _attempt(request))) is not None:
                _send_back(request, delay)
                continue
            # The backend retries a lost connection (result_backend_always_retry).
            app.backend.mark_as_done(request.id, result, request=request)
        except REDIS_DOWN as exc:
            log.warning("could not store the result of %s (%r); requeued", request.id, exc)
            again.append(request.id)
    _count(requests=len(requests), batches=1)
    record_batch(redis_client(), results)
    return again


# Failures worth another try: a model that could not be fetched or loaded (a hub or
# disk hiccup). Anything else is final; a batch that crashed is "internal", not retried.
TRANSIENT = frozenset({"model_unavailable"})
MAX_ATTEMPTS = 3


def retry_delay(result: TranslateResult, attempt: int) -> int | None:
    """Seconds before a request is tried again (1, 2, 4…), or None to answer now."""
    if result["ok"] or result["error"] not in TRANSIENT or attempt + 1 >= MAX_ATTEMPTS:
        return None
    return int(2**attempt)


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
