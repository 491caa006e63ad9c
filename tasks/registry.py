"""Model registry: one translator per language pair per worker process.

Loaded lazily on first use, inside the worker child (never in the prefork parent:
forking after torch starts its threads, or after CUDA initialises, breaks children).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from tasks.engine import EngineOptions, TransformersTranslator, Translator
from tasks.errors import ModelUnavailable, UnsupportedPair

log = logging.getLogger(__name__)

Loader = Callable[[str, EngineOptions], Translator]
LoadHook = Callable[[str, float], None]


def model_id_for(template: str, src: str, tgt: str) -> str:
    """Fill MODEL_TEMPLATE for a pair (codes are already validated)."""
    return os.path.expanduser(template.format(src=src, tgt=tgt))


def looks_local(model_id: str) -> bool:
    """A template that names a folder rather than a hub repository."""
    return model_id.startswith(("/", ".", "~")) or Path(model_id).exists()


class ModelRegistry:
    """Loads and keeps translators keyed by pair; thread-safe."""

    def __init__(
        self,
        template: str,
        options: EngineOptions,
        loader: Loader = TransformersTranslator.load,
        on_load: LoadHook | None = None,
    ) -> None:
        self.template = template
        self.options = options
        self._loader = loader
        self._on_load = on_load
        self._models: dict[tuple[str, str], Translator] = {}
        self._lock = threading.Lock()

    def get(self, src: str, tgt: str) -> Translator:
        """Return the pair's translator, loading it once.

        Raises:
            UnsupportedPair: no model exists for the pair.
            ModelUnavailable: the model exists but could not be loaded.
        """
        key = (src, tgt)
        if (found := self._models.get(key)) is not None:
            return found
        with self._lock:
            if (found := self._models.get(key)) is None:
                found = self._models[key] = self._load(src, tgt)
        return found

    def _load(self, src: str, tgt: str) -> Translator:
        model_id = model_id_for(self.template, src, tgt)
        if looks_local(model_id) and not Path(model_id).is_dir():
            raise UnsupportedPair(src, tgt, model_id)
        started = time.perf_counter()
        try:
            translator = self._loader(model_id, self.options)
        except OSError as exc:
            # transformers raises OSError both for "no such repository" and for an
            # unreachable hub; only the first means the pair does not exist.
            if "not a valid model identifier" in str(exc) or "does not appear" in str(exc):
                raise UnsupportedPair(src, tgt, model_id) from exc
            raise ModelUnavailable(f"{model_id}: {exc}") from exc
        except Exception as exc:
            raise ModelUnavailable(f"{model_id}: {exc}") from exc
        elapsed = time.perf_counter() - started
        log.info("model %r ready in %.2fs (pid %d)", model_id, elapsed, os.getpid())
        if self._on_load is not None:
            self._on_load(model_id, elapsed)
        return translator
