"""Language fields of API requests: codes, names or `auto`, with a clear 400 otherwise."""

from __future__ import annotations

from fastapi import HTTPException

from tasks.languages import names_a_language, resolve, suggest

AUTO = "auto"
MAX_NAME = 64


def source(raw: str) -> str:
    """A source language code, or `auto`.

    Raises:
        HTTPException: 400 naming the unknown language (and the close match, if any).
    """
    return AUTO if raw.strip().lower() in ("", AUTO) else target(raw)


def target(raw: str) -> str:
    """A target language code.

    Raises:
        HTTPException: 400 naming the unknown language (and the close match, if any).
    """
    if len(raw) > MAX_NAME:  # no language is named at such length; skip the matching
        raise HTTPException(400, f"{raw[:MAX_NAME]}… is not a language")
    code = resolve(raw)
    if code is None or not names_a_language(code):
        close = suggest(raw)
        hint = f" (did you mean {close!r}?)" if close else ""
        raise HTTPException(400, f"{raw} is not supported{hint}")
    return code
