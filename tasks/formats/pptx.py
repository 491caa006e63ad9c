"""PPTX through python-pptx: every text frame of every slide, and the speaker notes.

All `a:p` paragraphs of a slide's XML are read, which covers text boxes, placeholders,
tables and shapes inside groups at any depth. Slots follow `ooxml` (same-formatted
consecutive runs form one slot), so run count and run styles stay. Kept: layouts, masters,
positions, images, animations. Not translated: text in charts and SmartArt (separate parts)
and the layouts' and masters' placeholder prompts, which never show in a presentation.
"""

from __future__ import annotations

import io
from typing import Any

import pptx

from tasks.formats import ooxml
from tasks.formats.base import Parsed

A_NS = "http://schemas.openxmlformats.org/drawingml/2006/main"
DRAWING = ooxml.Dialect(
    ns=A_NS,
    # PowerPoint splits runs on spell-check and language state alone.
    ignored_attributes=frozenset({"lang", "altLang", "dirty", "err", "noProof", "smtClean"}),
)


def load(name: str, data: bytes) -> Parsed:
    """Parse a .pptx file into run-group slots, slide by slide, notes after each slide.

    Args:
        name: The file name (unused: python-pptx's errors name no file).
        data: The file's bytes.

    Returns:
        The parsed document.
    """
    presentation = pptx.Presentation(io.BytesIO(data))
    roots: list[Any] = []
    for slide in presentation.slides:
        roots.append(slide.element)
        if slide.has_notes_slide:
            roots.append(slide.notes_slide.element)
    groups = ooxml.slots((p for root in roots for p in root.iter(DRAWING.tag("p"))), DRAWING)

    def save() -> bytes:
        out = io.BytesIO()
        presentation.save(out)
        return out.getvalue()

    return ooxml.parsed(groups, DRAWING, save)
