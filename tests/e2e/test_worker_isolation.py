"""A request fails alone: text no model can take is refused, a failed batch is halved
until only its culprits fail, and every other request of the batch is translated."""

from __future__ import annotations

import json
import math
import unicodedata
from typing import Any

import pytest
import redis
from hypothesis import given
from hypothesis import strategies as st

from config import Settings
from tasks.celery_app import make_celery
from tasks.contract import (
    DETECT,
    QUEUE_CHAT,
    RESULT_KEY_PREFIX,
    TRANSLATE,
    TranslateResult,
    translate_args,
)
from tasks.engine.base import EngineOptions
from tasks.engine.cache import TranslationCache
from tasks.engine.registry import ModelRegistry
from tasks.engine.service import Job, TranslationService
from tasks.worker.isolate import translate_isolated, unusable
from tasks.worker.metrics import STATS_KEY
from tests.support.procs import Proc, free_port, wait_until
from tests.support.reference import reference
from tests.support.stack import RedisServer

SURROGATES = ["Hello \ud800 world.", "Good \udfff morning, friends.", "The \ud83d weather is nice."]
CONTROLS = ["Hello\x00world.", "Ring the \x07 bell.", "Escape \x1b[31m red.", "Next \x85 line"]
TEXTS = ["Hello, world", "Привет, мир", "tab\tand\r\nlines\x0bvertical\x0cfeed", "Emoji 🙂 ok"]


@pytest.mark.parametrize("text", SURROGATES + CONTROLS)
def test_unusable_text(text: str) -> None:
    assert unusable(text)


@pytest.mark.parametrize("text", TEXTS)
def test_usable_text(text: str) -> None:
    assert not unusable(text)


# Any character, with lone surrogates and C0/C1 controls drawn often.
ANY_CHARACTER = (
    st.characters() | st.integers(0xD800, 0xDFFF).map(chr) | st.integers(0, 0x9F).map(chr)
)


@given(st.text(ANY_CHARACTER))
def test_unusable_is_lone_surrogates_and_controls_other_than_whitespace(text: str) -> None:
    encodable = all(unicodedata.category(c) != "Cs" for c in text)
    controls = [c for c in text if unicodedata.category(c) == "Cc" and c not in "\t\n\v\f\r"]
    assert unusable(text) == (not encodable or bool(controls))


def test_cache_keys_of_lone_surrogates_do_not_raise_and_differ() -> None:
    keys = {TranslationCache.key("ns", text) for text in ["a\ud800", "a\udfff", "a", "a\ud83d"]}
    assert len(keys) == 4


def ordinary(count: int) -> list[str]:
    """Texts of one sentence (the reference translates a text in one call)."""
    return [f"Request {i} asks about the weather today." for i in range(count)]


def service_for(template: str, cache: TranslationCache | None = None) -> TranslationService:
    registry = ModelRegistry(template, EngineOptions(device="cpu", num_beams=1))
    return TranslationService(registry, cache=cache, max_chars=5000)


def test_a_failed_batch_is_halved_until_only_its_culprits_fail(
    model_template: str, redis_server: RedisServer, redis_db: int
) -> None:
    client = redis_server.client(redis_db)
    client.flushdb()
    cache = TranslationCache(client, ttl=60)
    service = service_for(model_template, cache)
    texts = ordinary(14)
    texts[3], texts[10] = SURROGATES[0], SURROGATES[2]
    jobs = [Job(text, "en", "ru") for text in texts]
    with pytest.raises(RuntimeError):  # the tokenizer refuses a lone surrogate: all fail
        service.translate_many(jobs)
    calls: list[int] = []

    def counted(batch: list[Job]) -> list[TranslateResult]:
        calls.append(len(batch))
        return service.translate_many(batch)

    results = translate_isolated(counted, jobs)

    good = [i for i, text in enumerate(texts) if not unusable(text)]
    expected = reference(model_template, [texts[i] for i in good], num_beams=1)
    assert [results[i] for i in good] == [
        {"ok": True, "text": text, "src": "en", "tgt": "ru"} for text in expected
    ]
    assert results[3] == results[10] == {"ok": False, "error": "bad_request"}
    # Each culprit costs about two calls per halving level; no success is repeated.
    assert len(calls) <= 1 + 2 * 2 * math.ceil(math.log2(len(jobs))), calls
    assert client.dbsize() == len(good)  # each success cached once, the culprits not


