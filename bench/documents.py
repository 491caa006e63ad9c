"""Document benchmark (not a test): a text document through the document path vs the raw
batched engine on the same sentences, and the worker's peak memory for 1 MB and 10 MB.

Builds a random-weight Marian model with the real opus-mt-en-ru sizes whose outputs have
a fixed, reduced length (as bench/engine.py), then:

1. raw: `translate_batch` on the document's sentences in batches of 64, in this process;
2. document path: a real redis-server and Celery worker (2 processes, 1 thread each, so the
   same 2 cores), the `tolmach.document` task on a `.txt` file read from disk (as with a
   local Bot API server): parse, chunks in parallel, rebuild;
3. the same for 1 MB and 10 MB files made of the timed text repeated: their sentences
   come from the translation cache, so these runs measure what grows with the file —
   parsing, chunk state, rebuilding — not the model. (On a slow CPU, time a smaller
   document with `--mb 0.1`: tokens/s does not depend on the size.)

Peak RSS is sampled every 0.1 s over the worker's processes.

    python bench/documents.py [--mb 1] [--engine ctranslate2] [--output-tokens 4]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import contextlib

import psutil
import redis

from bench.engine import sentences
from bench.redis_server import start_redis
from config import Settings
from tasks.celery_app import make_celery
from tasks.contract import DOCUMENT, QUEUE_DOCUMENTS, RESULT_KEY_PREFIX, prepare_id
from tasks.engine.base import EngineOptions
from tasks.engine.registry import load_translator
from tests.support.procs import Proc, python, wait_until
from tests.support.stack import process_env
from tests.support.tiny_model import OPUS_DIMS, build_tiny_marian

MB = 1024 * 1024
PER_LINE = 5  # sentences per line (a txt line is one segment)


def document_text(megabytes: float) -> tuple[str, list[str]]:
    """About `megabytes` of text in lines of five distinct sentences, and the sentences."""
    count = int(megabytes * MB / 78)
    found = sentences(count)
    lines = [" ".join(found[i : i + PER_LINE]) for i in range(0, count, PER_LINE)]
    return "\n".join(lines) + "\n", found


def raw_seconds(model_dir: Path, engine: str, texts: list[str], threads: int) -> float:
    """Seconds the raw engine takes on `texts`, batches of 64 in order."""
    options = EngineOptions(
        device="cpu", num_beams=1, threads=threads, engine=engine, cache_dir=str(model_dir.parent)
    )
    translator = load_translator(str(model_dir), options)
    translator.translate_batch(texts[:16], "en", "ru")  # warm-up
    started = time.perf_counter()
    for i in range(0, len(texts), 64):
        translator.translate_batch(texts[i : i + 64], "en", "ru")
    return time.perf_counter() - started


def token_count(model_dir: Path, texts: list[str]) -> int:
    """Source tokens of `texts` (the numerator of tokens/s for both paths)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    return sum(len(ids) for ids in tokenizer(texts)["input_ids"])


def run_document(
    url: str, path: Path, worker: psutil.Process, timeout: float
) -> tuple[float, float]:
    """(seconds, peak RSS in MB of the largest worker process) of one document."""
    producer = make_celery(Settings(redis_url=url), results=False)  # type: ignore[arg-type]
    client = redis.Redis.from_url(url)
    task_id = str(uuid.uuid4())
    request = {"file_path": str(path), "file_name": path.name, "src": "en", "tgt": "ru"}
    peak = 0.0
    started = time.perf_counter()
    producer.send_task(
        DOCUMENT, args=[task_id, request], task_id=prepare_id(task_id), queue=QUEUE_DOCUMENTS
    )
    while time.perf_counter() - started < timeout:
        raw = client.get(RESULT_KEY_PREFIX + task_id)
        meta = json.loads(raw) if raw else {}
        if meta.get("status") in ("SUCCESS", "FAILURE"):
            if meta["status"] != "SUCCESS" or not meta["result"].get("ok"):
                raise RuntimeError(f"document failed: {meta}")
            return time.perf_counter() - started, peak
        for proc in [worker, *worker.children(recursive=True)]:
            with contextlib.suppress(psutil.NoSuchProcess):
                peak = max(peak, proc.memory_info().rss / MB)
        time.sleep(0.1)
    raise TimeoutError("the document did not finish")


