"""Inline mode: `@bot en>ru text` in any chat, answered fast or with a clear "busy".

Telegram sends a query on nearly every keystroke, so a query waits a moment and is
dropped if the same user typed on (debounce). The rest go to the inline queue, which
workers empty first; one task per target. Answers gather in Redis and the inline
query is answered once, when all targets are in or at the deadline. Finished
answers are cached, so a repeated query is answered without a worker; a "busy" answer
is not (Telegram is told not to either), and a translation that finishes after it is,
so the user typing the query again sees it at once.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging

from aiogram.types import InlineQuery, InlineQueryResultArticle
from redis.asyncio import Redis

from bot import texts
from bot.context import ReplyContext
from bot.errors import Busy, TryLater
from bot.i18n import Texts
from bot.inline.answers import InlineAnswers, article
from bot.limits import Limiter
from tasks.client.prefs import PrefsStore
from tasks.client.submit import Submitter
from tasks.contract import QUEUE_INLINE
from tasks.pairs import PairError, parse_translate

log = logging.getLogger(__name__)

_SEQ, _CACHE = "tolmach:iq:seq:", "tolmach:iq:cache:"
# Store ARGV[1] at KEYS[1] unless a larger number is there already.
_KEEP_MAX = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > current then redis.call('SET', KEYS[1], ARGV[1], 'EX', 60) end
"""
DEBOUNCE = 0.35
DEADLINE = 8.0
MAX_TARGETS = 3


class InlineFlow:
    """Answers inline queries through the workers, once each."""

    def __init__(
        self,
        *,
        submitter: Submitter,
        prefs: PrefsStore,
        redis: Redis,
        phrases: Texts,
        answers: InlineAnswers,
        limiter: Limiter,
        debounce: float = DEBOUNCE,
        deadline: float = DEADLINE,
    ) -> None:
        self.submitter, self.prefs, self.redis = submitter, prefs, redis
        self.limiter = limiter
        self.phrases = phrases
        self.answers = answers
        self.debounce, self.deadline = debounce, deadline
        self._timers: set[asyncio.Task[None]] = set()

    async def query(self, query: InlineQuery, order: int, locale: str) -> None:
        """Handle one inline query; `order` (the update id) says which is newest."""
        try:
            request = parse_translate(query.query)
        except PairError:
            request = None
        if request is None or not request.text:
            # Personal: the help is in the user's language, and Telegram would show one
            # user's to everyone typing the same query for the cache's five minutes.
            await self.answers.answer(query.id, [self._help(locale)], personal=True)
            return
        # Requested targets first, then the user's usual ones (never the source).
        usual = await self._usual_targets(query)
        extra = tuple(t for t in usual if t not in request.targets and t != request.src)
        targets = (request.targets + extra)[:MAX_TARGETS]
        personal = len(targets) > len(request.targets)
        key = _CACHE + _digest(request.src, targets, request.text)
        # A cached answer costs nothing: no debounce for it.
        if (cached := await self.redis.get(key)) is not None:
            articles = [article(*item) for item in json.loads(cached)]
            await self.answers.answer(query.id, articles, personal=personal)
            return
        if not await self._newest(query, order):
            return  # the user typed on; that later query will be answered
        if not await self._admitted(query, locale):
            return
        state = {
            "targets": targets,
            "personal": personal,
            "locale": locale,
            "cache": key,
        }
        await self.answers.expect(query.id, state)
        for tgt in targets:
            context = ReplyContext(
                chat_id=0, message_id=0, locale=locale, kind="inline", label=tgt, query_id=query.id
            )
            await self.submitter.translate(
                context.record(), request.text, request.src, tgt, queue=QUEUE_INLINE
            )
        timer = asyncio.create_task(self._at_deadline(query.id))
        self._timers.add(timer)
        timer.add_done_callback(self._timers.discard)

    async def _at_deadline(self, qid: str) -> None:
        await asyncio.sleep(self.deadline)
        await self.answers.finish(qid)

    async def _admitted(self, query: InlineQuery, locale: str) -> bool:
        """Rate limits count queries that reach the workers (after debounce and cache)."""
        try:
            await self.limiter.admit(query.from_user.id, None, group=False)
        except TryLater as refused:
            phrase = texts.BUSY if isinstance(refused, Busy) else texts.RATE_LIMITED
            text = self.phrases(phrase, locale, seconds=refused.retry_after)
            await self.answers.answer(
                query.id, [article("limited", text, "", text)], personal=True, cache=0
            )
            return False
        return True

    def _help(self, locale: str) -> InlineQueryResultArticle:
        title = self.phrases(texts.INLINE_HELP_TITLE, locale)
        usage = self.phrases(texts.INLINE_HELP, locale)
        return article("help", title, usage, usage)

    async def _newest(self, query: InlineQuery, order: int) -> bool:
        # Handlers run concurrently, so arrival order comes from the update id, and
        # the newest query of the user wins even if an older one is handled later.
        key = _SEQ + str(query.from_user.id)
        await self.redis.eval(_KEEP_MAX, 1, key, order)
        await asyncio.sleep(self.debounce)
        return int(await self.redis.get(key) or 0) == order

    async def _usual_targets(self, query: InlineQuery) -> tuple[str, ...]:
        user = await self.prefs.languages_of(query.from_user.id, query.from_user.language_code)
        return tuple(t for t in (user.target, user.second) if t)


def _digest(src: str, targets: tuple[str, ...], text: str) -> str:
    return hashlib.blake2b(f"{src}|{','.join(targets)}|{text}".encode(), digest_size=16).hexdigest()
