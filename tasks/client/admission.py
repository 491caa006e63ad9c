"""One admission policy for every front end: what one request may hold, which targets
the deployment serves, and whether the queue has room.

Front ends check here before anything is saved or queued, so nothing accepted fails
later for its size, and one request cannot buy unbounded work. Each front end words
a `Refused` its own way (the bot in the user's language, the API as a 4xx/503).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from redis.asyncio import Redis

from config import Settings
from tasks.catalog import Catalog, reachable
from tasks.client.broker import QueueDepth
from tasks.client.catalog import CatalogReader
from tasks.contract import UNUSABLE


class Refused(Exception):
    """A request the policy does not accept; `reason` is a stable code, `public` the
    sentence a caller is shown (built here from the refusal's own fields)."""

    reason = "refused"

    def __init__(self, public: str) -> None:
        super().__init__(public)
        self.public = public


class InvalidText(Refused):
    """A text that is not valid Unicode or holds control characters."""

    reason = "invalid_text"

    def __init__(self, index: int, problem: str) -> None:
        super().__init__(f"text {index + 1} {problem}")
        self.index, self.problem = index, problem


class TextTooLong(Refused):
    """A text over the character limit."""

    reason = "text_too_long"

    def __init__(self, length: int, limit: int) -> None:
        # LibreTranslate's words, which its clients' users know.
        super().__init__(f"request ({length}) exceeds text limit ({limit})")
        self.length, self.limit = length, limit


class TooMuchWork(Refused):
    """Texts × targets × characters over the per-request budget, or too many targets."""

    reason = "too_much_work"


class NotServed(Refused):
    """A target this deployment does not translate into."""

    reason = "not_served"

    def __init__(self, targets: Sequence[str], served: Sequence[str]) -> None:
        named = ", ".join(targets)
        offered = ", ".join(served) or "none"
        super().__init__(f"this server does not translate into {named} (it offers: {offered})")
        self.targets = list(targets)


class QueueFull(Refused):
    """The queues hold MAX_QUEUE_DEPTH tasks; nothing was accepted."""

    reason = "queue_full"

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"the server is busy; try again in {retry_after} s")
        self.retry_after = retry_after


def invalid_problem(text: str) -> str | None:
    """What makes `text` untranslatable (a lone surrogate, NUL, a control character),
    or None. Such text breaks encoders and tokenizers; workers would refuse it."""
    found = UNUSABLE.search(text)
    if found is None:
        return None
    code = ord(found.group())
    if 0xD800 <= code <= 0xDFFF:
        return f"holds a lone surrogate (U+{code:04X}), which is not valid Unicode"
    return f"holds a control character ({'NUL' if code == 0 else f'U+{code:04X}'})"


@dataclass(frozen=True)
class Policy:
    """The limits, from Settings; the same numbers for every front end."""

    max_chars: int
    char_budget: int
    max_targets: int
    max_queue_depth: int
    retry_after: int

    @classmethod
    def from_settings(cls, settings: Settings) -> Policy:
        """The deployment's policy."""
        return cls(
            max_chars=settings.max_text_chars,
            char_budget=settings.request_char_budget,
            max_targets=settings.max_targets,
            max_queue_depth=settings.max_queue_depth,
            retry_after=settings.busy_retry_after,
        )

    def text_limit(self, asked: int = 0) -> int:
        """A front end's own limit (`asked`; 0: none), never above what workers take."""
        return min(asked, self.max_chars) if asked > 0 else self.max_chars

    def check_texts(self, texts: Sequence[str], limit: int = 0) -> None:
        """Each text valid and within the limit (`limit`: a front end's own, capped).

        Raises:
            InvalidText: a text holds a lone surrogate or a control character.
            TextTooLong: a text is over the limit.
        """
        most = self.text_limit(limit)
        for index, text in enumerate(texts):
            if len(text) > most:
                raise TextTooLong(len(text), most)
            if (problem := invalid_problem(text)) is not None:
                raise InvalidText(index, problem)

    def check_work(self, texts: Sequence[str], targets: Sequence[str]) -> None:
        """The work one request buys: at most `max_targets` targets, and characters ×
        targets within the budget.

        Raises:
            TooMuchWork: over either.
        """
        if len(targets) > self.max_targets:
            raise TooMuchWork(f"{len(targets)} targets, over the limit of {self.max_targets}")
        work = sum(len(text) for text in texts) * len(targets)
        if work > self.char_budget:
            raise TooMuchWork(
                f"{work} characters to translate (texts × targets), over the limit of "
                f"{self.char_budget} per request"
            )


class Admission:
    """The policy, with the checks that ask Redis (the catalog, the queue's depth)."""

    def __init__(self, redis: Redis, policy: Policy, catalog: CatalogReader | None = None) -> None:
        self.redis = redis
        self.policy = policy
        self.depth = QueueDepth(redis)
        # The front end's one reader, shared with its other uses of the catalog.
        self.catalog = catalog or CatalogReader(redis)

    async def check_targets(self, src: str, targets: Sequence[str]) -> None:
        """Every target is one the deployment translates into (from `src`, or from
        any source for `auto`). With no catalog yet, or a hub or multilingual model,
        every known language is served.

        Raises:
            NotServed: naming the targets it does not serve.
        """
        catalog = await self.catalog()
        if catalog is None:
            return
        served = served_targets(catalog, src)
        if served is None:
            return
        missing = [tgt for tgt in targets if tgt not in served]
        if missing:
            raise NotServed(missing, sorted(served))

    async def check_queue(self) -> None:
        """Room in the queues.

        Raises:
            QueueFull: MAX_QUEUE_DEPTH tasks or more are waiting.
        """
        depth = self.policy.max_queue_depth
        if depth and await self.depth() >= depth:
            raise QueueFull(self.policy.retry_after)


def served_targets(catalog: Catalog, src: str) -> set[str] | None:
    """Targets reachable from `src` (`auto`: from any source); None: any."""
    if src != "auto":
        found = reachable(catalog, src)
        return None if found is None else set(found)
    sources = {pair.split("-", 1)[0] for pair in catalog["pairs"]}
    served: set[str] = set()
    for source in sources:
        found = reachable(catalog, source)
        if found is None:
            return None
        served.update(found)
    return served