def test_redis_down_is_raised_for_the_whole_batch_not_isolated() -> None:
    """A lost connection is the batch's fault, not a request's: the worker requeues it
    (the engine's cache treats Redis down as misses, so a worker step is what meets it)."""
    gone = redis.Redis(port=free_port(), socket_connect_timeout=1)
    calls: list[int] = []

    def translate_many(batch: list[Job]) -> list[TranslateResult]:
        calls.append(len(batch))
        gone.ping()
        return []

    jobs = [Job(t, "en", "ru") for t in ordinary(4)]
    with pytest.raises(redis.ConnectionError):
        translate_isolated(translate_many, jobs, (redis.ConnectionError,))
    assert calls == [4]  # not halved: every half would meet it too


@pytest.mark.e2e
def test_a_burst_with_unusable_texts_fails_only_those(
    worker: Proc, redis_server: RedisServer, model_template: str
) -> None:
    """LibreTranslate's JSON carries lone surrogates ("\\ud800") and NUL; a burst of
    requests at default settings shares batches, and only those requests fail."""
    client = redis_server.client()
    texts = ordinary(36)
    culprits = {5: SURROGATES[0], 14: SURROGATES[1], 23: SURROGATES[2], 31: CONTROLS[0]}
    for index, text in culprits.items():
        texts.insert(index, text)
    before = stats(client)
    app = make_celery(Settings(redis_url=redis_server.url()), results=False)  # type: ignore[arg-type]
    keys = [
        RESULT_KEY_PREFIX
        + app.send_task(TRANSLATE, args=translate_args(text, "en", "ru"), queue=QUEUE_CHAT).id
        for text in texts
    ]
    wait_until(lambda: client.exists(*keys) == len(keys), 240, f"{len(keys)} results")
    answers = [json.loads(raw or b"") for raw in client.mget(keys)]
    after = stats(client)

    good = [i for i in range(len(texts)) if i not in culprits]
    expected = reference(model_template, [texts[i] for i in good])
    assert all(answer["status"] == "SUCCESS" for answer in answers)
    assert [answers[i]["result"] for i in good] == [
        {"ok": True, "text": text, "src": "en", "tgt": "ru"} for text in expected
    ]
    assert [answers[i]["result"] for i in culprits] == [{"ok": False, "error": "bad_request"}] * 4
    # The culprits shared batches with the others (what used to fail them all).
    requests, batches = (after[k] - before.get(k, 0) for k in ("requests", "batches"))
    assert requests == len(texts) and batches <= len(texts) // 2, (requests, batches)


def stats(client: redis.Redis) -> dict[str, int]:
    raw: dict[Any, Any] = client.hgetall(STATS_KEY)
    return {k.decode(): int(v) for k, v in raw.items()}


@pytest.mark.e2e
def test_detect_answers_the_other_texts_of_a_task_with_a_lone_surrogate(
    worker: Proc, redis_server: RedisServer
) -> None:
    client = redis_server.client()
    app = make_celery(Settings(redis_url=redis_server.url()), results=False)  # type: ignore[arg-type]
    texts = [SURROGATES[0], "Good morning, dear friends! How are you today?"]
    key = RESULT_KEY_PREFIX + app.send_task(DETECT, args=[texts], queue=QUEUE_CHAT).id
    wait_until(lambda: client.exists(key) == 1, 60, "the detection")
    answer = json.loads(client.get(key) or b"")
    assert answer["status"] == "SUCCESS", answer
    bad, good = answer["result"]
    assert bad == []
    assert good[0]["language"] == "en", good
