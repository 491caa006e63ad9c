"""Inline-mode benchmark (not a test): latency from inline query to answer.

Starts the real stack on this machine — redis-server, one worker, the bot, and the
tests' Bot API emulator — then 20 users type a query each, one keystroke every
`--keystroke` ms (so most queries are superseded and debounced away). Prints p50/p95
from a query's arrival to its answerInlineQuery, for the queries that were
translated, and for the same queries repeated (served from the answer cache).

    python bench/inline.py [--users 20] [--opus]   # --opus: opus-mt-sized model
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import redis

from bench.redis_server import start_redis
from tests.support.emulator import BotApiEmulator
from tests.support.procs import Proc, python, wait_until
from tests.support.stack import TOKEN, process_env
from tests.support.tiny_model import OPUS_DIMS, build_tiny_marian

SENTENCES = [
    "Good morning, dear friends, how are you today?",
    "The meeting is moved to Thursday afternoon.",
    "Please send me the report before lunch.",
    "We will travel to the mountains next week.",
]


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100) of values."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def typist(
    emulator: BotApiEmulator, user: int, text: str, every: float, out: list[tuple[str, float]]
) -> None:
    """One user typing `en>ru <text>` keystroke by keystroke (after the pair)."""
    prefix = "en>ru "
    for end in range(4, len(text) + 1, 4):
        out.append((emulator.push_inline(user, prefix + text[:end]), time.monotonic()))
        time.sleep(every)
    if not text.endswith(out[-1][0]):
        out.append((emulator.push_inline(user, prefix + text), time.monotonic()))


def main() -> None:
    """Run the burst and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--keystroke", type=float, default=120, help="ms between keystrokes")
    parser.add_argument("--opus", action="store_true", help="opus-mt-sized model (slower)")
    parser.add_argument("--engine", default="transformers", help="transformers or ctranslate2")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        build_tiny_marian(root / "opus-mt-en-ru", dims=OPUS_DIMS if args.opus else None)
        server, url = start_redis(root)
        emulator = BotApiEmulator(TOKEN)
        emulator.start()
        env = {
            **process_env(url, str(root / "opus-mt-{src}-{tgt}"), emulator.url),
            "PRELOAD_PAIRS": "en-ru",
            "ENGINE": args.engine,
            "MODEL_CACHE": str(root / "cache"),
            "NUM_BEAMS": "1",
            "TORCH_THREADS": "0",
        }
        worker = Proc(
            "worker",
            python("-m", "celery", "-A", "tasks", "worker", "-c", "1", "--loglevel", "WARNING"),
            env,
            root,
        ).start()
        bot = Proc("bot", python("-m", "bot"), env, root).start()
        try:
            wait_until(
                lambda: bool(redis.Redis.from_url(url).hlen("tolmach:model_loads")),
                180,
                "the model",
            )
            wait_until(lambda: bool(emulator.calls("getUpdates")), 60, "the bot")
            # Warm-up: the first request pays for connections and first-call setup.
            emulator.wait_inline(emulator.push_inline(1, "en>ru Warm up the pipeline"), 60)
            fresh = burst(emulator, args.users, args.keystroke / 1000, SENTENCES)
            cached = burst(emulator, args.users, args.keystroke / 1000, SENTENCES, offset=10_000)
            single = quiet_repeats(emulator, SENTENCES)
        finally:
            for proc in (bot, worker, server):
                proc.stop()
            if os.environ.get("BENCH_LOGS"):
                import shutil

                for log in root.glob("*.log"):
                    shutil.copy(log, os.environ["BENCH_LOGS"])
            emulator.stop()
    answered = len(fresh)
    print(
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs; model: "
        f"{'opus-mt-en-ru sizes' if args.opus else 'tiny'} (random weights), {args.engine}, "
        "1 worker process; "
        f"{args.users} users typing, a keystroke every {args.keystroke:.0f} ms."
    )
    print(
        f"translated queries answered: {answered}; "
        f"p50 {percentile(fresh, 50) * 1000:.0f} ms, p95 {percentile(fresh, 95) * 1000:.0f} ms"
    )
    print(
        f"cached repeats during a burst: p50 {percentile(cached, 50) * 1000:.1f} ms, "
        f"p95 {percentile(cached, 95) * 1000:.1f} ms"
    )
    print(
        f"a cached repeat on a quiet bot: p50 {percentile(single, 50) * 1000:.1f} ms, "
        f"p95 {percentile(single, 95) * 1000:.1f} ms"
    )
    print(
        f"targets: p95 <= 1000 ms: {'yes' if percentile(fresh, 95) <= 1 else 'NO'}; "
        f"cached repeat p95 <= 20 ms: {'yes' if percentile(single, 95) <= 0.02 else 'NO'} "
        f"(during the burst: {'yes' if percentile(cached, 95) <= 0.02 else 'NO'})"
    )


def burst(
    emulator: BotApiEmulator, users: int, every: float, sentences: list[str], offset: int = 0
) -> list[float]:
    """Latencies (s) of the answered queries of one burst of typing."""
    pushed: list[list[tuple[str, float]]] = [[] for _ in range(users)]
    threads = [
        threading.Thread(
            target=typist,
            args=(emulator, 1000 + offset + u, sentences[u % len(sentences)], every, pushed[u]),
        )
        for u in range(users)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    finals = [queries[-1][0] for queries in pushed]
    for qid in finals:
        emulator.wait_inline(qid, timeout=120)
    answered_at = emulator.answer_times()
    return [
        answered_at[qid] - at for queries in pushed for qid, at in queries if qid in answered_at
    ]


def quiet_repeats(emulator: BotApiEmulator, sentences: list[str], rounds: int = 20) -> list[float]:
    """Latencies (s) of already-translated queries sent one at a time."""
    out = []
    for i in range(rounds):
        started = time.monotonic()
        emulator.wait_inline(
            emulator.push_inline(50_000 + i, "en>ru " + sentences[i % len(sentences)])
        )
        out.append(time.monotonic() - started)
    return out


if __name__ == "__main__":
    main()
