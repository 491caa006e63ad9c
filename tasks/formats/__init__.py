"""The worker's document layer: find a document's translatable text and write it back.

Knows nothing of Telegram or Celery and imports no model code. Each format lives in its own
module, imported on first use, so `supported_extensions()` and `output_name()` stay cheap for
callers that only need to check a file name.

Each format module's `load(name, data)` returns every text slot of the document; this module
keeps the slots worth translating (with letters), strips their surrounding whitespace (kept
in the document, never sent to the model) and maps translations back in the same order.
"""

from __future__ import annotations

import importlib
import posixpath

from tasks.errors import TranslationError
from tasks.formats import archives
from tasks.formats.base import Parsed
from tasks.formats.errors import (
    CorruptDocument,
    DocumentTooLarge,
    EmptyDocument,
    UnsupportedDocument,
)

__all__ = ["output_name", "rebuild", "segments", "supported_extensions"]

# extension -> module under tasks.formats
_MODULES = {
    ".txt": "txt",
    ".md": "markdown",
    ".markdown": "markdown",
    ".srt": "subtitles",
    ".vtt": "subtitles",
    ".html": "html",
    ".htm": "html",
    ".docx": "docx",
    ".pptx": "pptx",
    ".odt": "odt",
    ".epub": "epub",
    ".po": "po",
    ".pot": "po",
    ".pdf": "pdf",
}
_ZIPPED = frozenset({".docx", ".pptx", ".odt", ".epub"})
_BINARY = _ZIPPED | {".pdf"}
# A translated template is a catalogue, no longer a template.
_OUTPUT_EXTENSION = {".pot": ".po"}


def supported_extensions() -> frozenset[str]:
    """The file extensions (lower case, with the dot) that `segments` accepts."""
    return frozenset(_MODULES)


def output_name(filename: str, tgt: str) -> str:
    """The name of the translated file: the target language before the extension.

    Args:
        filename: The original file name, e.g. ``report.docx``.
        tgt: The target language code, e.g. ``ru``.

    Returns:
        E.g. ``report.ru.docx``; a name without an extension gets the code appended.
    """
    stem, ext = posixpath.splitext(filename)
    return f"{stem}.{tgt}{_OUTPUT_EXTENSION.get(ext.lower(), ext)}"


def segments(filename: str, data: bytes, *, max_chars: int | None = None) -> list[str]:
    """The document's texts to translate, in a fixed order.

    Args:
        filename: The file name; its extension picks the format.
        data: The file's bytes.
        max_chars: Refuse documents with more characters of text than this.

    Returns:
        The texts, stripped of surrounding whitespace; empty and letterless ones are left out.
        The same bytes always give the same list.

    Raises:
        UnsupportedDocument: Unknown extension.
        EmptyDocument: A zip-based or PDF file of 0 bytes (an empty text file gives no
            segments, which the task layer answers the same way).
        CorruptDocument: The bytes cannot be parsed as that format.
        UnsafeDocument: XML entity declarations, a DTD where the format has none, or a zip
            member named outside the archive.
        EncryptedDocument: An encrypted PDF.
        BinaryContent: A text format holding binary data.
        ArchiveLimits: A zip-based format over the unpacking limits, or a PDF whose streams
            unpack to too much.
        TooManyParts: A PDF with too many pages, subtitles with too many cues.
        DocumentTooLarge: More than `max_chars` characters of text.
    """
    texts = [_strip(text)[1] for text in _load(filename, data).texts]
    found = [text for text in texts if _translatable(text)]
    total = sum(len(text) for text in found)
    if max_chars is not None and total > max_chars:
        raise DocumentTooLarge(filename, total, max_chars)
    return found


def rebuild(filename: str, data: bytes, translations: list[str]) -> bytes:
    """Write the document back with each segment replaced by its translation.

    Args:
        filename: The file name given to `segments`.
        data: The same original bytes given to `segments`.
        translations: One text per segment, in the order `segments` returned them.

    Returns:
        The translated document's bytes, in the same format.

    Raises:
        ValueError: The number of translations differs from the number of segments.
        CorruptDocument: A part the parse left alone fails as the document is written.
    """
    parsed = _load(filename, data)
    new = list(parsed.texts)
    slots = [i for i, text in enumerate(parsed.texts) if _translatable(_strip(text)[1])]
    if len(slots) != len(translations):
        raise ValueError(f"{len(translations)} translations for {len(slots)} segments")
    for i, translation in zip(slots, translations, strict=True):
        lead, _, trail = _strip(parsed.texts[i])
        new[i] = lead + translation.strip() + trail
    try:
        return parsed.write(new)
    except TranslationError:
        raise
    except Exception as exc:  # the parse passed, so a library failed on what it kept lazy
        raise CorruptDocument(filename, f"{type(exc).__name__}: {exc}"[:300]) from exc


def _load(filename: str, data: bytes) -> Parsed:
    ext = posixpath.splitext(filename)[1].lower()
    module = _MODULES.get(ext)
    if module is None:
        raise UnsupportedDocument(filename, supported_extensions())
    loader = importlib.import_module(f"tasks.formats.{module}")
    if not data and ext in _BINARY:
        raise EmptyDocument(filename)  # an empty text file is valid: it has no segments
    try:
        if ext in _ZIPPED:
            archives.check_zip(filename, data)
            # XHTML chapters carry a DOCTYPE; OOXML and ODF parts never have one.
            archives.check_xml_members(filename, data, dtd_allowed=ext == ".epub")
        parsed: Parsed = loader.load(filename, data)
    except TranslationError:
        raise
    except Exception as exc:  # libraries fail on bad input with any exception type they like
        raise CorruptDocument(filename, f"{type(exc).__name__}: {exc}"[:300]) from exc
    return parsed


def _strip(text: str) -> tuple[str, str, str]:
    core = text.strip()
    if not core:
        return text, "", ""
    start = text.index(core)
    return text[:start], core, text[start + len(core) :]


def _translatable(text: str) -> bool:
    return any(ch.isalpha() for ch in text)
