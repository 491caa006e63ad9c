"""A new user's first minute, end to end at default settings on a freshly started worker:
the first inline query, a busy answer that is not cached, a file with a command caption,
and plain text already in the user's language."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bot import texts
from tasks.worker.metrics import MODEL_LOADS_KEY, STATS_KEY
from tests.support.emulator import BotApiEmulator
from tests.support.procs import Proc, free_port, wait_until
from tests.support.reference import reference
from tests.support.stack import (
    TOKEN,
    RedisServer,
    process_env,
    start_bot,
    wait_worker_ready,
    worker_proc,
)

pytestmark = pytest.mark.e2e
DEADLINE = 8.0  # INLINE_DEADLINE's default
PAIRS = 3  # the test deployment's pairs (en-ru, ru-en, de-en): preloaded by default
ENGLISH = ["Hello, world", "How are you today?"]
RUSSIAN = "Привет, как у тебя сегодня дела?"
_chats = itertools.count(2100)


@dataclass
class Deployment:
    """A bot and (once started) a worker at default settings, on a database of its own."""

    server: RedisServer
    emulator: BotApiEmulator
    env: dict[str, str]
    logdir: Path
    db: int
    procs: list[Proc] = field(default_factory=list)
    worker: Proc | None = None

    def start_worker(self, name: str) -> float:
        """A fresh worker (no PRELOAD_PAIRS); returns when it answered a ping."""
        self.worker = worker_proc(name, self.env, self.logdir, concurrency=1).start()
        self.procs.append(self.worker)
        wait_worker_ready(self.server.url(self.db), self.worker)
        return time.monotonic()

    def wait_preloaded(self) -> None:
        client = self.server.client(self.db)
        wait_until(lambda: client.hlen(MODEL_LOADS_KEY) >= PAIRS, 120, "preloaded models")

    def cached_answers(self) -> int:
        return sum(1 for _ in self.server.client(self.db).scan_iter("tolmach:iq:cache:*"))

    def requests(self) -> int:
        return int(self.server.client(self.db).hget(STATS_KEY, "requests") or 0)


@pytest.fixture(scope="module")
def deployment(
    redis_server: RedisServer, model_template: str, logdir: Path, redis_db: int
) -> Iterator[Deployment]:
    redis_server.client(redis_db).flushdb()
    emulator = BotApiEmulator(TOKEN)
    emulator.start()
    port = free_port()
    env = {
        **process_env(redis_server.url(redis_db), model_template, emulator.url),
        "METRICS_PORT": str(port),
    }
    found = Deployment(redis_server, emulator, env, logdir, redis_db)
    try:
        found.procs.append(start_bot("first-contact-bot", env, logdir, port))
        yield found
    finally:
        for proc in reversed(found.procs):
            proc.stop()
        emulator.stop()


@pytest.fixture
def served(deployment: Deployment) -> Deployment:
    """The deployment with its worker up and its models loaded."""
    if deployment.worker is None or not deployment.worker.alive():
        deployment.start_worker("first-contact-worker")
    deployment.wait_preloaded()
    return deployment


def test_first_inline_query_on_a_cold_worker_is_translated_in_time(
    deployment: Deployment, model_template: str
) -> None:
    assert deployment.worker is None, "this test needs the module's first, cold worker"
    ready = deployment.start_worker("first-contact-worker")
    query = deployment.emulator.push_inline(2001, "en>ru Hello, world")
    answer = deployment.emulator.wait_inline(query, timeout=30)
    took = deployment.emulator.answer_times()[query] - ready
    print(f"\n[figures] first inline query on a cold worker answered in {took:.2f} s")
    [article] = answer["results"]
    [expected] = reference(model_template, ["Hello, world"])
    assert article["input_message_content"]["message_text"] == expected
    assert took < DEADLINE
    log = deployment.worker.log.read_text() if deployment.worker else ""
    assert "ctranslate2 imported in" in log  # the default engine, before the fork
    for pair in ("de-en", "en-ru", "ru-en"):
        assert f"preloaded {pair} in" in log, pair


def test_busy_answer_is_not_cached_and_the_late_translation_is(
    served: Deployment, model_template: str
) -> None:
    assert served.worker is not None
    served.worker.stop()
    text = "en>ru Good morning, dear friends!"
    busy = served.emulator.wait_inline(served.emulator.push_inline(2002, text), timeout=20)
    [article] = busy["results"]
    assert article["title"] == texts.INLINE_BUSY
    assert int(busy["cache_time"]) == 0 and busy["is_personal"] is True
    # The worker comes back and translates the query that was answered "busy".
    cached = served.cached_answers()
    served.start_worker("first-contact-worker-2")
    wait_until(lambda: served.cached_answers() > cached, 60, "the late translation cached")
    before = served.requests()
    asked = time.monotonic()
    again = served.emulator.push_inline(2002, text)  # the user types it again
    answer = served.emulator.wait_inline(again, timeout=10)
    assert served.emulator.answer_times()[again] - asked < 1.0  # from the cache, no debounce
    [article] = answer["results"]
    expected = reference(model_template, ["Good morning, dear friends!"])
    assert article["input_message_content"]["message_text"] == expected[0]
    assert served.requests() == before


@pytest.mark.parametrize(
    ("caption", "lines", "src", "tgt"),
    [
        ("/translate en>ru", ENGLISH, "en", "ru"),
        ("/tr ru", ENGLISH, "en", "ru"),
        ("/translate@TolmachBot en", [RUSSIAN], "ru", "en"),
        ("/tr ru please translate this report", ENGLISH, "en", "ru"),
    ],
)
def test_a_command_caption_translates_the_file(
    served: Deployment, model_template: str, caption: str, lines: list[str], src: str, tgt: str
) -> None:
    chat = next(_chats)
    data = "\n".join([*lines, ""]).encode()
    served.emulator.push_document(chat, "notes.txt", data, caption)
    [sent] = served.emulator.wait_documents(chat, timeout=60)
    assert sent["file_name"] == f"notes.{tgt}.txt"
    assert sent["data"].decode().split("\n") == [*reference(model_template, lines, src, tgt), ""]


def test_a_command_caption_in_a_group_translates_the_file(
    served: Deployment, model_template: str
) -> None:
    group = -2200
    data = "\n".join(ENGLISH).encode()
    served.emulator.push_document(group, "notes.txt", data, "/tr ru", chat_type="supergroup")
    [sent] = served.emulator.wait_documents(group, timeout=60)
    assert sent["data"].decode().split("\n") == reference(model_template, ENGLISH)


def test_text_in_your_own_language_offers_the_targets(
    served: Deployment, model_template: str
) -> None:
    user, english = 2300, "The weather is really nice today, my friend."
    served.emulator.push_message(user, english, language_code="en")  # no second language
    [reply] = served.emulator.wait_for(user)
    assert reply["text"] == texts.ALREADY_IN_LANGUAGE.format(
        language="English", src="en", example="ru"
    )
    # The deployment translates English only into Russian: one button, for it.
    [[button]] = reply["reply_markup"]["inline_keyboard"]
    assert button["text"] == "Russian" and button["callback_data"].endswith(":ru")
    served.emulator.push_callback(user, reply, button["callback_data"])
    replies = served.emulator.wait_for(user, 2)
    assert replies[1]["text"] == reference(model_template, [english])[0]
