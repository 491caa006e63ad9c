"""PDF: pypdf reads the text layer; fpdf2 writes a new, text-only PDF.

Layout kept: the page count and each page's size and orientation, and the order of the
paragraphs on each page, flowed top to bottom in one column (the font shrinks, down to
4 pt, until a page's translation fits its page; past that, extra pages are added rather
than text lost). Not kept: columns, positions, images, vector graphics, fonts, colours,
links and form fields. A PDF without a text layer (a scan) gives no segments.
"""

from __future__ import annotations

import glob
import re
from functools import cache

from fpdf import FPDF

from tasks.formats.base import Parsed
from tasks.formats.pdfread import read_pages

# A Unicode TrueType font, so any script the font covers is written as is.
FONT_PATTERNS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/**/DejaVuSans.ttf",
    "/usr/share/fonts/**/NotoSans-Regular.ttf",
    "/usr/share/fonts/**/LiberationSans-Regular.ttf",
)
_CORE_FONT = "Helvetica"
_SIZES = (11.0, 10.0, 9.0, 8.0, 7.0, 6.0, 5.0, 4.0)
_LEADING = 1.25  # line height / font size
_PARAGRAPH_GAP = 0.5  # space after a paragraph / font size
_SENTENCE_END = re.compile(r"[.!?:;…][\"')\]»”’]*$")
_BULLET = re.compile(r"[•▪◦‣·\-–—*]\s|\d{1,3}[.)]\s")

Page = tuple[tuple[float, float], list[str]]  # (width, height) in points, paragraphs


def load(name: str, data: bytes) -> Parsed:
    """Parse a PDF's text layer into paragraph slots, page by page.

    Args:
        name: The file name, for error messages.
        data: The file's bytes.

    Returns:
        The parsed document; writing gives a new PDF with the same pages.

    Raises:
        EncryptedDocument: The PDF is encrypted.
        TooManyParts: Too many pages.
        ArchiveLimits: Its streams unpack to too much (see `pdfread`).
    """
    pages: list[Page] = [(size, paragraphs(text)) for size, text in read_pages(name, data)]
    texts = [paragraph for _, found in pages for paragraph in found]

    def write(new: list[str]) -> bytes:
        remaining = iter(new)
        return render([(size, [next(remaining) for _ in found]) for size, found in pages])

    return Parsed(texts, write)


def paragraphs(text: str) -> list[str]:
    """Join a page's extracted lines into paragraphs.

    PDF text is hard-wrapped, so lines are joined until a blank line, a line ending a
    sentence, or a line starting a list item: the model then gets whole sentences.
    """
    found: list[str] = []
    current: list[str] = []
    for raw in text.splitlines():
        line = " ".join(raw.split())
        if current and (not line or _SENTENCE_END.search(current[-1]) or _BULLET.match(line)):
            found.append(_join(current))
            current = []
        if line:
            current.append(line)
    if current:
        found.append(_join(current))
    return found


def render(pages: list[Page]) -> bytes:
    """A PDF with one page per entry, its paragraphs flowed top to bottom."""
    pdf = FPDF(unit="pt")
    family = _font(pdf)
    for (width, height), texts in pages:
        margin = min(36.0, width / 10, height / 10)
        pdf.set_margins(margin, margin, margin)
        pdf.set_auto_page_break(False, margin)
        pdf.add_page(format=(width, height))
        texts = [_encodable(text, family) for text in texts if text.strip()]
        size = _fitting_size(pdf, family, texts, width - 2 * margin, height - 2 * margin)
        # At the smallest size, overflowing text goes on to an extra page, not off the page.
        pdf.set_auto_page_break(size == _SIZES[-1], margin)
        pdf.set_font(family, size=size)
        for text in texts:
            pdf.multi_cell(0, size * _LEADING, text, align="L", new_x="LMARGIN", new_y="NEXT")
            pdf.ln(size * _PARAGRAPH_GAP)
    return bytes(pdf.output())


def _join(lines: list[str]) -> str:
    text = lines[0]
    for line in lines[1:]:
        # A line broken at a hyphen continues the word.
        text += line if text.endswith("-") else " " + line
    return text


def _fitting_size(pdf: FPDF, family: str, texts: list[str], width: float, height: float) -> float:
    for size in _SIZES:
        pdf.set_font(family, size=size)
        lines = sum(len(_lines(pdf, width, size, text)) for text in texts)
        if lines * size * _LEADING + len(texts) * size * _PARAGRAPH_GAP <= height:
            return size
    return _SIZES[-1]


def _lines(pdf: FPDF, width: float, size: float, text: str) -> list[str]:
    lines = pdf.multi_cell(width, size * _LEADING, text, dry_run=True, output="LINES")
    assert isinstance(lines, list)  # output="LINES" returns the lines alone
    return lines


def _font(pdf: FPDF) -> str:
    path = _font_path()
    if path is None:
        return _CORE_FONT
    pdf.add_font("Unicode", fname=path)
    return "Unicode"


@cache
def _font_path() -> str | None:
    for pattern in FONT_PATTERNS:
        found = sorted(glob.glob(pattern, recursive=True))
        if found:
            return found[0]
    return None


def _encodable(text: str, family: str) -> str:
    # Core PDF fonts only know Latin-1; other characters become "?" instead of failing.
    if family != _CORE_FONT:
        return text
    return text.encode("latin-1", "replace").decode("latin-1")
