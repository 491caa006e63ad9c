"""ENGINE=auto, the default: CTranslate2 for the models it converts, converted once and
cached; transformers for the rest. And how an engine's threads are laid out."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest

from config import Settings
from tasks.engine.base import EngineOptions
from tasks.engine.choice import engine_for, model_type
from tasks.engine.ctranslate2 import CTranslate2Translator, layout
from tasks.engine.registry import ModelRegistry, load_translator
from tasks.errors import ModelUnavailable
from tasks.worker.startup import engine_threads, host_cores
from tests.support.conversions import count_conversions
from tests.support.procs import Proc
from tests.support.tiny_model import build_tiny_marian, reference_translate

TEXTS = ["Hello, world", "How are you today?", "Good morning, dear friends!"]


@pytest.fixture(scope="module")
def marian(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_marian(tmp_path_factory.mktemp("auto") / "opus-mt-en-ru", seed=3)


def with_type(source: Path, folder: Path, kind: str) -> Path:
    """A copy of a model folder whose config.json names another model type."""
    shutil.copytree(source, folder)
    config = json.loads((folder / "config.json").read_text("utf-8"))
    (folder / "config.json").write_text(json.dumps({**config, "model_type": kind}), "utf-8")
    return folder


def test_auto_is_the_default() -> None:
    assert Settings().engine == "auto"
    assert EngineOptions().engine == "auto"


def test_auto_picks_by_model_type(marian: Path, tmp_path: Path) -> None:
    assert model_type(str(marian)) == "marian"
    assert engine_for(str(marian), "auto") == "ctranslate2"
    assert engine_for(str(with_type(marian, tmp_path / "nllb", "m2m_100")), "auto") == "ctranslate2"
    assert engine_for(str(with_type(marian, tmp_path / "t5", "t5")), "auto") == "transformers"
    # An explicit engine is kept whatever the model.
    assert engine_for(str(marian), "transformers") == "transformers"
    assert engine_for(str(tmp_path / "t5"), "ctranslate2") == "ctranslate2"
    # No readable config: transformers, whose own load then says what is wrong.
    (tmp_path / "empty").mkdir()
    assert engine_for(str(tmp_path / "empty"), "auto") == "transformers"


def test_auto_converts_once_and_says_so(
    marian: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    conversions = count_conversions(monkeypatch)
    options = EngineOptions("cpu", num_beams=2, cache_dir=str(tmp_path))
    with caplog.at_level(logging.INFO):
        first = load_translator(str(marian), options)
        second = load_translator(str(marian), options)
    assert isinstance(first, CTranslate2Translator) and isinstance(second, CTranslate2Translator)
    assert len(conversions) == 1
    [copy] = (tmp_path / "ct2").iterdir()
    assert copy.name.endswith("-int8")  # CTranslate2's fast CPU path
    assert caplog.text.count(f"ENGINE=auto: {str(marian)!r} runs on CTranslate2") == 2
    # The same outputs as CTranslate2 itself gives on its own int8 conversion, greedy
    # and beam search.
    assert second.translate_batch(TEXTS, "en", "ru") == reference_translate(marian, TEXTS, 2)
    greedy = load_translator(
        str(marian), EngineOptions("cpu", num_beams=1, cache_dir=str(tmp_path))
    )
    assert greedy.translate_batch(TEXTS, "en", "ru") == reference_translate(marian, TEXTS, 1)
    assert len(conversions) == 1


def test_auto_m2m100_runs_on_ctranslate2(m2m_model: str, tmp_path: Path) -> None:
    translator = load_translator(m2m_model, EngineOptions("cpu", cache_dir=str(tmp_path)))
    assert isinstance(translator, CTranslate2Translator)
    assert all(translator.translate_batch(["Hello, world"], "en", "de"))


def test_auto_broken_model_is_unavailable(marian: Path, tmp_path: Path) -> None:
    # CTranslate2 cannot convert it, nor can transformers load it: one clear error.
    broken = tmp_path / "broken"
    shutil.copytree(marian, broken)
    (broken / "model.safetensors").write_bytes(b"not weights")
    registry = ModelRegistry(str(broken), EngineOptions("cpu", cache_dir=str(tmp_path / "c")))
    with pytest.raises(ModelUnavailable):
        registry.model(str(broken))


def test_threads_become_parallel_batches_on_a_cpu() -> None:
    assert layout(0, "cpu") == (host_cores(), 1)
    assert layout(3, "cpu") == (3, 1)
    assert layout(4, "cuda") == (1, 4)  # one batch at a time on a GPU
    assert engine_threads(Settings(), 2) == max(1, host_cores() // 2)
    assert engine_threads(Settings(torch_threads=3), 2) == 3


def test_parallel_batches_give_the_same_outputs(marian: Path, tmp_path: Path) -> None:
    texts = [f"{text} {i}" for i in range(7) for text in TEXTS]
    one = CTranslate2Translator.load(
        str(marian), EngineOptions("cpu", threads=1, cache_dir=str(tmp_path))
    )
    three = CTranslate2Translator.load(
        str(marian), EngineOptions("cpu", threads=3, cache_dir=str(tmp_path))
    )
    assert three.parallel == 3
    assert three.translate_batch(texts, "en", "ru") == one.translate_batch(texts, "en", "ru")


@pytest.mark.e2e
def test_default_worker_runs_opus_mt_on_ctranslate2(worker: Proc) -> None:
    # The session's worker runs at the defaults: its models went to CTranslate2.
    log = worker.log.read_text(errors="replace")
    assert "ENGINE=auto:" in log and "runs on CTranslate2" in log, log[-3000:]
    assert "runs on transformers" not in log
