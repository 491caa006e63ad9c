"""Text slots of Office Open XML paragraphs (DOCX `w:p`, PPTX `a:p`), run styles kept.

Word and PowerPoint split text into runs for reasons a reader never sees (spell-check and
revision marks, language tags), often mid-word. Translating run by run would send "Hel" and
"lo" to the model, and distributing a paragraph's translation over its runs would need
word alignment the model does not give. So consecutive runs with the *same formatting* form
one slot: its translation goes into the first run's text, the others' texts are emptied.
Every run, with its properties, stays; runs with other formatting are separate slots, so
bold and italic words keep their style. Tabs, breaks, fields and drawings end a slot and
stay where they are.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from lxml import etree

from tasks.formats.base import Parsed, changed

_XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"


@dataclass(frozen=True)
class Dialect:
    """The tags of one OOXML vocabulary."""

    ns: str
    # Elements between two runs that do not separate their text.
    transparent_siblings: frozenset[str] = frozenset()
    # Run children other than text that do not end a slot.
    transparent_children: frozenset[str] = frozenset()
    # rPr attributes that do not change how text looks (language, spell-check state).
    ignored_attributes: frozenset[str] = frozenset()
    preserve_space: bool = False

    def tag(self, local: str) -> str:
        """The Clark-notation tag of `local` in this vocabulary."""
        return f"{{{self.ns}}}{local}"


def slots(paragraphs: Iterable[Any], dialect: Dialect) -> list[list[Any]]:
    """The text elements of each slot, over all paragraphs, in document order."""
    found: list[list[Any]] = []
    for paragraph in paragraphs:
        found.extend(_paragraph_slots(paragraph, dialect))
    return found


def parsed(groups: list[list[Any]], dialect: Dialect, save: Callable[[], bytes]) -> Parsed:
    """A `Parsed` whose writer fills the slots and then calls `save` to serialize.

    Args:
        groups: The slots, as returned by `slots`.
        dialect: Their vocabulary.
        save: Serializes the whole package.

    Returns:
        The parsed document.
    """
    texts = ["".join(t.text or "" for t in group) for group in groups]

    def write(new: list[str]) -> bytes:
        for i, text in changed(texts, new):
            first, *rest = groups[i]
            first.text = text
            if dialect.preserve_space:
                first.set(_XML_SPACE, "preserve")
            for element in rest:
                element.text = ""
        return save()

    return Parsed(texts, write)


def _paragraph_slots(paragraph: Any, dialect: Dialect) -> list[list[Any]]:
    p_tag, r_tag, t_tag = dialect.tag("p"), dialect.tag("r"), dialect.tag("t")
    groups: list[list[Any]] = []
    current: list[Any] | None = None
    previous: tuple[Any, Any, bytes] | None = None  # run, its parent, its style
    for run in paragraph.iter(r_tag):
        if _owner(run, p_tag) is not paragraph:
            continue  # a run of a paragraph nested in this one (a text box)
        key = _style(run, dialect)
        joins = (
            current is not None
            and previous is not None
            and previous[1:] == (run.getparent(), key)
            and _adjacent(previous[0], run, dialect)
        )
        if not joins:
            current = None
        for child in run:
            if child.tag == t_tag:
                if current is None:
                    current = []
                    groups.append(current)
                current.append(child)
            elif child.tag != dialect.tag("rPr") and child.tag not in dialect.transparent_children:
                current = None
        previous = (run, run.getparent(), key)
    return groups


def _owner(run: Any, p_tag: str) -> Any:
    parent = run.getparent()
    while parent is not None and parent.tag != p_tag:
        parent = parent.getparent()
    return parent


def _adjacent(before: Any, after: Any, dialect: Dialect) -> bool:
    sibling = before.getnext()
    while sibling is not None and sibling is not after:
        if sibling.tag not in dialect.transparent_siblings:
            return False
        sibling = sibling.getnext()
    return sibling is after


def _style(run: Any, dialect: Dialect) -> bytes:
    properties = run.find(dialect.tag("rPr"))
    if properties is None:
        return b""
    if dialect.ignored_attributes:
        properties = copy.deepcopy(properties)
        for name in dialect.ignored_attributes:
            properties.attrib.pop(name, None)
    return bytes(etree.tostring(properties, method="c14n"))
