"""Leases on the messages a worker holds, so a dead worker's work comes back fast.

kombu's Redis transport records every message a worker takes (unacknowledged, with
acks_late) in a sorted set scored by the time it was taken, and hands it to another
worker once that score is VISIBILITY_TIMEOUT old. A fixed timeout has to outlast the
longest a live worker may hold a message (prefetched, buffered for a batch, then run),
which made it an hour, and a dead host's requests waited that long.

Instead, each worker's main process re-stamps the messages it holds every
`VISIBILITY_TIMEOUT / 4` seconds. A live worker, however slow, keeps its messages; a
worker that died stops stamping, and its messages go back to the queue one
VISIBILITY_TIMEOUT (60 s by default) after its last stamp.

A lost broker connection is the other way messages strand: kombu hands a closing
channel's messages back to the queue, which fails while Redis is down. Once connected
again, this step hands back what the old connection held.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import redis
from celery import bootsteps
from celery.signals import task_received

from tasks.connections import as_text

log = logging.getLogger(__name__)
RENEWALS_PER_TIMEOUT = 4


class MessageLease(bootsteps.StartStopStep):
    """Consumer step: re-stamps this worker's unacknowledged messages periodically."""

    requires = ("celery.worker.consumer.tasks:Tasks",)

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        self.timeout = float(parent.app.conf.broker_transport_options["visibility_timeout"])
        self.tref: Any = None
        # Delivery tags taken on the current connection and maybe not acknowledged yet.
        self.seen: set[str] = set()
        task_received.connect(self._received, weak=False)

    def _received(self, request: Any = None, **_: Any) -> None:
        tag = getattr(getattr(request, "message", None), "delivery_tag", None)
        if tag is not None:
            self.seen.add(tag)

    def start(self, parent: Any) -> None:
        if self.seen:  # a reconnect: what the old connection held goes back to the queue
            handed = hand_back(parent, self.seen)
            log.warning("broker connection was lost; handed back %d messages", handed)
            self.seen = set()
            # A message can strand in the very moment the connection drops (taken, not yet
            # handed to us). Once every live worker renewed its own, a message still
            # stamped from before the reconnect is nobody's: hand it back too.
            parent.timer.call_after(
                self.timeout / RENEWALS_PER_TIMEOUT + 5, hand_back_stale, (parent, time.time() - 1)
            )
        # The consumer's timer is cleared on every broker reconnect; start registers again.
        self.tref = parent.timer.call_repeatedly(
            self.timeout / RENEWALS_PER_TIMEOUT, self.renew, (parent,)
        )

    def stop(self, parent: Any) -> None:
        if self.tref is not None:
            self.tref.cancel()
            self.tref = None

    def renew(self, parent: Any) -> int:
        """Re-stamp the messages the consumer holds; returns how many."""
        channel = _channel(parent)
        held = list(getattr(getattr(channel, "qos", None), "_delivered", None) or ())
        self.seen = set(held)  # acknowledged ones are gone from it
        if channel is None or not held:
            return 0
        try:
            with channel.conn_or_acquire() as client:
                # XX: one acknowledged or handed back meanwhile must not reappear.
                client.zadd(channel.unacked_index_key, dict.fromkeys(held, time.time()), xx=True)
        except (redis.RedisError, OSError) as exc:  # Redis away: the consumer reconnects
            log.warning("could not renew the lease on %d messages: %r", len(held), exc)
            return 0
        return len(held)


def hand_back(parent: Any, tags: set[str]) -> int:
    """Queue again the messages of `tags` still unacknowledged; returns how many tried.

    A message a batch still works on runs twice then; the result listener's claim
    keeps it one answer.
    """
    channel = _channel(parent)
    if channel is None:
        return 0
    try:
        with channel.conn_or_acquire() as client:
            for tag in tags:
                channel.qos.restore_by_tag(tag, client, leftmost=True)
    except (redis.RedisError, OSError) as exc:  # the lease timeout brings them back instead
        log.warning("could not hand back %d messages: %r", len(tags), exc)
        return 0
    return len(tags)


def hand_back_stale(parent: Any, before: float) -> int:
    """Queue again unacknowledged messages last stamped before `before`."""
    channel = _channel(parent)
    if channel is None:
        return 0
    try:
        with channel.conn_or_acquire() as client:
            stale = client.zrangebyscore(channel.unacked_index_key, "-inf", before)
    except (redis.RedisError, OSError) as exc:
        log.warning("could not look for stranded messages: %r", exc)
        return 0
    if stale:
        log.warning("handing back %d stranded messages", len(stale))
        hand_back(parent, {as_text(t) for t in stale})
    return len(stale)


def _channel(parent: Any) -> Any:
    return getattr(getattr(parent, "task_consumer", None), "channel", None)
