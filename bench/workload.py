"""What bench/api.py and bench/bot.py translate, and the raw engine they are held against.

The model is a random-weight Marian with the real opus-mt-en-ru sizes whose outputs have
a fixed length (17 tokens); the sentences are distinct and of one length (15 tokens of
the model's tokenizer, end of sentence included). The raw engine is the same model loaded
in the benchmark's own process with every core, the engine the deployment would pick,
and the deployment's beam size: what the machine can do with no queue, HTTP or bot.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from config import Settings
from tasks.engine.base import EngineOptions, Translator, pick_device
from tasks.engine.choice import engine_for
from tasks.engine.registry import load_translator
from tasks.engine.tokens import load_codec
from tests.support.tiny_model import OPUS_DIMS, build_tiny_marian

# generate's max_length counts the decoder start token and the forced </s>.
MAX_LENGTH = 19
OUTPUT_TOKENS = MAX_LENGTH - 2
NUM_BEAMS: int = Settings.model_fields["num_beams"].default
DEFAULT_ENGINE: str = Settings.model_fields["engine"].default
DEFAULT_DEVICE: str = Settings.model_fields["device"].default
SRC, TGT = "en", "ru"
# The raw limit is the best of these. CTranslate2 splits a call into one batch per core
# (tasks/engine/ctranslate2.py), so on 2 cores 128 is 64 per core, as the worker's two
# children each run up to BATCH_MAX_REQUESTS (64).
RAW_BATCHES = (32, 64, 128)
# Issue 25 defines the raw limit as the engine at batch 32 or 64; 128 (64 per core, what
# the worker's two children run at most) is measured too and reported beside it.
LIMIT_BATCHES = (32, 64)


def build_model(root: Path) -> Path:
    """The opus-mt-en-ru-sized model, written to `root/opus-mt-en-ru`."""
    return build_tiny_marian(root / f"opus-mt-{SRC}-{TGT}", max_length=MAX_LENGTH, dims=OPUS_DIMS)


def sentences(count: int, offset: int = 0) -> list[str]:
    """Distinct sentences (no two share a cache entry): 15 tokens each with this model's
    near character-level tokenizer, whatever the number (it is zero-padded)."""
    return [f"Good day {i:06d}!" for i in range(offset, offset + count)]


def mean_tokens(model_dir: Path, texts: list[str]) -> float:
    """Mean source tokens of `texts` as the engines see them (</s> included)."""
    encoded = load_codec(model_dir).encode(texts, None, 512)
    return statistics.fmean(len(tokens) for tokens in encoded)


def engine_name(model_dir: Path, engine: str | None) -> str:
    """The engine the worker runs this model on: `--engine`, else the default's choice."""
    return engine_for(str(model_dir), engine or DEFAULT_ENGINE)


def device_name(device: str | None) -> str:
    """DEVICE resolved as the engines resolve it (the default: auto)."""
    return pick_device(device or DEFAULT_DEVICE)


def machine() -> str:
    """CPU model and cores, Python."""
    model = platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.partition(":")[2].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores; Python {platform.python_version()}"


def load_raw(model_dir: Path, root: Path, engine: str, device: str | None) -> Translator:
    """The model in this process on every core, warmed up (CT2 also converts it, into
    `root`, where the worker's MODEL_CACHE finds the copy)."""
    options = EngineOptions(
        device=device or DEFAULT_DEVICE,
        num_beams=NUM_BEAMS,
        threads=os.cpu_count() or 1,
        engine=engine,
        cache_dir=str(root),
    )
    translator = load_translator(str(model_dir), options)
    warm = sentences(16, offset=900_000)
    translator.translate_batch(warm, SRC, TGT)
    for text in warm[:3]:
        translator.translate_batch([text], SRC, TGT)
    return translator


@dataclass(frozen=True)
class RawRun:
    """One timed raw run: sentences, wall seconds and CPU seconds of this process."""

    batch: int
    count: int
    seconds: float
    cpu: float

    @property
    def rate(self) -> float:
        return self.count / self.seconds

    @property
    def cpu_per_sentence(self) -> float:
        return self.cpu / self.count


def raw_batched(translator: Translator, texts: list[str], batch: int) -> RawRun:
    """`translate_batch` on `texts` in batches of `batch`, in order."""
    cpu, started = time.process_time(), time.perf_counter()
    for i in range(0, len(texts), batch):
        chunk = texts[i : i + batch]
        assert len(translator.translate_batch(chunk, SRC, TGT)) == len(chunk)
    return RawRun(batch, len(texts), time.perf_counter() - started, time.process_time() - cpu)


def raw_single(translator: Translator, texts: list[str]) -> list[float]:
    """Seconds of each batch-1 call, one text at a time."""
    out = []
    for text in texts:
        started = time.perf_counter()
        translator.translate_batch([text], SRC, TGT)
        out.append(time.perf_counter() - started)
    return out


@dataclass
class RawFigures:
    """The raw engine's runs: batched ones by batch size, and batch-1 seconds; the
    raw limit is the better of LIMIT_BATCHES' rates over all their runs."""

    runs: dict[int, list[RawRun]]
    single: list[float]

    def measure(self, translator: Translator, texts: list[str], singles: int) -> None:
        """Batched runs of `texts` at each batch size, then `singles` batch-1 calls."""
        for batch in RAW_BATCHES:
            self.runs.setdefault(batch, []).append(raw_batched(translator, texts, batch))
        self.single += raw_single(translator, texts[:singles])

    def rate(self, batch: int) -> float:
        runs = self.runs[batch]
        return sum(r.count for r in runs) / sum(r.seconds for r in runs)

    def cpu_per_sentence(self, batch: int) -> float:
        runs = self.runs[batch]
        return sum(r.cpu for r in runs) / sum(r.count for r in runs)

    @property
    def best(self) -> int:
        """The fastest batch size measured."""
        return max(RAW_BATCHES, key=self.rate)

    @property
    def limit_batch(self) -> int:
        """The batch size of the raw limit: the faster of LIMIT_BATCHES."""
        return max(LIMIT_BATCHES, key=self.rate)


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100), nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]
