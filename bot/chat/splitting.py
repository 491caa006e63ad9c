"""Split long text into Telegram-sized messages at natural boundaries."""

from __future__ import annotations

import re

TELEGRAM_LIMIT = 4096

# Preferred cut points, best first: paragraph, line, sentence end, word gap.
_BOUNDARIES = (
    re.compile(r"\n\s*\n"),
    re.compile(r"\n"),
    re.compile(r"[.!?…。]\s"),
    re.compile(r"\s"),
)


def split_message(text: str, limit: int = TELEGRAM_LIMIT) -> list[str]:
    """Cut `text` into pieces of at most `limit` characters as Telegram counts them
    (UTF-16 code units: an emoji or another character outside the BMP counts two),
    none empty.

    Pieces end at the best boundary found in their second half; a text with no
    boundary at all is cut hard at the limit.
    """
    pieces: list[str] = []
    rest = text.strip()
    while (fit := _fits(rest, limit)) < len(rest):
        cut = _cut_point(rest, fit)
        head, rest = rest[:cut].rstrip(), rest[cut:].lstrip()
        if head:
            pieces.append(head)
    if rest:
        pieces.append(rest)
    return pieces


def _fits(text: str, limit: int) -> int:
    """How many characters of `text`, from its start, fit in `limit` UTF-16 units."""
    units = 0
    for index, ch in enumerate(text):
        units += 2 if ord(ch) > 0xFFFF else 1
        if units > limit:
            return index
    return len(text)


def _cut_point(text: str, limit: int) -> int:
    window = text[: limit + 1]
    for pattern in _BOUNDARIES:
        ends = [m.end() for m in pattern.finditer(window) if m.end() <= limit]
        if ends and ends[-1] > limit // 2:
            return ends[-1]
    return limit
