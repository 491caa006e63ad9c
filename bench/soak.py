"""Soak benchmark (not a test): mixed traffic near capacity for 20 minutes.

Starts the real stack — redis-server (append-only file on), 4 worker processes, the bot
and the tests' Bot API emulator, default settings, the tiny test model — measures the
chat capacity with a short burst, then sends chat messages at 60 % of it, inline
queries, and a document a minute. Prints, minute by minute, p50/p99 latency per kind
and the memory of every process; at the end requests, lost and duplicated per kind and
each process's growth after warm-up (the first minutes).

    python bench/soak.py [--minutes 20] [--workers 4]
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psutil

from tests.support.emulator import BotApiEmulator
from tests.support.procs import Proc, free_port, python, wait_until
from tests.support.stack import TOKEN, process_env, wait_healthy, wait_worker_ready, worker_proc
from tests.support.tiny_model import build_tiny_marian

WORDS = "good morning friends the weather is nice today and we talk about music".split()
WARMUP_MINUTES = 2
# Test-only knobs that process_env sets; the soak runs with the defaults instead.
NOT_DEFAULT = (
    "MAX_TEXT_CHARS",
    "DOCUMENT_MAX_BYTES",
    "DOCUMENT_MAX_CHARS",
    "DOCUMENT_CHUNK_CHARS",
)


def sentence(i: int) -> str:
    """A distinct sentence per request (no translation-cache hits)."""
    words = [WORDS[(i * 7 + k * 3) % len(WORDS)] for k in range(8)]
    return " ".join(words).capitalize() + f" {i}."


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100), 0 for no values."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))] if ordered else 0.0


@dataclass
class Traffic:
    """What was sent, by kind: key -> (minute, time sent)."""

    chat: dict[tuple[int, int], tuple[int, float]] = field(default_factory=dict)
    inline: dict[str, tuple[int, float]] = field(default_factory=dict)
    documents: dict[int, tuple[int, float]] = field(default_factory=dict)

    def answers(self, emu: BotApiEmulator) -> dict[str, dict[object, list[float]]]:
        """Answer times (time.time) per request, by kind."""
        chat: dict[object, list[float]] = {key: [] for key in self.chat}
        for chat_id in {c for c, _ in self.chat}:
            for message in emu.sent_to(chat_id):
                original = message.get("reply_to_message")
                key = (chat_id, int(original["message_id"])) if isinstance(original, dict) else None
                if key in chat and "document" not in message:
                    chat[key].append(float(message["sent_at"]))
        inline: dict[object, list[float]] = {q: [] for q in self.inline}
        offset = time.time() - time.monotonic()
        for _method, params in emu.calls("answerInlineQuery"):
            qid = str(params.get("inline_query_id"))
            if qid in inline:
                inline[qid].append(offset + emu.answer_times().get(qid, 0.0))
        docs: dict[object, list[float]] = {
            chat_id: [offset + float(d["at"]) for d in emu.documents_to(chat_id)]
            for chat_id in self.documents
        }
        return {"chat": chat, "inline": inline, "document": docs}

    def sent(self) -> dict[str, dict[object, tuple[int, float]]]:
        """Requests by kind."""
        return {
            "chat": dict(self.chat),
            "inline": dict(self.inline),
            "document": dict(self.documents),
        }


def rss_by_process(procs: dict[str, Proc]) -> dict[str, float]:
    """Resident memory (MB) of every process, worker children included."""
    out: dict[str, float] = {}
    for name, proc in procs.items():
        if proc.popen is None:
            continue
        try:
            main = psutil.Process(proc.popen.pid)
            out[name] = main.memory_info().rss / 2**20
            for n, child in enumerate(main.children(recursive=True)):
                out[f"{name}/child{n}"] = child.memory_info().rss / 2**20
        except psutil.NoSuchProcess:
            out[name] = 0.0
    return out


def capacity(emu: BotApiEmulator, users: itertools.count[int], n: int = 200) -> float:
    """Chat answers per second for a burst of `n` requests."""
    traffic = Traffic()
    start = time.time()
    for i in range(n):
        chat_id = next(users)
        traffic.chat[(chat_id, emu.push_message(chat_id, f"/tr en>ru {sentence(i)}"))] = (0, start)
    wait_until(lambda: all(traffic.answers(emu)["chat"].values()), 300, "the burst")
    last = max(t for times in traffic.answers(emu)["chat"].values() for t in times)
    return n / (last - start)


def report_minute(
    minute: int, traffic: Traffic, emu: BotApiEmulator, rss: dict[str, float]
) -> None:
    """p50/p99 per kind for the requests sent in `minute`, and memory now."""
    answers, sent = traffic.answers(emu), traffic.sent()
    parts = []
    for kind in ("chat", "inline", "document"):
        lat = [
            answers[kind][k][0] - t
            for k, (m, t) in sent[kind].items()
            if m == minute and answers[kind][k]
        ]
        asked = sum(1 for m, _ in sent[kind].values() if m == minute)
        parts.append(
            f"{kind} {len(lat)}/{asked} p50 {percentile(lat, 50):.2f} s "
            f"p99 {percentile(lat, 99):.2f} s"
        )
    total = sum(rss.values())
    print(f"| {minute + 1} | " + " | ".join(parts) + f" | {total:.0f} MB |", flush=True)


def main() -> None:
    """Run the soak and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=20)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--load", type=float, default=0.6, help="share of measured capacity")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        build_tiny_marian(root / "opus-mt-en-ru", seed=0)
        port = free_port()
        redis_args = [
            "redis-server",
            "--port",
            str(port),
            "--save",
            "",
            "--dir",
            tmp,
            "--appendonly",
            "yes",
        ]
        procs = {"redis": Proc("redis", redis_args, dict(os.environ), root).start()}
        url = f"redis://127.0.0.1:{port}/0"
        emu = BotApiEmulator(TOKEN)
        emu.start()
        env = process_env(url, str(root / "opus-mt-{src}-{tgt}"), emu.url)
        for name in NOT_DEFAULT:
            env.pop(name, None)
        env["PRELOAD_PAIRS"] = "en-ru"
        try:
            run(args, procs, emu, env, url, root)
        finally:
            for proc in reversed(list(procs.values())):
                proc.stop()
            emu.stop()


