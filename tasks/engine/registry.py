"""Model registry: which model serves a pair, and the loaded models of this process.

Models load lazily on first use, inside the worker child (never in the prefork
parent: forking after torch starts its threads, or after CUDA initialises, breaks
children), at most once per process, and the least recently used is dropped when
more than `max_loaded` are held.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tasks.engine.base import EngineOptions, Translator
from tasks.engine.choice import engine_for
from tasks.engine.transformers import TransformersTranslator
from tasks.errors import ModelUnavailable, UnsupportedPair
from tasks.languages import PIVOT
from tasks.model_paths import missing_folder

if TYPE_CHECKING:
    from config import Settings

log = logging.getLogger(__name__)

Loader = Callable[[str, EngineOptions], Translator]
LoadHook = Callable[[str, float], None]
# How long "no model for this pair" is remembered: hub look-ups are slow.
UNSUPPORTED_TTL = 300.0


def load_translator(model_id: str, options: EngineOptions) -> Translator:
    """Load a model with the configured engine; with ENGINE=auto, CTranslate2 for the
    models it converts (converted once, then cached) and transformers for the rest."""
    engine = engine_for(model_id, options.engine)
    if engine == "ctranslate2":
        from tasks.engine.ctranslate2 import CTranslate2Translator

        if options.engine != "auto":
            return CTranslate2Translator.load(model_id, options)
        try:
            translator = CTranslate2Translator.load(model_id, options)
        except ModelUnavailable as exc:
            # A model of a convertible type that still would not convert: the slower
            # engine serves it rather than nobody.
            log.warning("ENGINE=auto: %r runs on transformers: %s", model_id, exc)
            return TransformersTranslator.load(model_id, options)
        log.info("ENGINE=auto: %r runs on CTranslate2", model_id)
        return translator
    if options.engine == "auto":
        log.info("ENGINE=auto: %r runs on transformers (not a CTranslate2 model type)", model_id)
    return TransformersTranslator.load(model_id, options)


@dataclass(frozen=True)
class Step:
    """One model call of a route: `model_id` translates `src` to `tgt`."""

    model_id: str
    src: str
    tgt: str


class ModelRegistry:
    """Resolves pairs to routes and holds loaded translators; thread-safe."""

    def __init__(
        self,
        template: str,
        options: EngineOptions,
        *,
        overrides: dict[str, str] | None = None,
        max_loaded: int = 4,
        loader: Loader = load_translator,
        on_load: LoadHook | None = None,
    ) -> None:
        self.template = template
        self.overrides = overrides or {}
        self.options = options
        self.max_loaded = max_loaded
        self._loader = loader
        self._on_load = on_load
        self._models: OrderedDict[str, Translator] = OrderedDict()
        self._routes: dict[tuple[str, str], tuple[Step, ...]] = {}
        self._unsupported: dict[tuple[str, str], float] = {}
        self._lock = threading.RLock()

    @classmethod
    def from_settings(
        cls, settings: Settings, on_load: LoadHook | None = None, threads: int | None = None
    ) -> ModelRegistry:
        """A registry as MODEL_TEMPLATE, MODELS, MAX_LOADED_MODELS and the engine say
        (`threads`: the engine's, when not TORCH_THREADS)."""
        return cls(
            settings.model_template,
            EngineOptions.from_settings(settings, threads),
            overrides=settings.models,
            max_loaded=settings.max_loaded_models,
            on_load=on_load,
        )

    def candidates(self, src: str, tgt: str) -> list[str]:
        """Model ids to try for a direct pair, best first."""
        exact = self.overrides.get(f"{src}-{tgt}")
        if exact:
            return [exact]
        ids = [os.path.expanduser(self.template.format(src=src, tgt=tgt))]
        if "*" in self.overrides:
            ids.append(self.overrides["*"])
        return ids

    def route(self, src: str, tgt: str) -> tuple[Step, ...]:
        """The model calls that translate src to tgt: direct, or through English.

        Raises:
            UnsupportedPair: neither a direct model nor a pivot exists.
            ModelUnavailable: a model exists but could not be loaded.
        """
        key = (src, tgt)
        if (known := self._routes.get(key)) is not None:
            return known
        if self._unsupported.get(key, 0.0) > time.monotonic():
            raise UnsupportedPair(src, tgt, "no model (remembered)")
        try:
            steps = self._find_route(src, tgt)
        except UnsupportedPair:
            self._unsupported[key] = time.monotonic() + UNSUPPORTED_TTL
            raise
        self._routes[key] = steps
        return steps

    def _find_route(self, src: str, tgt: str) -> tuple[Step, ...]:
        try:
            return (self._direct(src, tgt),)
        except UnsupportedPair:
            if PIVOT in (src, tgt):
                raise
        try:
            return (self._direct(src, PIVOT), self._direct(PIVOT, tgt))
        except UnsupportedPair as exc:
            raise UnsupportedPair(src, tgt, f"no direct model and no pivot ({exc})") from exc

    def model(self, model_id: str) -> Translator:
        """A loaded translator by model id; loads it (once) if needed."""
        with self._lock:
            if (found := self._models.get(model_id)) is not None:
                self._models.move_to_end(model_id)
                return found
            translator = self._load(model_id)
            self._models[model_id] = translator
            while len(self._models) > self.max_loaded:
                evicted, _ = self._models.popitem(last=False)
                log.info("unloaded %r (over %d models)", evicted, self.max_loaded)
            return translator

    def _direct(self, src: str, tgt: str) -> Step:
        last: UnsupportedPair | None = None
        for model_id in self.candidates(src, tgt):
            try:
                translator = self.model(model_id)
            except UnsupportedPair:
                last = UnsupportedPair(src, tgt, model_id)
                continue
            if _supports(translator, src, tgt):
                return Step(model_id, src, tgt)
            last = UnsupportedPair(src, tgt, model_id)
        raise last or UnsupportedPair(src, tgt, "no model")

    def _load(self, model_id: str) -> Translator:
        if missing_folder(model_id):
            raise UnsupportedPair("?", "?", model_id)
        started = time.perf_counter()
        try:
            translator = self._loader(model_id, self.options)
        except (UnsupportedPair, ModelUnavailable):
            raise
        except OSError as exc:
            # transformers raises OSError both for "no such repository" and for an
            # unreachable hub; only the first means the pair does not exist.
            text = str(exc)
            if "not a valid model identifier" in text or "does not appear" in text:
                raise UnsupportedPair("?", "?", model_id) from exc
            raise ModelUnavailable(f"{model_id}: {exc}") from exc
        except Exception as exc:
            raise ModelUnavailable(f"{model_id}: {exc}") from exc
        elapsed = time.perf_counter() - started
        log.info("model %r ready in %.2fs (pid %d)", model_id, elapsed, os.getpid())
        if self._on_load is not None:
            try:
                self._on_load(model_id, elapsed)
            except Exception as exc:
                # The hook only records metrics (in Redis, which may be down at start):
                # a model that loaded must not be thrown away for it.
                log.warning("could not record the load of %r: %r", model_id, exc)
        return translator


def _supports(translator: Translator, src: str, tgt: str) -> bool:
    """Pair models serve what they are named for; multilingual ones check codes."""
    languages = getattr(translator, "languages", None)
    return languages is None or (
        languages.code(src) is not None and languages.code(tgt) is not None
    )
