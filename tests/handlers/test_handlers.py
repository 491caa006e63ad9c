"""Handler tier: real routers, middlewares and flows fed updates in-process
(`Dispatcher.feed_update`), a real Redis and broker, and no HTTP at all.

The bot's session is replaced by one that records each Bot API call and answers it the
way Telegram would: that is aiogram's seam, not one of ours. Fast enough to try each
piece of bad input, and to see what a handler queued without running a worker.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import time
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from typing import Any

import pytest
from aiogram import Bot, Dispatcher
from aiogram.client.session.base import BaseSession
from aiogram.methods import AnswerInlineQuery, SendMessage, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import Chat, Message, Update

from bot import texts
from bot.factory import Services, create_dispatcher, create_services
from bot.i18n import Texts, create_i18n
from bot.middlewares.dedupe import CLAIM, SEEN, update_key
from bot.server.intake import PARKED
from config import Settings
from tasks.client.requests import PENDING, RequestRecord
from tasks.contract import QUEUE_CHAT, QUEUE_INLINE
from tests.support.stack import TOKEN, RedisServer

PHRASES = Texts(create_i18n())
_ids = itertools.count(1000)


class RecordingSession(BaseSession):
    """Records Bot API calls and answers them as Telegram would (no network)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[TelegramMethod[Any]] = []

    async def make_request(
        self, bot: Bot, method: TelegramMethod[TelegramType], timeout: int | None = None
    ) -> TelegramType:
        self.calls.append(method)
        if isinstance(method, SendMessage):
            sent = Message(
                message_id=next(_ids),
                date=datetime.now(),
                chat=Chat(id=int(method.chat_id), type="private"),
                text=method.text,
            )
            return sent  # type: ignore[return-value]
        return True  # type: ignore[return-value]

    async def close(self) -> None:
        pass

    async def stream_content(self, *args: Any, **kwargs: Any) -> AsyncIterator[bytes]:
        raise AssertionError("no downloads in the handler tier")
        yield b""

    def replies(self) -> list[str]:
        """Texts of the messages sent, in order."""
        return [m.text for m in self.calls if isinstance(m, SendMessage)]


class Stack:
    """The bot's dispatcher and services over a recording session."""

    def __init__(self, redis_server: RedisServer, db: int, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.settings = Settings(  # type: ignore[call-arg]
            _env_file=None, bot_token=TOKEN, redis_url=redis_server.url(db)
        )
        self.session = RecordingSession()
        self.bot = Bot(TOKEN, session=self.session)
        self.services: Services = create_services(self.settings, self.bot)
        self.dispatcher: Dispatcher = create_dispatcher(self.settings, self.services)
        self.redis = redis_server.client(db)

    async def feed(self, update: dict[str, Any]) -> None:
        await self.dispatcher.feed_update(self.bot, Update.model_validate(update))

    def queued(self, queue: str) -> list[dict[str, Any]]:
        """Task messages waiting in a broker queue (kombu's JSON envelope)."""
        return [json.loads(raw) for raw in self.redis.lrange(queue, 0, -1)]

    def queued_args(self, queue: str) -> list[list[Any]]:
        """The positional arguments of each task waiting in a queue."""
        return [json.loads(base64.b64decode(t["body"]))[0] for t in self.queued(queue)]

    def records(self) -> list[RequestRecord]:
        """The request records still waiting for an answer."""
        ids = [i.decode() for i in self.redis.zrange(PENDING, 0, -1)]
        raw = [self.redis.get(f"tolmach:reply:{task_id}") for task_id in ids]
        return [RequestRecord.from_json(r) for r in raw if r is not None]


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    """One loop for the module: the bot's Redis client stays bound to the loop it met."""
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@pytest.fixture(scope="module")
def module_stack(
    redis_server: RedisServer, redis_db: int, loop: asyncio.AbstractEventLoop
) -> Iterator[Stack]:
    # aiogram's routers are module-level: one dispatcher per process, as in production.
    stack = Stack(redis_server, redis_db, loop)
    yield stack
    loop.run_until_complete(stack.services.redis.aclose())


@pytest.fixture
def stack(module_stack: Stack) -> Stack:
    """The module's stack with an empty database and no calls recorded."""
    module_stack.redis.flushdb()
    module_stack.session.calls.clear()
    return module_stack


def message(text: str, *, language: str = "en", chat_type: str = "private") -> dict[str, Any]:
    update_id = next(_ids)
    chat_id = 4242 if chat_type == "private" else -100777
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(datetime.now().timestamp()),
            "chat": {"id": chat_id, "type": chat_type},
            "from": {"id": 4242, "is_bot": False, "first_name": "T", "language_code": language},
            "text": text,
            **({"entities": [_command(text)]} if text.startswith("/") else {}),
        },
    }


