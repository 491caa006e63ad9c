"""The one reference the tests compare answers with: what the tiny model makes of a text,
computed with the plain libraries (tests.support.tiny_model), not with our engine."""

from __future__ import annotations

from pathlib import Path
from typing import overload

from tasks.engine import segment
from tests.support.stack import NUM_BEAMS
from tests.support.tiny_model import reference_translate


@overload
def reference(
    template: str, texts: str, src: str = "en", tgt: str = "ru", num_beams: int = NUM_BEAMS
) -> str: ...
@overload
def reference(
    template: str, texts: list[str], src: str = "en", tgt: str = "ru", num_beams: int = NUM_BEAMS
) -> list[str]: ...
def reference(
    template: str,
    texts: str | list[str],
    src: str = "en",
    tgt: str = "ru",
    num_beams: int = NUM_BEAMS,
) -> str | list[str]:
    """The `src`-`tgt` model of MODEL_TEMPLATE `template` on each text (or on one), with
    the stack's beams unless told otherwise."""
    folder = Path(template.format(src=src, tgt=tgt))
    if isinstance(texts, str):
        return reference_translate(folder, [texts], num_beams)[0]
    return reference_translate(folder, texts, num_beams)


def engine_translations(template: str, found: list[str]) -> list[str]:
    """What the engine makes of each segment: its sentences, each translated by the model."""
    pieces = [segment.split(text) for text in found]
    flat = reference(template, [t for p in pieces for t in segment.to_translate(p)])
    out, at = [], 0
    for p in pieces:
        count = len(segment.to_translate(p))
        out.append(segment.join(p, flat[at : at + count]).strip())
        at += count
    return out
