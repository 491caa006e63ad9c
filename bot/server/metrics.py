"""The bot's own Prometheus metrics: requests by kind, reply latency, errors by type.

These are per bot process (each replica is scraped on its own); what workers and
queues do is read from Redis on each scrape (`tasks.fleet`, which the API serves too).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from redis.asyncio import Redis

from tasks.client.listener import Deliver
from tasks.client.requests import RequestRecord
from tasks.fleet import Fleet, fleet_exposition, read_fleet

LATENCY_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120, 300)


class BotMetrics:
    """Counters of this bot process, and the scrape of the whole deployment."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "tolmach_requests", "Updates handled, by kind", ["kind"], registry=self.registry
        )
        self.errors = Counter(
            "tolmach_errors", "Errors in the bot, by type", ["type"], registry=self.registry
        )
        self.latency = Histogram(
            "tolmach_reply_latency_seconds",
            "From accepting a request to delivering its answer",
            ["kind"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )

    async def fleet(self) -> Fleet:
        """The deployment's shared state (queues, workers) as Redis has it now."""
        return await read_fleet(self.redis)

    async def exposition(self) -> bytes:
        """The Prometheus text exposition: this process's metrics, then the fleet's."""
        return generate_latest(self.registry) + await fleet_exposition(self.redis)

    def requests_seen(self) -> dict[str, int]:
        """Requests this process handled so far, by kind (for /stats)."""
        counts: dict[str, int] = {}
        for metric in self.registry.collect():
            for sample in metric.samples:
                if sample.name == "tolmach_requests_total":
                    counts[sample.labels["kind"]] = int(sample.value)
        return counts

    def timed(self, deliver: Deliver) -> Deliver:
        """Wrap delivery: observe the latency of each answer, count failures by type."""

        async def deliver_timed(task_id: str, record: RequestRecord, meta: dict[str, Any]) -> None:
            try:
                await deliver(task_id, record, meta)
            except Exception as exc:
                self.errors.labels(type(exc).__name__).inc()
                raise
            status = str(meta.get("status"))
            if status != "SUCCESS":
                self.errors.labels(f"task_{status.lower()}").inc()
            elapsed = max(time.time() - record.accepted_at, 0.0)
            self.latency.labels(record.kind).observe(elapsed)

        return deliver_timed


def update_kind(update: Update) -> str:
    """What kind of request an update is: command, private, group, inline, callback…"""
    if update.inline_query is not None:
        return "inline"
    if update.callback_query is not None:
        return "callback"
    message = update.message or update.edited_message
    if message is None:
        return "other"
    if (message.text or message.caption or "").startswith("/"):
        return "command"
    if message.document is not None:
        return "document"
    return "private" if message.chat.type == "private" else "group"


class CountUpdates(BaseMiddleware):
    """Counts each update by kind, and handler errors by exception type.

    Registered after the deduplicating middleware, so a redelivered update is not
    counted twice; aiogram's error middleware sits outside it, so exceptions pass here
    before the error router turns them into replies.
    """

    def __init__(self, metrics: BotMetrics) -> None:
        self.metrics = metrics

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if isinstance(event, Update):
            self.metrics.requests.labels(update_kind(event)).inc()
        try:
            return await handler(event, data)
        except Exception as exc:
            self.metrics.errors.labels(type(exc).__name__).inc()
            raise
