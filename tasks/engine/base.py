"""What every engine shares: the Translator protocol, how models run, language tokens.

Knows nothing of Telegram or Celery, and imports no model library at import time.
Models are loaded only inside the worker child; the libraries are imported in the
worker's parent (`import_libraries`), so forked children start warm.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from tasks.languages import flores

if TYPE_CHECKING:
    from config import Settings


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
    # 0: every core (CTranslate2: a parallel batch per core; torch: its own default).
    threads: int = 0
    engine: str = "auto"
    cache_dir: str = "~/.cache/tolmach"
    compute_type: str = "auto"

    @classmethod
    def from_settings(cls, settings: Settings, threads: int | None = None) -> EngineOptions:
        """The options the settings ask for (`threads`, when given, for TORCH_THREADS)."""
        return cls(
            device=settings.device,
            num_beams=settings.num_beams,
            threads=settings.torch_threads if threads is None else threads,
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


def import_libraries(engine: str) -> None:
    """Import the engine's libraries now: in a worker's main process before it forks,
    children then share these pages instead of each importing for seconds.

    Only imports: no model, thread pool or CUDA context is created (fork safety). With
    `auto`, CTranslate2's: torch is imported only if a model needs converting or is of a
    type CTranslate2 does not run.
    """
    if engine in ("ctranslate2", "auto"):
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
