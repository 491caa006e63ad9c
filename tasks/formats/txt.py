"""Plain text: one slot per line, line breaks and encoding kept.

Lines, not paragraphs: a translated paragraph could not be wrapped back into the original
lines, while line slots give back exactly the same line structure.
"""

from __future__ import annotations

from tasks.formats import textfile
from tasks.formats.base import Parsed, changed, one_line, split_lines


def load(name: str, data: bytes) -> Parsed:
    """Parse a text file into line slots (line breaks are not slots).

    Args:
        name: The file name, for error messages.
        data: The file's bytes.

    Returns:
        The parsed document; it writes back in the original encoding when that can hold the
        translation, otherwise in UTF-8.
    """
    decoded = textfile.decode(name, data)
    parts = split_lines(decoded.text)
    # Even indexes are lines, odd ones the breaks between them.
    texts = parts[0::2]

    def write(new: list[str]) -> bytes:
        out = list(parts)
        for i, text in changed(texts, new):
            out[2 * i] = one_line(text)
        return textfile.encode("".join(out), decoded.encoding)

    return Parsed(texts, write)
