"""Typed errors of the document layer; each front end words each one for its user.

All are `TranslationError`s, so the task layer turns them into a failed result like any other
engine error. `code` stays inside the contract's `ErrorCode` literal; `reason`, inside its
`DocumentReason`, names the document problem more precisely for the reply.
"""

from __future__ import annotations

from typing import Literal

from tasks.contract import DocumentReason, ErrorCode
from tasks.errors import TranslationError


class DocumentError(TranslationError):
    """Base of the errors a document can be refused with."""

    code: ErrorCode = "bad_request"
    reason: DocumentReason = "corrupt"


class UnsupportedDocument(DocumentError):
    """The file's extension is not one of the supported formats."""

    reason = "unsupported_format"

    def __init__(self, filename: str, supported: frozenset[str]) -> None:
        listed = ", ".join(sorted(supported))
        super().__init__(f"{filename!r}: unsupported document format (supported: {listed})")
        self.filename = filename


class CorruptDocument(DocumentError):
    """The file has a supported extension but cannot be parsed as that format."""

    reason = "corrupt"

    def __init__(self, filename: str, detail: str) -> None:
        super().__init__(f"{filename!r} is damaged or not a valid document: {detail}")
        self.filename = filename


class EncryptedDocument(DocumentError):
    """The document is encrypted (a password-protected PDF)."""

    reason = "encrypted"

    def __init__(self, filename: str) -> None:
        super().__init__(f"{filename!r} is encrypted; send a copy without a password")
        self.filename = filename


class BinaryContent(DocumentError):
    """A text format's file holds binary data (NUL bytes, undecodable bytes)."""

    reason = "binary"

    def __init__(self, filename: str, detail: str) -> None:
        super().__init__(f"{filename!r} is not a text file: {detail}")
        self.filename = filename


class DocumentTooLarge(DocumentError):
    """The document's translatable text is over the character limit."""

    code: ErrorCode = "text_too_long"
    reason = "too_large"

    def __init__(self, filename: str, chars: int, limit: int) -> None:
        super().__init__(f"{filename!r} has {chars} characters of text, the limit is {limit}")
        self.filename, self.chars, self.limit = filename, chars, limit


class ArchiveLimits(DocumentError):
    """A compressed document (a zip-based format, a PDF's streams) is over the unpacking limits.

    A likely decompression bomb: the bot says it unpacks to far more data than it holds.
    """

    reason = "archive_limits"

    def __init__(self, filename: str, detail: str) -> None:
        super().__init__(f"{filename!r} is refused as a possible decompression bomb: {detail}")
        self.filename = filename


class UnsafeDocument(DocumentError):
    """The file holds what only an attack needs: XML entity declarations, a DTD where the
    format has none, a zip member named outside the archive.

    Worded to the user like a damaged file (it is not a valid file of its format); the
    message names what was found.
    """

    reason = "corrupt"

    def __init__(self, filename: str, detail: str) -> None:
        super().__init__(f"{filename!r} is refused as unsafe: {detail}")
        self.filename = filename


class EmptyDocument(DocumentError):
    """The file has no bytes at all."""

    reason = "empty"

    def __init__(self, filename: str) -> None:
        super().__init__(f"{filename!r} is an empty file (0 bytes)")
        self.filename = filename


class TooManyParts(DocumentError):
    """More pages (PDF) or cues (subtitles) than a document may have.

    Counted before the parse that would cost time and memory for each of them; `reason`
    names the unit (`too_many_pages`, `too_many_cues`) for the bot's wording.
    """

    def __init__(
        self, filename: str, count: int, limit: int, unit: Literal["pages", "cues"]
    ) -> None:
        super().__init__(f"{filename!r} has {count} {unit}, the limit is {limit}")
        self.filename, self.count, self.limit, self.unit = filename, count, limit, unit
        self.reason = "too_many_pages" if unit == "pages" else "too_many_cues"
