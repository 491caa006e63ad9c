"""Typed engine errors; each maps to one error code of the task contract."""

from __future__ import annotations

from tasks.contract import ErrorCode


class TranslationError(Exception):
    """Base of the errors a translation request can end with."""

    code: ErrorCode = "internal"


class UnsupportedPair(TranslationError):
    """No model exists for the requested language pair."""

    code: ErrorCode = "unsupported_pair"

    def __init__(self, src: str, tgt: str, model_id: str) -> None:
        super().__init__(f"no model for {src}>{tgt} ({model_id})")
        self.src, self.tgt, self.model_id = src, tgt, model_id


class ModelUnavailable(TranslationError):
    """A model exists in principle but could not be loaded here."""

    code: ErrorCode = "model_unavailable"


class TextTooLong(TranslationError):
    """The text is over the configured character limit."""

    code: ErrorCode = "text_too_long"


class SameLanguage(TranslationError):
    """The (detected) source already is the target language."""

    code: ErrorCode = "same_language"

    def __init__(self, language: str) -> None:
        super().__init__(language)
        self.code_of_language = language


class Undetected(TranslationError):
    """The source language of the text could not be detected."""

    code: ErrorCode = "undetected"


class Skipped(TranslationError):
    """The text is in one of the languages the requester asked to leave alone."""

    code: ErrorCode = "skipped"
