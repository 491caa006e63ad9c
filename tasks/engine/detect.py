"""Source-language detection for `auto`, offline (lingua ships its models)."""

from __future__ import annotations

import threading
from typing import Any

from tasks.languages import LANGUAGES

# A short default set keeps memory low; DETECT_LANGUAGES widens or narrows it.
DEFAULT_LANGUAGES = (
    "en",
    "ru",
    "uk",
    "de",
    "fr",
    "es",
    "it",
    "pt",
    "pl",
    "tr",
    "zh",
    "ja",
    "ko",
    "ar",
    "nl",
    "be",
    "kk",
    "cs",
    "sv",
    "fi",
    "he",
    "hi",
    "fa",
    "vi",
)


class LanguageDetector:
    """Detects a text's language among a configured set; built on first use."""

    def __init__(self, languages: list[str] | None = None) -> None:
        self.codes = [c for c in (languages or DEFAULT_LANGUAGES) if c in LANGUAGES]
        self._detector: Any = None
        self._lock = threading.Lock()

    def detect(self, text: str) -> str | None:
        """The most likely language code of `text`, or None when unsure."""
        detector = self._build()
        language = detector.detect_language_of(text)
        if language is None:
            return None
        code: str = language.iso_code_639_1.name.lower()
        return code

    def candidates(self, text: str, most: int = 3) -> list[tuple[str, float]]:
        """The likeliest languages of `text` with lingua's confidence (0 to 1), best first."""
        values = self._build().compute_language_confidence_values(text)
        found = [(v.language.iso_code_639_1.name.lower(), float(v.value)) for v in values]
        return [(code, value) for code, value in found[:most] if value > 0]

    def _build(self) -> Any:
        with self._lock:
            if self._detector is None:
                from lingua import IsoCode639_1, LanguageDetectorBuilder

                isos = [getattr(IsoCode639_1, c.split("-")[0].upper(), None) for c in self.codes]
                builder = LanguageDetectorBuilder.from_iso_codes_639_1(*[i for i in isos if i])
                self._detector = builder.with_minimum_relative_distance(0.05).build()
            return self._detector
