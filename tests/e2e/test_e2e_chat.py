"""Chat experience end to end: private chat, groups, reply-to, settings, long and
HTML-looking text, buttons, edits, and the Russian UI — all through the emulator."""

from __future__ import annotations

import html
import json
import time

import pytest

from bot import texts
from bot.chat.splitting import TELEGRAM_LIMIT
from bot.i18n import Texts, create_i18n
from tasks.client.requests import PENDING
from tests.support.emulator import BotApiEmulator
from tests.support.procs import wait_until
from tests.support.reference import reference
from tests.support.stack import BotHandle, RedisServer

pytestmark = pytest.mark.e2e
RU = Texts(create_i18n())

ENGLISH = "The weather is really nice today, my friend."
RUSSIAN = "Привет, как у тебя сегодня дела?"
GERMAN = "Guten Morgen, wie geht es dir heute?"


def settled(redis_server: RedisServer) -> None:
    """Every accepted request has been answered (or deliberately not)."""
    client = redis_server.client()
    wait_until(lambda: client.zcard(PENDING) == 0, 60, "pending answers")


def no_rejections(emulator: BotApiEmulator) -> None:
    assert [e for e in emulator.errors if e[0] == "sendMessage"] == []


def test_private_text_goes_to_the_users_language(
    bot: BotHandle, emulator: BotApiEmulator, model_template: str, chat_id: int
) -> None:
    emulator.push_message(chat_id, ENGLISH, language_code="ru")
    [reply] = emulator.wait_for(chat_id)
    assert reply["text"] == reference(model_template, ENGLISH)
    # Buttons offer other languages (not the source, not the target).
    buttons = [b["callback_data"] for row in reply["reply_markup"]["inline_keyboard"] for b in row]
    assert buttons and not any(b.endswith((":en", ":ru")) for b in buttons)


def test_text_already_in_target_goes_to_second_language(
    bot: BotHandle, emulator: BotApiEmulator, model_template: str, chat_id: int
) -> None:
    emulator.push_message(chat_id, RUSSIAN, language_code="ru")  # target ru, second en
    [reply] = emulator.wait_for(chat_id)
    assert reply["text"] == reference(model_template, RUSSIAN, "ru", "en")


def test_button_translates_the_original_again(
    bot: BotHandle, emulator: BotApiEmulator, model_template: str, chat_id: int
) -> None:
    emulator.push_message(chat_id, GERMAN, language_code="en")
    [reply] = emulator.wait_for(chat_id)
    assert reply["text"] == reference(model_template, GERMAN, "de", "en")
    [to_ru] = [
        b["callback_data"]
        for row in reply["reply_markup"]["inline_keyboard"]
        for b in row
        if b["callback_data"].endswith(":ru")
    ]
    emulator.push_callback(chat_id, reply, to_ru)
    replies = emulator.wait_for(chat_id, 2)
    via_english = reference(model_template, reference(model_template, GERMAN, "de", "en"))
    assert replies[1]["text"] == via_english
    assert any(m == "answerCallbackQuery" for m, _ in emulator.calls())
    # A button whose original is no longer kept says so (it said "cancelled").
    gone = "tr:" + "0" * 16 + ":ru"
    query_id = emulator.push_callback(chat_id, reply, gone)
    wait_until(
        lambda: any(
            str(p.get("callback_query_id")) == query_id and p.get("text") == texts.SOURCE_GONE
            for m, p in emulator.calls("answerCallbackQuery")
        ),
        30,
        "the expired button's answer",
    )


def test_lang_settings_survive_a_bot_restart(
    bot: BotHandle, emulator: BotApiEmulator, model_template: str, chat_id: int
) -> None:
    emulator.push_message(chat_id, "/lang english русский")
    [saved] = emulator.wait_for(chat_id)
    assert saved["text"] == texts.LANG_SET.format(languages="English, Russian")
    bot.stop()
    bot.start()
    emulator.push_message(chat_id, GERMAN)  # German → English, the user's target
    emulator.push_message(chat_id, "/lang")
    replies = emulator.wait_for(chat_id, 3)
    assert reference(model_template, GERMAN, "de", "en") in [r["text"] for r in replies]
    assert texts.LANG_SHOW.format(languages="English, Russian") in [r["text"] for r in replies]
    # Their own usage, not /translate's: four languages, and a group-only command.
    emulator.push_message(chat_id, "/lang ru en de fr")
    emulator.wait_for(chat_id, 4)
    emulator.push_message(chat_id, "/autotranslate on")
    replies = emulator.wait_for(chat_id, 5)
    assert [r["text"] for r in replies[3:]] == [texts.LANG_USAGE, texts.AUTO_GROUPS_ONLY]


