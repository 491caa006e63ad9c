"""Inline mode end to end: articles with the model's translation, debounce, help,
cache, and a "busy" answer instead of silence."""

from __future__ import annotations

import time

import pytest

from bot import texts
from tasks.worker.metrics import STATS_KEY
from tests.support.emulator import BotApiEmulator
from tests.support.procs import Proc, wait_until
from tests.support.reference import reference
from tests.support.stack import BotHandle, RedisServer, start_preloaded_worker

pytestmark = pytest.mark.e2e


def requests_done(server: RedisServer) -> int:
    return int(server.client().hget(STATS_KEY, "requests") or 0)


def no_rejections(emulator: BotApiEmulator) -> None:
    assert [e for e in emulator.errors if e[0] == "answerInlineQuery"] == []


def test_query_gets_an_article_with_the_translation(
    bot: BotHandle, emulator: BotApiEmulator, model_template: str, chat_id: int
) -> None:
    answer = emulator.wait_inline(emulator.push_inline(chat_id, "en>ru Hello, world"))
    [article] = answer["results"]
    expected = reference(model_template, "Hello, world")
    assert article["input_message_content"]["message_text"] == expected
    assert article["title"] == expected[:100] and article["description"] == "en → ru"
    assert answer["is_personal"] is False
    no_rejections(emulator)


def test_plain_query_uses_the_users_languages(
    bot: BotHandle, emulator: BotApiEmulator, model_template: str, chat_id: int
) -> None:
    text = "Привет, как у тебя сегодня дела?"
    answer = emulator.wait_inline(emulator.push_inline(chat_id, text, language_code="en"))
    # Target en (from the app's language), then no second; personal results.
    [article] = answer["results"]
    assert article["input_message_content"]["message_text"] == reference(
        model_template, text, "ru", "en"
    )
    assert answer["is_personal"] is True


def test_a_failed_target_says_what_went_wrong(
    bot: BotHandle, emulator: BotApiEmulator, model_template: str, chat_id: int
) -> None:
    # Russian into ru (asked) and en (the user's): ru is the text's own language, and
    # the article says so; it said "no model for ru>ru".
    text = "Привет, как у тебя сегодня дела?"
    answer = emulator.wait_inline(emulator.push_inline(chat_id, f"ru {text}", language_code="en"))
    by_id = {a["id"]: a["input_message_content"]["message_text"] for a in answer["results"]}
    assert by_id["ru"] == texts.SAME_LANGUAGE.format(code="ru")
    assert by_id["en"] == reference(model_template, text, "ru", "en")


def test_fast_typing_costs_at_most_two_translations(
    bot: BotHandle, emulator: BotApiEmulator, redis_server: RedisServer, chat_id: int
) -> None:
    before = requests_done(redis_server)
    words = "en>ru Good morning dear friends"
    ids = [emulator.push_inline(chat_id, words[: 8 + i * 2]) for i in range(10)]
    for _ in ids:
        time.sleep(0.03)  # keystrokes 30 ms apart
    last = emulator.wait_inline(ids[-1])
    assert last["results"][0]["input_message_content"]["message_text"]
    time.sleep(1.0)  # anything else in flight would have finished by now
    assert requests_done(redis_server) - before <= 2
    no_rejections(emulator)


def test_empty_query_gets_the_help_article(
    bot: BotHandle, emulator: BotApiEmulator, chat_id: int
) -> None:
    for query in ("", "   ", "en>r2d2 hi"):
        answer = emulator.wait_inline(emulator.push_inline(chat_id + 1000, query))
        [article] = answer["results"]
        assert article["id"] == "help" and article["title"] == texts.INLINE_HELP_TITLE
        assert answer["is_personal"] is True  # in each user's own language
        time.sleep(0.4)
    no_rejections(emulator)


def test_repeated_query_is_served_from_cache(
    bot: BotHandle, emulator: BotApiEmulator, redis_server: RedisServer, chat_id: int
) -> None:
    first = emulator.wait_inline(emulator.push_inline(chat_id, "en>ru How are you today?"))
    time.sleep(0.5)
    before = requests_done(redis_server)
    again = emulator.wait_inline(emulator.push_inline(chat_id + 7, "en>ru How are you today?"))
    assert again["results"] == first["results"]
    assert requests_done(redis_server) == before


def test_busy_workers_get_a_busy_answer(
    bot: BotHandle,
    worker: Proc,
    emulator: BotApiEmulator,
    redis_server: RedisServer,
    chat_id: int,
) -> None:
    worker.stop()
    try:
        started = time.monotonic()
        answer = emulator.wait_inline(emulator.push_inline(chat_id, "en>ru Fresh words here"))
        assert time.monotonic() - started < 10
        [article] = answer["results"]
        assert article["title"] == texts.INLINE_BUSY
    finally:
        start_preloaded_worker(worker, redis_server)
    # The late result arrives once the worker is back; the query is not answered twice.
    wait_until(lambda: requests_done(redis_server) > 0, 30, "the late translation")
    no_rejections(emulator)


def test_requested_targets_first_then_the_users_usual_ones(
    bot: BotHandle, emulator: BotApiEmulator, model_template: str, chat_id: int
) -> None:
    emulator.push_message(chat_id, "/lang ru en")
    emulator.wait_for(chat_id)
    german = "Guten Morgen, wie geht es dir heute?"
    answer = emulator.wait_inline(emulator.push_inline(chat_id, f"de>en {german}"))
    english = reference(model_template, german, "de", "en")
    assert [a["id"] for a in answer["results"]] == ["en", "ru"]
    assert [a["input_message_content"]["message_text"] for a in answer["results"]] == [
        english,
        reference(model_template, english),
    ]
    assert answer["is_personal"] is True
    no_rejections(emulator)
