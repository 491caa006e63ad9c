"""One redis-py client per kombu channel, not one per message.

kombu's Redis channel builds a new redis-py client each time it records a message as
taken, acknowledges one, or publishes one (`Channel._create_client`, through
`conn_or_acquire`). Building one copies its reply-callback table, which costs a worker
about as much CPU as the rest of taking the message: a burst reaches the model at a
few hundred messages a second. A client in front of a connection pool keeps no state
of its own (the pool hands connections out, thread-safely), so one per channel and
pool does the same work. A reconnect makes a new pool, and so a new client.
"""

from __future__ import annotations

from typing import Any

from kombu.transport import redis as kombu_redis

_build = kombu_redis.Channel._create_client
_CACHED = "_tolmach_client"  # on the channel: (its pool, the client in front of it)


def _create_client(channel: Any, asynchronous: bool = False) -> Any:
    if asynchronous:  # the channel caches its BRPOP client itself
        return _build(channel, asynchronous=True)
    pool = channel.pool
    cached = channel.__dict__.get(_CACHED)
    if cached is None or cached[0] is not pool:
        cached = (pool, _build(channel))
        channel.__dict__[_CACHED] = cached
    return cached[1]


def install() -> None:
    """Make every kombu Redis channel (Sentinel's too) reuse its client."""
    kombu_redis.Channel._create_client = _create_client  # type: ignore[method-assign]
