"""The transformers engine: a Hugging Face seq2seq model run with torch."""

from __future__ import annotations

import logging
import threading
from typing import Any

from tasks.engine.base import EngineOptions, LanguageTokens, is_multilingual, pick_device
from tasks.errors import UnsupportedPair
from tasks.model_paths import cached_first

log = logging.getLogger(__name__)


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
        tokenizer, model = cached_first(
            model_id,
            lambda source: (
                AutoTokenizer.from_pretrained(source),
                AutoModelForSeq2SeqLM.from_pretrained(source),
            ),
        )
        model = model.to(device).eval()
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
