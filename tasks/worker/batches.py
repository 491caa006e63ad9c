"""celery-batches' `Batches`, made to survive broker reconnects and lost children.

A request that finds the worker idle, with nothing queued behind it, is flushed at once:
an idle worker adds no wait. One that finds it idle with a burst behind it (more than a
request per child in its queue, or accepted by a front end and being sent) gathers the
burst as it comes in, and the children split it evenly: each child's first call of the
burst is a batch, not one sentence.

Under load (a child busy) requests gather for a free child while they keep coming in (a
burst arrives a few milliseconds apart, closed-loop clients send their next as their
answers come), for at most a lone request's model call or BATCH_WAIT_MS, or until what
waits is the free child's fair share; then the free child takes its share. celery-batches
would flush whatever arrived each `flush_interval`, so a burst that meets a busy child
would become many small batches queued behind it, each a model call of its own. The
share is the waiting requests and what the busy children still have, divided by the
children (at most `flush_every`), so that the other children, freeing soon after, take
the rest and every core works; the rest wait for the next free child.

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
from dataclasses import dataclass, replace
from typing import Any

import redis
from billiard.exceptions import WorkerLostError
from celery.utils.log import get_logger
from celery.worker.request import Request
from celery_batches import Batches, SimpleRequest, consume_queue
from celery_batches.trace import apply_batches_task

from tasks.connections import sync_redis
from tasks.contract import FRONT_ENDS, queue_keys, unqueued_key

log = get_logger(__name__)
# A batch out longer than this no longer holds flushes back (its callback may be lost).
HOLD_AT_MOST = 300.0
# The longest an idle worker gathers a burst before its children start on it (seconds).
BURST_AT_MOST = 1.0
# A request accepted by a front end this long ago and not in the broker yet is on its way
# (its task is sent milliseconds after; an older one belongs to a front end that died).
SENDING = 2.0


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
    # Requests of a burst the idle worker is gathering: the first and those on their way
    # behind it when it arrived (up to a full batch per child); 0: none.
    burst: int = 0

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

    At once when no child is busy (an idle worker adds no wait), unless a burst was
    on its way behind the first request: then once all of it is in (or, see `forming`, the
    timer finds arrivals stopped). While a sibling is busy the worker is under load and
    more requests are likely on their way (a burst, or closed-loop clients sending their
    next): a request flushed alone would cost a free child a whole model call for one
    sentence; now only once what waits fills the free child's fair share. A sibling's
    batch long past its expected end (its callback lost with a broker connection) counts
    as done, so arrivals still flush even when the timer went with that connection.
    Never while every child is busy (they gather).
    """
    if not load.running:
        return waiting >= load.burst
    if len(load.running) >= load.slots:
        return False
    return waiting >= fair_share(waiting, load)


