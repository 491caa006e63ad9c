"""Engine benchmark (not a test): raw `generate` vs the engine path, both engines.

Builds a random-weight Marian model with the real opus-mt-en-ru sizes (d_model 512,
6+6 layers, 8 heads, ffn 2048, vocab 62,518) whose outputs have a fixed length, then
prints, for each engine: one-request-one-call at batch 1, raw batched calls at the
best batch size, and the engine path (TranslationService: segmentation, length
sorting, token-budget batches) on N concurrent ~15-token requests; sentences/s and
the ratios the targets are stated in; and the RSS of a worker-like process.

    python bench/engine.py [--requests 256] [--engines transformers,ctranslate2]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tasks.engine.base import EngineOptions, Translator
from tasks.engine.registry import ModelRegistry, load_translator
from tasks.engine.service import Job, TranslationService
from tests.support.tiny_model import OPUS_DIMS, build_tiny_marian

WORDS = (
    "the quick brown fox jumps over lazy dog while people talk about weather news music "
    "travel work family friends city river mountain small big new old good"
).split()
OUTPUT_TOKENS = 16


def sentences(n: int, seed: int = 1) -> list[str]:
    """N distinct sentences of about 15 tokens."""
    rng = random.Random(seed)
    return [" ".join(rng.choices(WORDS, k=11)).capitalize() + f" {i}." for i in range(n)]


def rate(count: int, run: Callable[[], object]) -> float:
    """Sentences per second of one timed run (after the caller warmed up)."""
    started = time.perf_counter()
    run()
    return count / (time.perf_counter() - started)


def raw_rates(translator: Translator, texts: list[str]) -> tuple[float, float, int]:
    """(batch-1 rate, best batched rate, best batch size) of direct model calls."""
    translator.translate_batch(texts[:8], "en", "ru")  # warm-up
    one = texts[:24]
    single = rate(len(one), lambda: [translator.translate_batch([t], "en", "ru") for t in one])
    best, best_size = 0.0, 0
    for size in (16, 32, 64, 128, 256):
        batches = [texts[i : i + size] for i in range(0, len(texts), size)]
        got = rate(
            len(texts), lambda b=batches: [translator.translate_batch(x, "en", "ru") for x in b]
        )
        if got > best:
            best, best_size = got, size
    return single, best, best_size


def engine_rate(model_dir: Path, options: EngineOptions, texts: list[str]) -> float:
    """Sentences/s of the engine path on concurrent requests (no cache)."""
    registry = ModelRegistry(str(model_dir).replace("en-ru", "{src}-{tgt}"), options)
    service = TranslationService(registry, token_budget=8192)
    jobs = [Job(t, "en", "ru") for t in texts]
    service.translate_many(jobs[:8])  # warm-up and load
    results = []
    speed = rate(len(jobs), lambda: results.extend(service.translate_many(jobs)))
    assert all(r["ok"] for r in results)
    return speed


def worker_rss(model_dir: Path, engine: str, threads: int) -> float:
    """RSS (MB) of a fresh process that loaded the model and translated a batch."""
    code = (
        "import psutil, sys; from tasks.engine.base import EngineOptions;"
        "from tasks.engine.registry import load_translator;"
        f"t = load_translator({str(model_dir)!r}, EngineOptions(device='cpu', num_beams=1,"
        f" threads={threads}, engine={engine!r}, cache_dir={str(model_dir.parent)!r}));"
        f"t.translate_batch({sentences(64)!r}, 'en', 'ru');"
        "print(psutil.Process().memory_info().rss / 2**20)"
    )
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True
    )
    return float(out.stdout.strip().splitlines()[-1])


def bench_engine(engine: str, model_dir: Path, texts: list[str], threads: int) -> dict[str, float]:
    """All figures of one engine."""
    options = EngineOptions(
        device="cpu", num_beams=1, threads=threads, engine=engine, cache_dir=str(model_dir.parent)
    )
    translator = load_translator(str(model_dir), options)
    single, best, size = raw_rates(translator, texts)
    return {
        "batch1": single,
        "raw_best": best,
        "best_size": size,
        "engine": engine_rate(model_dir, options, texts),
        "rss_mb": worker_rss(model_dir, engine, threads),
    }


def report(results: dict[str, dict[str, float]], requests: int, threads: int) -> str:
    """A Markdown report with the targets."""
    lines = [
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"{threads} threads; Python {platform.python_version()}; model: random weights, "
        f"opus-mt-en-ru sizes, {OUTPUT_TOKENS} output tokens; {requests} requests of ~15 tokens.",
        "",
        "| engine | batch 1 (sent/s) | raw best batch (sent/s) | engine path (sent/s) "
        "| worker RSS (MB) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, r in results.items():
        lines.append(
            f"| {name} | {r['batch1']:.1f} | {r['raw_best']:.1f} (batch {int(r['best_size'])}) "
            f"| {r['engine']:.1f} | {r['rss_mb']:.0f} |"
        )
    lines += ["", "| target | measured | met |", "| --- | --- | --- |"]
    tf = results.get("transformers")
    for name, r in results.items():
        ratio = r["engine"] / r["raw_best"]
        lines.append(
            f"| {name}: engine path ≥ 0.8 × raw batched | {ratio:.2f} × | {_ok(ratio >= 0.8)} |"
        )
    if tf:
        ratio = tf["engine"] / tf["batch1"]
        lines.append(
            f"| transformers: engine path ≥ 8 × batch-1 | {ratio:.1f} × | {_ok(ratio >= 8)} |"
        )
        lines.append(
            f"| transformers RSS ≤ 1024 MB | {tf['rss_mb']:.0f} MB | {_ok(tf['rss_mb'] <= 1024)} |"
        )
    ct2 = results.get("ctranslate2")
    if tf and ct2:
        ratio = ct2["engine"] / tf["engine"]
        lines.append(
            f"| CTranslate2 int8 ≥ 3 × transformers fp32 | {ratio:.1f} × | {_ok(ratio >= 3)} |"
        )
        lines.append(
            f"| CTranslate2 RSS ≤ 500 MB | {ct2['rss_mb']:.0f} MB | {_ok(ct2['rss_mb'] <= 500)} |"
        )
    return "\n".join(lines)


def _ok(flag: bool) -> str:
    return "yes" if flag else "NO"


def main() -> None:
    """Run the benchmark and print the report (optionally as JSON too)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=256)
    parser.add_argument("--engines", default="transformers,ctranslate2")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--json", action="store_true", help="also print raw figures as JSON")
    args = parser.parse_args()
    texts = sentences(args.requests)
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = build_tiny_marian(
            Path(tmp) / "opus-mt-en-ru", max_length=OUTPUT_TOKENS, dims=OPUS_DIMS
        )
        results = {
            e: bench_engine(e, model_dir, texts, args.threads) for e in args.engines.split(",")
        }
    print(report(results, args.requests, args.threads))
    if args.json:
        print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
