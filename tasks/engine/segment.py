"""Split text into sentence-sized pieces for the model, and put it back together.

Marian and NLLB drop trailing sentences of long inputs and stop at 512 tokens, so
text is translated sentence by sentence. Everything that is not prose — whitespace,
line breaks, URLs, e-mails, @mentions, #hashtags, `code` and emoji — is kept out of
the model entirely, so it survives byte for byte.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Spans that are never translated. Order matters: code first (it may hold anything).
_KEEP = re.compile(
    r"""
    `[^`\n]+`                                   # inline code
    | (?:https?://|www\.)[^\s<>"]+[^\s<>".,;:!?)\]}'»]   # URLs
    | [\w.+-]+@[\w-]+(?:\.[\w-]+)+              # e-mail addresses
    | (?<![\w@])@\w{2,}                          # @mentions
    | (?<![\w#])\#\w+                            # #hashtags
    | [\U0001F000-\U0001FAFF\u2600-\u27BF\uFE0F\u200D\U0001F1E6-\U0001F1FF]+  # emoji
    """,
    re.VERBOSE,
)
# In Telegram HTML, tags and character references are kept as they are too.
_HTML_KEEP = re.compile(r"<[^<>]*>|&(?:#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+);")
# A sentence ends at . ! ? … (or CJK stops) followed by space, or at a CJK stop.
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'»”)\]]*\s+|(?<=[。！？])\s*")
# A period after these words (or after a single letter) does not end a sentence.
_ABBREVIATIONS = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "dr",
        "prof",
        "st",
        "jr",
        "sr",
        "vs",
        "etc",
        "e.g",
        "i.e",
        "fig",
        "no",
        "vol",
        "p",
        "pp",
        "approx",
        "inc",
        "ltd",
        "co",
        "т.е",
        "г",
        "ул",
        "им",
        "см",
        "стр",
        "тыс",
        "млн",
        "руб",
    ]
)
# Pieces longer than this are cut further (at commas, then spaces) for the model.
MAX_PIECE_CHARS = 600


@dataclass(frozen=True)
class Piece:
    """A span of the original text; `translate` says whether the model sees it."""

    text: str
    translate: bool


def split(text: str, *, html: bool = False) -> list[Piece]:
    """Cut `text` into pieces whose concatenation is exactly `text`.

    Translatable pieces are stripped sentences holding at least one letter. With
    `html`, tags and character references are kept out of the model as well.
    """
    pieces: list[Piece] = []
    for chunk, keep in _protected(text, html):
        if keep:
            pieces.append(Piece(chunk, False))
        else:
            pieces.extend(_sentences(chunk))
    return _merge_kept(pieces)


def join(pieces: list[Piece], translations: list[str]) -> str:
    """Rebuild the text with the translatable pieces replaced, in order."""
    todo = iter(translations)
    out = [next(todo) if piece.translate else piece.text for piece in pieces]
    if next(todo, None) is not None:
        raise ValueError("more translations than pieces")
    return "".join(out)


def to_translate(pieces: list[Piece]) -> list[str]:
    """The texts the model must translate, in order."""
    return [piece.text for piece in pieces if piece.translate]


def _protected(text: str, html: bool) -> list[tuple[str, bool]]:
    out: list[tuple[str, bool]] = []
    pos = 0
    spans = [*_KEEP.finditer(text), *(_HTML_KEEP.finditer(text) if html else [])]
    for match in _non_overlapping(spans):
        if match.start() > pos:
            out.append((text[pos : match.start()], False))
        out.append((match.group(), True))
        pos = match.end()
    if pos < len(text):
        out.append((text[pos:], False))
    return out


def _non_overlapping(spans: list[re.Match[str]]) -> list[re.Match[str]]:
    """Earliest first; a span starting inside a taken one is dropped."""
    taken: list[re.Match[str]] = []
    for match in sorted(spans, key=lambda m: (m.start(), -m.end())):
        if not taken or match.start() >= taken[-1].end():
            taken.append(match)
    return taken


def _sentences(chunk: str) -> list[Piece]:
    pieces: list[Piece] = []
    for line in re.split(r"(\n+)", chunk):
        pos = 0
        for match in _SENTENCE_END.finditer(line):
            if _abbreviation_before(line, match.start()):
                continue
            pieces.extend(_piece(line[pos : match.start()]))
            pieces.append(Piece(match.group(), False))
            pos = match.end()
        pieces.extend(_piece(line[pos:]))
    return pieces


def _abbreviation_before(line: str, end: int) -> bool:
    if end == 0 or line[end - 1] != ".":
        return False
    word = line[:end].rsplit(None, 1)[-1].rstrip(".").lower()
    return (len(word) == 1 and word.isalpha()) or word in _ABBREVIATIONS


def _piece(text: str) -> list[Piece]:
    """A sentence: its surrounding whitespace kept apart, prose only to the model."""
    if not text:
        return []
    core = text.strip()
    if not core or not any(ch.isalpha() for ch in core):
        return [Piece(text, False)]
    lead, trail = text[: len(text) - len(text.lstrip())], text[len(text.rstrip()) :]
    parts = [Piece(lead, False)] if lead else []
    parts.extend(_cut_long(core))
    if trail:
        parts.append(Piece(trail, False))
    return parts


def _cut_long(core: str) -> list[Piece]:
    if len(core) <= MAX_PIECE_CHARS:
        return [Piece(core, True)]
    cut = max(core.rfind(", ", 0, MAX_PIECE_CHARS), core.rfind(" ", 0, MAX_PIECE_CHARS))
    if cut <= 0:
        cut = MAX_PIECE_CHARS
    head, tail = core[: cut + 1], core[cut + 1 :]
    return [*_piece(head), *_piece(tail)]


def _merge_kept(pieces: list[Piece]) -> list[Piece]:
    merged: list[Piece] = []
    for piece in pieces:
        if merged and not piece.translate and not merged[-1].translate:
            merged[-1] = Piece(merged[-1].text + piece.text, False)
        elif piece.text:
            merged.append(piece)
    return merged
