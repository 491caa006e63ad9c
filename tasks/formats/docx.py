"""DOCX through python-docx: body, tables, text boxes, headers, footers, notes and comments.

Every `w:p` of each part is read, so tables (nested too) and text boxes come with the body.
Slots follow `ooxml`: same-formatted consecutive runs form one slot, so run count and run
styles stay. Kept: all formatting, images, fields, section layout, tracked-change marks.
Lost: nothing structural; a slot's translation sits in its first run (same look as the
others), and text inside charts and SmartArt (separate parts) is not translated.
"""

from __future__ import annotations

import io
from typing import Any

import docx
from docx.opc.constants import CONTENT_TYPE as CT
from docx.opc.part import Part, XmlPart
from lxml import etree

from tasks.formats import ooxml
from tasks.formats.base import Parsed

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
WORD = ooxml.Dialect(
    ns=W_NS,
    transparent_siblings=frozenset(
        f"{{{W_NS}}}{local}"
        for local in ("proofErr", "bookmarkStart", "bookmarkEnd", "permStart", "permEnd")
    ),
    transparent_children=frozenset({f"{{{W_NS}}}lastRenderedPageBreak"}),
    preserve_space=True,
)
# Parts with text besides the main document, in this order.
_EXTRA_PARTS = (CT.WML_HEADER, CT.WML_FOOTER, CT.WML_FOOTNOTES, CT.WML_ENDNOTES, CT.WML_COMMENTS)
_SAFE_XML = etree.XMLParser(resolve_entities=False, no_network=True)


def load(name: str, data: bytes) -> Parsed:
    """Parse a .docx file into run-group slots.

    Args:
        name: The file name (unused: python-docx's errors name no file).
        data: The file's bytes.

    Returns:
        The parsed document.
    """
    document = docx.Document(io.BytesIO(data))
    roots = [(document.part.element, None), *(_root(part) for part in _extra_parts(document))]
    groups = ooxml.slots((p for root, _ in roots for p in root.iter(WORD.tag("p"))), WORD)

    def save() -> bytes:
        for root, part in roots:
            if part is not None:
                # python-docx keeps no XML tree for parts it does not model (footnotes): the
                # tree parsed here goes back as the part's blob.
                part._blob = etree.tostring(
                    root, xml_declaration=True, encoding="UTF-8", standalone=True
                )
        out = io.BytesIO()
        document.save(out)
        return out.getvalue()

    return ooxml.parsed(groups, WORD, save)


def _extra_parts(document: Any) -> list[Part]:
    parts = list(document.part.package.iter_parts())
    ordered: list[Part] = []
    for content_type in _EXTRA_PARTS:
        ordered += sorted(
            (part for part in parts if part.content_type == content_type),
            key=lambda part: str(part.partname),
        )
    return ordered


def _root(part: Part) -> tuple[Any, Part | None]:
    """The part's XML root, and the part itself when its blob must be rewritten on save."""
    if isinstance(part, XmlPart):
        return part.element, None
    return etree.fromstring(part.blob, _SAFE_XML), part
