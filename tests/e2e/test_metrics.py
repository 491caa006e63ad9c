"""Observability end to end: a polling bot with METRICS_PORT, a worker, JSON logs.

After traffic through the emulator the bot's /metrics has non-zero counters from both
sides (the bot's own, and the workers' read from Redis); /stats answers admins only.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from redis.asyncio import Redis

from bot import texts
from config import Settings
from tasks.celery_app import celery_config
from tasks.client.requests import PENDING
from tasks.fleet import Fleet, read_fleet
from tasks.worker.metrics import MODEL_LOADS_KEY, STATS_KEY, record_batch, record_load
from tests.support.api_proc import ApiProc, api_env
from tests.support.emulator import BotApiEmulator
from tests.support.ops import get, json_lines
from tests.support.procs import Proc, free_port, wait_until
from tests.support.stack import (
    TOKEN,
    RedisServer,
    launch_worker,
    process_env,
    start_bot,
    wait_worker,
)

pytestmark = pytest.mark.e2e
ADMIN = 6001
TEXT_LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ (INFO|WARNING|ERROR) ")


@pytest.fixture(scope="module")
def fleet_db(take_redis_db: Callable[[], int]) -> int:
    """The fleet tests' database: no worker listens there."""
    return take_redis_db()


@dataclass
class Stack:
    emulator: BotApiEmulator
    metrics_url: str
    bot: Proc
    worker: Proc


@pytest.fixture(scope="module")
def stack(
    redis_server: RedisServer, model_template: str, logdir: Path, redis_db: int
) -> Iterator[Stack]:
    redis_server.client(redis_db).flushdb()
    emulator = BotApiEmulator(TOKEN)
    emulator.start()
    env = {
        **process_env(redis_server.url(redis_db), model_template, emulator.url),
        "LOG_FORMAT": "json",
        "ADMIN_IDS": f"{ADMIN}, 6009",
    }
    port = free_port()
    procs: list[Proc] = []
    try:
        procs.append(launch_worker("metrics-worker", env, logdir))
        bot_env = {**env, "METRICS_PORT": str(port), "HTTP_HOST": "127.0.0.1"}
        procs.append(start_bot("metrics-bot", bot_env, logdir, port))
        wait_worker(procs[0], redis_server, redis_db)
        yield Stack(emulator, f"http://127.0.0.1:{port}/metrics", procs[1], procs[0])
    finally:
        for proc in reversed(procs):
            proc.stop()
        emulator.stop()


def samples(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    status, body = get(url)
    assert status == 200, body
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(body)
        for s in family.samples
    }


def test_metrics_count_traffic_from_bot_and_workers(
    stack: Stack, redis_server: RedisServer, redis_db: int
) -> None:
    emulator = stack.emulator
    emulator.push_message(6101, "/translate en>ru Hello, world")
    emulator.push_message(6102, "How are you today, my friend?", language_code="ru")
    emulator.push_message(6103, "/translate fr>ru Bonjour")  # no fr model: a worker error
    emulator.push_message(6104, "/translate en>xyzzy Hello")  # unknown language: a bot error
    query_id = emulator.push_inline(6105, "en>ru Hello")
    for chat in (6101, 6102, 6103, 6104):
        emulator.wait_for(chat, timeout=60)
    emulator.wait_inline(query_id)
    client = redis_server.client(redis_db)
    wait_until(lambda: client.zcard(PENDING) == 0, 60, "pending answers")

    found = samples(stack.metrics_url)
    for kind in ("command", "private", "inline"):
        assert found[("tolmach_requests_total", (("kind", kind),))] >= 1, kind
    assert found[("tolmach_reply_latency_seconds_count", (("kind", "translate"),))] >= 3
    assert found[("tolmach_reply_latency_seconds_count", (("kind", "inline"),))] >= 1
    assert found[("tolmach_errors_total", (("type", "UnknownLanguage"),))] == 1
    assert found[("tolmach_worker_errors_total", (("type", "unsupported_pair"),))] >= 1
    assert found[("tolmach_worker_requests_total", ())] >= 4
    assert found[("tolmach_batch_size_count", ())] >= 1
    assert found[("tolmach_batch_size_sum", ())] >= 4
    assert found[("tolmach_model_load_seconds_count", ())] >= 1
    assert found[("tolmach_models_loaded", ())] >= 1
    for queue in ("inline", "chat", "documents"):
        assert found[("tolmach_queue_depth", (("queue", queue),))] == 0