def _command(text: str) -> dict[str, Any]:
    return {"type": "bot_command", "offset": 0, "length": len(text.split()[0])}


def run(stack: Stack, *updates: dict[str, Any]) -> None:
    for update in updates:
        stack.loop.run_until_complete(stack.feed(update))


def test_translate_command_queues_one_task_with_a_durable_record(stack: Stack) -> None:
    run(stack, message("/translate en>ru Hello, world"))
    [task] = stack.queued(QUEUE_CHAT)
    assert task["headers"]["task"] == "tolmach.translate"
    [args] = stack.queued_args(QUEUE_CHAT)
    assert args[:3] == ["Hello, world", "en", "ru"]
    [record] = stack.records()
    assert record.kind == "translate"
    assert record.context["chat_id"] == 4242 and record.context["locale"] == "en"
    assert stack.session.replies() == []  # the answer comes from the listener, later


def test_one_task_per_target_each_labelled(stack: Stack) -> None:
    run(stack, message("/tr en>ru,de Good morning"))
    targets = sorted(args[2] for args in stack.queued_args(QUEUE_CHAT))
    assert targets == ["de", "ru"]
    assert sorted(r.context["label"] for r in stack.records()) == ["de", "ru"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/translate", PHRASES(texts.USAGE, "en")),
        ("/translate en>en same", PHRASES(texts.SAME_LANGUAGE, "en", code="en")),
        ("/translate en>xyzzy hello", PHRASES(texts.UNKNOWN_LANGUAGE, "en", code="xyzzy")),
        # Text that would fail at a worker, and one request buying too much work.
        ("/translate en>ru Hello \ud800 world", PHRASES(texts.INVALID_TEXT, "en")),
        ("/translate en>ru Nul \x00 inside", PHRASES(texts.INVALID_TEXT, "en")),
        (
            "/translate en>ru,de,fr,es,it,pl,uk,cs,nl,sv,fi Hello",
            PHRASES(texts.TOO_MUCH_WORK, "en"),
        ),
    ],
)
def test_bad_commands_get_a_clear_reply_and_queue_nothing(
    stack: Stack, text: str, expected: str
) -> None:
    run(stack, message(text))
    [reply] = stack.session.replies()
    assert reply.startswith(expected)
    assert stack.queued(QUEUE_CHAT) == [] and stack.records() == []


def test_replies_speak_the_locale_the_middleware_resolved(stack: Stack) -> None:
    run(stack, message("/translate", language="ru-RU"))
    [reply] = stack.session.replies()
    assert reply == PHRASES(texts.USAGE, "ru") != PHRASES(texts.USAGE, "en")


def test_queued_requests_remember_the_resolved_locale(stack: Stack) -> None:
    run(stack, message("Good morning", language="ru-RU"))
    [record] = stack.records()
    assert record.context["locale"] == "ru"


