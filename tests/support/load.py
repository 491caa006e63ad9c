"""Load for the fault scenarios: requests pushed to the emulator, and the check that each
was answered exactly once with the right text."""

from __future__ import annotations

import contextlib
import statistics
import time
from collections import Counter
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field

from tests.support.emulator import BotApiEmulator
from tests.support.reference import engine_translations, reference

WORDS = "good morning friends the weather is nice today and we talk about music".split()


@dataclass
class Sent:
    """Requests pushed to the emulator: (chat, message id) -> (text, pushed at)."""

    requests: dict[tuple[int, int], tuple[str, float]] = field(default_factory=dict)

    def push(self, emulator: BotApiEmulator, chat_id: int, text: str) -> None:
        pushed = time.time()
        message_id = emulator.push_message(chat_id, f"/tr en>ru {text}")
        self.requests[(chat_id, message_id)] = (text, pushed)

    def replies(self, emulator: BotApiEmulator) -> dict[tuple[int, int], list[dict[str, object]]]:
        got: dict[tuple[int, int], list[dict[str, object]]] = {key: [] for key in self.requests}
        for chat_id in {chat for chat, _ in self.requests}:
            for message in emulator.sent_to(chat_id):
                original = message.get("reply_to_message")
                if isinstance(original, dict):
                    got.setdefault((chat_id, int(original["message_id"])), []).append(message)
        return got

    def answered(self, emulator: BotApiEmulator) -> int:
        return sum(1 for replies in self.replies(emulator).values() if replies)

    def check(
        self,
        emulator: BotApiEmulator,
        template: str,
        scenario: str,
        segmented: bool = False,
        *,
        in_window: Collection[tuple[int, int]] = (),
    ) -> None:
        """Exactly one right answer per request; prints the scenario's figures.

        `segmented`: texts of several sentences, each translated on its own (as the engine
        does) rather than the whole text in one model call. `in_window`: requests whose
        answer Telegram took while a killed bot had not marked it answered yet (README,
        "Not covered"): each may come a second time, the same.
        """
        texts = sorted({text for text, _ in self.requests.values()})
        with _one_thread():
            translations = (
                engine_translations(template, texts) if segmented else reference(template, texts)
            )
        expected = dict(zip(texts, translations, strict=True))
        replies = self.replies(emulator)
        counts = Counter(len(replies[key]) for key in self.requests)
        latencies = sorted(
            float(str(replies[key][0]["sent_at"])) - pushed
            for key, (_, pushed) in self.requests.items()
            if replies[key]
        )
        p50 = statistics.median(latencies) if latencies else 0.0
        p95 = latencies[int(0.95 * (len(latencies) - 1))] if latencies else 0.0
        print(
            f"\n[figures] {scenario}: requests {len(self.requests)}, lost {counts[0]}, "
            f"duplicated {sum(n - 1 for n in counts.elements() if n > 1)} "
            f"({len(in_window)} answers in a kill's window), "
            f"latency p50 {p50:.2f} s, p95 {p95:.2f} s"
        )
        wrong = [
            (key, replies[key][0]["text"])
            for key, (text, _) in self.requests.items()
            if replies[key] and replies[key][0]["text"] != expected[text]
        ]
        twice = {
            key: [m["text"] for m in replies[key]] for key in self.requests if len(replies[key]) > 1
        }
        allowed = {key: texts for key, texts in twice.items() if key in in_window}
        assert all(len(set(texts)) == 1 and len(texts) == 2 for texts in allowed.values())
        counts[1] += len(allowed)
        counts[2] -= len(allowed)
        counts += Counter()  # drops the zero count
        assert set(counts) == {1}, (counts, twice)
        assert wrong == []


@contextlib.contextmanager
def _one_thread() -> Iterator[None]:
    """Reference translations on one thread, as the workers run (TORCH_THREADS=1): a
    tiny model's calls on two spinning threads take many times longer on two cores."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def sentence(i: int, length: int = 6) -> str:
    words = [WORDS[(i * 7 + k * 3) % len(WORDS)] for k in range(length)]
    return " ".join(words).capitalize() + f" {i}."