def forming(
    waiting: int, load: Load, quiet: float, oldest: float, wait: float, queued: int = 0
) -> bool:
    """Whether the flush timer holds the `waiting` requests back from a free child a
    little longer, while requests are still coming in (the last one `quiet` seconds ago):
    - a sibling is busy: the last under half of BATCH_WAIT_MS ago (a burst arrives a few
      milliseconds apart), while the `oldest` has waited less than a batch of one takes
      (holding it longer would cost it more than that call) or BATCH_WAIT_MS;
    - the worker is idle and its first request found a burst behind it: the last under
      BATCH_WAIT_MS ago (a front end sends a burst in groups, up to ~20 ms apart) or
      some is still `queued` or being sent (a front end or a worker short of CPU is
      slow), until all of that burst is in (its size bounds the wait), for at most
      BURST_AT_MOST.
    A burst then makes one batch for the free child, not a few requests per tick."""
    if len(load.running) >= load.slots or not (load.running or load.burst):
        return False
    if not load.running:
        coming = quiet < wait or queued > 0
        return waiting < load.burst and coming and oldest < BURST_AT_MOST
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
    _burst: int  # the burst an idle worker is gathering (Load.burst)
    _queue: str | None = None  # the queue it comes by
    _client: redis.Redis | None = None
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
        waiting = self._buffer.qsize()
        queued = 0
        if load.burst and not load.running and quiet >= self.flush_interval and self._queue:
            queued = self._on_the_way(self._queue)  # only while it gathers
        if waiting < self.flush_every and forming(
            waiting, load, quiet, oldest, self.flush_interval, queued
        ):
            return
        self._flush_share(load)

    def _flush_share(self, load: Load) -> None:
        """Flush a free child's share; after a burst gathered by an idle worker, the other
        free children take theirs at once too (an even split), not at the next tick."""
        # celery-batches flushes all it buffered: held back, that is up to the prefetch
        # limit (two batches' worth), over BATCH_MAX_REQUESTS, and the requests that come
        # in while it runs then make a tiny batch of their own (3, 125, 3, 125, ...).
        waiting = list(consume_queue(self._buffer))
        free = load.slots - len(load.running)
        even = -(-len(waiting) // max(free, 1))
        take = min(self.flush_every, even if load.burst else share(len(waiting), load))
        for request in waiting[:take]:
            self._buffer.put(request)
        try:
            super()._do_flush()
        finally:
            for request in waiting[take:]:
                self._buffer.put(request)  # the next flush's; the flush timer still runs
            with self._guard():
                self._since = load.now if len(waiting) > take else None
                self._burst = 0
        if load.burst and len(waiting) > take and free > 1:
            self._flush_share(replace(self._load(), burst=load.burst))

    def _arrival(self, queue: str | None) -> bool:
        """Note a request's arrival from `queue`; whether what waits goes now
        (`flush_now`; a full batch celery-batches flushes itself). The first to reach an
        idle worker asks Redis whether a burst is on its way behind it; so does the one
        that completes the burst as counted then (a burst may be sent in parts)."""
        load = self._load()
        waiting = self._buffer.qsize()
        with self._guard():
            self._arrived = load.now
            if self._since is None:
                self._since = load.now
        idle = not load.running
        if idle and queue and (waiting == 1 if not load.burst else waiting >= load.burst):
            coming = self._on_the_way(queue)
            if coming >= load.slots or (load.burst and coming):
                # The burst (or the rest of it): up to a full batch for every child.
                expected = min(waiting + coming, load.slots * self.flush_every)
                with self._guard():
                    # Quiet counts from now: arrivals queued up during the round trip.
                    self._burst, self._arrived = expected, time.monotonic()
                    self._queue = queue
                load = replace(load, burst=expected)
        return flush_now(waiting, load)

    def _on_the_way(self, queue: str) -> int:
        """Requests on their way to this worker: in `queue` at any priority, and those a
        front end accepted in the last `SENDING` seconds and has not put in the broker
        yet (a front end sends a burst's tasks in groups, the first often alone). One
        round trip; 0 when Redis cannot say, so the request goes at once as to any idle
        worker. Some may go to other workers, or be counted twice (sent, not yet marked
        so): the gathering then ends when arrivals stop."""
        try:
            since = time.time() - SENDING
            with self._redis().pipeline(transaction=False) as pipe:
                for key in queue_keys((queue,)):
                    pipe.llen(key)
                for prefix in FRONT_ENDS:
                    pipe.zcount(unqueued_key(prefix), since, "+inf")
                return int(sum(pipe.execute()))
        except Exception as exc:  # a hint, never worth failing a request for
            log.debug("could not tell the requests on their way: %r", exc)
            return 0

    def _redis(self) -> redis.Redis:
        """This worker process's client for `_on_the_way`, with short timeouts: it runs
        in the event loop that takes every message, which must not hang on Redis."""
        if self._client is None:
            settings = self.app.conf.tolmach_settings
            self._client = sync_redis(settings, socket_timeout=1, socket_connect_timeout=1)
        return self._client

    def _load(self) -> Load:
        """This worker's `Load` now."""
        slots = getattr(self._pool, "num_processes", None) or 1
        with self._guard():
            running, cost, single = list(self._running.values()), self._cost, self._single
            burst = self._burst
        return Load(running, cost, slots, time.monotonic(), single, burst)

    def _guard(self) -> threading.Lock:
        if not hasattr(self, "_lock"):
            self._running, self._lock, self._tokens = {}, threading.Lock(), itertools.count()
            self._cost = self._single = self._arrived = 0.0
            self._since, self._burst = None, 0
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

        def on_message(message: Any, *args: Any, **kwargs: Any) -> None:
            handler(message, *args, **kwargs)
            queue = (getattr(message, "delivery_info", None) or {}).get("routing_key")
            if self._arrival(queue):
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
