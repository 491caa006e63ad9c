"""What the whole deployment is doing, read from Redis: queue depths and worker metrics.

One reader for both front ends: the bot's and the API's `/metrics` (as Prometheus
families, read on each scrape) and the bot's `/stats`, so a deployment without a bot
(`tolmach run`) sees its workers too. Here rather than in `tasks.client`: it reads what
workers write (`tasks.worker.metrics`), which the queue client never imports.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector
from redis.asyncio import Redis

from tasks.connections import as_text
from tasks.contract import PRIORITY_SUFFIXES, QUEUES, queue_keys
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


@dataclass(frozen=True)
class Fleet:
    """One reading of the deployment's shared state."""

    queues: dict[str, int]
    counters: dict[str, int]
    batch_size: StoredHistogram
    model_load: StoredHistogram
    worker_errors: dict[str, int]
    models: list[str]


async def read_fleet(redis: Redis) -> Fleet:
    """Read queue depths and worker metrics in one round trip."""
    async with redis.pipeline(transaction=False) as pipe:
        for key in queue_keys():
            pipe.llen(key)
        pipe.hgetall(STATS_KEY)
        pipe.hgetall(BATCH_SIZE_KEY)
        pipe.hgetall(MODEL_LOAD_KEY)
        pipe.hgetall(WORKER_ERRORS_KEY)
        pipe.hkeys(MODEL_LOADS_KEY)
        replies = await pipe.execute()
    steps = len(PRIORITY_SUFFIXES)
    depths = {q: sum(replies[i * steps : (i + 1) * steps]) for i, q in enumerate(QUEUES)}
    stats, batch, load, errors, loads = replies[len(QUEUES) * steps :]
    return Fleet(
        queues=depths,
        counters={as_text(k): int(v) for k, v in stats.items()},
        batch_size=StoredHistogram.parse(batch, BATCH_BUCKETS),
        model_load=StoredHistogram.parse(load, LOAD_BUCKETS),
        worker_errors={as_text(k): int(v) for k, v in errors.items()},
        # Fields are "model|host:pid": which models some worker process has loaded.
        models=sorted({as_text(k).split("|")[0] for k in loads}),
    )


async def fleet_exposition(redis: Redis) -> bytes:
    """The fleet's families in Prometheus's text format, as Redis has them now."""
    scrape = CollectorRegistry(auto_describe=False)
    scrape.register(FleetCollector(await read_fleet(redis)))
    return generate_latest(scrape)


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