def run(
    args: argparse.Namespace,
    procs: dict[str, Proc],
    emu: BotApiEmulator,
    env: dict[str, str],
    url: str,
    root: Path,
) -> None:
    """Start workers and bot, calibrate, send the traffic, print the figures."""
    for n in range(args.workers):
        procs[f"worker{n}"] = worker_proc(f"worker{n}", env, root, concurrency=1).start()
    for n in range(args.workers):
        wait_worker_ready(url, procs[f"worker{n}"])
    metrics = free_port()
    procs["bot"] = Proc(
        "bot", python("-m", "bot"), {**env, "METRICS_PORT": str(metrics)}, root
    ).start()
    wait_healthy(procs["bot"], metrics)
    users = itertools.count(100_000)
    cap = capacity(emu, users)
    rate = cap * args.load
    print(
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}; {args.workers} workers (1 child each), tiny model"
    )
    print(f"chat capacity {cap:.1f}/s; soak at {rate:.1f} chat/s, 1 inline/s, 1 document/min")
    print("| minute | chat | inline | documents | RSS total |")
    print("| --- | --- | --- | --- | --- |")
    traffic, start = Traffic(), time.time()
    texts = itertools.count(10_000)
    chat_users = [next(users) for _ in range(3000)]  # far under per-user rate limits
    cycle = itertools.cycle(chat_users)
    rss_start: dict[str, float] = {}
    minute, sent_chat, sent_inline = 0, 0, 0
    doc_text = "\n".join(sentence(i) for i in range(40)).encode()
    while (elapsed := time.time() - start) < args.minutes * 60:
        now_minute = int(elapsed // 60)
        if now_minute != minute:
            report_minute(minute, traffic, emu, rss := rss_by_process(procs))
            if now_minute == WARMUP_MINUTES:
                rss_start = rss
            minute = now_minute
        if len(traffic.documents) <= minute:
            chat_id = next(users)
            emu.push_document(chat_id, f"soak{minute}.txt", doc_text, "en>ru")
            traffic.documents[chat_id] = (minute, time.time())
        while sent_chat < rate * elapsed:
            chat_id = next(cycle)
            message_id = emu.push_message(chat_id, f"/tr en>ru {sentence(next(texts))}")
            traffic.chat[(chat_id, message_id)] = (minute, time.time())
            sent_chat += 1
        while sent_inline < elapsed:
            query = emu.push_inline(next(users), f"en>ru {sentence(next(texts))}")
            traffic.inline[query] = (minute, time.time())
            sent_inline += 1
        time.sleep(0.02)
    report_minute(minute, traffic, emu, rss_by_process(procs))
    time.sleep(120)  # drain: everything accepted is answered by now, or lost
    summary(traffic, emu, rss_start or rss_by_process(procs), rss_by_process(procs))


def summary(
    traffic: Traffic, emu: BotApiEmulator, before: dict[str, float], after: dict[str, float]
) -> None:
    """Requests, lost, duplicated per kind; memory growth per process."""
    answers = traffic.answers(emu)
    print("\n| kind | requests | lost | duplicated | p50 (s) | p99 (s) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for kind, sent in traffic.sent().items():
        counts = Counter(len(answers[kind][key]) for key in sent)
        lat = [answers[kind][k][0] - t for k, (_, t) in sent.items() if answers[kind][k]]
        dup = sum(n - 1 for n in counts.elements() if n > 1)
        print(
            f"| {kind} | {len(sent)} | {counts[0]} | {dup} | {percentile(lat, 50):.2f} "
            f"| {percentile(lat, 99):.2f} |"
        )
    print("\n| process | RSS after warm-up (MB) | RSS at end (MB) | growth |")
    print("| --- | --- | --- | --- |")
    for name in sorted(after):
        was = before.get(name, 0.0)
        growth = f"{(after[name] / was - 1) * 100:+.1f} %" if was else "new"
        print(f"| {name} | {was:.0f} | {after[name]:.0f} | {growth} |")


if __name__ == "__main__":
    main()