def test_reply_to_a_message_and_commands_in_captions(
    bot: BotHandle, emulator: BotApiEmulator, model_template: str, chat_id: int
) -> None:
    group = -chat_id
    original = emulator.push_message(group, ENGLISH, user_id=chat_id, chat_type="supergroup")
    emulator.push_message(
        group, "/tr ru", user_id=chat_id, chat_type="supergroup", reply_to=original
    )
    emulator.push_message(
        group,
        "/translate en>ru Hello, world",
        user_id=chat_id,
        chat_type="supergroup",
        caption=True,
    )
    replies = emulator.wait_for(group, 2)
    assert sorted(r["text"] for r in replies) == sorted(
        [reference(model_template, ENGLISH), reference(model_template, "Hello, world")]
    )


def test_names_detection_and_several_targets(
    bot: BotHandle, emulator: BotApiEmulator, model_template: str, chat_id: int
) -> None:
    emulator.push_message(chat_id, "/translate english>русский Hello, world")
    emulator.push_message(chat_id, f"/tr en {RUSSIAN}")
    emulator.push_message(chat_id, f"/translate ru>en,de {RUSSIAN}")
    replies = [r["text"] for r in emulator.wait_for(chat_id, 4)]
    english = reference(model_template, RUSSIAN, "ru", "en")
    assert reference(model_template, "Hello, world") in replies
    assert replies.count(english) == 1  # /tr en, source detected
    assert f"[en] {english}" in replies
    assert texts.UNSUPPORTED_PAIR.format(src="ru", tgt="de") in replies


def test_unknown_language_suggests_a_close_match(
    bot: BotHandle, emulator: BotApiEmulator, chat_id: int
) -> None:
    emulator.push_message(chat_id, "/translate en>rusian Hello")
    [reply] = emulator.wait_for(chat_id)
    assert reply["text"] == (
        texts.UNKNOWN_LANGUAGE.format(code="rusian")
        + " "
        + texts.DID_YOU_MEAN.format(suggestion="russian")
    )


def test_group_settings_admins_only_and_auto_translate(
    bot: BotHandle,
    emulator: BotApiEmulator,
    model_template: str,
    chat_id: int,
    redis_server: RedisServer,
) -> None:
    group, admin, member = -chat_id, chat_id, chat_id + 50_000
    emulator.set_admins(group, {admin})
    kw = {"chat_type": "supergroup"}
    emulator.push_message(group, "/lang ru en", user_id=member, **kw)
    [refused] = emulator.wait_for(group)
    assert refused["text"] == texts.ADMINS_ONLY
    # An anonymous admin writes as the group itself (from @GroupAnonymousBot, whom
    # getChatMember calls a member): only admins can, so the setting is taken.
    emulator.push_message(group, "/lang ru en", anonymous=True, **kw)
    emulator.wait_for(group, 2)  # updates run concurrently: one setting at a time
    emulator.push_message(group, "/autotranslate on", user_id=admin, **kw)
    replies = emulator.wait_for(group, 3)
    assert replies[2]["text"] == texts.AUTO_ON.format(
        languages="Russian, English", target="Russian"
    )
    emulator.push_message(group, ENGLISH, user_id=member, **kw)  # a group language: left alone
    german = emulator.push_message(group, GERMAN, user_id=member, **kw)
    [translated] = emulator.wait_for(group, 4)[3:]
    assert translated["reply_to_message"]["message_id"] == german
    assert translated["text"] == reference(
        model_template, reference(model_template, GERMAN, "de", "en")
    )
    # Auto-translate speaks only when it has a translation: a message too long for it
    # (MAX_TEXT_CHARS) is left alone, not answered with a refusal.
    emulator.push_message(group, GERMAN + " " + "Wort " * 2500, user_id=member, **kw)
    emulator.push_message(group, "/help", user_id=member, **kw)  # the one answer expected
    emulator.wait_for(group, 5)
    settled(redis_server)
    time.sleep(1)  # a refusal would come about now
    got = [m.get("text", "") for m in emulator.sent_to(group)]
    too_long = texts.TEXT_TOO_LONG.split("{")[0]
    assert len(got) == 5 and not any(t.startswith(too_long) for t in got), got


