"""The Bot API emulator answers like Telegram, as seen through the real aiogram client."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramBadRequest, TelegramRetryAfter, TelegramUnauthorizedError
from aiogram.types import ReplyParameters

from tests.support.emulator import ApiError, BotApiEmulator, check_html

TOKEN = "777:emulator-selftest"


@pytest.fixture
def emu() -> Iterator[BotApiEmulator]:
    emulator = BotApiEmulator(TOKEN)
    emulator.start()
    yield emulator
    emulator.stop()


def call(emu: BotApiEmulator, token: str, action):  # type: ignore[no-untyped-def]
    async def go():  # type: ignore[no-untyped-def]
        session = AiohttpSession(api=TelegramAPIServer.from_base(emu.url))
        async with Bot(token, session=session) as bot:
            return await action(bot)

    return asyncio.run(go())


def test_send_and_updates(emu: BotApiEmulator) -> None:
    message_id = emu.push_message(5, "hi")
    updates = call(emu, TOKEN, lambda b: b.get_updates(offset=0, timeout=1))
    assert [u.message.text for u in updates] == ["hi"]
    sent = call(
        emu,
        TOKEN,
        lambda b: b.send_message(5, "yo", reply_parameters=ReplyParameters(message_id=message_id)),
    )
    assert sent.reply_to_message.message_id == message_id
    assert [m["text"] for m in emu.sent_to(5)] == ["yo"]
    # Confirmed updates are gone.
    assert (
        call(emu, TOKEN, lambda b: b.get_updates(offset=updates[-1].update_id + 1, timeout=0)) == []
    )


@pytest.mark.parametrize(
    ("text", "kwargs", "error"),
    [
        ("   ", {}, "message text is empty"),
        ("x" * 4097, {}, "message is too long"),
        ("<b>1 < 2 & x</b>", {"parse_mode": "HTML"}, "can't parse entities"),
        ("ok", {"reply_parameters": ReplyParameters(message_id=999)}, "replied not found"),
    ],
)
def test_rejects_what_telegram_rejects(
    emu: BotApiEmulator, text: str, kwargs: dict, error: str
) -> None:
    with pytest.raises(TelegramBadRequest, match=error):
        call(emu, TOKEN, lambda b: b.send_message(5, text, **kwargs))
    assert emu.sent_to(5) == []


def test_wrong_token_and_injected_429(emu: BotApiEmulator) -> None:
    with pytest.raises(TelegramUnauthorizedError):
        call(emu, "1:wrong", lambda b: b.get_me())
    emu.fail_next("sendMessage", 429, "Too Many Requests: retry after 2", retry_after=2)
    with pytest.raises(TelegramRetryAfter) as info:
        call(emu, TOKEN, lambda b: b.send_message(5, "x"))
    assert info.value.retry_after == 2


def test_wait_wakes_on_any_request_and_times_out_with_its_description(
    emu: BotApiEmulator,
) -> None:
    # calls() changes without a message being sent: wait() must still wake up for it.
    call(emu, TOKEN, lambda b: b.get_me())
    emu.wait(lambda: len(emu.calls("getMe")) == 1, timeout=5)
    with pytest.raises(TimeoutError, match="chat 5: 0/1 sent"):
        emu.wait_for(5, timeout=0.2)
    with pytest.raises(TimeoutError, match="nothing yet"):
        emu.wait(lambda: False, timeout=0.1, describe=lambda: "nothing yet")
    call(emu, TOKEN, lambda b: b.send_message(5, "x"))
    assert [m["text"] for m in emu.wait_for(5, timeout=5)] == ["x"]


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("<b>bold</b> <a href='x'>link</a> &lt;&amp;&#33;", None),
        ("1 < 2", "unexpected < or &"),
        ("fish & chips", "unexpected < or &"),
        ("<div>x</div>", 'Unsupported start tag "div"'),
        ("<b><i>x</b></i>", 'Unexpected end tag "b"'),
        ("<b>open", "unclosed tag"),
    ],
)
def test_check_html(text: str, error: str | None) -> None:
    if error is None:
        check_html(text)
        return
    with pytest.raises(ApiError, match=error) as info:
        check_html(text)
    assert info.value.code == 400
