"""The queue client as front ends build it (`QueueClient.from_settings`), over a real
redis-server with no worker: each front end's records are its own, documents are queued
and cancelled through it, and the workers' catalog is read through one reader."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from typing import Any

from redis.asyncio import Redis

from config import Settings
from tasks.catalog import CATALOG_KEY, Catalog
from tasks.client.catalog import CatalogReader
from tasks.client.queue import QueueClient
from tasks.client.requests import RequestRecord
from tasks.contract import (
    DOCUMENT,
    QUEUE_CHAT,
    QUEUE_DOCUMENTS,
    RESULT_KEY_PREFIX,
    DocumentRequest,
    document_key,
)
from tests.support.stack import RedisServer

API = "tolmach:api:"


def _settings(redis_server: RedisServer, db: int) -> Settings:
    return Settings(redis_url=redis_server.url(db))  # type: ignore[arg-type]


def _queued(redis: Any, queue: str) -> list[dict[str, Any]]:
    """The headers of the task messages waiting in a broker queue."""
    return [json.loads(raw)["headers"] for raw in redis.lrange(queue, 0, -1)]


def test_each_front_ends_client_sends_and_answers_only_its_own_requests(
    redis_server: RedisServer,
    redis_db: int,
) -> None:
    """The bot's client and the API's, on one Redis: both send their tasks to the same
    broker, and each listener answers only the requests of its own front end."""

    async def scenario() -> tuple[dict[str, list[str]], bool]:
        settings = _settings(redis_server, redis_db)
        bot = QueueClient.from_settings(settings)
        api = QueueClient.from_settings(settings, prefix=API)
        await bot.redis.flushdb()
        heard: dict[str, list[str]] = {"bot": [], "api": []}
        for name, client in (("bot", bot), ("api", api)):
            record = RequestRecord("text", {"who": name})
            await client.submitter.translate(record, "hi", "en", "ru", task_id=f"t-{name}")
            meta = {"status": "SUCCESS", "result": {"ok": True}, "task_id": f"t-{name}"}
            await client.redis.set(RESULT_KEY_PREFIX + f"t-{name}", json.dumps(meta))
        for name, client in (("bot", bot), ("api", api)):

            async def deliver(
                task_id: str, record: RequestRecord, meta: dict[str, Any], name: str = name
            ) -> None:
                heard[name].append(f"{task_id}:{record.context['who']}")

            listener = client.listen({"text": deliver})
            await listener.sweep()
            await listener.drain()
        shared = bot.admission.catalog is bot.catalog and api.admission.catalog is api.catalog
        for client in (bot, api):
            await client.redis.aclose()
        return heard, shared

    heard, shared = asyncio.run(scenario())
    assert heard == {"bot": ["t-bot:bot"], "api": ["t-api:api"]}
    assert shared  # admission reads the catalog through the client's one reader
    sent = _queued(redis_server.client(redis_db), QUEUE_CHAT)
    assert sorted(h["id"] for h in sent) == ["t-api", "t-bot"]


def test_a_document_is_queued_and_cancelled_through_the_client(
    redis_server: RedisServer,
    redis_db: int,
) -> None:
    """The front end names its request; the client sends the worker's first task under its
    own id, and a cancel flags the document, revokes every task of it the worker made,
    tells the front end once, and forgets the request."""

    async def scenario() -> tuple[list[bool], list[dict[str, Any]], list[str], list[str]]:
        client = QueueClient.from_settings(_settings(redis_server, redis_db))
        await client.redis.flushdb()
        watch = client.redis.pubsub()
        await watch.psubscribe("*pidbox*")  # where Celery broadcasts a revoke
        request = DocumentRequest(file_path="f/1", file_name="a.txt", src="en", tgt="ru")
        record = RequestRecord("document", {"chat": 5})
        await client.submit_document(record, request, task_id="doc1")
        await client.redis.set(document_key("doc1", "chunks"), 2)  # the worker fanned out
        told: list[dict[str, Any]] = []

        async def tell(found: RequestRecord) -> None:
            told.append(found.context)

        cancelled = [
            await client.cancel_document("doc1", tell),
            await client.cancel_document("doc1", tell),  # answered by the first
        ]
        revoked: list[str] = []
        deadline = time.monotonic() + 5
        while not revoked and time.monotonic() < deadline:
            message = await watch.get_message(ignore_subscribe_messages=True, timeout=1)
            if message is not None:
                body = json.loads(base64.b64decode(json.loads(message["data"])["body"]))
                if body["method"] == "revoke":
                    revoked = body["arguments"]["task_id"]
        flag = await client.redis.ttl(document_key("doc1", "cancelled"))
        assert 0 < flag <= client.requests.ttl  # kept as long as the request could be
        pending = await client.requests.pending()
        await watch.aclose()
        await client.redis.aclose()
        return cancelled, told, revoked, pending

    cancelled, told, revoked, pending = asyncio.run(scenario())
    assert cancelled == [True, False]
    assert told == [{"chat": 5}]
    assert revoked == ["doc1.prepare", "doc1", "doc1.c0", "doc1.c1"]
    assert pending == []
    sent = _queued(redis_server.client(redis_db), QUEUE_DOCUMENTS)
    assert [(h["task"], h["id"], h["argsrepr"][:9]) for h in sent] == [
        (DOCUMENT, "doc1.prepare", "['doc1', ")
    ]


def test_the_catalog_is_read_again_only_after_it_was_kept_its_time(
    redis_server: RedisServer,
    redis_db: int,
) -> None:
    async def scenario() -> list[Catalog | None]:
        redis = Redis.from_url(redis_server.url(redis_db))
        await redis.flushdb()
        reader = CatalogReader(redis, keep=0.3)
        catalog = Catalog(pairs=["en-ru"], multilingual=[], hub_template=False)
        seen = [await reader()]  # no worker has published yet
        await redis.set(CATALOG_KEY, json.dumps(catalog))
        seen.append(await reader())  # kept: not read again yet
        await asyncio.sleep(0.35)
        seen.append(await reader())
        await redis.aclose()
        return seen

    catalog = Catalog(pairs=["en-ru"], multilingual=[], hub_template=False)
    assert asyncio.run(scenario()) == [None, None, catalog]
