"""Every Redis connection Tolmach makes: to the server at REDIS_URL, or to the master
that Redis Sentinel names (REDIS_SENTINELS, REDIS_SENTINEL_MASTER).

With sentinels, REDIS_URL still gives the password, user, database and TLS (rediss://
and its `ssl_*` parameters); only its host and port are ignored. Bot and workers both
build their clients here, so the two modes cannot drift apart; nothing here imports
aiogram or torch.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import redis
import redis.asyncio
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel as AsyncSentinel
from redis.asyncio.sentinel import SentinelConnectionPool as AsyncSentinelPool
from redis.asyncio.sentinel import SentinelManagedConnection, SentinelManagedSSLConnection
from redis.backoff import ExponentialBackoff
from redis.connection import parse_url
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.sentinel import Sentinel

from config import Settings

# A sentinel answers in milliseconds; one that does not within this is skipped and the
# next asked (redis-py would otherwise wait forever on a sentinel host that vanished).
SENTINEL_TIMEOUT = 5.0


def uses_sentinel(settings: Settings) -> bool:
    """Whether the master is found through Redis Sentinel."""
    return bool(settings.redis_sentinels)


def sentinel_nodes(settings: Settings) -> list[tuple[str, int]]:
    """REDIS_SENTINELS as (host, port) pairs; `[::1]:26379` gives host `::1`."""
    nodes = []
    for address in settings.redis_sentinels:
        host, _, port = address.rpartition(":")
        nodes.append((host.strip("[]"), int(port)))
    return nodes


def broker_url(settings: Settings) -> str:
    """Broker and result-backend URL: REDIS_URL, or kombu's and Celery's
    `sentinel://[user:pw@]host:port/db;sentinel://…`, one per sentinel.

    The credentials in it are the master's (kombu and Celery use them for the master;
    the sentinels' own come from `transport_options`).
    """
    if not uses_sentinel(settings):
        return str(settings.redis_url)
    url = urlsplit(str(settings.redis_url))
    userinfo = url.netloc.rpartition("@")[0]  # kept percent-encoded, as written
    auth = f"{userinfo}@" if userinfo else ""
    db = _master_kwargs(settings).get("db", 0)
    return ";".join(f"sentinel://{auth}{address}/{db}" for address in settings.redis_sentinels)


def transport_options(settings: Settings) -> dict[str, Any]:
    """What kombu's sentinel transport and Celery's sentinel backend need besides the
    URL (`broker_transport_options`, `result_backend_transport_options`); {} without."""
    if not uses_sentinel(settings):
        return {}
    return {
        "master_name": settings.redis_sentinel_master,
        "sentinel_kwargs": _sentinel_kwargs(settings),
    }


def celery_ssl(settings: Settings) -> dict[str, Any]:
    """`broker_use_ssl` and `redis_backend_use_ssl` for a rediss:// REDIS_URL in
    sentinel mode (a `sentinel://` URL cannot say TLS itself); {} otherwise."""
    if not uses_sentinel(settings) or not _tls(settings):
        return {}
    ssl = _ssl_kwargs(settings)
    return {"broker_use_ssl": ssl, "redis_backend_use_ssl": dict(ssl)}


def sync_redis(settings: Settings, **kwargs: Any) -> redis.Redis:
    """A blocking client (workers, the launcher): REDIS_URL's server or the master.

    Args:
        settings: the process settings.
        **kwargs: connection arguments, e.g. `socket_connect_timeout=1`.
    """
    if not uses_sentinel(settings):
        return redis.Redis.from_url(str(settings.redis_url), **kwargs)
    sentinel = Sentinel(sentinel_nodes(settings), sentinel_kwargs=_sentinel_kwargs(settings))
    assert settings.redis_sentinel_master is not None, "Settings checks this"
    return sentinel.master_for(settings.redis_sentinel_master, **_master_kwargs(settings), **kwargs)


# Backoff 0.1, 0.2 … then 2 s a try: about 60 s before a command gives up.
REDIS_RETRIES = 34


class MasterConnection(SentinelManagedConnection):
    """A connection that asks Sentinel for the master before every connect.

    redis-py's class asks only in `connect()`, when the pool hands the connection out;
    a command's retries reconnect through `connect_check_health` to the address it had,
    so after a failover they dial the dead master until they run out
    (redis/redis-py#3874, unfixed in 8.1).
    """

    async def _connect(self) -> None:
        if self.connection_pool.is_master:
            self.host, self.port = await self.connection_pool.get_master_address()
        await super()._connect()


class MasterSSLConnection(MasterConnection, SentinelManagedSSLConnection):
    """`MasterConnection` over TLS."""


class BlockingSentinelPool(AsyncSentinelPool, redis.asyncio.BlockingConnectionPool):
    """A Sentinel-managed pool that, like `BlockingConnectionPool`, makes a caller wait
    for a free connection rather than fail (the MRO puts Sentinel's address lookup in
    front of the blocking pool's get/release)."""

    def __init__(self, service_name: str, sentinel_manager: AsyncSentinel, **kwargs: Any):
        tls = kwargs.pop("ssl", False)
        kwargs["connection_class"] = MasterSSLConnection if tls else MasterConnection
        super().__init__(service_name, sentinel_manager, **kwargs)


def async_redis(settings: Settings) -> redis.asyncio.Redis:
    """The bot's client: a pool that makes a burst of updates wait for a connection
    instead of failing, and retries with backoff (after a Redis restart or a failover,
    pooled connections fail once; a Sentinel-managed one then asks for the new master).
    """
    pool_kwargs: dict[str, Any] = {
        "max_connections": 100,
        "timeout": 30,
        "health_check_interval": 30,
        # About a minute of retries: updates wait out a Redis restart, not fail.
        "retry": Retry(ExponentialBackoff(cap=2.0, base=0.1), REDIS_RETRIES),
        "retry_on_error": [RedisConnectionError, RedisTimeoutError],
    }
    if not uses_sentinel(settings):
        pool = redis.asyncio.BlockingConnectionPool.from_url(str(settings.redis_url), **pool_kwargs)
        return redis.asyncio.Redis(connection_pool=pool)
    sentinel = AsyncSentinel(sentinel_nodes(settings), sentinel_kwargs=_sentinel_kwargs(settings))
    assert settings.redis_sentinel_master is not None, "Settings checks this"
    return sentinel.master_for(
        settings.redis_sentinel_master,
        connection_pool_class=BlockingSentinelPool,
        **_master_kwargs(settings),
        **pool_kwargs,
    )


def _tls(settings: Settings) -> bool:
    return settings.redis_url.scheme == "rediss"


def _master_kwargs(settings: Settings) -> dict[str, Any]:
    """REDIS_URL's connection arguments without its address (redis-py's own parser, so
    query parameters such as `ssl_cert_reqs` or `socket_timeout` mean what they always do)."""
    kwargs = parse_url(str(settings.redis_url))
    for name in ("host", "port", "connection_class"):
        kwargs.pop(name, None)
    if _tls(settings):
        kwargs["ssl"] = True  # the Sentinel pool picks its TLS connection class from this
    return kwargs


def _ssl_kwargs(settings: Settings) -> dict[str, Any]:
    ssl = {k: v for k, v in _master_kwargs(settings).items() if k.startswith("ssl_")}
    # Celery refuses TLS without it; "required" is also what redis-py defaults to.
    ssl.setdefault("ssl_cert_reqs", "required")
    return ssl


def _sentinel_kwargs(settings: Settings) -> dict[str, Any]:
    """How to reach the sentinels themselves: REDIS_SENTINEL_PASSWORD, and TLS when the
    master speaks TLS (a deployment that encrypts one encrypts both)."""
    kwargs: dict[str, Any] = {
        "socket_timeout": SENTINEL_TIMEOUT,
        "socket_connect_timeout": SENTINEL_TIMEOUT,
    }
    if settings.redis_sentinel_password is not None:
        kwargs["password"] = settings.redis_sentinel_password.get_secret_value()
    if _tls(settings):
        kwargs.update(ssl=True, **_ssl_kwargs(settings))
    return kwargs


def as_text(value: bytes | str) -> str:
    """A Redis reply as str: the clients here return bytes (decode_responses is off,
    because stored documents are binary)."""
    return value.decode() if isinstance(value, bytes) else value
