"""Answers to inline queries: one target's result at a time in, one answer per query out.

The flow (`bot.inline.flow`) says what a query waits for and answers at its deadline;
the result listener hands each target's result here (the deliverer of kind "inline").
"""

from __future__ import annotations

import json
import logging
from typing import Any

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import InlineQueryResultArticle, InputTextMessageContent
from redis.asyncio import Redis

from bot import texts
from bot.context import ReplyContext
from bot.i18n import Texts
from tasks.connections import as_text

log = logging.getLogger(__name__)

_STATE, _RESULTS = "tolmach:iq:state:", "tolmach:iq:results:"
_ANSWERED = "tolmach:iq:answered:"
CACHE_SECONDS = 3600


class InlineAnswers:
    """Gathers the targets' results of a query and answers it once."""

    def __init__(self, *, redis: Redis, bot: Bot, phrases: Texts) -> None:
        self.redis = redis
        self.bot = bot
        self.phrases = phrases

    async def expect(self, qid: str, state: dict[str, Any]) -> None:
        """What query `qid` waits for: its targets, locale and cache key."""
        await self.redis.set(_STATE + qid, json.dumps(state), ex=120)

    async def collect(self, context: ReplyContext, meta: dict[str, Any]) -> None:
        """One target's result arrived; answer when every target is in."""
        assert context.query_id is not None and context.label is not None
        qid = context.query_id
        result = meta.get("result") if meta.get("status") == "SUCCESS" else None
        await self.redis.hset(_RESULTS + qid, context.label, json.dumps(result))
        await self.redis.expire(_RESULTS + qid, 120)
        raw = await self.redis.get(_STATE + qid)
        if raw is not None and await self.redis.hlen(_RESULTS + qid) >= len(
            json.loads(raw)["targets"]
        ):
            await self.finish(qid)

    async def finish(self, qid: str) -> None:
        """Answer the query once (at the deadline or when all targets are in); a full
        set of translations is cached even when it came after a "busy" answer, so the
        user typing the query again is answered at once."""
        raw = await self.redis.get(_STATE + qid)
        if raw is None:
            return
        state = json.loads(raw)
        stored = await self.redis.hgetall(_RESULTS + qid)
        results = {as_text(k): json.loads(v) for k, v in stored.items()}
        items = [self._item(tgt, results.get(tgt), state["locale"]) for tgt in state["targets"]]
        translated = all(ok for ok, _ in items)
        if translated:
            await self.redis.set(
                state["cache"], json.dumps([i for _, i in items]), ex=CACHE_SECONDS
            )
        if not await self.redis.set(_ANSWERED + qid, "1", nx=True, ex=300):
            return
        articles = [article(*i) for _, i in items]
        if translated:
            await self.answer(qid, articles, personal=state["personal"])
        else:  # busy or failed: never cached, by Telegram or for other users
            await self.answer(qid, articles, personal=True, cache=0)

    def _item(self, tgt: str, result: Any, locale: str) -> tuple[bool, list[str]]:
        """(translated?, [id, title, description, message]) for one target."""
        if isinstance(result, dict) and result.get("ok"):
            text = str(result["text"]) or "…"
            return True, [tgt, text, f"{result['src']} → {tgt}", text]
        if result is None:
            busy = self.phrases(texts.INLINE_BUSY, locale)
            return False, [tgt, busy, tgt, busy]
        # Worded as a chat answer is: "no model" only when that is what went wrong.
        src = result.get("src", "?") if isinstance(result, dict) else "?"
        error = result.get("error") if isinstance(result, dict) else None
        message = texts.ERRORS.get(str(error)) or texts.INTERNAL
        failed = self.phrases(message, locale, src=src, tgt=tgt, code=src)
        return False, [tgt, failed, tgt, failed]

    async def answer(
        self,
        qid: str,
        articles: list[InlineQueryResultArticle],
        personal: bool,
        cache: int | None = None,
    ) -> None:
        """Answer an inline query (a late answer is simply dropped)."""
        results: list[Any] = list(articles)
        if cache is None:
            cache = 60 if personal else 300
        try:
            await self.bot.answer_inline_query(qid, results, cache_time=cache, is_personal=personal)
        except TelegramAPIError as exc:
            # A query answered too late is simply gone; nothing else can be done.
            log.info("inline query %s not answered: %r", qid, exc)


def article(item_id: str, title: str, description: str, message: str) -> InlineQueryResultArticle:
    """An article of an inline answer, cut to Telegram's limits."""
    return InlineQueryResultArticle(
        id=item_id[:64],
        title=title[:100],
        description=description[:200],
        input_message_content=InputTextMessageContent(message_text=message[:4096]),
    )
