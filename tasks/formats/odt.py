"""ODT through odfdo: paragraphs and headings of the body and of page headers and footers.

Every `text:p` and `text:h` is read (tables, lists, frames, notes and comments included);
their text and the text inside inline containers (spans, links) are slots, and so is the
text after each child element. Kept: every element and style reference, spacing elements
(`text:s`, tabs, line breaks), fields, notes, images. Text separated by a span or a
`text:s` is translated in separate pieces: that keeps each piece's style exactly.
"""

from __future__ import annotations

import io
from typing import Any

from odfdo import Document, Element

from tasks.formats.base import ElementSlot as _Slot
from tasks.formats.base import Parsed, changed

_PARAGRAPHS = ".//text:p | .//text:h"
_PAGE_PARAGRAPHS = ".//style:master-page//text:p | .//style:master-page//text:h"
# Inline containers whose own text is prose; other children (text:s, fields, notes, frames)
# hold no translatable text of their own or hold whole paragraphs, read separately.
_INLINE = frozenset({"text:span", "text:a", "text:meta", "text:ruby-base"})


def load(name: str, data: bytes) -> Parsed:
    """Parse an .odt file into text slots, body first, then page headers and footers.

    Args:
        name: The file name (unused: odfdo's errors name no file).
        data: The file's bytes.

    Returns:
        The parsed document.
    """
    document = Document(io.BytesIO(data))
    if document.get_type() != "text":
        raise ValueError(f"an OpenDocument {document.get_type()}, not a text document")
    for part in ("meta", "settings", "manifest"):
        # odfdo parses these lazily, some only when saving: a damaged one must fail here,
        # before the document is translated, not in the rebuild after.
        getattr(document.get_part(part), "root", None)
    styles: Any = document.get_part("styles.xml")
    paragraphs = [*document.body.get_elements(_PARAGRAPHS)]
    if styles is not None and hasattr(styles, "root"):
        paragraphs += styles.root.get_elements(_PAGE_PARAGRAPHS)
    slots = [slot for paragraph in paragraphs for slot in _slots(paragraph)]
    texts = [slot.get() for slot in slots]
    # A string cell repeats its text in office:string-value; those that agree are updated.
    cells = [
        cell
        for cell in document.body.get_elements(".//table:table-cell[@office:string-value]")
        if cell.get_attribute("office:string-value") == _cell_text(cell)
    ]

    def write(new: list[str]) -> bytes:
        for i, text in changed(texts, new):
            slots[i].set(text)
        for cell in cells:
            cell.set_attribute("office:string-value", _cell_text(cell))
        out = io.BytesIO()
        document.save(out)
        return out.getvalue()

    return Parsed(texts, write)


def _cell_text(cell: Element) -> str:
    return "\n".join(p.inner_text for p in cell.get_elements("text:p"))


def _slots(element: Element) -> list[_Slot]:
    found = [_Slot(element, tail=False)]
    for child in element.children:
        if child.tag in _INLINE:
            found += _slots(child)
        found.append(_Slot(child, tail=True))
    return found
