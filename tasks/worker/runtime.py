"""What each worker process holds: the app, its settings, Redis, the service, preloading.

Both task modules (`translate`, `documents`) share these, so a process loads a model
once whichever kind of task asks for it first.
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
from kombu.exceptions import OperationalError

import tasks.worker.startup  # noqa: F401 (connects the worker_init checks and imports)
from tasks import worker_app
from tasks.catalog import CATALOG_KEY, build_catalog, encode, to_preload
from tasks.connections import sync_redis
from tasks.engine.cache import TranslationCache
from tasks.engine.detect import LanguageDetector
from tasks.engine.registry import ModelRegistry
from tasks.engine.service import TranslationService
from tasks.errors import TranslationError
from tasks.worker.metrics import MODEL_LOADS_KEY
from tasks.worker.metrics import record_load as record_load_time

app = worker_app()
settings = app.conf.tolmach_settings
log = get_task_logger(__name__)
# Outside a task: not the task logger (its lines show a task id, here "???").
worker_log = logging.getLogger("tasks.preload")


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

    # Set by the worker's main process for its pool (tasks/worker/startup.py).
    threads = int(app.conf.get("tolmach_engine_threads") or settings.torch_threads)
    registry = ModelRegistry.from_settings(settings, on_load=record_load, threads=threads)
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
