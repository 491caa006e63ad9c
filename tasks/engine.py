"""Translators: turn a batch of texts into translations with one model.

Knows nothing of Telegram or Celery. torch and transformers are imported here
only, and only when a model is actually loaded.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Protocol

log = logging.getLogger(__name__)


class Translator(Protocol):
    """Anything that translates a batch of plain-text segments."""

    def translate_batch(self, texts: list[str]) -> list[str]:
        """Translate each text; the result has the same length and order."""
        ...


@dataclass(frozen=True)
class EngineOptions:
    """How models are run."""

    device: str = "auto"
    num_beams: int = 2
    threads: int = 0


def pick_device(device: str) -> str:
    """Resolve `auto` to `cuda` when a GPU is usable, else `cpu`."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


class TransformersTranslator:
    """A Hugging Face seq2seq model (Marian/opus-mt first) run with torch."""

    def __init__(self, tokenizer: Any, model: Any, device: str, num_beams: int) -> None:
        self.tokenizer = tokenizer
        self.model = model
        self.device = device
        self.num_beams = num_beams

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

    def translate_batch(self, texts: list[str]) -> list[str]:
        """Translate texts in one `generate` call (greedy or beam search)."""
        import torch

        if not texts:
            return []
        # Marian stops at 512 positions; longer input is cut rather than crashing.
        batch = self.tokenizer(
            texts, return_tensors="pt", padding=True, truncation=True, max_length=512
        ).to(self.device)
        with torch.inference_mode():
            out = self.model.generate(**batch, num_beams=self.num_beams)
        decoded: list[str] = self.tokenizer.batch_decode(out, skip_special_tokens=True)
        return [text.strip() for text in decoded]


def translate_lines(translator: Translator, text: str) -> str:
    """Translate a text line by line, keeping blank lines and line breaks as they were."""
    lines = text.split("\n")
    todo = [i for i, line in enumerate(lines) if line.strip()]
    done = translator.translate_batch([lines[i].strip() for i in todo])
    for i, translated in zip(todo, done, strict=True):
        line = lines[i]
        indent = line[: len(line) - len(line.lstrip())]
        lines[i] = indent + translated
    return "\n".join(lines)
