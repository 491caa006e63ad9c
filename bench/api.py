"""HTTP API benchmark (not a test): LibreTranslate's `POST /translate` vs the raw engine.

Builds a random-weight Marian model with the real opus-mt-en-ru sizes (as
bench/engine.py), then starts the real stack on this machine — redis-server, one Celery
worker process started as `tolmach run` starts it (Celery's default of a child per core,
TORCH_THREADS unset; `--children` and `--worker-threads` set them), and `python -m api`
on a free port — and measures:

1. throughput: N clients (connections opened first, then all sent together) each send
   one single-sentence `POST /translate` at once; sentences/s through the API vs the raw
   batched engine in this process (`translate_batch` on the same N sentences in batches
   of BATCH_MAX_REQUESTS); target: API >= 0.8 x raw. Several rounds (`--rounds`), each
   burst between two raw runs and compared with their mean; the median round counts
   (a shared machine's noise moves single runs by a third);
2. latency: one request at a time, after a warm-up; API p50 vs the p50 of a raw batch-1
   `translate_batch([sentence])` on the same sentences; target: API <= 1.3 x raw.

Every sentence is distinct and the worker runs with CACHE_TTL=0, so each request is
translated (the translation cache serves none); the API's rate limit is off. The raw
engine (the same model loaded in this process, same engine and device, one translator
with `--threads`, by default every core) is timed
next to the API so both see the same load on the machine: its batched run just before
and just after each burst, and each sequential request right after a raw batch-1 call of
the same sentence; the in-process model is idle while the API is timed.

    python bench/api.py [--engine transformers|ctranslate2] [--clients 256]
    DEVICE=cuda python bench/api.py        # DEVICE: cpu (default), cuda or auto
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import redis

from bench.redis_server import start_redis
from cli.launcher import worker_command
from config import Settings
from tasks.engine.base import EngineOptions, Translator, pick_device
from tasks.engine.registry import load_translator
from tasks.worker.metrics import MODEL_LOADS_KEY, STATS_KEY
from tests.conftest import process_env
from tests.procs import Proc, free_port, python
from tests.tiny_model import OPUS_DIMS, build_tiny_marian

OUTPUT_TOKENS = 16
BATCH = Settings.model_fields["batch_max_requests"].default  # the worker's default, 64
REQUEST_TIMEOUT = 300.0  # one HTTP request (the API itself answers within 120 s)


class BenchError(RuntimeError):
    """The stack failed; the message names what and ends with the process logs."""


def sentences(count: int, offset: int = 0) -> list[str]:
    """Distinct single sentences (no two share a cache entry)."""
    return [
        f"Sentence number {i} is about the weather today." for i in range(offset, offset + count)
    ]


@dataclass(frozen=True)
class Round:
    """One burst: API and raw sentences/s, and how the worker batched it."""

    api: float
    raw: float
    requests: int
    batches: int

    @property
    def ratio(self) -> float:
        return self.api / self.raw


def p50(values: list[float]) -> float:
    """The median."""
    return statistics.median(values)


# --- the raw engine, in this process ----------------------------------------------------


def load_raw(model_dir: Path, options: EngineOptions, warm: list[str]) -> Translator:
    """The model in this process, warmed up (for CT2 this also converts it)."""
    translator = load_translator(str(model_dir), options)
    translator.translate_batch(warm[:BATCH], "en", "ru")
    for text in warm[:3]:
        translator.translate_batch([text], "en", "ru")
    return translator


def raw_seconds(translator: Translator, texts: list[str]) -> float:
    """Seconds of `translate_batch` on `texts` in batches of BATCH, in order."""
    started = time.perf_counter()
    for i in range(0, len(texts), BATCH):
        out = translator.translate_batch(texts[i : i + BATCH], "en", "ru")
        assert len(out) == len(texts[i : i + BATCH])
    return time.perf_counter() - started


def raw_one(translator: Translator, text: str) -> float:
    """Seconds of one batch-1 call."""
    started = time.perf_counter()
    translator.translate_batch([text], "en", "ru")
    return time.perf_counter() - started


# --- the stack --------------------------------------------------------------------------


class Stack:
    """redis-server, one worker and the API, with a liveness check over all of them."""

    def __init__(self) -> None:
        self.procs: list[Proc] = []

    def add(self, proc: Proc) -> Proc:
        self.procs.append(proc)
        return proc

    def check(self) -> None:
        """Raise, with its log tail, if a process died."""
        for proc in self.procs:
            if not proc.alive():
                code = proc.popen.returncode if proc.popen else None
                raise BenchError(f"{proc.name} exited (code {code})")

    def wait(self, check: Callable[[], bool], timeout: float, what: str) -> None:
        """Poll `check` until true; fail if a process dies or `timeout` passes."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check()
            try:
                if check():
                    return
            except (OSError, redis.RedisError):
                pass
            time.sleep(0.1)
        raise BenchError(f"timed out after {timeout:.0f} s waiting for {what}")

    def logs(self, lines: int = 30) -> str:
        return "\n".join(
            f"--- {proc.name} log ({proc.log}), last {lines} lines ---\n{proc.tail(lines)}"
            for proc in self.procs
        )

    def stop(self) -> None:
        """Stop everything, the API first; never raises."""
        for proc in reversed(self.procs):
            try:
                proc.stop(timeout=15)
            except Exception as exc:  # keep stopping the others
                print(f"could not stop {proc.name}: {exc!r}", file=sys.stderr)