def test_ten_thousand_characters_come_back_in_several_valid_messages(
    bot: BotHandle, emulator: BotApiEmulator, model_template: str, chat_id: int
) -> None:
    sentence = "How are you today?"
    count = 10_000 // (len(sentence) + 1)
    text = " ".join([sentence] * count)
    expected = " ".join([reference(model_template, sentence)] * count)
    assert len(text) >= 9_900 and len(expected) > TELEGRAM_LIMIT
    emulator.push_message(chat_id, f"/translate en>ru {text}")
    wait_until(lambda: len(emulator.sent_to(chat_id)) >= 2, 90, "the answer")
    wait_until(
        lambda: " ".join(m["text"] for m in emulator.sent_to(chat_id)) == expected,
        30,
        "every part of the answer",
    )
    assert all(len(m["text"]) <= TELEGRAM_LIMIT for m in emulator.sent_to(chat_id))
    no_rejections(emulator)


def test_an_answer_telegram_refuses_for_good_is_dropped_not_resent(
    bot: BotHandle, emulator: BotApiEmulator, redis_server: RedisServer, chat_id: int
) -> None:
    # A 400 (here the bot lost its right to write in the chat) is final: the request is
    # marked answered at once, not handed back to be sent again at every sweep for a day
    # (each time refused again, and the pieces of a long answer before it sent again).
    refused = "Bad Request: not enough rights to send text messages to the chat"
    emulator.fail_next("sendMessage", 400, refused)
    emulator.push_message(chat_id, f"/translate en>ru {ENGLISH}")
    client = redis_server.client()

    def sent() -> list[dict[str, object]]:
        return [c for _, c in emulator.calls("sendMessage") if str(c["chat_id"]) == str(chat_id)]

    wait_until(lambda: bool(sent()), 60, "the answer sent")
    wait_until(lambda: client.zcard(PENDING) == 0, 5, "the request marked answered")
    assert len(sent()) == 1
    emulator.errors.remove(("sendMessage", refused))  # refused on purpose


def test_html_looking_text_and_formatting(
    bot: BotHandle, emulator: BotApiEmulator, model_template: str, chat_id: int
) -> None:
    emulator.push_message(chat_id, "/translate en>ru <b>1 < 2 & x</b>")
    bold = [{"type": "bold", "offset": 0, "length": 5}]
    emulator.push_message(chat_id, "Hello, world", entities=bold, language_code="ru")
    replies = emulator.wait_for(chat_id, 2)
    no_rejections(emulator)
    plain = next(r for r in replies if r.get("parse_mode") is None)
    assert plain["text"] == reference(model_template, "<b>1 < 2 & x</b>")
    # Bold text stays bold: tags are kept, the model's text escaped inside them.
    formatted = next(r for r in replies if r.get("parse_mode") == "HTML")
    hello = html.escape(reference(model_template, "Hello"), quote=False)
    world = html.escape(reference(model_template, ", world"), quote=False)
    assert formatted["text"] == f"<b>{hello}</b>{world}"


def test_russian_interface(bot: BotHandle, emulator: BotApiEmulator, chat_id: int) -> None:
    emulator.push_message(chat_id, "/translate", language_code="ru")
    emulator.push_message(chat_id, "/help", language_code="ru-RU")
    replies = {r["text"] for r in emulator.wait_for(chat_id, 2)}
    assert replies == {RU(texts.USAGE, "ru"), RU(texts.HELP, "ru")}
    assert RU(texts.USAGE, "ru") != texts.USAGE
    menus = [p for m, p in emulator.calls("setMyCommands")]
    assert any(p.get("language_code") == "ru" for p in menus)


