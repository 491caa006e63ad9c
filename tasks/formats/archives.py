"""Zip checks before any library unpacks a member: bomb limits, member names, XML safety.

DOCX, PPTX, ODT and EPUB are zip files. The sizes come from the central directory, which a
bomb can forge, but Python's `zipfile` (used by every library here) never yields more than a
member's declared `file_size`, so the declared sizes bound what parsing can unpack (a
member that inflates past its declared size fails its CRC check instead).
"""

from __future__ import annotations

import io
import zipfile
import zlib
from dataclasses import dataclass

from tasks.formats import xmlscan
from tasks.formats.errors import ArchiveLimits, CorruptDocument, UnsafeDocument

MB = 1024 * 1024


@dataclass(frozen=True)
class ZipLimits:
    """Unpacking limits of one zip-based document."""

    max_total: int = 200 * MB
    max_members: int = 10_000
    max_ratio: float = 100.0
    # Small members compress far better than 100:1 legitimately (XML full of repeated tags);
    # they cannot be bombs on their own, so the ratio applies from this size up.
    ratio_from: int = 1 * MB


DEFAULT_LIMITS = ZipLimits()


def check_zip(name: str, data: bytes, limits: ZipLimits = DEFAULT_LIMITS) -> None:
    """Refuse a zip with a member named outside it, or over the size, count or ratio limits.

    Args:
        name: The document's file name, for the error message.
        data: The zip file's bytes.
        limits: The limits to apply.

    Raises:
        CorruptDocument: The bytes are not a readable zip file.
        UnsafeDocument: A member's name is absolute or climbs out with `..` (zip slip).
        ArchiveLimits: The zip is over one of the limits.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except Exception as exc:  # BadZipFile, but also NotImplementedError, EOFError, OSError...
        raise CorruptDocument(name, f"not a readable zip archive ({exc})") from exc
    for member in members:
        if _outside(member.filename):
            raise UnsafeDocument(name, f"zip member {member.filename!r} points outside the archive")
    if len(members) > limits.max_members:
        raise ArchiveLimits(name, f"{len(members)} members, the limit is {limits.max_members}")
    total = 0
    for member in members:
        total += member.file_size
        if total > limits.max_total:
            raise ArchiveLimits(name, f"unpacks to over {limits.max_total // MB} MB, the limit")
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > limits.ratio_from and ratio > limits.max_ratio:
            raise ArchiveLimits(
                name,
                f"member {member.filename!r} compresses {ratio:.0f}:1, "
                f"the limit is {limits.max_ratio:.0f}:1",
            )


# Members the readers parse as XML, by name: OOXML parts and relationships, ODF streams,
# EPUB's container, package, NCX and XHTML documents. Images (SVG too) are never parsed.
XML_SUFFIXES = (".xml", ".rels", ".rdf", ".opf", ".ncx", ".xhtml", ".xht", ".html", ".htm")


def check_xml_members(name: str, data: bytes, *, dtd_allowed: bool) -> None:
    """Refuse a zip whose XML members declare entities, or any DTD where none is allowed.

    Run after `check_zip`, whose limits bound what this unpacks; each member is streamed.

    Args:
        name: The document's file name, for the error message.
        data: The zip file's bytes.
        dtd_allowed: Whether a DOCTYPE without entity declarations is fine (EPUB's XHTML).

    Raises:
        UnsafeDocument: See `xmlscan.check_xml`.
        CorruptDocument: A member does not unpack (bad data, more than its declared size, a
            password).
    """
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for member in archive.infolist():
            if not member.filename.lower().endswith(XML_SUFFIXES):
                continue
            try:
                with archive.open(member) as stream:
                    xmlscan.check_member(
                        name, stream, dtd_allowed=dtd_allowed, part=member.filename
                    )
            except (
                zipfile.BadZipFile,
                zlib.error,
                EOFError,
                NotImplementedError,
                RuntimeError,
            ) as exc:
                raise CorruptDocument(name, f"member {member.filename!r}: {exc}") from exc


def _outside(member: str) -> bool:
    path = member.replace("\\", "/")
    return path.startswith("/") or ".." in path.split("/") or (len(path) > 1 and path[1] == ":")
