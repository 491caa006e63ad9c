"""Parse what people type: `/translate en>ru,de text`, `/tr ru text`, `/lang ru en`, and
`tolmach translate en>ru text`; say in words what was wrong with it.

Pure functions, no aiogram, so the bot and the `tolmach` command share them. Languages
may be codes, aliases or names in English or natively (`english>русский`); `auto` (or an
empty source) means "detect it". The words are English gettext message ids: the bot
translates them (bot/locales), the command prints them as they are.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tasks.languages import LANGUAGES, names_a_language, resolve, suggest

USAGE = (
    "Usage: /translate <from>><to> <text>\n"
    "Example: /translate en>ru Hello, world\n"
    "Or reply to a message with /translate ru"
)
NO_TARGET = (
    "Which language should I translate into? For example: /translate ru Hello. "
    "Set your usual language with /lang ru"
)
UNKNOWN_LANGUAGE = "I don't know the language “{code}”."
DID_YOU_MEAN = "Did you mean “{suggestion}”?"
SAME_LANGUAGE = "The source and the target are the same language ({code}): nothing to translate."

AUTO = "auto"

# `phrases(message, **values)`: a message id in some language, its placeholders filled.
Phrases = Callable[..., str]
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
    if code is None or not names_a_language(code):
        raise UnknownLanguage(raw.strip() or "?", suggest(raw))
    return code


class PairError(Exception):
    """What was typed names no translation to make; `words` says why."""


class UsageError(PairError):
    """The command is empty or malformed; the user gets the usage line."""


class UnknownLanguage(PairError):
    """A language not recognised, with a close match if one exists."""

    def __init__(self, code: str, suggestion: str | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.suggestion = suggestion


class SameLanguage(PairError):
    """Source and target are the same language."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class NoTarget(PairError):
    """No target language given and none set for the user or chat."""


def english(message: str, **values: Any) -> str:
    """`message` as it is (English), with `{placeholders}` filled."""
    return message.format(**values) if values else message


def words(error: PairError, phrases: Phrases = english) -> str:
    """Word `error` for a person: through `phrases` (a translation), else in English."""
    match error:
        case UsageError():
            return phrases(USAGE)
        case NoTarget():
            return phrases(NO_TARGET)
        case UnknownLanguage(code=code, suggestion=suggestion):
            text = phrases(UNKNOWN_LANGUAGE, code=code)
            if suggestion:
                text += " " + phrases(DID_YOU_MEAN, suggestion=suggestion)
            return text
        case SameLanguage(code=code):
            return phrases(SAME_LANGUAGE, code=code)
    raise TypeError(f"no words for {type(error).__name__}")
