"""The engine path: many requests in, one result each, sharing model calls.

Segments from every request of a batch are translated together per route (cached
ones skipped), so concurrent requests cost one model call, not one each.
"""

from __future__ import annotations

import html
import logging
from collections import defaultdict
from dataclasses import dataclass, field

from tasks.contract import TranslateFailed, TranslateOk, TranslateResult
from tasks.engine import segment
from tasks.engine.base import Translator
from tasks.engine.batching import chunks
from tasks.engine.cache import TranslationCache
from tasks.engine.detect import LanguageDetector
from tasks.engine.registry import ModelRegistry, Step
from tasks.errors import (
    SameLanguage,
    Skipped,
    TextTooLong,
    TranslationError,
    Undetected,
    UnsupportedPair,
)
from tasks.languages import resolve

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    """One request: translate `text` from `src` (a code or `auto`) to `tgt`.

    See `tasks.contract.TranslateOptions` for `fallback`, `skip` and `html`.
    """

    text: str
    src: str
    tgt: str
    fallback: str | None = None
    skip: tuple[str, ...] = ()
    html: bool = False


@dataclass
class _Planned:
    src: str
    tgt: str
    detected: bool
    pieces: list[segment.Piece]
    html: bool = False
    route: tuple[Step, ...] = ()
    translations: list[str] = field(default_factory=list)