def test_edited_command_answered_again_redelivery_not(
    bot: BotHandle,
    emulator: BotApiEmulator,
    model_template: str,
    chat_id: int,
    redis_server: RedisServer,
) -> None:
    message_id = emulator.push_message(chat_id, "/translate en>ru Hello, world")
    emulator.wait_for(chat_id)
    emulator.push_again(chat_id, message_id)  # Telegram resends the same update
    emulator.push_edit(chat_id, message_id, "/translate en>ru How are you today?")
    replies = emulator.wait_for(chat_id, 2)
    assert replies[1]["text"] == reference(model_template, "How are you today?")
    emulator.push_message(chat_id, "/help")  # a marker: updates before it were read
    wait_until(lambda: len(emulator.sent_to(chat_id)) >= 3, 30, "the marker")
    settled(redis_server)
    assert len(emulator.sent_to(chat_id)) == 3


def test_typing_and_languages(
    bot: BotHandle, emulator: BotApiEmulator, redis_server: RedisServer, chat_id: int
) -> None:
    emulator.push_message(chat_id, "/tr en>ru Hello, world")
    emulator.push_message(chat_id, "/languages")
    replies = emulator.wait_for(chat_id, 2)
    actions = [p for m, p in emulator.calls("sendChatAction") if int(p["chat_id"]) == chat_id]
    assert actions and actions[0]["action"] == "typing"
    listing = next(r["text"] for r in replies if "de-en" in r["text"])
    assert "en-ru" in listing and "ru-en" in listing


def test_text_over_the_limit_is_refused_politely(
    bot: BotHandle, emulator: BotApiEmulator, chat_id: int
) -> None:
    emulator.push_message(chat_id, "/translate en>ru " + "word " * 2600)
    [reply] = emulator.wait_for(chat_id)
    assert reply["text"] == texts.TEXT_TOO_LONG.format(
        length=len(("word " * 2600).strip()), limit=12000
    )


def test_formatting_does_not_count_against_the_limit(
    bot: BotHandle, emulator: BotApiEmulator, redis_server: RedisServer, chat_id: int
) -> None:
    # 10,800 characters written (the limit is 12,000), one bold word: as Telegram HTML,
    # with "&amp;" for each "&", it is 14,400, and was refused as too long. The limit is
    # on what the user wrote: it is translated, plain.
    text = "Tom & Jerry. " * 900
    bold = [{"type": "bold", "offset": 0, "length": 3}]
    emulator.push_message(chat_id, text.strip(), entities=bold)
    emulator.wait_for(chat_id)
    settled(redis_server)
    too_long = texts.TEXT_TOO_LONG.split("{")[0]
    got = [m["text"] for m in emulator.sent_to(chat_id)]
    assert got and not any(t.startswith(too_long) for t in got), got[:1]


def test_a_command_the_bot_lacks_gets_the_help_not_a_translation(
    bot: BotHandle, emulator: BotApiEmulator, redis_server: RedisServer, chat_id: int
) -> None:
    # In a private chat any text is translated; a command no router took (`/settings`,
    # another bot's) was translated too, words and all, and cost a rate-limit token.
    emulator.push_message(chat_id, "/settings")
    emulator.push_message(chat_id, "/start@OtherBot hello")
    replies = emulator.wait_for(chat_id, 2)
    assert [r["text"] for r in replies] == [texts.HELP, texts.HELP]
    # The bot's own inline result, sent into its chat, is a translation already.
    emulator.push_message(chat_id, "Привет, мир", via_bot=True)
    emulator.push_message(chat_id, "/help")  # a marker: what came before was read
    emulator.wait_for(chat_id, 3)
    settled(redis_server)
    time.sleep(1)  # a translation would come about now
    assert len(emulator.sent_to(chat_id)) == 3


def test_the_menu_button_opens_the_mini_app(bot: BotHandle, emulator: BotApiEmulator) -> None:
    """With WEBAPP_URL set, the bot's chat menu button opens the page inside Telegram."""
    wait_until(lambda: bool(emulator.calls("setChatMenuButton")), 30, "setChatMenuButton")
    [(_, params)] = emulator.calls("setChatMenuButton")[-1:]
    button = params["menu_button"]
    button = json.loads(button) if isinstance(button, str) else button
    assert button["type"] == "web_app"
    assert button["web_app"]["url"] == "https://tolmach.example/app"
