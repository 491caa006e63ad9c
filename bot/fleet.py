"""What the whole deployment is doing, read from Redis: queue depths and worker metrics.

Shared by `/metrics` (as Prometheus families, read on each scrape) and `/stats`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector
from redis.asyncio import Redis

from tasks.contract import QUEUES
from tasks.worker.metrics import (
    BATCH_BUCKETS,
    BATCH_SIZE_KEY,
    LOAD_BUCKETS,
    MODEL_LOAD_KEY,
    MODEL_LOADS_KEY,
    STATS_KEY,
    WORKER_ERRORS_KEY,
    StoredHistogram,
)

# kombu's Redis transport keeps priorities 3, 6 and 9 in lists named queue + "\x06\x16" + n.
_PRIORITY_SUFFIXES = ("", "\x06\x163", "\x06\x166", "\x06\x169")


@dataclass(frozen=True)
class Fleet:
    """One reading of the deployment's shared state."""

    queues: dict[str, int]
    counters: dict[str, int]
    batch_size: StoredHistogram
    model_load: StoredHistogram
    worker_errors: dict[str, int]
    models: list[str]


def _queue_keys() -> list[str]:
    return [queue + suffix for queue in QUEUES for suffix in _PRIORITY_SUFFIXES]


async def queued_total(redis: Redis) -> int:
    """Tasks waiting in all queues (the busy ceiling's measure)."""
    async with redis.pipeline(transaction=False) as pipe:
        for key in _queue_keys():
            pipe.llen(key)
        return sum(await pipe.execute())


async def in_broker(redis: Redis, task_ids: set[str]) -> set[str]:
    """Which of `task_ids` the broker holds: waiting in a queue, or taken by a worker
    and not acknowledged yet (kombu's `unacked` hash)."""
    async with redis.pipeline(transaction=False) as pipe:
        for key in _queue_keys():
            pipe.lrange(key, 0, -1)
        pipe.hvals("unacked")
        replies = await pipe.execute()
    wanted = {task_id.encode(): task_id for task_id in task_ids}
    found: set[str] = set()
    for raw in (message for messages in replies for message in messages):
        found.update(task_id for key, task_id in wanted.items() if key in raw)
    return found


async def read_fleet(redis: Redis) -> Fleet:
    """Read queue depths and worker metrics in one round trip."""
    async with redis.pipeline(transaction=False) as pipe:
        for key in _queue_keys():
            pipe.llen(key)
        pipe.hgetall(STATS_KEY)
        pipe.hgetall(BATCH_SIZE_KEY)
        pipe.hgetall(MODEL_LOAD_KEY)
        pipe.hgetall(WORKER_ERRORS_KEY)
        pipe.hkeys(MODEL_LOADS_KEY)
        replies = await pipe.execute()
    steps = len(_PRIORITY_SUFFIXES)
    depths = {q: sum(replies[i * steps : (i + 1) * steps]) for i, q in enumerate(QUEUES)}
    stats, batch, load, errors, loads = replies[len(QUEUES) * steps :]
    return Fleet(
        queues=depths,
        counters={_text(k): int(v) for k, v in stats.items()},
        batch_size=StoredHistogram.parse(batch, BATCH_BUCKETS),
        model_load=StoredHistogram.parse(load, LOAD_BUCKETS),
        worker_errors={_text(k): int(v) for k, v in errors.items()},
        # Fields are "model|host:pid": which models some worker process has loaded.
        models=sorted({_text(k).split("|")[0] for k in loads}),
    )


class FleetCollector(Collector):
    """Prometheus families of a `Fleet` read just before the scrape."""

    def __init__(self, fleet: Fleet) -> None:
        self.fleet = fleet

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily | HistogramMetricFamily]:
        """Queue depth per queue, worker counters, batch sizes, load times, errors."""
        fleet = self.fleet
        depth = GaugeMetricFamily("tolmach_queue_depth", "Tasks waiting", labels=["queue"])
        for queue, length in fleet.queues.items():
            depth.add_metric([queue], length)
        yield depth
        yield CounterMetricFamily(
            "tolmach_worker_requests",
            "Requests translated by all workers",
            value=fleet.counters.get("requests", 0),
        )
        yield _histogram("tolmach_batch_size", "Requests per worker batch", fleet.batch_size)
        yield _histogram("tolmach_model_load_seconds", "Model load time", fleet.model_load)
        errors = CounterMetricFamily(
            "tolmach_worker_errors", "Failed translations by error code", labels=["type"]
        )
        for kind, count in sorted(fleet.worker_errors.items()):
            errors.add_metric([kind], count)
        yield errors
        loaded = GaugeMetricFamily("tolmach_models_loaded", "Distinct models workers loaded")
        loaded.add_metric([], len(fleet.models))
        yield loaded


def _histogram(name: str, documentation: str, stored: StoredHistogram) -> HistogramMetricFamily:
    family = HistogramMetricFamily(name, documentation)
    family.add_metric([], stored.buckets, stored.sum)
    return family


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
