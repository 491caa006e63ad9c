"""DeepL's `ignore_tags`: the content of those elements is kept as it is.

Each text is cut around its ignored elements; only the parts between them go to the
model (tags in those parts are kept by the engine's HTML mode), and the answer is
glued back in order. A part is translated on its own, as the engine already
translates the text between two tags.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

# A piece of an answer: the index of a translated part, or text kept as it is.
Plan = list[int | str]
_NAME = re.compile(r"^[A-Za-z_][\w.:-]*$")
MAX_NAMES = 64


def tag_names(value: Any) -> list[str]:
    """Tag names from a JSON list or a comma-separated form field (others dropped; the
    first `MAX_NAMES` distinct ones kept)."""
    found = value if isinstance(value, list) else [value]
    names = [n.strip() for item in found if isinstance(item, str) for n in item.split(",")]
    valid = [name for name in names if _NAME.match(name)]
    return list(dict.fromkeys(valid))[:MAX_NAMES]


def cut(texts: list[str], ignored: list[str]) -> tuple[list[str], list[Plan]]:
    """The parts to translate, and for each text the plan that rebuilds it."""
    parts: list[str] = []
    plans: list[Plan] = []
    spans = _Spans(ignored) if ignored else None
    for text in texts:
        plan: Plan = []
        start = 0
        for begin, end in spans.of(text) if spans is not None else ():
            _part(text[start:begin], parts, plan)
            plan.append(text[begin:end])
            start = end
        _part(text[start:], parts, plan)
        plans.append(plan)
    return parts, plans


class _Spans:
    """Where the ignored elements are: `<name …/>`, or `<name …>` to the first `</name>`.

    A scan, not one regex with a lazy `.*?` to the closing tag: that one searched to the
    end of the text again at each opening tag left unclosed, and thousands of them in
    one text held the event loop for seconds per request.
    """

    def __init__(self, names: list[str]) -> None:
        alternatives = "|".join(re.escape(name) for name in names)
        self.opening = re.compile(rf"<({alternatives})\b[^<>]*>", re.I)
        self.closing = {
            name.lower(): re.compile(rf"</{re.escape(name)}\s*>", re.I) for name in names
        }

    def of(self, text: str) -> Iterator[tuple[int, int]]:
        """The (start, end) of each ignored element in `text`, in order."""
        position, unclosed = 0, set()
        while (opening := self.opening.search(text, position)) is not None:
            name = opening.group(1).lower()
            if opening.group().endswith("/>"):
                yield opening.start(), opening.end()
                position = opening.end()
                continue
            if name not in unclosed:  # no closing tag after one: none after a later one
                closing = self.closing[name].search(text, opening.end())
                if closing is not None:
                    yield opening.start(), closing.end()
                    position = closing.end()
                    continue
                unclosed.add(name)
            position = opening.end()


def glue(plans: list[Plan], translated: list[str]) -> list[str]:
    """Each text rebuilt from its plan and the translated parts."""
    return ["".join(translated[p] if isinstance(p, int) else p for p in plan) for plan in plans]


def _part(chunk: str, parts: list[str], plan: Plan) -> None:
    # Blank text is kept as it is: nothing for the model, and nothing to refuse.
    if chunk.strip():
        plan.append(len(parts))
        parts.append(chunk)
    elif chunk:
        plan.append(chunk)