def post_translate(base: str, text: str) -> str:
    """One LibreTranslate call; the translation, or an error naming the answer."""
    body = json.dumps({"q": text, "source": "en", "target": "ru"}).encode()
    request = urllib.request.Request(
        base + "/translate", body, {"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT) as response:
            answer = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        raise BenchError(f"POST /translate: HTTP {exc.code}: {exc.read()[:300]!r}") from None
    translated = answer.get("translatedText")
    if not isinstance(translated, str) or not translated:
        raise BenchError(f"POST /translate: unexpected answer {answer!r}")
    return translated


def healthy(base: str) -> bool:
    with urllib.request.urlopen(base + "/health", timeout=5) as response:
        return bool(response.status == 200)


def api_burst(stack: Stack, base: str, texts: list[str]) -> float:
    """Sentences/s of len(texts) clients sending one request each, all at once.

    The clients are connections of one event loop, opened first and then sent all
    together: 256 client threads would take a share of the CPU the server needs.
    """
    return asyncio.run(_burst(stack, urllib.parse.urlsplit(base), texts))


async def _burst(stack: Stack, base: urllib.parse.SplitResult, texts: list[str]) -> float:
    host, port = base.hostname or "127.0.0.1", base.port or 80
    connections = await asyncio.gather(*(asyncio.open_connection(host, port) for _ in texts))
    started = time.perf_counter()
    clients = [
        asyncio.create_task(_exchange(reader, writer, host, text))
        for (reader, writer), text in zip(connections, texts, strict=True)
    ]
    try:
        pending = set(clients)
        deadline = time.monotonic() + REQUEST_TIMEOUT + 60
        while pending:
            if time.monotonic() > deadline:
                raise BenchError(f"{len(pending)} of {len(texts)} requests did not finish")
            stack.check()
            done, pending = await asyncio.wait(
                pending, timeout=1, return_when=asyncio.FIRST_EXCEPTION
            )
            for client in done:
                client.result()  # raises the client's error
        return len(texts) / (max(client.result() for client in clients) - started)
    finally:
        for client in clients:
            client.cancel()
        for _, writer in connections:
            writer.close()


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str, text: str
) -> float:
    """One LibreTranslate call over an open connection; when its answer was read."""
    body = json.dumps({"q": text, "source": "en", "target": "ru"}).encode()
    head = (
        f"POST /translate HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    writer.write(head.encode() + body)
    raw = await asyncio.wait_for(reader.read(), REQUEST_TIMEOUT)  # until the server closes
    finished = time.perf_counter()
    status_line, _, rest = raw.partition(b"\r\n")
    payload = rest.partition(b"\r\n\r\n")[2]
    if b" 200 " not in status_line + b" ":
        raise BenchError(f"POST /translate: {status_line!r}: {payload[:300]!r}")
    translated = json.loads(payload).get("translatedText")
    if not isinstance(translated, str) or not translated:
        raise BenchError(f"POST /translate: unexpected answer {payload[:300]!r}")
    return finished


def latencies(
    stack: Stack, base: str, translator: Translator, texts: list[str]
) -> tuple[float, float]:
    """(API p50, raw batch-1 p50) in seconds: for each text one raw call, then one
    request, one at a time, so both see the same load on the machine."""
    api, raw = [], []
    for text in texts:
        stack.check()
        raw.append(raw_one(translator, text))
        started = time.perf_counter()
        post_translate(base, text)
        api.append(time.perf_counter() - started)
    return p50(api), p50(raw)


def start_stack(
    stack: Stack,
    root: Path,
    template: str,
    engine: str,
    device: str,
    worker: WorkerLayout,
) -> tuple[str, str]:
    """Start redis, the worker and the API; wait until they serve; (API URL, Redis URL)."""
    server, url = start_redis(root)
    stack.add(server)
    port = free_port()
    env = {
        **process_env(url, template, "http://127.0.0.1:9"),
        "PRELOAD_PAIRS": "en-ru",
        "ENGINE": engine,
        "DEVICE": device,
        "MODEL_CACHE": str(root),  # the raw run already converted the model for CT2
        "NUM_BEAMS": "1",
        "BATCH_MAX_REQUESTS": str(BATCH),
        "CACHE_TTL": "0",  # every request translated, none served from the cache
        "API_RATE_PER_MINUTE": "0",  # N clients from one address: no rate limit
        "API_KEYS": "off",
        "API_HOST": "127.0.0.1",
        "API_PORT": str(port),
    }
    env.pop("BOT_TOKEN", None)  # the API needs no bot
    env.pop("TORCH_THREADS", None)  # process_env's test value; the worker's own default
    if worker.threads:
        env["TORCH_THREADS"] = str(worker.threads)
    # The worker as `tolmach run` starts it, unless --children says how many children.
    extra = ["-c", str(worker.children)] if worker.children else []
    stack.add(Proc("worker", worker_command(extra), env, root).start())
    client = redis.Redis.from_url(url)
    stack.wait(
        lambda: client.hlen(MODEL_LOADS_KEY) >= worker.expected_children,
        300,
        "every worker child's model",
    )
    stack.add(Proc("api", python("-m", "api"), env, root).start())
    base = f"http://127.0.0.1:{port}"
    stack.wait(lambda: healthy(base), 60, "the API to answer /health")
    return base, url


@dataclass(frozen=True)
class WorkerLayout:
    """How the worker runs: pool children (0: Celery's default, one per CPU) and
    TORCH_THREADS (0: not set, the worker's default)."""

    children: int = 0
    threads: int = 0

    @property
    def expected_children(self) -> int:
        return self.children or os.cpu_count() or 1

    def describe(self) -> str:
        children = self.children or f"{self.expected_children} (Celery's default)"
        threads = self.threads or "not set (the worker's default)"
        return f"1 worker process, {children} children, TORCH_THREADS {threads}"


def worker_stats(url: str) -> tuple[int, int]:
    """(requests, batches) the worker has translated so far."""
    stats = redis.Redis.from_url(url).hgetall(STATS_KEY)
    return int(stats.get(b"requests", 0)), int(stats.get(b"batches", 0))


def main() -> None:
    """Run the benchmark and print the figures and targets."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--engine", default="transformers", help="transformers or ctranslate2")
    parser.add_argument("--clients", type=int, default=256, help="concurrent requests")
    parser.add_argument("--rounds", type=int, default=3, help="bursts, each between raw runs")
    parser.add_argument("--latency-requests", type=int, default=30)
    parser.add_argument(
        "--threads", type=int, default=os.cpu_count() or 1, help="the raw engine's threads"
    )
    parser.add_argument(
        "--children", type=int, default=0, help="worker children (0: as `tolmach run` starts it)"
    )
    parser.add_argument(
        "--worker-threads", type=int, default=0, help="the worker's TORCH_THREADS (0: unset)"
    )
    args = parser.parse_args()
    worker = WorkerLayout(args.children, args.worker_threads)
    if args.engine not in ("transformers", "ctranslate2"):
        parser.error("--engine: transformers or ctranslate2")
    device = os.environ.get("DEVICE", "cpu")
    resolved = pick_device(device)
    single = sentences(args.latency_requests, offset=100_000)
    stack = Stack()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        model_dir = build_tiny_marian(
            root / "opus-mt-en-ru", max_length=OUTPUT_TOKENS, dims=OPUS_DIMS
        )
        options = EngineOptions(
            device=device,
            num_beams=1,
            threads=args.threads,
            engine=args.engine,
            cache_dir=str(root),
        )
        translator = load_raw(model_dir, options, sentences(BATCH, offset=400_000))
        try:
            base, url = start_stack(
                stack, root, str(root / "opus-mt-{src}-{tgt}"), args.engine, device, worker
            )
            # Warm-up: connections, first calls, and a small burst through the batcher.
            for text in sentences(3, offset=200_000):
                post_translate(base, text)
            api_burst(stack, base, sentences(min(args.clients, BATCH), offset=300_000))
            # Raw runs just before and just after each burst: the same load on the
            # machine (the model here is idle while the API runs).
            raw_rates = [args.clients / raw_seconds(translator, sentences(args.clients))]
            rounds = []
            for number in range(args.rounds):
                burst = sentences(args.clients, offset=(number + 1) * 1_000_000)
                before = worker_stats(url)
                api_rate = api_burst(stack, base, burst)
                requests, batches = (a - b for a, b in zip(worker_stats(url), before, strict=True))
                raw_rates.append(len(burst) / raw_seconds(translator, burst))
                raw_rate = (raw_rates[-2] + raw_rates[-1]) / 2
                rounds.append(Round(api_rate, raw_rate, requests, batches))
            api_p50, raw_p50 = latencies(stack, base, translator, single)
        except BaseException as exc:
            print(f"benchmark failed: {exc}\n{stack.logs()}", file=sys.stderr)
            raise
        finally:
            stack.stop()
    throughput = statistics.median(r.ratio for r in rounds)
    latency = api_p50 / raw_p50
    print(
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs; raw engine {args.threads} threads; "
        f"Python {platform.python_version()}; engine: {args.engine}; device: {resolved}"
        f" (DEVICE={device}); model: random weights, opus-mt-en-ru sizes, greedy, "
        f"{OUTPUT_TOKENS} output tokens; {worker.describe()}; CACHE_TTL=0."
    )
    for number, run in enumerate(rounds, 1):
        print(
            f"throughput, round {number}, {args.clients} clients x 1 sentence at once: API "
            f"{run.api:.1f} sent/s; raw batched engine (batches of {BATCH}) "
            f"{run.raw:.1f} sent/s; ratio {run.ratio:.2f} x; the worker ran it in "
            f"{run.batches} batches ({run.requests / max(run.batches, 1):.1f} requests each)"
        )
    print(f"throughput, median of {len(rounds)} rounds: ratio {throughput:.2f} x")
    print(
        f"latency, {args.latency_requests} sequential requests: API p50 "
        f"{api_p50 * 1000:.0f} ms; raw batch-1 p50 {raw_p50 * 1000:.0f} ms; "
        f"ratio {latency:.2f} x"
    )
    print(
        f"targets: throughput >= 0.8 x raw: {'met' if throughput >= 0.8 else 'missed'} "
        f"({throughput:.2f} x, the median round)"
    )
    print(
        f"targets: latency p50 <= 1.3 x raw: {'met' if latency <= 1.3 else 'missed'} "
        f"({latency:.2f} x)"
    )


if __name__ == "__main__":
    main()
