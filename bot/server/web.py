"""The bot's small HTTP server: `/health` and `/metrics` (and the webhook, in webhook mode)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.server.metrics import BotMetrics

log = logging.getLogger(__name__)
HEALTH_PATH = "/health"
METRICS_PATH = "/metrics"
_METRICS = web.AppKey("metrics", BotMetrics)
_REDIS = web.AppKey("redis", Redis)


def web_app(metrics: BotMetrics, redis: Redis) -> web.Application:
    """An aiohttp app serving `/health` and `/metrics`."""
    app = web.Application()
    app[_METRICS], app[_REDIS] = metrics, redis
    app.router.add_get(HEALTH_PATH, health)
    app.router.add_get(METRICS_PATH, scrape)
    return app


async def health(request: web.Request) -> web.Response:
    """200 while Redis (queue, replies, state) answers; 503 otherwise."""
    try:
        await request.app[_REDIS].ping()
    except (RedisError, OSError) as exc:
        return web.json_response({"ok": False, "redis": repr(exc)}, status=503)
    return web.json_response({"ok": True})


async def scrape(request: web.Request) -> web.Response:
    """The Prometheus exposition (the fleet part is read from Redis now)."""
    body = await request.app[_METRICS].exposition()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


@asynccontextmanager
async def serving(
    app: web.Application, host: str, port: int, *, optional: bool = False
) -> AsyncIterator[None]:
    """Serve `app` on host:port while the block runs (port 0: not at all).

    Args:
        optional: a port that cannot be bound is logged and the block runs anyway
            (metrics must not keep a polling bot from answering).
    """
    if not port:
        yield
        return
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        try:
            await web.TCPSite(runner, host, port).start()
            log.info("serving %s and %s on %s:%d", HEALTH_PATH, METRICS_PATH, host, port)
        except OSError as exc:
            if not optional:
                raise
            log.error("cannot serve metrics on %s:%d (%r); running without", host, port, exc)
        yield
    finally:
        await runner.cleanup()
