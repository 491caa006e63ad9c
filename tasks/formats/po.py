"""Gettext catalogues through polib: msgid into msgstr, msgid_plural into every plural form.

Placeholders (`%s`, `%(name)s`, `%1$d`, `{name}`, `{0}`, HTML tags) and line breaks are
never sent to the model: a msgid is split around them, the pieces are slots, and the
msgstr is the translated pieces joined with the placeholders as they were. Kept: msgids,
msgctxt, comments, references, flags, obsolete entries, the header (its charset becomes
UTF-8, the encoding written). Existing msgstrs are overwritten.
"""

from __future__ import annotations

import re
from typing import Any

import polib

from tasks.formats import textfile
from tasks.formats.base import Parsed, changed, one_line

# One capturing group around it all: re.split then keeps the placeholders.
PLACEHOLDER = re.compile(
    r"(%(?:\d+\$)?(?:\([^)\n]*\))?[-+#0]*(?:\d+|\*)?(?:\.(?:\d+|\*))?(?:hh|ll|[hlLqjzt])?"
    r"[diouxXeEfFgGcrsaAp%]"
    r"|%\d+"  # Qt's %1
    r"|\{\{|\}\}|\{[^{}\s]*\}"  # str.format fields and escaped braces
    r"|<[^<>\n]*>"  # markup
    r"|\n)"
)
_CHARSET = re.compile(r"charset=[^\s;]*")


def load(name: str, data: bytes) -> Parsed:
    """Parse a .po/.pot file; each entry's msgid pieces are slots (plural pieces after).

    Args:
        name: The file name, for error messages.
        data: The file's bytes.

    Returns:
        The parsed catalogue, written back in UTF-8.
    """
    text = textfile.decode(name, data).text
    # polib takes a string as a *path* when a file of that name exists; a line break makes
    # sure it is always parsed as content.
    catalogue = polib.pofile(text if "\n" in text else text + "\n", encoding="utf-8")
    entries = [entry for entry in catalogue if entry.msgid and not entry.obsolete]
    pieces = [_entry_pieces(entry) for entry in entries]
    slots = [
        (e, f, k)
        for e, forms in enumerate(pieces)
        for f, form in enumerate(forms)
        for k in range(0, len(form), 2)
    ]
    texts = [pieces[e][f][k] for e, f, k in slots]

    def write(new: list[str]) -> bytes:
        out = [[list(form) for form in forms] for forms in pieces]
        for i, piece in changed(texts, new):
            e, f, k = slots[i]
            out[e][f][k] = one_line(piece)
        for entry, forms in zip(entries, out, strict=True):
            _fill(entry, ["".join(form) for form in forms], catalogue)
        _declare_utf8(catalogue)
        text = str(catalogue)
        # polib writes a lone "#" line for an empty header comment; the source had none.
        if not catalogue.header and text.startswith("#\n"):
            text = text[2:]
        return text.encode("utf-8")

    return Parsed(texts, write)


def _entry_pieces(entry: Any) -> list[list[str]]:
    """The msgid (and msgid_plural) split into text, placeholder, text... pieces."""
    forms = [entry.msgid] + ([entry.msgid_plural] if entry.msgid_plural else [])
    # With a capturing group, re.split alternates text (even) and placeholder (odd).
    return [PLACEHOLDER.split(form) for form in forms]


def _fill(entry: Any, forms: list[str], catalogue: Any) -> None:
    if not entry.msgid_plural:
        entry.msgstr = forms[0]
        return
    count = max(_plural_count(catalogue), len(entry.msgstr_plural), 2)
    entry.msgstr_plural = {n: forms[0] if n == 0 else forms[1] for n in range(count)}


def _plural_count(catalogue: Any) -> int:
    match = re.search(r"nplurals\s*=\s*(\d+)", catalogue.metadata.get("Plural-Forms", ""))
    return min(int(match.group(1)), 10) if match else 2


def _declare_utf8(catalogue: Any) -> None:
    content_type = catalogue.metadata.get("Content-Type")
    if content_type:
        catalogue.metadata["Content-Type"] = _CHARSET.sub("charset=UTF-8", content_type)
