"""HTML: text nodes through BeautifulSoup's html.parser, tags and attributes kept as written.

html.parser, not lxml, because it keeps a document as it is (fragments stay fragments, no
`<html><body>` is added) and never fails on bad markup. Text inside script, style, code,
pre and similar elements is left alone; the title is a text node like any other. The output
is UTF-8 and BeautifulSoup rewrites a `<meta charset>` declaration to say so. Attributes
(alt, title) are kept untranslated.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from bs4 import BeautifulSoup, Doctype, NavigableString, Tag
from bs4.formatter import HTMLFormatter

from tasks.formats import textfile
from tasks.formats.base import Parsed, changed
from tasks.formats.errors import UnsafeDocument

_ENTITY_DECLARATION = re.compile(r"<!ENTITY", re.IGNORECASE)
# HTML's own whitespace: a no-break space is content and stays.
_SPACES = re.compile(r"[ \t\n\r\f]+")
_CORE = re.compile(r"[^ \t\n\r\f](?:.*[^ \t\n\r\f])?", re.DOTALL)
# Elements whose text is code, or not prose shown to a reader.
SKIPPED = frozenset(
    {"script", "style", "code", "pre", "kbd", "samp", "var", "textarea", "svg", "math"}
)


class _KeepOrder(HTMLFormatter):
    """The minimal formatter without BeautifulSoup's alphabetical sorting of attributes."""

    def attributes(self, tag: Tag) -> Iterable[tuple[str, Any]]:
        # Values go out as they are: a <meta charset> value must stay the special object
        # BeautifulSoup rewrites to the output encoding.
        return list(tag.attrs.items())


_FORMATTER = _KeepOrder(
    entity_substitution=HTMLFormatter.REGISTRY["minimal"].entity_substitution,
    void_element_close_prefix="",
)


def load(name: str, data: bytes) -> Parsed:
    """Parse an HTML file into text-node slots.

    Args:
        name: The file name, for error messages.
        data: The file's bytes.

    Returns:
        The parsed document, written back as UTF-8.
    """
    text = textfile.decode(name, data).text  # refuses binary; BeautifulSoup decodes on its own
    if _ENTITY_DECLARATION.search(text):
        # HTML has no entity declarations; XHTML's would expand (XXE, billion laughs) in
        # any reader that takes the file as XML.
        raise UnsafeDocument(name, "it declares XML entities (<!ENTITY), which HTML never has")
    soup = BeautifulSoup(data, "html.parser")
    _drop_doctype_newline(soup)
    nodes = text_nodes(soup)
    texts = [normalize_space(node) for node in nodes]

    def write(new: list[str]) -> bytes:
        for i, text in changed(texts, new):
            nodes[i].replace_with(NavigableString(text))
        return soup.encode("utf-8", formatter=_FORMATTER)

    return Parsed(texts, write)


def text_nodes(soup: BeautifulSoup) -> list[NavigableString]:
    """The prose text nodes in document order (not comments, doctype, script or code).

    One pass in document order, each tag's "inside skipped" looked up from its parent's:
    walking every text node's ancestors instead is quadratic in nesting depth.
    """
    skipped: dict[int, bool] = {}
    found: list[NavigableString] = []
    for node in soup.descendants:
        inside = skipped.get(id(node.parent), False)
        if isinstance(node, Tag):
            skipped[id(node)] = inside or node.name in SKIPPED
        # Comments, the doctype, CDATA and script/style/template strings are subclasses.
        elif type(node) is NavigableString and not inside:
            found.append(node)
    return found


def normalize_space(text: str) -> str:
    """Collapse inner whitespace runs into one space, keeping the outer whitespace.

    HTML renders any whitespace run as one space (pre is skipped), so the model gets
    sentences without the source's line wrapping.
    """
    match = _CORE.search(text)
    if match is None:
        return text
    return text[: match.start()] + _SPACES.sub(" ", match.group()) + text[match.end() :]


def _drop_doctype_newline(soup: BeautifulSoup) -> None:
    # BeautifulSoup writes a line break after the doctype itself; the source's own break
    # would make two.
    doctype = soup.find(string=lambda node: isinstance(node, Doctype))
    after = doctype.next_sibling if doctype is not None else None
    if type(after) is NavigableString and after.startswith("\n"):
        after.replace_with(NavigableString(after[1:]))
