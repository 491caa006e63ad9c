"""A PDF's text layer, read by pypdf within bounds a hostile file cannot push past.

pypdf limits each stream (75 MB unpacked, 2 M content tokens) but not a document: a
7 MB file of 100 pages with a 64 MB Flate bomb each took 78 s and 6.4 GB. So the page
count is checked before the page tree is walked, every stream text extraction unpacks is
measured against one budget per document before pypdf parses it, and page contents are
dropped from pypdf's cache once their page is read.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

from pypdf import Configuration, PageObject, PdfReader, apply_configuration
from pypdf.errors import LimitReachedError
from pypdf.generic import EncodedStreamObject, StreamObject

from tasks.formats.errors import ArchiveLimits, EncryptedDocument, TooManyParts

MB = 1024 * 1024
# Ten times a long book; past DOCUMENT_MAX_CHARS at 50 characters a page anyway. Walking
# the page tree costs ~80 µs a page (100,000 pages: 8 s, 260 MB).
MAX_PAGES = 10_000
# Unpacked streams per document: contents and forms for every page that uses them, fonts
# once. A 500-page text PDF holds a few MB, two embedded CJK fonts ~30 MB; pypdf parses
# content at a few MB a second, so this bounds reading at well under the task time limit.
MAX_UNPACKED = 64 * MB
# pypdf's own per-stream limits, lowered: one stream may not take the whole budget's time
# (a million tokens parse in ~3 s into ~140 MB of objects).
_PYPDF_LIMITS = Configuration(
    zlib_maximum_output_length=MAX_UNPACKED,
    lzw_maximum_output_length=MAX_UNPACKED,
    run_length_maximum_output_length=MAX_UNPACKED,
    brotli_maximum_output_length=MAX_UNPACKED,
    array_based_stream_maximum_output_length=MAX_UNPACKED,
    stream_parsing_work_maximum_count=1_000_000,
    # Pages and inner nodes: a tree whose /Count lies is stopped here instead.
    page_tree_maximum_entries=2 * MAX_PAGES,
)
_FONT_FILES = ("/ToUnicode", "/FontFile", "/FontFile2", "/FontFile3")

Size = tuple[float, float]  # width, height in points


def read_pages(name: str, data: bytes) -> list[tuple[Size, str]]:
    """Each page's size and extracted text, in order.

    Args:
        name: The file name, for error messages.
        data: The PDF's bytes.

    Raises:
        EncryptedDocument: The PDF is encrypted.
        TooManyParts: More than `MAX_PAGES` pages.
        ArchiveLimits: Its streams unpack to more than `MAX_UNPACKED`, or pypdf's own limits
            were hit.
    """
    with apply_configuration(_PYPDF_LIMITS):
        try:
            reader = PdfReader(io.BytesIO(data))
            if reader.is_encrypted:
                raise EncryptedDocument(name)
            _check_page_count(name, reader)
            budget = _Budget(name)
            return [(_size(page), budget.extract(page)) for page in reader.pages]
        except LimitReachedError as exc:
            raise ArchiveLimits(name, f"pypdf: {exc}") from exc


def _check_page_count(name: str, reader: PdfReader) -> None:
    # The declared count needs no walk of the page tree (100,000 pages: 8 s, 260 MB).
    pages: Any = reader.root_object["/Pages"]
    declared = pages.get_object().get("/Count")
    if isinstance(declared, int) and declared > MAX_PAGES:
        raise TooManyParts(name, int(declared), MAX_PAGES, "pages")
    if len(reader.pages) > MAX_PAGES:  # the declared count lied
        raise TooManyParts(name, len(reader.pages), MAX_PAGES, "pages")


class _Budget:
    """Unpacked bytes left for one document's text extraction."""

    def __init__(self, name: str) -> None:
        self.name, self.left = name, MAX_UNPACKED
        self.fonts: set[int] = set()

    def extract(self, page: PageObject) -> str:
        """The page's text, its streams counted first and released after."""
        contents = list(_unique(_content_streams(page)))
        fonts = [s for s in _unique(_font_streams(page)) if id(s) not in self.fonts]
        for stream in (*contents, *fonts):
            self.left -= len(stream.get_data())  # pypdf caches it for the extraction
            if self.left < 0:
                raise ArchiveLimits(
                    self.name, f"its streams unpack to over {MAX_UNPACKED // MB} MB, the limit"
                )
        self.fonts.update(id(s) for s in fonts)
        text = page.extract_text() or ""
        for stream in contents:  # fonts stay cached: other pages use them
            if isinstance(stream, EncodedStreamObject):
                stream.decoded_self = None
        return text


def _content_streams(page: Any) -> Iterator[StreamObject]:
    contents = _resolve(page.get("/Contents"))
    parts = contents if isinstance(contents, list) else [contents]
    yield from (s for s in map(_resolve, parts) if isinstance(s, StreamObject))
    yield from _forms(page, depth=0)


def _forms(owner: Any, depth: int) -> Iterator[StreamObject]:
    """Form XObjects of a page or form, and theirs (pypdf follows them to ten levels)."""
    resources = _resolve(owner.get("/Resources"))
    xobjects = _resolve(resources.get("/XObject")) if isinstance(resources, dict) else None
    if not isinstance(xobjects, dict) or depth > 10:
        return
    for value in xobjects.values():
        form = _resolve(value)
        if isinstance(form, StreamObject) and form.get("/Subtype") == "/Form":
            yield form
            yield from _forms(form, depth + 1)


def _font_streams(page: Any) -> Iterator[StreamObject]:
    for owner in (page, *_forms(page, depth=0)):
        resources = _resolve(owner.get("/Resources"))
        fonts = _resolve(resources.get("/Font")) if isinstance(resources, dict) else None
        for font in (_resolve(f) for f in fonts.values()) if isinstance(fonts, dict) else ():
            yield from _font_files(font)


def _font_files(font: Any) -> Iterator[StreamObject]:
    if not isinstance(font, dict):
        return
    descendants = _resolve(font.get("/DescendantFonts"))
    for part in [font, *(map(_resolve, descendants) if isinstance(descendants, list) else ())]:
        if not isinstance(part, dict):
            continue
        descriptor = _resolve(part.get("/FontDescriptor"))
        for owner in (part, descriptor if isinstance(descriptor, dict) else {}):
            for key in _FONT_FILES:
                stream = _resolve(owner.get(key))
                if isinstance(stream, StreamObject):
                    yield stream


def _unique(streams: Iterator[StreamObject]) -> Iterator[StreamObject]:
    seen: set[int] = set()
    for stream in streams:
        if id(stream) not in seen:
            seen.add(id(stream))
            yield stream


def _resolve(value: Any) -> Any:
    return value.get_object() if value is not None and hasattr(value, "get_object") else value


def _size(page: PageObject) -> Size:
    box = page.cropbox
    width, height = float(box.width), float(box.height)
    if (page.rotation or 0) % 180 == 90:
        width, height = height, width
    # fpdf2 refuses degenerate pages; such a box is broken anyway.
    return max(width, 72.0), max(height, 72.0)
