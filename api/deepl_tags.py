"""DeepL's `ignore_tags`: the content of those elements is kept as it is.

Each text is cut around its ignored elements; only the parts between them go to the
model (tags in those parts are kept by the engine's HTML mode), and the answer is
glued back in order. A part is translated on its own, as the engine already
translates the text between two tags.
"""

from __future__ import annotations

import re
from typing import Any

# A piece of an answer: the index of a translated part, or text kept as it is.
Plan = list[int | str]
_NAME = re.compile(r"^[A-Za-z_][\w.:-]*$")


def tag_names(value: Any) -> list[str]:
    """Tag names from a JSON list or a comma-separated form field (others dropped)."""
    found = value if isinstance(value, list) else [value]
    names = [n.strip() for item in found if isinstance(item, str) for n in item.split(",")]
    return [name for name in names if _NAME.match(name)]


def cut(texts: list[str], ignored: list[str]) -> tuple[list[str], list[Plan]]:
    """The parts to translate, and for each text the plan that rebuilds it."""
    pattern = None
    if ignored:
        names = "|".join(re.escape(name) for name in ignored)
        pattern = re.compile(rf"<({names})\b[^>]*?(?:/>|>.*?</\1\s*>)", re.S | re.I)
    parts: list[str] = []
    plans: list[Plan] = []
    for text in texts:
        plan: Plan = []
        start = 0
        for match in pattern.finditer(text) if pattern is not None else ():
            _part(text[start : match.start()], parts, plan)
            plan.append(match.group())
            start = match.end()
        _part(text[start:], parts, plan)
        plans.append(plan)
    return parts, plans


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
