"""Language-code checks shared by the worker and the bot (no heavy imports)."""

from __future__ import annotations

import re

# ISO 639-1/639-3 codes with an optional script or region (zh-Hans, pt-BR).
_CODE_RE = re.compile(r"^([A-Za-z]{2,3})(?:[-_]([A-Za-z]{2,4}))?$")


def normalize_code(code: str) -> str | None:
    """Return the canonical form of a language code, or None when it is not one.

    The result is safe to put into a model path template: letters and one dash only.
    """
    match = _CODE_RE.match(code.strip())
    if match is None:
        return None
    base, sub = match.group(1).lower(), match.group(2)
    if not sub:
        return base
    return f"{base}-{sub.title() if len(sub) == 4 else sub.upper()}"
