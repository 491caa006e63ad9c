"""The model registry loads each pair once per process, through the users' code path."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from tasks.engine import EngineOptions, TransformersTranslator, translate_lines
from tasks.errors import UnsupportedPair
from tasks.registry import ModelRegistry
from tests.tiny_model import reference_translate


def make_registry(template: str, loads: list[str]) -> ModelRegistry:
    return ModelRegistry(
        template,
        EngineOptions(device="cpu", num_beams=1),
        on_load=lambda model_id, seconds: loads.append(model_id),
    )


def test_concurrent_requests_load_once(model_template: str) -> None:
    loads: list[str] = []
    registry = make_registry(model_template, loads)
    got: list[object] = []
    threads = [
        threading.Thread(target=lambda: got.append(registry.get("en", "ru"))) for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(loads) == 1 and len({id(t) for t in got}) == 1
    assert isinstance(got[0], TransformersTranslator)


def test_translations_match_plain_transformers(model_template: str) -> None:
    registry = make_registry(model_template, [])
    texts = ["Hello, world", "Good morning, dear friends!"]
    out = registry.get("en", "ru").translate_batch(texts)
    assert out == reference_translate(Path(model_template.format(src="en", tgt="ru")), texts, 1)
    assert len(set(out)) == 2


def test_lines_and_blank_lines_are_kept(model_template: str) -> None:
    translator = make_registry(model_template, []).get("en", "ru")
    text = "Hello, world\n\n  Good morning\n"
    hello, morning = translator.translate_batch(["Hello, world", "Good morning"])
    assert translate_lines(translator, text) == f"{hello}\n\n  {morning}\n"


def test_missing_local_model_is_unsupported(model_template: str) -> None:
    with pytest.raises(UnsupportedPair):
        make_registry(model_template, []).get("en", "xx")
