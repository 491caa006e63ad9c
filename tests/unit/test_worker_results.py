"""A batch's results stored at once (tasks.worker.results) are what Celery's backend
stores one at a time, over a real redis-server: the same meta under the same key with
the same expiry, published the same way, and a result already SUCCESS never replaced."""

from __future__ import annotations

import json
from typing import Any

from celery_batches import SimpleRequest

from config import Settings
from tasks.celery_app import make_celery
from tasks.contract import RESULT_KEY_PREFIX, TRANSLATE
from tasks.worker.results import store_all
from tests.support.stack import RedisServer


def request(task_id: str) -> SimpleRequest:
    """A batch member as celery-batches hands it to the task."""
    return SimpleRequest(
        id=task_id,
        name=TRANSLATE,
        args=("Hello", "en", "ru"),
        kwargs={},
        delivery_info={"routing_key": "chat"},
        hostname="worker@test",
        ignore_result=False,
        reply_to=None,
        correlation_id=task_id,
        request_dict={},
    )


def test_results_stored_at_once_read_as_the_backend_stores_each(
    redis_server: RedisServer,
    redis_db: int,
) -> None:
    client = redis_server.client(redis_db)
    client.flushdb()
    backend = make_celery(Settings(redis_url=redis_server.url(redis_db))).backend  # type: ignore[arg-type]
    pubsub = client.pubsub()
    pubsub.psubscribe(RESULT_KEY_PREFIX + "*")
    pubsub.get_message(timeout=1)  # the subscription's confirmation
    result: dict[str, Any] = {"ok": True, "text": "Привет", "src": "en"}
    backend.mark_as_done("by-backend", result, request=request("by-backend"))
    store_all(backend, [(request(f"at-once-{i}"), {**result, "text": str(i)}) for i in range(3)])

    expected = json.loads(client.get(RESULT_KEY_PREFIX + "by-backend") or b"")
    for i in range(3):
        key = RESULT_KEY_PREFIX + f"at-once-{i}"
        stored = json.loads(client.get(key) or b"")
        assert set(stored) == set(expected)
        assert stored["status"] == "SUCCESS"
        assert stored["task_id"] == f"at-once-{i}"
        assert stored["result"] == {**result, "text": str(i)}
        assert abs(client.ttl(key) - client.ttl(RESULT_KEY_PREFIX + "by-backend")) <= 1
        assert client.ttl(key) > 0
    published = []
    while (message := pubsub.get_message(timeout=1)) is not None:
        published.append((message["channel"].decode(), json.loads(message["data"])))
    assert [channel for channel, _ in published] == [
        RESULT_KEY_PREFIX + name for name in ("by-backend", "at-once-0", "at-once-1", "at-once-2")
    ]
    for channel, meta in published:
        assert meta == json.loads(client.get(channel) or b"")  # what listeners receive


def test_a_result_already_successful_is_not_replaced(
    redis_server: RedisServer, redis_db: int
) -> None:
    """A task that ran twice (a lost worker's message handed over) keeps its first answer,
    as Celery's backend keeps it."""
    client = redis_server.client(redis_db)
    client.flushdb()
    backend = make_celery(Settings(redis_url=redis_server.url(redis_db))).backend  # type: ignore[arg-type]
    backend.mark_as_done("twice", {"ok": True, "text": "first"}, request=request("twice"))
    store_all(
        backend,
        [
            (request("twice"), {"ok": True, "text": "second"}),
            (request("once"), {"ok": True, "text": "only"}),
        ],
    )
    assert json.loads(client.get(RESULT_KEY_PREFIX + "twice") or b"")["result"]["text"] == "first"
    assert json.loads(client.get(RESULT_KEY_PREFIX + "once") or b"")["result"]["text"] == "only"
