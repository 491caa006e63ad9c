"""Translators: turn a batch of segments into translations with one model.

Knows nothing of Telegram or Celery. Models are loaded only inside the worker
child; the libraries are imported in the worker's parent (`import_libraries`), so
forked children start warm.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from tasks.errors import UnsupportedPair
from tasks.languages import flores

if TYPE_CHECKING:
    from config import Settings

log = logging.getLogger(__name__)


class Translator(Protocol):
    """Anything that translates a batch of plain-text segments."""

    def translate_batch(self, texts: list[str], src: str, tgt: str) -> list[str]:
        """Translate each text; same length and order. Pair models ignore src/tgt."""
        ...


@dataclass(frozen=True)
class EngineOptions:
    """How models are run."""

    device: str = "auto"
    num_beams: int = 2
    threads: int = 0
    engine: str = "transformers"
    cache_dir: str = "~/.cache/tolmach"
    compute_type: str = "auto"

    @classmethod
    def from_settings(cls, settings: Settings) -> EngineOptions:
        """The options the settings ask for."""
        return cls(
            device=settings.device,
            num_beams=settings.num_beams,
            threads=settings.torch_threads,
            engine=settings.engine,
            cache_dir=settings.model_cache,
            compute_type=settings.ct2_compute_type,
        )


def pick_device(device: str) -> str:
    """Resolve `auto` to `cuda` when a GPU is usable, else `cpu`."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


class LanguageTokens:
    """How a multilingual model is told the source and target language."""

    def __init__(self, tokenizer: Any) -> None:
        name = type(tokenizer).__name__
        self.kind = "nllb" if name.startswith("Nllb") else "m2m100"
        self.tokenizer = tokenizer

    def code(self, lang: str) -> str | None:
        """The model's own code for a language, if it knows it."""
        code = flores(lang) if self.kind == "nllb" else lang.split("-")[0]
        if code is None:
            return None
        token = code if self.kind == "nllb" else f"__{code}__"
        unk = self.tokenizer.unk_token_id
        return code if self.tokenizer.convert_tokens_to_ids(token) not in (None, unk) else None

    def forced_bos(self, tgt_code: str) -> int:
        """Token id that makes the decoder write in the target language."""
        token = tgt_code if self.kind == "nllb" else f"__{tgt_code}__"
        return int(self.tokenizer.convert_tokens_to_ids(token))


def is_multilingual(tokenizer: Any) -> bool:
    """NLLB-200 and M2M100 need language tokens; opus-mt pair models do not."""
    return type(tokenizer).__name__.startswith(("Nllb", "M2M100"))


class TransformersTranslator:
    """A Hugging Face seq2seq model run with torch: opus-mt pairs, NLLB-200, M2M100."""

    def __init__(self, tokenizer: Any, model: Any, device: str, num_beams: int) -> None:
        self.tokenizer = tokenizer
        self.model = model
        self.device = device
        self.num_beams = num_beams
        self.languages = LanguageTokens(tokenizer) if is_multilingual(tokenizer) else None
        # src_lang is tokenizer state; one batch at a time sets and uses it.
        self._lock = threading.Lock()

    @classmethod
    def load(cls, model_id: str, options: EngineOptions) -> TransformersTranslator:
        """Load tokenizer and model from a hub id or a local folder."""
        import torch
        from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

        if options.threads:
            torch.set_num_threads(options.threads)
        device = pick_device(options.device)
        tokenizer = AutoTokenizer.from_pretrained(model_id)
        model = AutoModelForSeq2SeqLM.from_pretrained(model_id).to(device).eval()
        log.info("loaded %r on %s", model_id, device)
        return cls(tokenizer, model, device, options.num_beams)

    def translate_batch(self, texts: list[str], src: str, tgt: str) -> list[str]:
        """Translate texts in one `generate` call (greedy or beam search)."""
        import torch

        if not texts:
            return []
        extra: dict[str, Any] = {}
        with self._lock:
            if self.languages is not None:
                src_code, tgt_code = self.languages.code(src), self.languages.code(tgt)
                if src_code is None or tgt_code is None:
                    raise UnsupportedPair(src, tgt, type(self.model).__name__)
                self.tokenizer.src_lang = src_code
                extra["forced_bos_token_id"] = self.languages.forced_bos(tgt_code)
            # Marian stops at 512 positions; longer input is cut rather than crashing.
            batch = self.tokenizer(
                texts, return_tensors="pt", padding=True, truncation=True, max_length=512
            ).to(self.device)
        with torch.inference_mode():
            out = self.model.generate(**batch, num_beams=self.num_beams, **extra)
        if extra:
            # Position 0 is the decoder start, 1 the forced language token: not text
            # (and not always marked special, so skip_special_tokens may keep it).
            out = out[:, 2:]
        decoded: list[str] = self.tokenizer.batch_decode(out, skip_special_tokens=True)
        return [text.strip() for text in decoded]


def import_libraries(engine: str) -> None:
    """Import the engine's libraries now: in a worker's main process before it forks,
    children then share these pages instead of each importing for seconds.

    Only imports: no model, thread pool or CUDA context is created (fork safety).
    """
    if engine == "ctranslate2":
        import ctranslate2  # noqa: F401
        import sentencepiece  # noqa: F401

        return
    import torch  # noqa: F401
    import transformers

    # transformers imports lazily: touch the classes a model load needs (opus-mt's
    # Marian is most of it: generation and modelling code).
    for name in ("AutoModelForSeq2SeqLM", "AutoTokenizer", "MarianMTModel", "MarianTokenizer"):
        getattr(transformers, name)
    with contextlib.suppress(ImportError):
        import sacremoses  # noqa: F401 (Marian's tokenizer imports it on first use: 0.5 s)


def load_translator(model_id: str, options: EngineOptions) -> Translator:
    """Load a model with the configured engine."""
    if options.engine == "ctranslate2":
        from tasks.ct2 import CTranslate2Translator

        return CTranslate2Translator.load(model_id, options)
    return TransformersTranslator.load(model_id, options)
