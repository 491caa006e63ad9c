"""Redis commands of many coroutines share round trips (tasks.client.grouped), over a
real redis-server: each caller gets its own replies and its own errors."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.asyncio.retry import Retry
from redis.backoff import ConstantBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from tasks.client.grouped import GROUP_AT_MOST, GroupedPipeline
from tests.support.procs import free_port
from tests.support.stack import RedisServer

CALLERS = 300


async def transactions(redis: Redis) -> int:
    """MULTI/EXEC transactions Redis ran since its stats were reset."""
    stats = await redis.info("commandstats")
    return int(stats.get("cmdstat_exec", {}).get("calls", 0))


def test_a_burst_of_callers_shares_round_trips_and_each_gets_its_replies(
    redis_server: RedisServer,
    redis_db: int,
) -> None:
    async def scenario() -> tuple[list[list[object]], int]:
        redis = Redis.from_url(redis_server.url(redis_db))
        await redis.flushdb()
        await redis.config_resetstat()
        grouped = GroupedPipeline(redis)

        def commands(i: int) -> Callable[[Pipeline], object]:
            def add(pipe: Pipeline) -> None:
                pipe.set(f"key:{i}", f"value {i}")
                pipe.get(f"key:{i}")

            return add

        replies = await asyncio.gather(*(grouped.execute(commands(i)) for i in range(CALLERS)))
        execs = await transactions(redis)
        await redis.aclose()
        return replies, execs

    replies, execs = asyncio.run(scenario())
    assert replies == [[True, f"value {i}".encode()] for i in range(CALLERS)]
    # One transaction per group of at most GROUP_AT_MOST callers, not one per caller.
    assert execs <= -(-CALLERS // GROUP_AT_MOST) + 1, execs


def test_a_callers_failing_command_fails_that_caller_only(
    redis_server: RedisServer, redis_db: int
) -> None:
    async def scenario() -> tuple[list[object], list[object]]:
        redis = Redis.from_url(redis_server.url(redis_db))
        await redis.flushdb()
        await redis.set("text", "not a number")
        grouped = GroupedPipeline(redis)
        outcomes = await asyncio.gather(
            grouped.execute(lambda pipe: pipe.incr("counter")),
            grouped.execute(lambda pipe: pipe.incr("text")),
            grouped.execute(lambda pipe: pipe.incr("counter")),
            return_exceptions=True,
        )
        counter = await redis.get("counter")
        await redis.aclose()
        return list(outcomes), [counter]

    outcomes, (counter,) = asyncio.run(scenario())
    assert outcomes[0] == [1] and outcomes[2] == [2]
    assert isinstance(outcomes[1], ResponseError)
    assert counter == b"2"


def test_redis_away_fails_every_caller_of_the_round_trip() -> None:
    async def scenario() -> list[object]:
        redis = Redis(port=free_port(), socket_connect_timeout=2)  # nothing listens there
        grouped = GroupedPipeline(redis)
        outcomes = await asyncio.gather(
            *(grouped.execute(lambda pipe: pipe.set("k", "v")) for _ in range(3)),
            return_exceptions=True,
        )
        await redis.aclose()
        return list(outcomes)

    outcomes = asyncio.run(asyncio.wait_for(scenario(), 60))
    assert len(outcomes) == 3
    assert all(isinstance(outcome, (RedisConnectionError, OSError)) for outcome in outcomes)


def test_a_caller_whose_commands_fail_to_build_fails_alone(
    redis_server: RedisServer, redis_db: int
) -> None:
    async def scenario() -> list[object]:
        redis = Redis.from_url(redis_server.url(redis_db))
        await redis.flushdb()
        grouped = GroupedPipeline(redis)

        def broken(pipe: Pipeline) -> None:
            pipe.set("half", "written")
            raise ValueError("cannot encode this request")

        outcomes = await asyncio.gather(
            grouped.execute(lambda pipe: pipe.set("before", 1)),
            grouped.execute(broken),
            grouped.execute(lambda pipe: pipe.set("after", 1)),
            return_exceptions=True,
        )
        written = await redis.exists("before", "half", "after")
        await redis.aclose()
        return [*outcomes, written]

    before, broken, after, written = asyncio.run(scenario())
    assert before == [True] and after == [True]
    assert isinstance(broken, ValueError)
    assert written == 2  # nothing of the failed caller's was sent


def test_a_cancelled_callers_commands_are_not_sent(
    redis_server: RedisServer, redis_db: int
) -> None:
    async def scenario() -> tuple[bool, int]:
        redis = Redis.from_url(redis_server.url(redis_db))
        await redis.flushdb()
        grouped = GroupedPipeline(redis)
        first = asyncio.create_task(grouped.execute(lambda pipe: pipe.set("first", 1)))
        await asyncio.sleep(0)  # the first round trip is out
        cancelled = asyncio.create_task(grouped.execute(lambda pipe: pipe.set("cancelled", 1)))
        await asyncio.sleep(0)  # waiting for the next round trip
        cancelled.cancel()
        await first
        with contextlib.suppress(asyncio.CancelledError):
            await cancelled
        await grouped.execute(lambda pipe: pipe.set("later", 1))  # the drain went on
        found = await redis.exists("cancelled")
        await redis.aclose()
        return cancelled.cancelled(), found

    assert asyncio.run(scenario()) == (True, 0)


def test_redis_away_fails_the_callers_queued_behind_at_once() -> None:
    """Once a round trip's retries gave up, the groups queued behind it fail with it
    rather than each retrying as long again."""

    async def scenario() -> tuple[list[object], float]:
        redis = Redis(
            port=free_port(),  # nothing listens there
            socket_connect_timeout=1,
            retry=Retry(ConstantBackoff(0.5), 4),
            retry_on_error=[RedisConnectionError],
        )
        grouped = GroupedPipeline(redis)
        started = time.monotonic()
        outcomes = await asyncio.gather(
            *(grouped.execute(lambda pipe: pipe.set("k", "v")) for _ in range(5 * GROUP_AT_MOST)),
            return_exceptions=True,
        )
        took = time.monotonic() - started
        await redis.aclose()
        return list(outcomes), took

    outcomes, took = asyncio.run(asyncio.wait_for(scenario(), 120))
    assert all(isinstance(outcome, (RedisConnectionError, OSError)) for outcome in outcomes)
    # One round trip's retries (about 2 s), not five groups' one after another (10 s).
    assert took < 6, took
