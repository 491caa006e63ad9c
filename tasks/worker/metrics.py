"""Worker metrics, kept in Redis and exposed by the bot's `/metrics`.

Why Redis rather than prometheus-client inside the worker: Celery's prefork children
are separate processes that come and go (crashes, `--max-tasks-per-child`), and workers
run on any number of hosts. prometheus-client's multiprocess mode needs a shared
directory plus an HTTP server in the prefork parent, which Celery does not give us, and
a port per child cannot be scraped reliably. A few HINCRBYs per batch cost nothing next
to a model call, survive child restarts, and one scrape of any bot replica sees every
worker. Histograms are stored as per-bucket counts plus `sum` and `count`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import redis

from tasks.connections import as_text
from tasks.contract import TranslateResult

log = logging.getLogger(__name__)

STATS_KEY = "tolmach:stats"  # hash: requests and batches translated
MODEL_LOADS_KEY = "tolmach:model_loads"  # hash: "model|host:pid" -> loads
BATCH_SIZE_KEY = "tolmach:metrics:batch_size"
MODEL_LOAD_KEY = "tolmach:metrics:model_load_seconds"
WORKER_ERRORS_KEY = "tolmach:metrics:worker_errors"
BATCH_BUCKETS: tuple[float, ...] = (1, 2, 4, 8, 16, 32, 64, 128)
LOAD_BUCKETS: tuple[float, ...] = (0.5, 1, 2, 5, 10, 30, 60, 120, 300)
# Outcomes that are answers, not failures: auto-translate skipping a group's own language.
NOT_ERRORS = frozenset({"skipped"})


def bucket_of(value: float, buckets: Sequence[float]) -> str:
    """The field of the smallest bucket holding `value` (Prometheus `le` semantics)."""
    for bound in buckets:
        if value <= bound:
            return _le(bound)
    return "+Inf"


def _le(bound: float) -> str:
    return str(float(bound))


def _observe(pipe: redis.client.Pipeline, key: str, value: float, buckets: Sequence[float]) -> None:
    pipe.hincrby(key, bucket_of(value, buckets), 1)
    pipe.hincrbyfloat(key, "sum", value)
    pipe.hincrby(key, "count", 1)


def record_batch(client: redis.Redis, results: Iterable[TranslateResult]) -> None:
    """Count one batch: its size, and the failed results by error code."""
    results = list(results)
    try:
        with client.pipeline(transaction=False) as pipe:
            _observe(pipe, BATCH_SIZE_KEY, len(results), BATCH_BUCKETS)
            for result in results:
                if not result["ok"] and result["error"] not in NOT_ERRORS:
                    pipe.hincrby(WORKER_ERRORS_KEY, result["error"], 1)
            pipe.execute()
    except redis.RedisError as exc:
        log.warning("could not record batch metrics: %r", exc)


def record_load(client: redis.Redis, seconds: float) -> None:
    """Count one model load and how long it took."""
    try:
        with client.pipeline(transaction=False) as pipe:
            _observe(pipe, MODEL_LOAD_KEY, seconds, LOAD_BUCKETS)
            pipe.execute()
    except redis.RedisError as exc:
        log.warning("could not record a model load: %r", exc)


@dataclass(frozen=True)
class StoredHistogram:
    """A histogram read back from Redis: cumulative buckets, sum and count."""

    buckets: list[tuple[str, float]]
    sum: float
    count: float

    @classmethod
    def parse(
        cls, raw: Mapping[bytes | str, bytes | str], bounds: Sequence[float]
    ) -> StoredHistogram:
        """Build it from a Redis hash as `record_*` wrote it (missing fields are zero)."""
        fields = {as_text(k): float(as_text(v)) for k, v in raw.items()}
        running, buckets = 0.0, []
        for bound in bounds:
            running += fields.get(_le(bound), 0.0)
            buckets.append((_le(bound), running))
        buckets.append(("+Inf", running + fields.get("+Inf", 0.0)))
        return cls(buckets, fields.get("sum", 0.0), fields.get("count", 0.0))
