"""Zip-bomb limits, checked on the central directory before any library unpacks a member.

DOCX, PPTX, ODT and EPUB are zip files. The sizes come from the central directory, which a
bomb can forge, but Python's `zipfile` (used by every library here) never yields more than a
member's declared `file_size`, so the declared sizes bound what parsing can unpack.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

from tasks.formats.errors import ArchiveLimits, CorruptDocument

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
    """Refuse a zip whose unpacked size, member count or compression ratio is over limits.

    Args:
        name: The document's file name, for the error message.
        data: The zip file's bytes.
        limits: The limits to apply.

    Raises:
        CorruptDocument: The bytes are not a readable zip file.
        ArchiveLimits: The zip is over one of the limits.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except Exception as exc:  # BadZipFile, but also NotImplementedError, EOFError, OSError...
        raise CorruptDocument(name, f"not a readable zip archive ({exc})") from exc
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
