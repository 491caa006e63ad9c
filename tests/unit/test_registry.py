"""The registry: pairs to routes, models loaded once per process, LRU, overrides, pivot."""

from __future__ import annotations

import threading

import pytest

from tasks.engine.base import EngineOptions
from tasks.engine.ctranslate2 import CTranslate2Translator
from tasks.engine.registry import ModelRegistry, Step
from tasks.errors import UnsupportedPair

OPTIONS = EngineOptions(device="cpu", num_beams=1)


def make_registry(template: str, loads: list[str], **kwargs: object) -> ModelRegistry:
    return ModelRegistry(
        template, OPTIONS, on_load=lambda model_id, seconds: loads.append(model_id), **kwargs
    )  # type: ignore[arg-type]


def path(template: str, src: str, tgt: str) -> str:
    return template.format(src=src, tgt=tgt)


def test_concurrent_requests_load_once(model_template: str) -> None:
    loads: list[str] = []
    registry = make_registry(model_template, loads)
    en_ru = path(model_template, "en", "ru")
    got: list[object] = []
    threads = [threading.Thread(target=lambda: got.append(registry.model(en_ru))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert loads == [path(model_template, "en", "ru")]
    # ENGINE=auto, the default: a Marian model runs on CTranslate2.
    assert len({id(t) for t in got}) == 1 and isinstance(got[0], CTranslate2Translator)


def test_least_recently_used_model_is_unloaded(model_template: str) -> None:
    loads: list[str] = []
    registry = make_registry(model_template, loads, max_loaded=1)
    en_ru, ru_en = path(model_template, "en", "ru"), path(model_template, "ru", "en")
    registry.model(en_ru)
    registry.model(ru_en)
    assert registry.model(ru_en) is registry.model(ru_en)  # held: not loaded again
    assert loads == [en_ru, ru_en]
    registry.model(en_ru)  # pushed out by ru-en: loaded again
    assert loads == [path(model_template, *p) for p in (("en", "ru"), ("ru", "en"), ("en", "ru"))]


def test_direct_route_and_pivot_through_english(model_template: str) -> None:
    registry = make_registry(model_template, [])
    assert registry.route("en", "ru") == (Step(path(model_template, "en", "ru"), "en", "ru"),)
    assert registry.route("de", "ru") == (
        Step(path(model_template, "de", "en"), "de", "en"),
        Step(path(model_template, "en", "ru"), "en", "ru"),
    )


def test_unsupported_pairs(model_template: str) -> None:
    registry = make_registry(model_template, [])
    for src, tgt in (("en", "xx"), ("ru", "de"), ("uk", "ru")):
        with pytest.raises(UnsupportedPair):
            registry.route(src, tgt)
    # Remembered: asking again does not look again.
    with pytest.raises(UnsupportedPair, match="remembered"):
        registry.route("en", "xx")


def test_overrides_exact_and_wildcard(model_template: str, m2m_model: str) -> None:
    registry = make_registry(
        model_template, [], overrides={"en-uk": path(model_template, "en", "ru"), "*": m2m_model}
    )
    assert registry.route("en", "uk") == (Step(path(model_template, "en", "ru"), "en", "uk"),)
    # No opus-mt folder for en-de: the multilingual wildcard serves it.
    assert registry.route("en", "de") == (Step(m2m_model, "en", "de"),)
    # The template still wins where its folder exists.
    assert registry.route("en", "ru")[0].model_id == path(model_template, "en", "ru")
    # A language the multilingual model lacks (uk as a source) pivots or fails cleanly.
    with pytest.raises(UnsupportedPair):
        registry.route("uk", "de")


def test_multilingual_model_uses_language_tokens(m2m_model: str) -> None:
    translator = make_registry("/nonexistent/{src}-{tgt}", [], overrides={"*": m2m_model}).model(
        m2m_model
    )
    to_ru = translator.translate_batch(["Hello, world"], "en", "ru")
    to_de = translator.translate_batch(["Hello, world"], "en", "de")
    assert to_ru != to_de and all(to_ru + to_de)
    assert not any("__" in t for t in to_ru + to_de)
