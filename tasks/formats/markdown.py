"""Markdown: per-line slots with the Markdown syntax cut out of them.

markdown-it-py finds the blocks that are not prose (fenced and indented code, raw HTML blocks)
and the table rows; those block lines are kept whole. In the other lines the block prefix
(heading hashes, list markers, quote marks), inline code, link and image destinations,
reference labels, raw HTML tags and bare URLs are cut out, so the model only ever sees
prose. Emphasis markers stay inside the text: cutting at every `*` would shred sentences,
and a lost marker only loses emphasis.
"""

from __future__ import annotations

import re

from markdown_it import MarkdownIt

from tasks.formats import textfile
from tasks.formats.base import Parsed, changed, one_line, split_lines

_PREFIX = re.compile(
    r"[ \t]*(?:>[ \t]?)*[ \t]*"
    r"(?:\#{1,6}(?=[ \t]|$)[ \t]*|(?:[-*+]|\d{1,9}[.)])(?=[ \t]|$)[ \t]*(?:\[[ xX]\][ \t]+)?)?"
)
_REFERENCE_DEFINITION = re.compile(r"[ ]{0,3}\[[^\]]+\]:[ \t]*\S")
_INLINE = [
    r"(?P<tick>`+).+?(?P=tick)",  # inline code
    r"\]\(\s*(?:<[^>]*>|(?:[^()\s]|\([^()\s]*\))*)(?:\s+(?:\"[^\"]*\"|'[^']*'|\([^)]*\)))?\s*\)",
    r"\]\[[^\]]*\]",  # reference label of a link
    r"!?\[",  # opening bracket of a link or image
    r"<[A-Za-z/!?][^<>]*>",  # raw HTML tags and autolinks
    r"(?:https?|ftp)://[^\s<>()\[\]]+",
    r"(?<=\s)\#+[ \t]*$",  # closing hashes of an ATX heading
    r"\\$",  # hard line break
]
_PROTECTED = re.compile("|".join(_INLINE))
_CELL_BORDER = re.compile(r"(?<!\\)\|")
_FRONT_MATTER_END = frozenset({"---", "..."})


def load(name: str, data: bytes) -> Parsed:
    """Parse a Markdown file into prose slots; everything else is kept byte for byte.

    Args:
        name: The file name, for error messages.
        data: The file's bytes.

    Returns:
        The parsed document, written back in its own encoding when it can hold the text.
    """
    decoded = textfile.decode(name, data)
    parts = split_lines(decoded.text)
    kept, tables = _block_lines(parts[0::2])
    pieces: list[list[str]] = []
    slots: list[tuple[int, int]] = []
    for n, line in enumerate(parts[0::2]):
        line_pieces = [line] if n in kept else _split_line(line, table=n in tables)
        # Pieces alternate syntax, text, syntax, text...: text sits at odd indexes.
        slots.extend((n, k) for k in range(1, len(line_pieces), 2))
        pieces.append(line_pieces)
    texts = [pieces[n][k] for n, k in slots]

    def write(new: list[str]) -> bytes:
        out = [list(line_pieces) for line_pieces in pieces]
        for i, text in changed(texts, new):
            n, k = slots[i]
            out[n][k] = one_line(text)
        lines = parts.copy()
        lines[0::2] = ["".join(line_pieces) for line_pieces in out]
        return textfile.encode("".join(lines), decoded.encoding)

    return Parsed(texts, write)


def _block_lines(lines: list[str]) -> tuple[set[int], set[int]]:
    """Line numbers kept whole (code, raw HTML, front matter) and those of table rows."""
    kept: set[int] = set(_front_matter(lines))
    tables: set[int] = set()
    parser = MarkdownIt("commonmark").enable("table")
    for token in parser.parse("\n".join(lines)):
        if token.map is None:
            continue
        span = range(*token.map)
        if token.type in ("fence", "code_block", "html_block"):
            kept.update(span)
        elif token.type == "table_open":
            tables.update(span)
    for n, line in enumerate(lines):
        if _REFERENCE_DEFINITION.match(line):
            kept.add(n)
    return kept, tables


def _front_matter(lines: list[str]) -> range:
    if not lines or lines[0].strip() != "---":
        return range(0)
    for n in range(1, len(lines)):
        if lines[n].strip() in _FRONT_MATTER_END:
            return range(n + 1)
    return range(0)


def _split_line(line: str, *, table: bool) -> list[str]:
    """Split a line into alternating syntax and text pieces, starting with syntax."""
    prefix = _PREFIX.match(line)
    start = prefix.end() if prefix else 0
    pieces = [line[:start]]
    cursor = start
    for match in _syntax(line, start, table=table):
        pieces += [line[cursor : match[0]], line[match[0] : match[1]]]
        cursor = match[1]
    pieces += [line[cursor:], ""]
    return pieces


def _syntax(line: str, start: int, *, table: bool) -> list[tuple[int, int]]:
    spans = [m.span() for m in _PROTECTED.finditer(line, start)]
    if table:
        spans += [m.span() for m in _CELL_BORDER.finditer(line, start)]
        spans = _drop_overlaps(sorted(spans))
    return spans


def _drop_overlaps(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    kept: list[tuple[int, int]] = []
    for span in spans:
        if not kept or span[0] >= kept[-1][1]:
            kept.append(span)
    return kept
