"""The API's Prometheus metrics: requests by route and status, and their latency; and
the fleet's (queue depths, worker metrics: `tasks.fleet`), read from Redis on each scrape,
as the bot serves them, so a deployment without a bot sees its workers too."""

from __future__ import annotations

import time

from fastapi import Request, Response
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.services import services_of
from tasks.fleet import fleet_exposition

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

    def middleware(self, app: ASGIApp) -> ASGIApp:
        """Count and time every request under its route's template (low cardinality).

        Plain ASGI, not `BaseHTTPMiddleware`: that one costs a task group and a stream
        per request, which a burst of small requests feels.
        """

        async def timed(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            started = time.perf_counter()
            counted = False

            def count(status: int) -> None:
                nonlocal counted
                counted = True
                # The router put the matched route into the scope.
                name = getattr(scope.get("route"), "path", "unmatched")
                self.requests.labels(name, str(status)).inc()
                self.latency.labels(name).observe(time.perf_counter() - started)

            async def sending(message: Message) -> None:
                # Timed to the response's start: a stream (SSE, a download) is counted
                # when it begins, not after its last byte.
                if message["type"] == "http.response.start":
                    count(int(message["status"]))
                await send(message)

            try:
                await app(scope, receive, sending)
            finally:
                if not counted:  # no response started: the server answers 500
                    count(500)

        return timed

    async def scrape(self, request: Request) -> Response:
        """`GET /metrics`: this process's metrics, then the fleet's (a RedisError
        answers 503, as any route's)."""
        fleet = await fleet_exposition(services_of(request).redis)
        return Response(generate_latest(self.registry) + fleet, media_type=CONTENT_TYPE_LATEST)
