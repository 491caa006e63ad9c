"""Decoding and encoding of plain-text formats (txt, md, srt, vtt, html, po)."""

from __future__ import annotations

import codecs
import unicodedata
from dataclasses import dataclass

import charset_normalizer

from tasks.formats.errors import BinaryContent

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf_32"),
    (codecs.BOM_UTF32_BE, "utf_32"),
    (codecs.BOM_UTF8, "utf_8_sig"),
    (codecs.BOM_UTF16_LE, "utf_16"),
    (codecs.BOM_UTF16_BE, "utf_16"),
)
# Text files hold tabs, line breaks and form feeds; more than this share of other control
# characters means the bytes only happened to decode (random binary decodes as cp1252 too).
_MAX_CONTROL_SHARE = 0.01
_TEXT_CONTROLS = frozenset("\t\n\r\f\v\x1b")


@dataclass(frozen=True)
class Decoded:
    """A text file's content and the codec that reproduces its bytes (BOM included)."""

    text: str
    encoding: str


def decode(name: str, data: bytes) -> Decoded:
    """Decode a text file: BOM first, then strict UTF-8, then charset-normalizer's guess.

    Args:
        name: The file name, for error messages.
        data: The file's bytes.

    Returns:
        The text and the encoding to write it back in.

    Raises:
        BinaryContent: NUL bytes without a UTF-16/32 BOM, no encoding decodes the bytes, or
            the decoded text is full of control characters.
    """
    encoding = _bom_encoding(data)
    if encoding is None and b"\x00" in data:
        raise BinaryContent(name, "it contains NUL bytes")
    if encoding is None:
        encoding = _guess(data)
    if encoding is None:
        raise BinaryContent(name, "no text encoding decodes it")
    try:
        text = data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        raise BinaryContent(name, f"it does not decode as {encoding}") from exc
    if _control_share(text) > _MAX_CONTROL_SHARE:
        raise BinaryContent(name, "it is full of control characters")
    return Decoded(text, encoding)


def encode(text: str, encoding: str) -> bytes:
    """Encode in the file's own encoding when it can hold the text, otherwise in UTF-8.

    Args:
        text: The rebuilt text.
        encoding: The encoding the original was decoded with.

    Returns:
        The bytes to send back.
    """
    try:
        return text.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return text.encode("utf_8")


def _bom_encoding(data: bytes) -> str | None:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return encoding
    return None


def _guess(data: bytes) -> str | None:
    try:
        data.decode("utf_8")
        return "utf_8"
    except UnicodeDecodeError:
        pass
    best = charset_normalizer.from_bytes(data).best()
    return None if best is None else best.encoding


def _control_share(text: str) -> float:
    if not text:
        return 0.0
    controls = sum(
        1 for ch in text if ch not in _TEXT_CONTROLS and unicodedata.category(ch) == "Cc"
    )
    return controls / len(text)
