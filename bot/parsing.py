"""Parse what users type: `/translate en>ru,de text`, `/tr ru text`, `/lang ru en`.

Pure functions, no aiogram. Languages may be codes, aliases or names in English or
natively (`english>русский`); `auto` (or an empty source) means "detect it".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.errors import SameLanguage, UnknownLanguage, UsageError
from tasks.languages import LANGUAGES, resolve, suggest

AUTO = "auto"
# The first whitespace-free word, then everything after it (line breaks included).
_HEAD_RE = re.compile(r"\s*(\S+)(?:\s+(.*))?\Z", re.DOTALL)


@dataclass(frozen=True)
class TranslateCommand:
    """A parsed request. `targets` is empty when the user gave none (use defaults);
    `text` is empty when the command only names languages (e.g. a reply-to)."""

    src: str
    targets: tuple[str, ...]
    text: str


def parse_translate(args: str | None) -> TranslateCommand:
    """Parse the text after `/translate` (or `/tr`, or a caption's command).

    Forms: `src>tgt[,tgt…] text`, `tgt text` (source detected), `text` (source
    detected, default target). A first word that is not a language is text.

    Raises:
        UnknownLanguage: a side of an explicit `a>b` pair is not a language.
        SameLanguage: an explicit source equals the only target.
    """
    match = _HEAD_RE.match(args or "")
    if match is None:
        return TranslateCommand(AUTO, (), "")
    head, rest = match.group(1), (match.group(2) or "").strip()
    if ">" in head:
        src_raw, _, tgt_raw = head.partition(">")
        src = AUTO if src_raw.strip().lower() in ("", AUTO) else language(src_raw)
        targets = languages(tgt_raw)
        if src in targets and len(targets) == 1:
            raise SameLanguage(src)
        return TranslateCommand(src, tuple(t for t in targets if t != src), rest)
    if "," in head or resolve(head) in LANGUAGES:
        try:
            return TranslateCommand(AUTO, languages(head), rest)
        except UnknownLanguage:
            pass
    return TranslateCommand(AUTO, (), (args or "").strip())


def parse_languages(args: str | None) -> tuple[str, ...]:
    """Parse `/lang ru en` (or `ru,en`): one to three languages, first is the target.

    Raises:
        UsageError: nothing given, or more than three.
        UnknownLanguage: one of them is not a language.
    """
    words = [w for w in re.split(r"[\s,>]+", args or "") if w]
    if not 1 <= len(words) <= 3:
        raise UsageError
    codes = tuple(dict.fromkeys(language(w) for w in words))
    return codes


def languages(raw: str) -> tuple[str, ...]:
    """`ru,de` → ('ru', 'de'); each must be a language."""
    parts = [p for p in raw.split(",") if p.strip()]
    if not parts:
        raise UsageError
    return tuple(dict.fromkeys(language(p) for p in parts))


def language(raw: str) -> str:
    """One language by code, alias or name.

    Raises:
        UnknownLanguage: with the closest known name as a suggestion, if any.
    """
    code = resolve(raw)
    if code is None or (code not in LANGUAGES and "-" not in code and len(code) != 2):
        raise UnknownLanguage(raw.strip() or "?", suggest(raw))
    return code