def main() -> None:
    """Run the benchmark and print the report."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mb", type=float, default=1.0, help="size of the timed document")
    parser.add_argument("--engine", default="ctranslate2", help="transformers or ctranslate2")
    parser.add_argument("--output-tokens", type=int, default=4)
    parser.add_argument("--chunk-chars", type=int, default=Settings().document_chunk_chars)
    parser.add_argument("--parallel", type=int, default=Settings().document_parallel)
    args = parser.parse_args()
    threads = os.cpu_count() or 1
    text, found = document_text(args.mb)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        model_dir = build_tiny_marian(
            root / "opus-mt-en-ru", max_length=args.output_tokens, dims=OPUS_DIMS
        )
        tokens = token_count(model_dir, found)
        raw = raw_seconds(model_dir, args.engine, found, threads)
        timed = root / "timed.txt"
        timed.write_text(text)
        server, url = start_redis(root)
        env = {
            **process_env(url, str(root / "opus-mt-{src}-{tgt}"), "http://127.0.0.1:9"),
            "PRELOAD_PAIRS": "en-ru",
            "ENGINE": args.engine,
            "MODEL_CACHE": str(root / "cache"),
            "NUM_BEAMS": "1",
            "TORCH_THREADS": "1",
            "DOCUMENT_MAX_CHARS": str(40 * MB),
            "DOCUMENT_MAX_BYTES": str(40 * MB),
            "TASK_SOFT_TIME_LIMIT": "600",
            "DOCUMENT_CHUNK_CHARS": str(args.chunk_chars),
            "DOCUMENT_PARALLEL": str(args.parallel),
        }
        command = ["-m", "celery", "-A", "tasks", "worker", "-c", str(threads)]
        worker = Proc("worker", python(*command, "--loglevel", "WARNING"), env, root).start()
        try:
            client = redis.Redis.from_url(url)
            wait_until(lambda: client.hlen("tolmach:model_loads") >= threads, 300, "models")
            assert worker.popen is not None
            process = psutil.Process(worker.popen.pid)
            doc_seconds, rss_timed = run_document(url, timed, process, 3600)
            rss = {}
            for size in (1, 10):
                path = root / f"doc{size}.txt"
                path.write_text(text * max(1, round(size / args.mb)))
                rss[size] = (path.stat().st_size / MB, run_document(url, path, process, 3600)[1])
        finally:
            worker.stop()
            server.stop()
    ratio = raw / doc_seconds
    print(
        f"Machine: {platform.machine()}, {threads} CPUs; Python {platform.python_version()}; "
        f"model: random weights, opus-mt-en-ru sizes, {args.engine}, greedy, "
        f"{args.output_tokens} output tokens; document: {len(text) / MB:.2f} MB .txt, "
        f"{len(found)} sentences, {tokens} source tokens."
    )
    print(
        f"raw batched engine (1 process, {threads} threads, batch 64): {tokens / raw:.0f} tokens/s"
    )
    print(
        f"document path (worker, {threads} processes x 1 thread, chunks of "
        f"{args.chunk_chars} chars, {args.parallel} at a time): "
        f"{tokens / doc_seconds:.0f} tokens/s = {ratio:.2f} x raw "
        f"(target >= 0.8: {'yes' if ratio >= 0.8 else 'NO'})"
    )
    print(f"peak worker process RSS: {rss_timed:.0f} MB (timed document, model work)")
    for size, (real, peak) in rss.items():
        print(f"peak worker process RSS, {size} MB document ({real:.1f} MB, cached): {peak:.0f} MB")


def _pings(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url).ping())
    except redis.ConnectionError:
        return False


if __name__ == "__main__":
    main()
