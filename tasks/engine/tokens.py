"""Text ↔ tokens for the CTranslate2 engine, without torch where the model allows it.

CTranslate2 takes and returns token strings. For opus-mt (Marian) models those are plain
SentencePiece pieces, so the converted folder's `source.spm`, `target.spm` and `vocab.json`
are all a worker needs: importing transformers would pull in torch (~200 MB of RSS) just
to split text. Multilingual models (M2M100, NLLB) keep the Hugging Face tokenizer, which
knows their language tokens.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Protocol

from tasks.engine.base import LanguageTokens, is_multilingual


class TokenCodec(Protocol):
    """Turns text into the source tokens a model reads, and its output tokens into text."""

    languages: LanguageTokens | None

    def encode(self, texts: list[str], src_code: str | None, max_length: int) -> list[list[str]]:
        """Source tokens of each text, end-of-sequence included, cut at `max_length`."""
        ...

    def decode(self, hypotheses: list[list[str]]) -> list[str]:
        """Text of each output token list, special tokens dropped."""
        ...

    def language_token(self, tgt_code: str) -> str:
        """The target-language token a multilingual decoder starts with."""
        ...


def load_codec(folder: Path) -> TokenCodec:
    """The lightest codec that reads this converted model's tokenizer files."""
    if MarianPieces.present(folder):
        return MarianPieces(folder)
    from transformers import AutoTokenizer

    return HuggingFaceCodec(AutoTokenizer.from_pretrained(folder))


def read_generation(folder: Path) -> dict[str, Any]:
    """The saved generation config as plain JSON (no transformers import)."""
    path = folder / "generation_config.json"
    data: dict[str, Any] = json.loads(path.read_text("utf-8")) if path.is_file() else {}
    return data


class MarianPieces:
    """opus-mt tokenization as transformers' MarianTokenizer does it, on sentencepiece alone.

    Encoding: an optional leading `>>xx<<` target code, then source pieces, pieces missing
    from the vocabulary as `<unk>`, then `</s>`. Decoding: target pieces without specials.
    """

    languages: LanguageTokens | None = None
    FILES = ("source.spm", "target.spm", "vocab.json")

    def __init__(self, folder: Path) -> None:
        import sentencepiece

        self.source = sentencepiece.SentencePieceProcessor(model_file=str(folder / "source.spm"))
        self.target = sentencepiece.SentencePieceProcessor(model_file=str(folder / "target.spm"))
        self.vocab = frozenset(json.loads((folder / "vocab.json").read_text("utf-8")))
        config = _tokenizer_config(folder)
        self.unk = _special(config, "unk_token", "<unk>")
        self.eos = _special(config, "eos_token", "</s>")
        self.specials = frozenset({self.unk, self.eos, _special(config, "pad_token", "<pad>")})

    @classmethod
    def present(cls, folder: Path) -> bool:
        """Whether `folder` holds a Marian tokenizer this class can read."""
        if not all((folder / name).is_file() for name in cls.FILES):
            return False
        config = _tokenizer_config(folder)
        return str(config.get("tokenizer_class", "MarianTokenizer")) == "MarianTokenizer"

    def encode(self, texts: list[str], src_code: str | None, max_length: int) -> list[list[str]]:
        """Source pieces of each text, as MarianTokenizer would give them."""
        return [self._encode(text, max_length) for text in texts]

    def _encode(self, text: str, max_length: int) -> list[str]:
        code: list[str] = []
        if text.startswith(">>") and (end := text.find("<<")) != -1:
            code, text = [text[: end + 2]], text[end + 2 :]
        pieces = code + self.source.encode(text, out_type=str)
        tokens = [piece if piece in self.vocab else self.unk for piece in pieces]
        return [*tokens[: max_length - 1], self.eos]

    def decode(self, hypotheses: list[list[str]]) -> list[str]:
        """Target text of each output, special tokens dropped."""
        out = []
        for tokens in hypotheses:
            kept = [token for token in tokens if token not in self.specials]
            out.append(str(self.target.decode_pieces(kept)).strip())
        return out

    def language_token(self, tgt_code: str) -> str:
        """Pair models have no target-language token."""
        raise NotImplementedError("opus-mt pair models have no language tokens")


class HuggingFaceCodec:
    """Any Hugging Face tokenizer; needed for multilingual models' language tokens."""

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer
        self.languages = LanguageTokens(tokenizer) if is_multilingual(tokenizer) else None
        # Language tokens are never text, wherever a (quantized) model puts them; not
        # every tokenizer marks them special.
        codes = getattr(tokenizer, "lang_code_to_id", None) or {}
        ids = list(codes.values())
        extra = getattr(tokenizer, "additional_special_tokens", None) or []
        self.language_tokens = frozenset([*tokenizer.convert_ids_to_tokens(ids), *extra])

    def encode(self, texts: list[str], src_code: str | None, max_length: int) -> list[list[str]]:
        """Tokens of each text; `src_code` sets a multilingual model's source language."""
        if src_code is not None:
            self.tokenizer.src_lang = src_code
        ids = [self.tokenizer.encode(t, truncation=True, max_length=max_length) for t in texts]
        return [list(self.tokenizer.convert_ids_to_tokens(i)) for i in ids]

    def decode(self, hypotheses: list[list[str]]) -> list[str]:
        """Text of each output, special tokens dropped."""
        ids = [
            self.tokenizer.convert_tokens_to_ids(
                [t for t in tokens if t not in self.language_tokens]
            )
            for tokens in hypotheses
        ]
        decoded: list[str] = self.tokenizer.batch_decode(ids, skip_special_tokens=True)
        return [text.strip() for text in decoded]

    def language_token(self, tgt_code: str) -> str:
        """The forced first token that makes the decoder write `tgt_code`."""
        assert self.languages is not None
        return str(self.tokenizer.convert_ids_to_tokens(self.languages.forced_bos(tgt_code)))


def _tokenizer_config(folder: Path) -> dict[str, Any]:
    path = folder / "tokenizer_config.json"
    data: dict[str, Any] = json.loads(path.read_text("utf-8")) if path.is_file() else {}
    return data


def _special(config: dict[str, Any], key: str, default: str) -> str:
    # Saved either as a plain string or as a serialized AddedToken.
    value = config.get(key) or default
    return str(value["content"] if isinstance(value, dict) else value)
