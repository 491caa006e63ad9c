"""Subtitles: SRT through the `srt` library, WebVTT through a small block parser.

Numbering, timings, cue settings, cue ids and every non-cue block (the WEBVTT header, NOTE,
STYLE and REGION blocks) are kept; only cue text is translated, one slot per speaker turn
(see `cues`). webvtt-py is not a dependency, and WebVTT's block structure (blocks separated
by blank lines, a cue's timing line holding `-->`) is simple enough to keep exactly.
"""

from __future__ import annotations

import posixpath

import srt

from tasks.formats import cues, textfile
from tasks.formats.base import Parsed, split_lines
from tasks.formats.errors import CorruptDocument, TooManyParts

# A feature film has about 1,500 cues, a whole season of a series some 20,000. Parsing
# costs about 20 µs and 500 bytes per cue, so this bounds a file at seconds and ~50 MB
# (a million cues would take 20 s and half a gigabyte before DOCUMENT_MAX_CHARS applies).
MAX_CUES = 100_000


def load(name: str, data: bytes) -> Parsed:
    """Parse an .srt or .vtt file into cue-text slots.

    Args:
        name: The file name; its extension picks SRT or WebVTT.
        data: The file's bytes.

    Returns:
        The parsed document.

    Raises:
        CorruptDocument: Not valid SRT, or a .vtt without the WEBVTT header.
        TooManyParts: More than `MAX_CUES` cues.
    """
    decoded = textfile.decode(name, data)
    # Every cue has one timing line with an arrow; counted before parsing builds objects.
    cues_found = decoded.text.count("-->")
    if cues_found > MAX_CUES:
        raise TooManyParts(name, cues_found, MAX_CUES, "cues")
    if posixpath.splitext(name)[1].lower() == ".vtt":
        return _load_vtt(name, decoded)
    return _load_srt(decoded)


def _load_srt(decoded: textfile.Decoded) -> Parsed:
    subtitles = list(srt.parse(decoded.text))
    turns = [cues.turns(subtitle.content) for subtitle in subtitles]
    texts = [turn.core for cue in turns for turn in cue]
    eol = "\r\n" if "\r\n" in decoded.text else "\n"

    def write(new: list[str]) -> bytes:
        remaining = iter(new)
        for subtitle, cue in zip(subtitles, turns, strict=True):
            subtitle.content = cues.render(cue, [next(remaining) for _ in cue])
        # reindex=False keeps the original numbers; strict=False keeps original content as
        # is (translated content never holds blank lines: `cues` joins lines with LF).
        text = srt.compose(subtitles, reindex=False, strict=False, eol=eol)
        return textfile.encode(text, decoded.encoding)

    return Parsed(texts, write)


def _load_vtt(name: str, decoded: textfile.Decoded) -> Parsed:
    parts = split_lines(decoded.text)
    lines = parts[0::2]
    if decoded.text and not lines[0].startswith("WEBVTT"):  # an empty file has no cues
        raise CorruptDocument(name, "a WebVTT file must start with 'WEBVTT'")
    spans = _cue_text_spans(lines)
    turns = [cues.turns("\n".join(lines[a:b])) for a, b in spans]
    texts = [turn.core for cue in turns for turn in cue]

    def write(new: list[str]) -> bytes:
        out = list(parts)
        remaining = iter(new)
        for (a, b), cue in zip(spans, turns, strict=True):
            text = cues.render(cue, [next(remaining) for _ in cue]).replace("-->", "->")
            # The cue's text goes where its first line was, with that line's break inside;
            # the other text lines and their breaks are emptied.
            out[2 * a] = text.replace("\n", parts[2 * a + 1] if 2 * a + 1 < len(parts) else "\n")
            for n in range(a + 1, b):
                out[2 * n - 1] = out[2 * n] = ""
        return textfile.encode("".join(out), decoded.encoding)

    return Parsed(texts, write)


def _cue_text_spans(lines: list[str]) -> list[tuple[int, int]]:
    """The [first, end) line ranges of every cue's text (after the header block)."""
    spans: list[tuple[int, int]] = []
    n = _block_end(lines, 0)
    while n < len(lines):
        if not lines[n].strip():
            n += 1
            continue
        end = _block_end(lines, n)
        timing = next((k for k in range(n, min(n + 2, end)) if "-->" in lines[k]), None)
        # A block without a timing line in its first two lines is NOTE, STYLE or REGION.
        if timing is not None and timing + 1 < end:
            spans.append((timing + 1, end))
        n = end
    return spans


def _block_end(lines: list[str], start: int) -> int:
    n = start
    while n < len(lines) and lines[n].strip():
        n += 1
    return n
