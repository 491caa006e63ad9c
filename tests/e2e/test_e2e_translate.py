"""End to end: Telegram update → bot → Celery → worker → model → listener → reply."""

from __future__ import annotations

import pytest

from bot import texts
from tasks.client.requests import PENDING
from tasks.contract import RESULT_KEY_PREFIX
from tests.support.emulator import BotApiEmulator
from tests.support.procs import Proc, wait_until
from tests.support.reference import reference
from tests.support.stack import BotHandle, RedisServer, start_preloaded_worker

pytestmark = pytest.mark.e2e


def test_translate_replies_with_the_models_output(
    bot: BotHandle, emulator: BotApiEmulator, model_template: str, chat_id: int
) -> None:
    command_id = emulator.push_message(chat_id, "/translate en>ru Hello, world")
    [reply] = emulator.wait_for(chat_id)
    [expected] = reference(model_template, ["Hello, world"])
    assert expected
    assert reply["text"] == expected
    assert reply["reply_to_message"]["message_id"] == command_id


def test_tr_alias_other_pair_and_lines_kept(
    bot: BotHandle, emulator: BotApiEmulator, model_template: str, chat_id: int
) -> None:
    emulator.push_message(chat_id, "/tr ru>en Привет, мир\n\nКак дела сегодня?")
    [reply] = emulator.wait_for(chat_id)
    first, second = reference(model_template, ["Привет, мир", "Как дела сегодня?"], "ru", "en")
    assert reply["text"] == f"{first}\n\n{second}"


def test_group_command_with_bot_name(
    bot: BotHandle, emulator: BotApiEmulator, chat_id: int
) -> None:
    emulator.push_message(
        -chat_id,
        "/translate@TolmachBot en>ru Good morning",
        user_id=chat_id,
        chat_type="supergroup",
    )
    [reply] = emulator.wait_for(-chat_id)
    assert reply["text"] and reply["text"] != "Good morning"


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("/translate", texts.USAGE),
        ("/translate en>ru", texts.USAGE),
        ("/translate en>r2d2 hi", texts.UNKNOWN_LANGUAGE.format(code="r2d2")),
        ("/translate en>en hi", texts.SAME_LANGUAGE.format(code="en")),
        (
            "/translate en>de Hello",
            texts.UNSUPPORTED_PAIR.format(src="en", tgt="de"),
        ),
    ],
)
def test_bad_requests_get_clear_replies(
    bot: BotHandle, emulator: BotApiEmulator, chat_id: int, command: str, expected: str
) -> None:
    emulator.push_message(chat_id, command)
    [reply] = emulator.wait_for(chat_id)
    assert reply["text"] == expected
    assert "Traceback" not in reply["text"]


def test_start_and_help(bot: BotHandle, emulator: BotApiEmulator, chat_id: int) -> None:
    emulator.push_message(chat_id, "/start")
    emulator.push_message(chat_id, "/help")
    replies = emulator.wait_for(chat_id, 2)
    assert [r["text"] for r in replies] == [texts.HELP, texts.HELP]


def test_answer_survives_bot_restart(
    bot: BotHandle,
    worker: Proc,
    emulator: BotApiEmulator,
    redis_server: RedisServer,
    model_template: str,
    chat_id: int,
) -> None:
    """The reply context lives in Redis: a result that lands while the bot is down
    is delivered by the next bot, exactly once."""
    client = redis_server.client()
    worker.stop()
    try:
        emulator.push_message(chat_id, "/translate en>ru How are you today?")
        wait_until(lambda: client.zcard(PENDING) > 0, 30, "the request to be accepted")
        [task_id] = [t.decode() for t in client.zrange(PENDING, 0, -1)]
        bot.stop()
    finally:
        start_preloaded_worker(worker, redis_server)
    wait_until(lambda: client.exists(RESULT_KEY_PREFIX + task_id) == 1, 60, "the result")
    assert emulator.sent_to(chat_id) == []
    bot.start()
    [reply] = emulator.wait_for(chat_id)
    [expected] = reference(model_template, ["How are you today?"])
    assert reply["text"] == expected
    wait_until(lambda: client.zcard(PENDING) == 0, 10, "the context to be cleared")
    assert len(emulator.sent_to(chat_id)) == 1


def test_429_is_waited_out_and_delivered_once(
    bot: BotHandle, emulator: BotApiEmulator, model_template: str, chat_id: int
) -> None:
    emulator.fail_next("sendMessage", 429, "Too Many Requests: retry after 2", retry_after=2)
    emulator.push_message(chat_id, "/translate en>ru Good morning, dear friends!")
    [reply] = emulator.wait_for(chat_id, timeout=60)
    [expected] = reference(model_template, ["Good morning, dear friends!"])
    assert reply["text"] == expected
    assert ("sendMessage", "Too Many Requests: retry after 2") in emulator.errors
    assert len(emulator.sent_to(chat_id)) == 1


def test_a_reply_waiting_out_a_429_holds_up_no_other_chat(
    bot: BotHandle, emulator: BotApiEmulator, model_template: str, chat_id: int
) -> None:
    # /help's reply meets Telegram's flood limit (retry after 5 s); a command from another
    # chat that comes meanwhile is fetched, translated and answered before that reply.
    emulator.fail_next("sendMessage", 429, "Too Many Requests: retry after 5", retry_after=5)
    emulator.push_message(chat_id, "/help")
    error = ("sendMessage", "Too Many Requests: retry after 5")
    wait_until(lambda: error in emulator.errors, 30, "the 429")
    other = chat_id + 700_000
    emulator.push_message(other, "/translate en>ru Good morning, dear friends!")
    [translation] = emulator.wait_for(other, timeout=60)
    [expected] = reference(model_template, ["Good morning, dear friends!"])
    assert translation["text"] == expected
    [help_reply] = emulator.wait_for(chat_id, timeout=30)
    assert float(str(translation["sent_at"])) < float(str(help_reply["sent_at"]))


def test_blocked_user_is_dropped_and_others_still_answered(
    bot: BotHandle, emulator: BotApiEmulator, redis_server: RedisServer, chat_id: int
) -> None:
    emulator.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user")
    emulator.push_message(chat_id, "/translate en>ru Good evening")
    client = redis_server.client()
    wait_until(
        lambda: ("sendMessage", "Forbidden: bot was blocked by the user") in emulator.errors,
        60,
        "the 403",
    )
    # Dropped, not retried: no pending context is left behind, nothing was sent.
    wait_until(lambda: client.zcard(PENDING) == 0, 30, "the context to be dropped")
    assert emulator.sent_to(chat_id) == []
    emulator.push_message(chat_id + 500_000, "/translate en>ru Good evening")
    [reply] = emulator.wait_for(chat_id + 500_000)
    assert reply["text"]


def test_network_errors_are_retried(
    bot: BotHandle, emulator: BotApiEmulator, model_template: str, chat_id: int
) -> None:
    emulator.fail_next("sendMessage", 502, "Bad Gateway")
    emulator.push_message(chat_id, "/translate en>ru Good night")
    [reply] = emulator.wait_for(chat_id, timeout=60)
    [expected] = reference(model_template, ["Good night"])
    assert reply["text"] == expected and len(emulator.sent_to(chat_id)) == 1
