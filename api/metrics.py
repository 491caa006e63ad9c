"""The API's Prometheus metrics: requests by route and status, and their latency."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import Request, Response
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120)


class ApiMetrics:
    """This process's counters (each replica is scraped on its own)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "tolmach_api_requests",
            "HTTP requests answered, by route and status",
            ["route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "tolmach_api_latency_seconds",
            "Time to answer an HTTP request, by route",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )

    async def middleware(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        """Count and time every request under its route's template (low cardinality)."""
        started = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        name = getattr(route, "path", "unmatched")
        self.requests.labels(name, str(response.status_code)).inc()
        self.latency.labels(name).observe(time.perf_counter() - started)
        return response

    def scrape(self) -> Response:
        """`GET /metrics`."""
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)
