"""Parse `/translate` arguments: `src>tgt text`. Pure functions, no aiogram."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.errors import SameLanguage, UnknownLanguage, UsageError
from tasks.languages import normalize_code

# The pair is the first whitespace-free word; the text is everything after it,
# line breaks included.
_ARGS_RE = re.compile(r"\s*(\S+)(?:\s+(.*))?\Z", re.DOTALL)


@dataclass(frozen=True)
class TranslateCommand:
    """A parsed request: translate `text` from `src` to `tgt`."""

    src: str
    tgt: str
    text: str


def parse_translate(args: str | None) -> TranslateCommand:
    """Parse the text after `/translate`.

    Args:
        args: everything after the command word, e.g. ``"en>ru Hello, world"``.

    Raises:
        UsageError: no pair or no text.
        UnknownLanguage: a side of the pair is not a language code.
        SameLanguage: source and target are equal.
    """
    match = _ARGS_RE.match(args or "")
    if match is None or ">" not in match.group(1):
        raise UsageError
    head, rest = match.group(1), match.group(2) or ""
    src_raw, _, tgt_raw = head.partition(">")
    src, tgt = _code(src_raw), _code(tgt_raw)
    if src == tgt:
        raise SameLanguage(src)
    text = rest.strip()
    if not text:
        raise UsageError
    return TranslateCommand(src=src, tgt=tgt, text=text)


def _code(raw: str) -> str:
    code = normalize_code(raw)
    if code is None:
        raise UnknownLanguage(raw.strip() or "?")
    return code
