"""Decoding and encoding of plain-text formats (txt, md, srt, vtt, html, po)."""

from __future__ import annotations

import codecs
import re
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
# Unicode category Cc (C0, DEL, C1) less the controls text files hold: \t \n \v \f \r ESC.
_CONTROLS = re.compile("[\x00-\x08\x0e-\x1a\x1c-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class Decoded:
    """A text file's content and the codec that reproduces its bytes (BOM included)."""

    text: str
    encoding: str


def decode(name: str, data: bytes) -> Decoded:
    """Decode a text file: BOM first, UTF-16 without one, strict UTF-8, charset-normalizer.

    Args:
        name: The file name, for error messages.
        data: The file's bytes.

    Returns:
        The text and the encoding to write it back in.

    Raises:
        BinaryContent: NUL bytes that are not UTF-16/32 text, no encoding decodes the bytes,
            or the decoded text is full of control characters.
    """
    encoding = _bom_encoding(data)
    if encoding is None and b"\x00" in data:
        # Text never holds NUL, but UTF-16 without a BOM has one in every ASCII character.
        encoding = _wide_encoding(data)
        if encoding is None:
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


def _wide_encoding(data: bytes) -> str | None:
    """UTF-16 (or UTF-32) without a BOM, or None for binary data that has NUL bytes."""
    order = _utf16_order(data)
    if order is not None:
        return order
    best = charset_normalizer.from_bytes(data).best()
    if best is not None and best.encoding.startswith(("utf_16", "utf_32")):
        return best.encoding
    return None


def _utf16_order(data: bytes) -> str | None:
    """The byte order of BOM-less UTF-16, told by its high bytes, or None when unclear.

    A script's letters share a few high bytes (0x00 for ASCII, 0x03 Greek, 0x04 Cyrillic)
    while their low bytes vary, so the half with far fewer distinct values is the high
    half. charset-normalizer alone reads Greek UTF-16-LE as Hangul UTF-16-BE.
    """
    if len(data) < 2 or len(data) % 2:
        return None
    sample = data[: 1 << 16]
    even, odd = len(set(sample[0::2])), len(set(sample[1::2]))
    if 2 * odd <= even:
        return "utf_16_le"
    if 2 * even <= odd:
        return "utf_16_be"
    return None  # CJK: both halves vary; charset-normalizer's language model decides


def _guess(data: bytes) -> str | None:
    try:
        data.decode("utf_8")
        return "utf_8"
    except UnicodeDecodeError:
        pass
    best = charset_normalizer.from_bytes(data).best()
    if best is not None and best.encoding.startswith("utf_16"):
        return _utf16_order(data) or best.encoding
    return None if best is None else best.encoding


def _control_share(text: str) -> float:
    if not text:
        return 0.0
    # A regex, not a loop over characters: text files may hold tens of millions of them.
    _, controls = _CONTROLS.subn("", text)
    return controls / len(text)
