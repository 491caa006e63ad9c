"""The CTranslate2 engine: same outputs as transformers, converted once, race-safe cache."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

import tasks.engine.ctranslate2
from tasks.engine.base import EngineOptions
from tasks.engine.ctranslate2 import CTranslate2Translator, decoding_limits
from tasks.engine.transformers import TransformersTranslator
from tasks.errors import ModelUnavailable, UnsupportedPair
from tests.support.conversions import count_conversions
from tests.support.procs import ROOT
from tests.support.tiny_model import build_tiny_m2m100, build_tiny_marian, reference_translate

TEXTS = [
    "Hello, world",
    "How are you today?",
    "The quick brown fox jumps over the lazy dog.",
    "Привет, мир",
    "Good morning, dear friends!",
]


@pytest.fixture(scope="module")
def marian(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_marian(tmp_path_factory.mktemp("marian") / "opus-mt-en-ru", seed=0)


def options(cache: Path, **changes: Any) -> EngineOptions:
    base = EngineOptions("cpu", num_beams=1, threads=1, engine="ctranslate2", cache_dir=str(cache))
    return replace(base, **changes)


def converted_folders(cache: Path) -> list[Path]:
    return sorted((cache / "ct2").iterdir())


@pytest.mark.parametrize("num_beams", [1, 2])
def test_float32_matches_transformers(marian: Path, tmp_path: Path, num_beams: int) -> None:
    # float32 CPU kernels agree with torch closely enough that a random model's
    # argmax never flips on these inputs; decoding lengths must match exactly.
    opts = options(tmp_path, compute_type="float32", num_beams=num_beams)
    translator = CTranslate2Translator.load(str(marian), opts)
    got = translator.translate_batch(TEXTS, "en", "ru")
    assert got == reference_translate(marian, TEXTS, num_beams, engine="transformers")
    assert translator.translate_batch([], "en", "ru") == []


def test_int8_is_the_cpu_default(marian: Path, tmp_path: Path) -> None:
    translator = CTranslate2Translator.load(str(marian), options(tmp_path))
    got = translator.translate_batch(TEXTS, "en", "ru")
    # Not all non-empty: int8 moves this random model's argmax, sometimes onto "▁"
    # pieces that decode to "" (the tiny model bans only </s>, <unk> and <pad>).
    assert len(got) == len(TEXTS) and all(isinstance(text, str) for text in got) and any(got)
    CTranslate2Translator.load(str(marian), options(tmp_path, compute_type="float32"))
    int8, float32 = (next((tmp_path / "ct2").glob(f"*-{t}")) for t in ("int8", "float32"))
    # Quantized at conversion, so the cached weights are small (less than 4x here:
    # this tiny model is mostly biases, norms and position tables, kept in float).
    size = (int8 / "model.bin").stat().st_size
    assert size < 0.7 * (float32 / "model.bin").stat().st_size


def test_converts_once(marian: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    conversions = count_conversions(monkeypatch)
    first = CTranslate2Translator.load(str(marian), options(tmp_path))
    [folder] = converted_folders(tmp_path)
    stamp = (folder / "model.bin").stat().st_mtime_ns
    second = CTranslate2Translator.load(str(marian), options(tmp_path))
    assert len(conversions) == 1
    assert converted_folders(tmp_path) == [folder]
    assert (folder / "model.bin").stat().st_mtime_ns == stamp
    assert (folder / "tokenizer_config.json").is_file()  # the cache is self-contained
    assert second.translate_batch(TEXTS, "en", "ru") == first.translate_batch(TEXTS, "en", "ru")


def test_changed_local_model_converts_again(tmp_path: Path) -> None:
    model = build_tiny_marian(tmp_path / "model", seed=0)
    CTranslate2Translator.load(str(model), options(tmp_path / "cache"))
    build_tiny_marian(model, seed=1)
    CTranslate2Translator.load(str(model), options(tmp_path / "cache"))
    assert len(converted_folders(tmp_path / "cache")) == 2


def test_concurrent_thread_loads(
    marian: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    conversions = count_conversions(monkeypatch)
    got: list[list[str]] = []
    errors: list[BaseException] = []

    def load() -> None:
        try:
            translator = CTranslate2Translator.load(str(marian), options(tmp_path))
            got.append(translator.translate_batch(TEXTS, "en", "ru"))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=load) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and len(got) == 4 and all(g == got[0] for g in got)
    assert len(conversions) == 1  # the others waited and reused it
    assert len(list((tmp_path / "ct2").iterdir())) == 1  # no scratch folders left


def test_concurrent_process_loads(marian: Path, tmp_path: Path) -> None:
    code = (
        "import logging, sys; logging.basicConfig(level=logging.INFO);"
        "from tasks.engine.ctranslate2 import CTranslate2Translator as T;"
        "from tasks.engine.base import EngineOptions as O;"
        "t = T.load(sys.argv[1], O(device='cpu', num_beams=1, cache_dir=sys.argv[2]));"
        "print(t.translate_batch(['Hello, world'], 'en', 'ru')[0])"
    )
    args = [sys.executable, "-c", code, str(marian), str(tmp_path)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}  # two processes share the CPUs
    procs = [
        subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outputs, logs = zip(*(proc.communicate(timeout=120) for proc in procs), strict=True)
    assert [proc.returncode for proc in procs] == [0, 0]
    assert outputs[0] == outputs[1] and outputs[0].strip()
    # One converted, the other waited for its copy (a worker's children start together).
    assert sum(log.count("to CTranslate2") for log in logs) == 1, logs
    folders = [p for p in (tmp_path / "ct2").iterdir() if p.is_dir()]
    assert len(folders) == 1  # no scratch folders left


def test_target_appearing_meanwhile_is_used(
    marian: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = tasks.engine.ctranslate2.convert
    winner: list[int] = []

    def late(model_id: str, folder: Path, quantization: str) -> None:
        real(model_id, folder, quantization)
        # Another process finishes first, while this one is still converting.
        target = folder.parent / tasks.engine.ctranslate2.cache_name(model_id, quantization)
        real(model_id, target, quantization)
        winner.append((target / "model.bin").stat().st_ino)

    monkeypatch.setattr(tasks.engine.ctranslate2, "convert", late)
    translator = CTranslate2Translator.load(str(marian), options(tmp_path))
    [folder] = converted_folders(tmp_path)
    assert (folder / "model.bin").stat().st_ino == winner[0]
    assert translator.translate_batch(["Hello, world"], "en", "ru")[0]


def test_missing_local_folder_is_unsupported(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedPair):
        CTranslate2Translator.load(str(tmp_path / "opus-mt-xx-yy"), options(tmp_path))


def test_broken_model_is_unavailable(tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text('{"model_type": "marian"}', encoding="utf-8")
    with pytest.raises(ModelUnavailable):
        CTranslate2Translator.load(str(broken), options(tmp_path / "cache"))
    assert [p for p in (tmp_path / "cache" / "ct2").iterdir()] == []


def test_multilingual_matches_transformers(tmp_path: Path) -> None:
    model = str(build_tiny_m2m100(tmp_path / "m2m", seed=0))
    ct2 = CTranslate2Translator.load(model, options(tmp_path, compute_type="float32"))
    torch = TransformersTranslator.load(model, EngineOptions(device="cpu", num_beams=1))
    for src, tgt in [("en", "ru"), ("ru", "de")]:
        # This random model emits fairseq's padding "madeupword" ids, which transformers
        # decodes as a literal "<unk>" and CTranslate2 as unk (skipped); trained models
        # never emit them.
        expected = [t.replace("<unk>", "") for t in torch.translate_batch(TEXTS, src, tgt)]
        assert ct2.translate_batch(TEXTS, src, tgt) == expected
    with pytest.raises(UnsupportedPair):
        ct2.translate_batch(TEXTS, "en", "fr")


def test_decoding_limits_count_like_transformers() -> None:
    assert decoding_limits({"max_length": 16, "forced_eos_token_id": 0}) == (14, 0)
    assert decoding_limits({"max_length": 200, "min_length": 10}) == (199, 9)
    assert decoding_limits({"max_length": 16, "min_length": 16}) == (15, 15)
    assert decoding_limits({}) == (511, 0)


CODEC_TEXTS = [
    *TEXTS,
    "",
    "   spaces  around   ",
    ">>ru<< with a target code",
    "Unicode: ĉapelo, 東京, emoji 🙂, tabs\tand\nnew lines",
    "x" * 2000,
]


def test_marian_pieces_tokenize_like_transformers(marian: Path) -> None:
    from transformers import AutoTokenizer

    from tasks.engine.tokens import MarianPieces

    hf = AutoTokenizer.from_pretrained(marian)
    pieces = MarianPieces(marian)
    for text in CODEC_TEXTS:
        ids = hf.encode(text, truncation=True, max_length=512)
        assert pieces.encode([text], None, 512) == [hf.convert_ids_to_tokens(ids)], text
        # Decoding the source pieces back (same spm both sides in the tiny model).
        expected = hf.decode(ids, skip_special_tokens=True).strip()
        assert pieces.decode([hf.convert_ids_to_tokens(ids)]) == [expected], text


def test_marian_worker_never_imports_torch(marian: Path, tmp_path: Path) -> None:
    # torch costs ~200 MB of RSS; a CTranslate2 opus-mt worker has no use for it.
    CTranslate2Translator.load(str(marian), options(tmp_path))  # convert here
    code = (
        "import sys; from tasks.engine.ctranslate2 import CTranslate2Translator as T;"
        "from tasks.engine.base import EngineOptions as O;"
        "t = T.load(sys.argv[1], O(device='cpu', engine='ctranslate2', cache_dir=sys.argv[2]));"
        "t.translate_batch(['Hello, world'], 'en', 'ru');"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'transformers')))"
    )
    args = [sys.executable, "-c", code, str(marian), str(tmp_path)]
    out = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "[]"
