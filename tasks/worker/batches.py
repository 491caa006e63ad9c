"""celery-batches' `Batches`, made to survive broker reconnects and lost children.

A request that finds the worker idle is flushed at once: an idle worker adds no wait.
Under load (a child busy) requests gather for a free child while they keep coming in (a
burst arrives a few milliseconds apart, closed-loop clients send their next as their
answers come), for at most a lone request's model call or BATCH_WAIT_MS, or until what
waits is the free child's fair share; then the free child takes its share.
celery-batches would flush whatever arrived each `flush_interval`,
so a burst that meets a busy child would become many small batches queued behind it, each
a model call of its own. The share is the waiting requests and what the busy children
still have, divided by the children (at most `flush_every`), so that the other children,
freeing soon after, take the rest and every core works; the rest wait for the next free
child.

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
from dataclasses import dataclass
from typing import Any

from billiard.exceptions import WorkerLostError
from celery.utils.log import get_logger
from celery.worker.request import Request
from celery_batches import Batches, SimpleRequest, consume_queue
from celery_batches.trace import apply_batches_task

log = get_logger(__name__)
# A batch out longer than this no longer holds flushes back (its callback may be lost).
HOLD_AT_MOST = 300.0


@dataclass(frozen=True)
class Load:
    """A worker's children now: the batches out (when each started, its requests), what
    a request (`cost`) and a batch of one (`single`) have taken of late, in seconds, and
    how many children there are."""

    running: list[tuple[float, int]]
    cost: float
    slots: int
    now: float
    single: float = 0.0

    def ahead(self) -> float:
        """The work the busy children still have, in requests at `cost`: each batch is
        expected to take its requests at `cost` and never less than a batch of one."""
        if self.cost <= 0:
            return 0.0
        left = (
            max(0.0, start + max(self.single, size * self.cost) - self.now)
            for start, size in self.running
        )
        return sum(left) / self.cost


def fair_share(waiting: int, load: Load) -> int:
    """A free child's even share of all the work left: the `waiting` requests and what
    the busy children still have, at least 1."""
    return max(1, -int(-(waiting + load.ahead()) // load.slots))


def share(waiting: int, load: Load) -> int:
    """How many of `waiting` requests a free child takes: its fair share, so that
    children freeing soon after take the rest and no core idles while one child runs a
    whole backlog (a burst's first request goes to a child alone; the rest is split
    between the children as they free, the one still busy counted with what it has left)."""
    return max(1, min(waiting, fair_share(waiting, load)))


def flush_now(waiting: int, load: Load) -> bool:
    """Whether the `waiting` requests go to a free child as they arrive rather than at
    the flush timer's next tick (BATCH_WAIT_MS) or when a child frees.

    At once when no child is busy: an idle worker adds no wait. While a sibling is busy
    the worker is under load and more requests are likely on their way (a burst, or
    closed-loop clients sending their next): a request flushed alone would cost a free
    child a whole model call for one sentence; now only once what waits fills the free
    child's fair share. A sibling's batch long past its expected end (its callback lost
    with a broker connection) counts as done, so arrivals still flush even when the
    timer went with that connection. Never while every child is busy (they gather).
    """
    if not load.running:
        return True
    if len(load.running) >= load.slots:
        return False
    return waiting >= fair_share(waiting, load)


def forming(load: Load, quiet: float, oldest: float, wait: float) -> bool:
    """Whether the flush timer holds the waiting requests back from a free child a little
    longer: a sibling is busy and requests are still coming in (the last one `quiet`
    seconds ago, under half of BATCH_WAIT_MS: a burst arrives a few milliseconds apart),
    and the `oldest` has waited less than a batch of one takes (holding it longer would
    cost it more than that call) or BATCH_WAIT_MS. A burst then makes one batch for the
    free child, not a few requests per tick."""
    if not load.running or len(load.running) >= load.slots:
        return False
    return quiet < wait / 2 and oldest < max(wait, load.single)


def average(before: float, seen: float) -> float:
    """A moving average of seconds (the first figure seen, then weighted to the recent)."""
    return seen if not before else 0.8 * before + 0.2 * seen


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
    _single: float  # a batch of one's seconds of late (a moving average)
    _arrived: float  # when the last request came in
    _since: float | None  # when the oldest waiting request came in
    _lock: threading.Lock
    _tokens: Iterator[int]

    def _do_flush(self) -> None:
        """Flush a free child's share of the waiting requests, unless every child is
        running a batch already or a batch is still forming: let requests gather."""
        load = self._load()
        with self._guard():
            since, arrived = self._since, self._arrived
        busy = len(load.running) >= load.slots
        if busy and load.now - min(s for s, _ in load.running) < HOLD_AT_MOST:
            return
        oldest = load.now - since if since is not None else 0.0
        quiet = load.now - arrived
        if self._buffer.qsize() < self.flush_every and forming(
            load, quiet, oldest, self.flush_interval
        ):
            return
        # celery-batches flushes all it buffered: held back, that is up to the prefetch
        # limit (two batches' worth), over BATCH_MAX_REQUESTS, and the requests that come
        # in while it runs then make a tiny batch of their own (3, 125, 3, 125, ...).
        waiting = list(consume_queue(self._buffer))
        take = min(self.flush_every, share(len(waiting), load))
        for request in waiting[:take]:
            self._buffer.put(request)
        try:
            super()._do_flush()
        finally:
            for request in waiting[take:]:
                self._buffer.put(request)  # the next flush's; the flush timer still runs
            with self._guard():
                self._since = load.now if len(waiting) > take else None

    def _arrival(self) -> bool:
        """Note a request's arrival; whether what waits goes now (`flush_now`; a full
        batch celery-batches flushes itself)."""
        load = self._load()
        with self._guard():
            self._arrived = load.now
            if self._since is None:
                self._since = load.now
        return flush_now(self._buffer.qsize(), load)

    def _load(self) -> Load:
        """This worker's `Load` now."""
        slots = getattr(self._pool, "num_processes", None) or 1
        with self._guard():
            running, cost, single = list(self._running.values()), self._cost, self._single
        return Load(running, cost, slots, time.monotonic(), single)

    def _guard(self) -> threading.Lock:
        if not hasattr(self, "_lock"):
            self._running, self._lock, self._tokens = {}, threading.Lock(), itertools.count()
            self._cost = self._single = self._arrived = 0.0
            self._since = None
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
                took = time.monotonic() - started
                self._cost = average(self._cost, took / size)
                if size == 1:
                    self._single = average(self._single, took)

    def Strategy(self, task: Batches, app: Any, consumer: Any) -> Any:
        handler = super().Strategy(task, app, consumer)
        # Called again on every (re)connect: the old timer entry is gone with the old loop,
        # and so may be the pool callbacks of batches out at the time (their messages are
        # handed back and come again): they no longer count as running, or a worker with
        # one child would hold every new request back for HOLD_AT_MOST.
        self._tref = None
        with self._guard():
            self._running.clear()
        if self._buffer.qsize() or self._pending.qsize():
            self._tref = consumer.timer.call_repeatedly(self.flush_interval, self._do_flush)

        def on_message(*args: Any, **kwargs: Any) -> None:
            handler(*args, **kwargs)
            if self._arrival():
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