def test_a_text_over_the_limit_is_refused_before_queueing(stack: Stack) -> None:
    limit = stack.settings.max_text_chars
    run(stack, message("/tr en>ru " + "a" * (limit + 1)))
    [reply] = stack.session.replies()
    assert reply == PHRASES(texts.TEXT_TOO_LONG, "en", length=limit + 1, limit=limit)
    assert stack.queued(QUEUE_CHAT) == []


def test_an_empty_inline_query_is_answered_with_help(stack: Stack) -> None:
    update_id = next(_ids)
    user = {"id": 99, "is_bot": False, "first_name": "I", "language_code": "en"}
    query = {"id": "q1", "from": user, "query": "", "offset": ""}
    run(stack, {"update_id": update_id, "inline_query": query})
    [answer] = [m for m in stack.session.calls if isinstance(m, AnswerInlineQuery)]
    assert answer.inline_query_id == "q1"
    assert [r.id for r in answer.results] == ["help"]
    assert stack.queued(QUEUE_INLINE) == []


def test_group_chatter_is_left_alone_while_auto_translate_is_off(stack: Stack) -> None:
    run(stack, message("Guten Morgen", chat_type="supergroup"))
    assert stack.session.calls == [] and stack.queued(QUEUE_CHAT) == []


def test_a_redelivered_update_is_handled_once(stack: Stack) -> None:
    update = message("/translate en>ru Hello")
    run(stack, update, update)
    assert len(stack.queued(QUEUE_CHAT)) == 1


def test_copies_of_an_update_arriving_together_are_handled_once(stack: Stack) -> None:
    update = message("/translate en>ru Hello")  # a webhook retry while the first is in hand

    async def both() -> None:
        await asyncio.gather(stack.feed(update), stack.feed(update))

    stack.loop.run_until_complete(both())
    assert len(stack.queued(QUEUE_CHAT)) == 1


def _keys(update: dict[str, Any]) -> tuple[str, str]:
    key = update_key(Update.model_validate(update))
    return SEEN + key, CLAIM + key


def test_an_update_a_dead_bot_had_in_hand_is_handled_once_its_claim_lapses(
    stack: Stack,
) -> None:
    # The bot that fetched it was killed before saving its record; Telegram resends it.
    update = message("/translate en>ru Hello")
    seen, claim = _keys(update)
    stack.redis.set(claim, "a-dead-bot", ex=1)
    run(stack, update)
    assert [args[:3] for args in stack.queued_args(QUEUE_CHAT)] == [["Hello", "en", "ru"]]
    assert stack.redis.get(seen) == b"1" and not stack.redis.exists(claim)
    run(stack, update)  # and not again
    assert len(stack.queued(QUEUE_CHAT)) == 1


def test_a_command_a_dead_bot_half_queued_is_queued_for_the_rest(stack: Stack) -> None:
    # Killed between its two targets: the first one's record was saved with its mark.
    update = message("/tr en>ru,de Good morning")
    seen, claim = _keys(update)
    stack.redis.set(seen, "saved:1")
    stack.redis.set(claim, "a-dead-bot", ex=1)
    run(stack, update)
    assert [args[2] for args in stack.queued_args(QUEUE_CHAT)] == ["de"]
    assert [r.context["label"] for r in stack.records()] == ["de"]


def test_each_record_saved_says_how_many_of_its_update_are_saved(stack: Stack) -> None:
    update = message("/tr en>ru,de,fr Good morning")
    seen, _ = _keys(update)
    marks: list[bytes | None] = []
    store = stack.services.client.submitter.requests
    save = store.save

    async def saving(*args: Any, **kwargs: Any) -> None:
        marks.append(stack.redis.get(seen))  # before this record's transaction
        await save(*args, **kwargs)
        marks.append(stack.redis.get(seen))

    store.save = saving  # type: ignore[method-assign]
    try:
        run(stack, update)
    finally:
        del store.save
    assert marks == [None, b"saved:1", b"saved:1", b"saved:2", b"saved:2", b"saved:3"]
    assert stack.redis.get(seen) == b"1"