class TranslationService:
    """Validates, detects, segments, batches, caches and reassembles."""

    def __init__(
        self,
        registry: ModelRegistry,
        *,
        cache: TranslationCache | None = None,
        detector: LanguageDetector | None = None,
        max_chars: int = 4096,
        token_budget: int = 8192,
    ) -> None:
        self.registry = registry
        self.cache = cache
        self.detector = detector or LanguageDetector()
        self.max_chars = max_chars
        self.token_budget = token_budget

    def translate(self, text: str, src: str, tgt: str) -> TranslateResult:
        """One request (a batch of one)."""
        return self.translate_many([Job(text, src, tgt)])[0]

    def translate_many(self, jobs: list[Job]) -> list[TranslateResult]:
        """Translate every job; a job's `TranslationError` never affects the others,
        anything else raises for the whole call (the worker then halves the batch)."""
        planned: list[_Planned | TranslateFailed] = [self._plan(job) for job in jobs]
        by_route: dict[tuple[Step, ...], list[int]] = defaultdict(list)
        for i, item in enumerate(planned):
            if isinstance(item, _Planned):
                by_route[item.route].append(i)
        for route, indexes in by_route.items():
            items = [planned[i] for i in indexes]
            try:
                self._run_route(route, items)  # type: ignore[arg-type]
            except TranslationError as exc:
                for i, item in zip(indexes, items, strict=True):
                    assert isinstance(item, _Planned)
                    planned[i] = _failed(exc, item.src, item.tgt)
        return [self._finish(item) for item in planned]

    def languages(
        self,
        src: str,
        tgt: str,
        text: str,
        *,
        fallback: str | None = None,
        skip: tuple[str, ...] = (),
    ) -> tuple[str, str, bool]:
        """The pair a request translates, and whether its source was detected (`auto`
        is told from `text`; `fallback` replaces a target the source already is).

        Raises:
            UnsupportedPair: An unknown language code.
            Undetected: `auto` and the language could not be told.
            Skipped: The detected source is one of `skip`.
            SameLanguage: The source already is the target.
        """
        target = resolve(tgt)
        if target is None:
            raise UnsupportedPair(src, tgt, "unknown language")
        detected = src == "auto"
        source = self._detect(text) if detected else resolve(src)
        if source is None:
            raise UnsupportedPair(src, target, "unknown language")
        if detected and source in skip:
            raise Skipped(source)
        if source == target and fallback and resolve(fallback) not in (None, source):
            target = resolve(fallback) or target
        if source == target:
            raise SameLanguage(source)
        return source, target, detected

    def _plan(self, job: Job) -> _Planned | TranslateFailed:
        try:
            if resolve(job.tgt) is not None and len(job.text) > self.max_chars:
                raise TextTooLong(f"{len(job.text)} characters, limit {self.max_chars}")
            src, tgt, detected = self.languages(
                job.src, job.tgt, job.text, fallback=job.fallback, skip=job.skip
            )
            pieces = segment.split(job.text, html=job.html)
            route = self.registry.route(src, tgt) if segment.to_translate(pieces) else ()
            return _Planned(src, tgt, detected, pieces, job.html, route)
        except SameLanguage as exc:
            return _failed(exc, exc.code_of_language, job.tgt)
        except TranslationError as exc:
            return _failed(exc, job.src, job.tgt)

    def _detect(self, text: str) -> str:
        code = self.detector.detect(text)
        if code is None:
            raise Undetected("could not detect the language")
        return code

    def _run_route(self, route: tuple[Step, ...], items: list[_Planned]) -> None:
        texts = list(dict.fromkeys(t for item in items for t in segment.to_translate(item.pieces)))
        done = self._translate_unique(route, texts)
        for item in items:
            item.translations = [done[t] for t in segment.to_translate(item.pieces)]

    def _translate_unique(self, route: tuple[Step, ...], texts: list[str]) -> dict[str, str]:
        namespace = "|".join(f"{s.model_id}:{s.src}>{s.tgt}" for s in route)
        namespace += f"|{self.registry.options.engine}|{self.registry.options.num_beams}"
        cached = self.cache.get_many(namespace, texts) if self.cache else [None] * len(texts)
        done = {t: c for t, c in zip(texts, cached, strict=True) if c is not None}
        todo = [t for t in texts if t not in done]
        current = todo
        for step in route:
            current = self._run_step(step, current)
        fresh = dict(zip(todo, current, strict=True))
        if self.cache:
            self.cache.set_many(namespace, fresh)
        return done | fresh

    def _run_step(self, step: Step, texts: list[str]) -> list[str]:
        if not texts:
            return []
        translator = self.registry.model(step.model_id)
        out: list[str] = [""] * len(texts)
        for index in chunks(texts, self.token_budget):
            batch = _halving(translator, [texts[i] for i in index], step.src, step.tgt)
            for i, translated in zip(index, batch, strict=True):
                out[i] = translated
        return out

    @staticmethod
    def _finish(item: _Planned | TranslateFailed) -> TranslateResult:
        if not isinstance(item, _Planned):
            return item
        # Model output is plain text: in HTML mode it must not open tags.
        done = [html.escape(t, quote=False) for t in item.translations] if item.html else None
        text = segment.join(item.pieces, done or item.translations)
        result = TranslateOk(ok=True, text=text, src=item.src, tgt=item.tgt)
        if item.detected:
            result["detected"] = True
        return result


def _halving(translator: Translator, texts: list[str], src: str, tgt: str) -> list[str]:
    """One model call; out of memory, the batch is split in halves rather than lost."""
    try:
        return translator.translate_batch(texts, src, tgt)
    except (MemoryError, RuntimeError) as exc:
        # torch.OutOfMemoryError and CTranslate2's CUDA errors are RuntimeErrors.
        if len(texts) < 2 or not _out_of_memory(exc):
            raise
        log.warning("out of memory on a batch of %d; splitting it", len(texts))
        half = len(texts) // 2
        return _halving(translator, texts[:half], src, tgt) + _halving(
            translator, texts[half:], src, tgt
        )


def _out_of_memory(exc: BaseException) -> bool:
    return isinstance(exc, MemoryError) or "out of memory" in str(exc).lower()


def _failed(exc: TranslationError, src: str, tgt: str) -> TranslateFailed:
    return TranslateFailed(ok=False, error=exc.code, src=src, tgt=tgt, detail=str(exc))
