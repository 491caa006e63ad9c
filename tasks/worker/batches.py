"""celery-batches' `Batches`, made to survive broker reconnects and lost children.

A request that finds the worker idle is flushed at once: an idle worker adds no wait.
Under load (a child busy) requests gather for a free child until its fair share is in,
the timer ticks (BATCH_WAIT_MS) or a child frees: celery-batches would flush whatever
arrived each `flush_interval`, so a burst that meets a busy child would become many small
batches queued behind it, each a model call of its own. Held back, they become a batch
when a child frees: its share of them (the waiting requests divided by the children, at
most `flush_every`), so that the other children, freeing soon after, take the rest and
every core works; the rest wait for the next free child.

Two gaps in celery-batches 0.11 lose requests with our settings (acks_late):
- A broker reconnect clears the consumer's timer, flush timer included, but Batches
  keeps the stale handle and never starts a new one: buffered requests (and every later
  one, until `flush_every` pile up) wait forever. The worker "takes no further work".
- A batch whose child process died is neither acknowledged nor rejected, and a batch
  whose results could not be stored is acknowledged anyway. Both are handed back to the
  queue here, so another child (or worker) answers them.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Collection, Iterator
from typing import Any

from billiard.exceptions import WorkerLostError
from celery.utils.log import get_logger
from celery.worker.request import Request
from celery_batches import Batches, SimpleRequest, consume_queue
from celery_batches.trace import apply_batches_task

log = get_logger(__name__)
# A batch out longer than this no longer holds flushes back (its callback may be lost).
HOLD_AT_MOST = 300.0


def fair_share(
    waiting: int, running: list[tuple[float, int]], cost: float, slots: int, now: float
) -> int:
    """A free child's even share of all the work left: the `waiting` requests and what
    the busy children still have (their requests times `cost`, the recent seconds per
    request), in requests, at least 1."""
    ahead = 0.0
    if cost > 0:
        ahead = sum(max(0.0, start + size * cost - now) for start, size in running) / cost
    return max(1, -int(-(waiting + ahead) // slots))


def share(
    waiting: int, running: list[tuple[float, int]], cost: float, slots: int, now: float
) -> int:
    """How many of `waiting` requests a free child takes: its fair share, so that
    children freeing soon after take the rest and no core idles while one child runs a
    whole backlog (a burst's first requests go to the children one each; when they free,
    the rest is split between them)."""
    return max(1, min(waiting, fair_share(waiting, running, cost, slots, now)))


def flush_now(
    waiting: int, running: list[tuple[float, int]], cost: float, slots: int, now: float
) -> bool:
    """Whether the `waiting` requests go to a free child now rather than at the timer's
    next tick (BATCH_WAIT_MS) or when a child frees.

    Now when no child is busy: an idle worker adds no wait. While a sibling is busy the
    worker is under load, and a request flushed alone would cost a free child a whole
    model call for one sentence while more arrive behind it: now only once what waits
    fills the free child's fair share. Never while every child is busy (they gather).
    """
    if not running:
        return True
    if len(running) >= slots:
        return False
    return waiting >= fair_share(waiting, running, cost, slots, now)


class Requeue(list[str]):
    """What a batch task returns for requests it could not answer: their ids, to queue
    again (a task cannot raise: celery-batches swallows the exception and acks)."""


class SafeBatches(Batches):
    """`Batches` whose flush timer follows reconnects and whose requests always end in
    an acknowledgement or a requeue."""

    abstract = True
    # Batches in the pool now: token -> (when it started, its requests); and what a
    # request has cost of late (seconds, a moving average). Per worker process; set
    # lazily, as celery-batches builds the task before any worker exists.
    _running: dict[int, tuple[float, int]]
    _cost: float
    _lock: threading.Lock
    _tokens: Iterator[int]

    def _do_flush(self) -> None:
        """Flush a free child's share of the waiting requests, unless every child is
        running a batch already: let requests gather."""
        now = time.monotonic()
        with self._guard():
            running, cost = list(self._running.values()), self._cost
        slots = getattr(self._pool, "num_processes", None) or 1
        if len(running) >= slots and now - min(s for s, _ in running) < HOLD_AT_MOST:
            return
        # celery-batches flushes all it buffered: held back, that is up to the prefetch
        # limit (two batches' worth), over BATCH_MAX_REQUESTS, and the requests that come
        # in while it runs then make a tiny batch of their own (3, 125, 3, 125, ...).
        waiting = list(consume_queue(self._buffer))
        take = share(len(waiting), running, cost, slots, now)
        take = min(self.flush_every, take)
        for request in waiting[:take]:
            self._buffer.put(request)
        try:
            super()._do_flush()
        finally:
            for request in waiting[take:]:
                self._buffer.put(request)  # the next flush's; the flush timer still runs

    def _flush_now(self) -> bool:
        """`flush_now` for what waits in this worker now."""
        with self._guard():
            running, cost = list(self._running.values()), self._cost
        slots = getattr(self._pool, "num_processes", None) or 1
        return flush_now(self._buffer.qsize(), running, cost, slots, time.monotonic())

    def _guard(self) -> threading.Lock:
        if not hasattr(self, "_lock"):
            self._running, self._lock, self._tokens = {}, threading.Lock(), itertools.count()
            self._cost = 0.0
        return self._lock

    def _started(self, size: int) -> int:
        with self._guard():
            token = next(self._tokens)
            self._running[token] = (time.monotonic(), size)
        return token

    def _finished(self, token: int) -> None:
        with self._guard():
            started, size = self._running.pop(token, (time.monotonic(), 0))
            if size:
                spent = (time.monotonic() - started) / size
                self._cost = spent if not self._cost else 0.8 * self._cost + 0.2 * spent

    def Strategy(self, task: Batches, app: Any, consumer: Any) -> Any:
        handler = super().Strategy(task, app, consumer)
        # Called again on every (re)connect: the old timer entry is gone with the old loop.
        self._tref = None
        if self._buffer.qsize() or self._pending.qsize():
            self._tref = consumer.timer.call_repeatedly(self.flush_interval, self._do_flush)

        def on_message(*args: Any, **kwargs: Any) -> None:
            handler(*args, **kwargs)
            if self._flush_now():
                self._do_flush()

        return on_message

    def flush(self, requests: Collection[Request]) -> Any:
        """Run a batch in the pool; acknowledge, or requeue what was not answered."""
        batch = ([SimpleRequest.from_request(r) for r in requests],)
        token = self._started(len(requests))

        def on_return(result: Any) -> None:
            self._finished(token)
            again = set(result) if isinstance(result, Requeue) else set()
            for request in requests:
                if request.id in again:
                    request.reject(requeue=True)
                else:
                    request.acknowledge()
            # A child is free: what gathered meanwhile goes now, not at the next tick.
            # (Pool callbacks run in the worker's event loop, as message handlers do.)
            if self._buffer.qsize():
                self._do_flush()

        def on_error(exc: Any) -> None:
            self._finished(token)
            error = getattr(exc, "exception", exc)
            if isinstance(error, WorkerLostError):
                # Its child died (OOM killer, a crash): another child tries again.
                log.warning("batch of %d lost with its child; requeued", len(requests))
                for request in requests:
                    request.reject(requeue=True)
                return
            # A hard time limit: running it again would hit it again. Say so, once.
            log.error("batch of %d failed: %r", len(requests), error)
            for request in requests:
                try:
                    self.backend.mark_as_done(request.id, {"ok": False, "error": "internal"})
                except Exception:  # Redis away too: hand it back rather than lose it
                    request.reject(requeue=True)
                else:
                    request.acknowledge()

        try:
            return self._pool.apply_async(
                apply_batches_task,
                (self, batch, 0, None),
                callback=on_return,
                error_callback=on_error,
            )
        except BaseException:
            self._finished(token)
            raise
