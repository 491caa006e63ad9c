"""Refuse XML that declares entities (XXE, billion laughs) or, where a format has none, a DTD.

Not every parser in use is safe by itself: python-docx, python-pptx, ebooklib and our own
lxml parsers never resolve entities, but odfdo parses with lxml's defaults, which expand
internal ones. Scanning the raw bytes before any library parses them covers every reader
at once, and the user hears why instead of getting a document with text silently dropped.
Entities can only be declared in a DOCTYPE; the scan finds `<!ENTITY` and `<!DOCTYPE` in
UTF-8, single-byte and UTF-16 bytes alike. Encodings that could spell them otherwise
(UTF-7, UTF-32, EBCDIC, multibyte) are refused: these formats allow UTF-8 and UTF-16 only.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable
from functools import cache
from typing import IO

from tasks.formats.errors import UnsafeDocument

CHUNK = 1 << 20
_UTF16 = {
    b"\xff\xfe": "utf_16_le",
    b"\xfe\xff": "utf_16_be",
    b"<\x00?\x00": "utf_16_le",  # no BOM: the XML declaration's first characters
    b"\x00<\x00?": "utf_16_be",
}
_WIDE = (
    codecs.BOM_UTF32_LE,
    codecs.BOM_UTF32_BE,
    b"<\x00\x00\x00",
    b"\x00\x00\x00<",
    b"Lo\xa7\x94",
)
_SINGLE_BYTE = ("iso8859-", "latin-1", "cp125", "koi8-", "mac-")
_DECLARED = re.compile(rb"\s*<\?xml[^>]*?encoding\s*=\s*[\"']([^\"']*)[\"']")


def check_xml(name: str, data: bytes, *, dtd_allowed: bool, part: str = "") -> None:
    """Refuse one XML document's bytes if they declare entities (or any DTD, if not allowed).

    Args:
        name: The document's file name, for the error message.
        data: The XML bytes.
        dtd_allowed: Whether a DOCTYPE without entity declarations is fine (XHTML in EPUB).
        part: The zip member the bytes come from, for the error message.

    Raises:
        UnsafeDocument: An entity declaration, a forbidden DOCTYPE or an encoding that could
            hide them.
    """
    check_stream(name, iter([data]), dtd_allowed=dtd_allowed, part=part)


def check_member(name: str, member: IO[bytes], *, dtd_allowed: bool, part: str) -> None:
    """`check_xml` on a zip member, read in chunks so memory stays flat whatever its size."""
    chunks = iter(lambda: member.read(CHUNK), b"")
    check_stream(name, chunks, dtd_allowed=dtd_allowed, part=part)


def check_stream(name: str, chunks: Iterable[bytes], *, dtd_allowed: bool, part: str = "") -> None:
    """`check_xml` on an XML document given as consecutive chunks of bytes."""
    where = f"{part!r}" if part else "it"
    patterns: list[tuple[bytes, str]] = []
    tail = b""
    for chunk in chunks:
        if not patterns:
            patterns = _patterns(name, chunk, dtd_allowed, where)
        window = tail + chunk
        for pattern, what in patterns:
            if pattern in window:
                raise UnsafeDocument(name, f"{where} {what}")
        tail = window[-32:]


def _patterns(name: str, head: bytes, dtd_allowed: bool, where: str) -> list[tuple[bytes, str]]:
    encoding = _encoding(name, head, where)
    found = [("<!ENTITY", "declares XML entities (<!ENTITY), which documents never need")]
    if not dtd_allowed:
        found.append(("<!DOCTYPE", "has a DTD (<!DOCTYPE), which this format never has"))
    return [(text.encode(encoding), what) for text, what in found]


def _encoding(name: str, head: bytes, where: str) -> str:
    """The codec that spells `<!ENTITY` as the document would: UTF-16 or ASCII-compatible."""
    if head.startswith(_WIDE):  # first: a UTF-32-LE BOM starts like UTF-16-LE's
        raise UnsafeDocument(name, f"{where} is XML in an encoding other than UTF-8 or UTF-16")
    for start, codec in _UTF16.items():
        if head.startswith(start):
            text = head[:512].decode(codec, "replace").removeprefix("\ufeff")
            _check_declared(name, text.encode("ascii", "replace"), where)
            return codec
    _check_declared(name, head.removeprefix(codecs.BOM_UTF8), where)
    return "ascii"


def _check_declared(name: str, head: bytes, where: str) -> None:
    declared = _DECLARED.match(head)
    if declared is not None:
        label = declared.group(1).decode("ascii", "replace")
        if not _transparent(label):
            raise UnsafeDocument(name, f"{where} declares an unsupported encoding {label!r}")


@cache
def _transparent(label: str) -> bool:
    """Whether ASCII bytes, and only they, spell ASCII characters in this encoding.

    True for UTF-8 and the single-byte ASCII supersets (Latin-1, Windows-125x, KOI8, Mac);
    false for UTF-7 (`+ADw-` is `<`), stateful ISO-2022 (escape sequences may split the
    name), multibyte encodings, EBCDIC and unknown names. libxml2 reads a document in
    ASCII bytes that declares UTF-16 as UTF-8, so that declaration is harmless.
    """
    try:
        codec = codecs.lookup(label).name
    except LookupError:
        return False
    if codec in ("utf-8", "ascii") or codec.startswith("utf-16"):
        return True
    if not codec.startswith(_SINGLE_BYTE):
        return False
    decoded = bytes(range(256)).decode(codec, "replace")
    return len(decoded) == 256 and decoded[:128] == "".join(map(chr, range(128)))
