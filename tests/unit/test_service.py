"""The engine path: segmentation, batching across requests, pivot, detection, cache."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tasks.engine.base import EngineOptions, Translator
from tasks.engine.cache import TranslationCache
from tasks.engine.registry import ModelRegistry, load_translator
from tasks.engine.service import Job, TranslationService
from tests.support.reference import reference
from tests.support.stack import RedisServer


class CallLog:
    """Records every model call the real translators make (a spy, not a stand-in)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, list[str]]] = []

    def loader(self, model_id: str, options: EngineOptions) -> Translator:
        real = load_translator(model_id, options)
        log = self

        class Spy:
            languages = getattr(real, "languages", None)

            def translate_batch(self, texts: list[str], src: str, tgt: str) -> list[str]:
                log.calls.append((model_id, list(texts)))
                return real.translate_batch(texts, src, tgt)

        return Spy()


@pytest.fixture
def calls() -> CallLog:
    return CallLog()


@pytest.fixture
def cache(redis_server: RedisServer, redis_db: int) -> Iterator[TranslationCache]:
    client = redis_server.client(redis_db)
    client.flushdb()
    yield TranslationCache(client, ttl=60)


def make_service(
    template: str, calls: CallLog, cache: TranslationCache | None = None, **overrides: str
) -> TranslationService:
    registry = ModelRegistry(
        template, EngineOptions(device="cpu", num_beams=1), overrides=overrides, loader=calls.loader
    )
    return TranslationService(registry, cache=cache, max_chars=5000)


def text_of(result: Any) -> str:
    assert result["ok"], result
    return str(result["text"])


def test_sentences_translated_separately_and_layout_kept(
    model_template: str, calls: CallLog
) -> None:
    service = make_service(model_template, calls)
    text = "Hello, world. How are you today?\n\nSee https://example.org @bob 🙂"
    a, b, c = reference(model_template, ["Hello, world.", "How are you today?", "See"], num_beams=1)
    assert text_of(service.translate(text, "en", "ru")) == (
        f"{a} {b}\n\n{c} https://example.org @bob 🙂"
    )


def test_concurrent_requests_share_one_model_call(model_template: str, calls: CallLog) -> None:
    service = make_service(model_template, calls)
    jobs = [Job(f"Message number {i}. Good morning!", "en", "ru") for i in range(20)]
    results = service.translate_many(jobs)
    assert len(calls.calls) == 1
    # 20 distinct first sentences plus one shared second sentence.
    assert len(calls.calls[0][1]) == 21
    for job, result in zip(jobs, results, strict=True):
        first, second = reference(model_template, job.text.split(" Good"), num_beams=1)[0], None
        second = reference(model_template, ["Good morning!"], num_beams=1)[0]
        assert text_of(result) == f"{first} {second}"


def test_failures_stay_with_their_request(model_template: str, calls: CallLog) -> None:
    service = make_service(model_template, calls)
    results = service.translate_many(
        [
            Job("Hello", "en", "ru"),
            Job("Hello", "en", "xx"),
            Job("Hello", "en", "en"),
            Job("x" * 5001, "en", "ru"),
            Job("Hello", "english", "русский"),
        ]
    )
    assert [r["ok"] for r in results] == [True, False, False, False, True]
    assert [r.get("error") for r in results[1:4]] == [
        "unsupported_pair",
        "same_language",
        "text_too_long",
    ]


def test_pivot_goes_through_english(model_template: str, calls: CallLog) -> None:
    service = make_service(model_template, calls)
    english = reference(model_template, ["Guten Morgen"], "de", "en", num_beams=1)
    expected = reference(model_template, english, num_beams=1)
    assert text_of(service.translate("Guten Morgen", "de", "ru")) == expected[0]


def test_wildcard_multilingual_model(model_template: str, m2m_model: str, calls: CallLog) -> None:
    service = make_service(model_template, calls, **{"*": m2m_model})
    result = service.translate("Hello, world", "en", "de")
    assert result["ok"] and calls.calls[-1][0] == m2m_model


def test_detects_the_source_language(model_template: str, calls: CallLog) -> None:
    service = make_service(model_template, calls)
    result = service.translate("Привет, как у тебя сегодня дела?", "auto", "en")
    assert result["ok"] and result["src"] == "ru" and result.get("detected") is True
    same = service.translate("Привет, как у тебя сегодня дела?", "auto", "ru")
    assert same == {
        "ok": False,
        "error": "same_language",
        "src": "ru",
        "tgt": "ru",
        "detail": "ru",
    }


def test_cache_hits_skip_the_model(
    model_template: str, calls: CallLog, cache: TranslationCache
) -> None:
    service = make_service(model_template, calls, cache)
    first = service.translate("Hello, world. Good morning!", "en", "ru")
    assert len(calls.calls) == 1
    again = service.translate("Hello, world. Good morning!", "en", "ru")
    assert again == first and len(calls.calls) == 1
    # A new sentence beside a cached one: only the new one reaches the model.
    service.translate("Good morning! Brand new words.", "en", "ru")
    assert calls.calls[-1][1] == ["Brand new words."]


def test_out_of_memory_splits_the_batch(model_template: str) -> None:
    # The real model, made to run out of memory on batches over 2 (as a GPU would).
    calls: list[int] = []

    def loader(model_id: str, options: EngineOptions) -> Translator:
        real = load_translator(model_id, options)

        class Tight:
            def translate_batch(self, texts: list[str], src: str, tgt: str) -> list[str]:
                calls.append(len(texts))
                if len(texts) > 2:
                    raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
                return real.translate_batch(texts, src, tgt)

        return Tight()

    registry = ModelRegistry(
        model_template, EngineOptions(device="cpu", num_beams=1), loader=loader
    )
    service = TranslationService(registry, max_chars=5000)
    texts = [f"Hello number {i}" for i in range(5)]
    results = service.translate_many([Job(t, "en", "ru") for t in texts])
    assert [r["text"] for r in results if r["ok"]] == reference(model_template, texts, num_beams=1)
    assert calls == [5, 2, 3, 1, 2]  # halved until each part fits


def test_other_model_errors_are_not_retried(model_template: str) -> None:
    def loader(model_id: str, options: EngineOptions) -> Translator:
        class Broken:
            def translate_batch(self, texts: list[str], src: str, tgt: str) -> list[str]:
                raise RuntimeError("device-side assert triggered")

        return Broken()

    registry = ModelRegistry(
        model_template, EngineOptions(device="cpu", num_beams=1), loader=loader
    )
    with pytest.raises(RuntimeError, match="device-side"):
        TranslationService(registry).translate_many([Job("Hello there", "en", "ru")])
