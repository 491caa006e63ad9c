"""Abuse limits: token buckets, the queue ceiling and allow-list mode, on a real Redis
and through a real bot (its own database, emulator and worker)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from bot import texts
from bot.errors import Busy, RateLimited
from bot.limits import Limiter, Rates
from config import Settings
from tasks.client.access import AllowList
from tasks.client.admission import Admission, Policy, QueueFull
from tasks.contract import queue_keys
from tests.support.emulator import BotApiEmulator
from tests.support.procs import Proc, free_port
from tests.support.stack import (
    TOKEN,
    RedisServer,
    process_env,
    start_bot,
    start_redis,
    start_worker,
)

ALLOWED_USER, ALLOWED_GROUP, OTHER_GROUP, FILES_GROUP = 501, -600, -602, -603
RATES = Rates(user_per_minute=6, user_burst=2, chat_per_minute=6, chat_burst=3)
DEFAULTS = Settings()


@pytest.fixture(scope="module")
def scratch_db(take_redis_db: Callable[[], int]) -> int:
    """The limiter's unit tests' database: no worker listens there."""
    return take_redis_db()


async def _limiter(url: str, rates: Rates, policy: Policy | None = None) -> tuple[Redis, Limiter]:
    redis = Redis.from_url(url)
    await redis.flushdb()
    admission = Admission(redis, policy or Policy.from_settings(DEFAULTS))
    return redis, Limiter(redis, rates, admission)


async def _outcomes(limiter: Limiter, calls: list[tuple[int, int, bool]]) -> list[object]:
    out: list[object] = []
    for user, chat, group in calls:
        try:
            await limiter.admit(user, chat, group)
            out.append("ok")
        except RateLimited as exc:
            out.append(("limited", exc.notify))
    return out


def test_user_bucket_admits_a_burst_then_tells_once(
    redis_server: RedisServer, scratch_db: int
) -> None:
    async def scenario() -> list[object]:
        redis, limiter = await _limiter(redis_server.url(scratch_db), RATES)
        async with redis:
            return await _outcomes(limiter, [(1, 1, False)] * 5 + [(2, 2, False)])

    got = asyncio.run(scenario())
    # Two in the burst, one polite refusal, then silence; another user is unaffected.
    assert got == ["ok", "ok", ("limited", True), ("limited", False), ("limited", False), "ok"]


def test_bucket_refills_with_time(redis_server: RedisServer, scratch_db: int) -> None:
    fast = Rates(120, 1, 0, 1)  # 2 tokens a second

    async def scenario() -> list[object]:
        redis, limiter = await _limiter(redis_server.url(scratch_db), fast)
        async with redis:
            first = await _outcomes(limiter, [(1, 1, False)] * 2)
            await asyncio.sleep(0.6)
            return first + await _outcomes(limiter, [(1, 1, False)])

    assert asyncio.run(scenario()) == ["ok", ("limited", True), "ok"]


def test_group_bucket_is_shared_by_its_members(redis_server: RedisServer, scratch_db: int) -> None:
    async def scenario() -> list[object]:
        redis, limiter = await _limiter(redis_server.url(scratch_db), RATES)
        async with redis:
            members = [(user, -5, True) for user in (1, 2, 3, 4)]
            # A refused request takes no token: user 5's private chat is not charged.
            return await _outcomes(limiter, [*members, (5, 5, False), (4, 4, False)])

    assert asyncio.run(scenario()) == ["ok", "ok", "ok", ("limited", True), "ok", "ok"]


def test_full_queues_make_the_bot_busy(redis_server: RedisServer, scratch_db: int) -> None:
    rates = Rates(0, 1, 0, 1)
    policy = Policy.from_settings(Settings(max_queue_depth=5, busy_retry_after=42))

    async def scenario() -> list[object]:
        redis, limiter = await _limiter(redis_server.url(scratch_db), rates, policy)
        async with redis:
            await redis.rpush("chat", *["x"] * 3)
            await redis.rpush("documents", *["x"] * 2)
            out: list[object] = []
            for _ in range(2):
                try:
                    await limiter.admit(1, 1, False)
                except Busy as exc:
                    out.append((exc.retry_after, exc.notify))
            await redis.lpop("documents")
            await limiter.admit(1, 1, False)  # room again
            return out

    assert asyncio.run(scenario()) == [(42, True), (42, False)]


def test_a_burst_of_checks_reads_the_queues_once(tmp_path: Path, logdir: Path) -> None:
    # 20 requests checked together share one read of the queues' depth (each would
    # otherwise send its own LLENs); the read after them is a fresh one. A server of the
    # test's own, so that its command counts are this test's alone.
    server = start_redis("depth-redis", tmp_path, logdir)
    policy = Policy.from_settings(Settings(max_queue_depth=5))

    async def check(admission: Admission) -> str:
        try:
            await admission.check_queue()
            return "ok"
        except QueueFull:
            return "full"

    async def scenario() -> tuple[list[str], int, str, int]:
        async with Redis.from_url(server.url()) as redis:
            admission = Admission(redis, policy)
            await redis.rpush("chat", *["x"] * 5)
            await redis.config_resetstat()
            burst = await asyncio.gather(*(check(admission) for _ in range(20)))
            reads = (await redis.info("commandstats"))["cmdstat_llen"]["calls"]
            await redis.lpop("chat")
            return list(burst), reads, await check(admission), len(queue_keys())

    try:
        burst, reads, after, keys = asyncio.run(scenario())
    finally:
        server.proc.stop()
    assert burst == ["full"] * 20 and reads == keys and after == "ok"


def test_allow_list_lets_in_users_chats_and_admins() -> None:
    settings = Settings(allowed_users=[1], allowed_chats=[-9], admin_ids=[7])
    allow = AllowList(settings)
    assert allow.allows(1, 1) and allow.allows(7, 7) and allow.allows(3, -9)
    assert not allow.allows(3, 3) and not allow.allows(3, -8) and not allow.allows(None, None)
    assert AllowList(Settings()).allows(3, 3)  # no lists: everyone


@pytest.fixture(scope="module")
def limited(
    redis_server: RedisServer, model_template: str, logdir: Path, redis_db: int
) -> Iterator[BotApiEmulator]:
    redis_server.client(redis_db).flushdb()
    emulator = BotApiEmulator(TOKEN)
    emulator.start()
    port = free_port()
    env = {
        **process_env(redis_server.url(redis_db), model_template, emulator.url),
        "RATE_USER_PER_MINUTE": "1",
        "RATE_USER_BURST": "2",
        "RATE_CHAT_PER_MINUTE": "1",
        "RATE_CHAT_BURST": "3",
        "ALLOWED_USERS": str(ALLOWED_USER),
        "ALLOWED_CHATS": f"{ALLOWED_GROUP},{OTHER_GROUP},{FILES_GROUP}",
        "METRICS_PORT": str(port),
    }
    procs: list[Proc] = [start_worker("limits-worker", env, redis_server, redis_db, logdir)]
    try:
        procs.append(start_bot("limits-bot", env, logdir, port))
        yield emulator
    finally:
        for proc in reversed(procs):
            proc.stop()
        emulator.stop()


def _texts(emulator: BotApiEmulator, chat_id: int) -> list[str]:
    return [m["text"] for m in emulator.sent_to(chat_id)]


def test_flood_gets_burst_translated_and_one_notice(limited: BotApiEmulator) -> None:
    for i in range(6):
        limited.push_message(ALLOWED_USER, f"/tr en>ru Hello number {i}")
    limited.wait_for(ALLOWED_USER, 3)
    time.sleep(3)  # time enough for a wrong extra answer to arrive
    notice = texts.RATE_LIMITED.split("{")[0]
    # Handlers run concurrently: which two got through is not fixed, the counts are.
    got = _texts(limited, ALLOWED_USER)
    assert sum(t.startswith(notice) for t in got) == 1, got
    assert len(got) == 3, got


def test_strangers_are_refused_once_and_allowed_group_works(limited: BotApiEmulator) -> None:
    stranger = 777
    limited.push_message(stranger, "/tr en>ru Hello")
    limited.push_message(stranger, "/tr en>ru Hello again")
    [refusal] = limited.wait_for(stranger)
    assert refusal["text"] == texts.NOT_ALLOWED
    # A stranger in an allowed group may use the bot there; elsewhere, silence.
    limited.push_message(ALLOWED_GROUP, "/tr en>ru Good morning", user_id=778, chat_type="group")
    [reply] = limited.wait_for(ALLOWED_GROUP)
    assert reply["text"] and reply["text"] != texts.NOT_ALLOWED
    limited.push_message(-601, "/tr en>ru Good morning", user_id=778, chat_type="group")
    limited.push_message(stranger, "/tr en>ru And again")
    time.sleep(3)  # time enough for a wrong answer to arrive
    assert limited.sent_to(-601) == [] and len(limited.sent_to(stranger)) == 1


def test_anonymous_admins_of_two_groups_do_not_share_a_limit(limited: BotApiEmulator) -> None:
    # Every anonymous admin writes "from" @GroupAnonymousBot: limited as that one user,
    # one group's flood refused the other group's first request. Each is its group
    # now; the flooded group is told once, whoever of its members is refused.
    for i in range(6):
        limited.push_message(
            OTHER_GROUP, f"/tr en>ru Flood {i}", chat_type="supergroup", anonymous=True
        )
    limited.wait_for(OTHER_GROUP, 3)  # two translated (the burst), one notice
    limited.push_message(ALLOWED_GROUP, "/tr en>ru Good evening", chat_type="supergroup",
                         anonymous=True)  # fmt: skip
    [reply] = limited.wait_for(ALLOWED_GROUP)
    notice = texts.RATE_LIMITED.split("{")[0]
    assert not reply["text"].startswith(notice), reply["text"]
    time.sleep(2)
    got = _texts(limited, OTHER_GROUP)
    assert sum(t.startswith(notice) for t in got) == 1 and len(got) == 3, got


def test_files_not_for_the_bot_cost_a_group_nothing(limited: BotApiEmulator) -> None:
    # Files shared in a group without languages in their caption are not for the bot:
    # they used the group's budget (3 here) all the same, and its next request was
    # refused.
    for user in (801, 802, 803):
        limited.push_document(
            FILES_GROUP, "notes.txt", b"Meeting notes.", "for tomorrow", user_id=user,
            chat_type="group",
        )  # fmt: skip
    time.sleep(1)
    limited.push_message(FILES_GROUP, "/tr en>ru Good night", user_id=804, chat_type="group")
    [reply] = limited.wait_for(FILES_GROUP)
    assert not reply["text"].startswith(texts.RATE_LIMITED.split("{")[0]), reply["text"]
    assert limited.documents_to(FILES_GROUP) == []
