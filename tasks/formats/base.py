"""What every format module returns: the document's texts and a way to write them back."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Writer = Callable[[list[str]], bytes]


@dataclass
class Parsed:
    """One parsed document.

    Attributes:
        texts: Every text slot of the document in a fixed order, translatable or not; the
            package filters out empty and letterless ones, so modules need not.
        write: Given a new text for every slot (same length and order as `texts`; unchanged
            slots get their original text back), returns the rebuilt document's bytes.
    """

    texts: list[str]
    write: Writer


_LINE_BREAK = re.compile(r"(\r\n|\r|\n)")


def split_lines(text: str) -> list[str]:
    """Split text into lines and their line breaks, alternating, so `"".join()` restores it.

    Only CR, LF and CRLF count: `str.splitlines` would also split at form feeds and Unicode
    separators, which text files carry as characters.
    """
    return _LINE_BREAK.split(text)


def one_line(text: str) -> str:
    """Collapse line breaks into spaces, for formats where a new line means new structure."""
    return " ".join(text.splitlines()) if "\n" in text or "\r" in text else text


def changed(old: list[str], new: list[str]) -> list[tuple[int, str]]:
    """The (index, new text) pairs where `new` differs from `old`.

    Writers touch only these: rewriting an unchanged slot can still alter the serialization
    (e.g. an empty XML text turning `<a/>` into `<a></a>`).
    """
    return [
        (i, text) for i, (before, text) in enumerate(zip(old, new, strict=True)) if before != text
    ]


class ElementSlot:
    """The text of an XML element, or the text after it (its tail): lxml and odfdo alike."""

    def __init__(self, element: Any, tail: bool) -> None:
        self.element, self.tail = element, tail

    def get(self) -> str:
        """The slot's current text ("" when there is none)."""
        return str((self.element.tail if self.tail else self.element.text) or "")

    def set(self, text: str) -> None:
        """Replace the slot's text."""
        if self.tail:
            self.element.tail = text
        else:
            self.element.text = text