def test_fleet_reads_queue_depths_and_worker_histograms(
    redis_server: RedisServer, fleet_db: int
) -> None:
    """No worker on this database: queued tasks stay put while we read them."""
    client = redis_server.client(fleet_db)
    client.flushdb()
    client.rpush("chat", "t1", "t2")
    client.rpush("inline\x06\x163", "t3")  # kombu's list for priority 3
    record_batch(client, [{"ok": True, "text": "x", "src": "en", "tgt": "ru"}] * 3)
    record_batch(client, [{"ok": False, "error": "unsupported_pair"}])
    record_load(client, 7.5)
    fleet = asyncio.run(_read(redis_server.url(fleet_db)))
    assert fleet.queues == {"inline": 1, "chat": 2, "documents": 0}
    assert fleet.batch_size.count == 2 and fleet.batch_size.sum == 4
    assert dict(fleet.batch_size.buckets)["1.0"] == 1 and dict(fleet.batch_size.buckets)["4.0"] == 2
    assert (
        dict(fleet.model_load.buckets)["5.0"] == 0 and dict(fleet.model_load.buckets)["10.0"] == 1
    )
    assert fleet.worker_errors == {"unsupported_pair": 1}


def test_the_api_serves_the_fleet_too(
    redis_server: RedisServer, stack_env: dict[str, str], logdir: Path, fleet_db: int
) -> None:
    """A deployment without a bot (`tolmach run`'s) sees its queues and workers on the
    API's /metrics, beside the API's own series."""
    client = redis_server.client(fleet_db)
    client.flushdb()
    client.rpush("documents", "t1", "t2", "t3")
    record_batch(client, [{"ok": True, "text": "x", "src": "en", "tgt": "ru"}] * 2)
    record_batch(client, [{"ok": False, "error": "unsupported_pair"}])
    record_load(client, 3.0)
    client.hincrby(STATS_KEY, "requests", 5)  # as the translate task counts them
    client.hincrby(MODEL_LOADS_KEY, "opus-mt-en-ru|host:1", 1)  # as a worker's load does
    env = api_env(stack_env, REDIS_URL=redis_server.url(fleet_db))
    api = ApiProc("api-metrics", env, logdir).start()
    try:
        found = samples(f"http://127.0.0.1:{api.port}/metrics")
    finally:
        api.stop()
    for queue, depth in (("inline", 0), ("chat", 0), ("documents", 3)):
        assert found[("tolmach_queue_depth", (("queue", queue),))] == depth, queue
    assert found[("tolmach_worker_requests_total", ())] == 5
    assert found[("tolmach_batch_size_count", ())] == 2
    assert found[("tolmach_batch_size_sum", ())] == 3
    assert found[("tolmach_model_load_seconds_count", ())] == 1
    assert found[("tolmach_worker_errors_total", (("type", "unsupported_pair"),))] == 1
    assert found[("tolmach_models_loaded", ())] == 1
    health = (("route", "/health"), ("status", "200"))
    assert found[("tolmach_api_requests_total", health)] >= 1  # the start-up wait's


async def _read(url: str) -> Fleet:
    redis = Redis.from_url(url)
    try:
        return await read_fleet(redis)
    finally:
        await redis.aclose()


def test_stats_answers_admins_and_refuses_others(stack: Stack) -> None:
    emulator = stack.emulator
    emulator.push_message(ADMIN, "/stats")
    emulator.push_message(6002, "/stats")
    [report] = emulator.wait_for(ADMIN)
    [refusal] = emulator.wait_for(6002)
    assert refusal["text"] == texts.STATS_ADMINS_ONLY
    assert "inline 0, chat 0, documents 0" in report["text"]
    assert "opus-mt-en-ru" in report["text"]
    assert re.search(r"command \d+", report["text"])


def test_logs_are_json_lines(stack: Stack) -> None:
    for proc in (stack.bot, stack.worker):
        entries = json_lines(proc.log)
        assert entries, proc.name
        for entry in entries:
            assert {"time", "level", "logger", "message"} <= set(entry)
        lines = proc.log.read_text(errors="replace").splitlines()
        assert not [line for line in lines if TEXT_LOG_LINE.match(line)]
    worker_loggers = {e["logger"] for e in json_lines(stack.worker.log)}
    assert "tasks.engine.registry" in worker_loggers  # "model … ready in …"
    assert TOKEN not in stack.bot.log.read_text()


def test_celery_sends_task_events_for_flower() -> None:
    config = celery_config(Settings())
    assert config["worker_send_task_events"] is True
    assert config["task_send_sent_event"] is True