def test_an_update_a_live_replica_has_in_hand_is_left_to_it(stack: Stack) -> None:
    update = message("/translate en>ru Hello")
    seen, claim = _keys(update)
    stack.redis.set(claim, "another-bot", ex=5)

    async def replica_finishes() -> None:
        await asyncio.sleep(0.5)
        stack.redis.set(seen, "1")
        stack.redis.delete(claim)

    async def both() -> None:
        await asyncio.gather(stack.feed(update), replica_finishes())

    stack.loop.run_until_complete(both())
    assert stack.queued(QUEUE_CHAT) == []


def test_updates_an_earlier_bot_parked_are_handled_at_start_once(stack: Stack) -> None:
    # Parked while their handlers waited out a 429 (so confirmed to Telegram), then the
    # bot died: the next one handles what was not handled, and drops what is no update.
    fresh, handled, stale = (message(f"/translate en>ru {t}") for t in ("Hi", "Bye", "Old"))
    run(stack, handled)  # the earlier bot finished this one before it died
    now = time.time()
    for update, at in ((fresh, now), (handled, now), (stale, now - 2 * 86_400)):
        entry = {"at": at, "update": update}
        stack.redis.hset(PARKED, str(update["update_id"]), json.dumps(entry))
    stack.redis.hset(PARKED, "1", "{not json")

    async def replay() -> None:
        await asyncio.gather(*await stack.services.intake.replay(stack.bot, stack.dispatcher))

    stack.loop.run_until_complete(replay())
    assert sorted(args[0] for args in stack.queued_args(QUEUE_CHAT)) == ["Bye", "Hi"]
    assert stack.redis.hlen(PARKED) == 0
    stack.loop.run_until_complete(replay())  # nothing is left to handle again
    assert len(stack.queued(QUEUE_CHAT)) == 2


def test_an_update_parked_by_its_handler_is_handled_as_telegram_sent_it(stack: Stack) -> None:
    # A message with a link preview: aiogram fills placeholders in that Telegram did not
    # send, and they must not break the parking (nor come back from it).
    update = message("/translate en>ru See https://example.com")
    update["message"]["link_preview_options"] = {"url": "https://example.com"}
    parsed = Update.model_validate(update, context={"bot": stack.bot})
    intake = stack.services.intake

    async def parked_by_a_bot_that_then_died() -> None:
        intake.fetched([parsed.update_id])
        intake.handling(parsed)
        await intake.park()  # its handler's call was answered 429
        intake.taken(parsed.update_id)

    stack.loop.run_until_complete(parked_by_a_bot_that_then_died())
    assert stack.redis.hkeys(PARKED) == [str(parsed.update_id).encode()]

    async def replay() -> None:
        await asyncio.gather(*await intake.replay(stack.bot, stack.dispatcher))

    stack.loop.run_until_complete(replay())
    assert [args[:3] for args in stack.queued_args(QUEUE_CHAT)] == [
        ["See https://example.com", "en", "ru"]
    ]
    assert stack.redis.hlen(PARKED) == 0


def test_app_without_a_page_says_so_and_with_one_offers_a_web_app_button(stack: Stack) -> None:
    run(stack, message("/app"))
    assert stack.session.replies() == [PHRASES(texts.APP_NONE, "en")]
    stack.session.calls.clear()
    data = stack.dispatcher.workflow_data
    plain = data["settings"]
    data["settings"] = plain.model_copy(update={"webapp_url": "https://tolmach.example/"})
    try:
        run(stack, message("/app", language="ru"))
    finally:
        data["settings"] = plain
    [sent] = [m for m in stack.session.calls if isinstance(m, SendMessage)]
    assert sent.text == PHRASES(texts.APP_OPEN, "ru")
    [[button]] = sent.reply_markup.inline_keyboard  # type: ignore[union-attr]
    assert button.web_app is not None and button.web_app.url == "https://tolmach.example/"
