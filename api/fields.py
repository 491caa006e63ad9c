"""A request's parameters as the dialects take them: a JSON object, or a form merged
over the query string (LibreTranslate's and DeepL's clients send either)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from fastapi import HTTPException, Request


async def request_fields(
    request: Request, *, lists: Collection[str], always_list: bool = False
) -> dict[str, Any]:
    """The parameters; a repeated form field named in `lists` is a list (with
    `always_list`, even a single one).

    Raises:
        HTTPException: 400 for a JSON body that is not an object.
    """
    if "json" in request.headers.get("content-type", ""):
        try:
            body = await request.json()
        except ValueError:
            raise HTTPException(400, "Invalid JSON format") from None
        if not isinstance(body, dict):
            raise HTTPException(400, "Invalid JSON format: the body must be an object")
        return body
    found: dict[str, Any] = dict(request.query_params)
    form = await request.form()
    for key in form:
        values = form.getlist(key)
        listed = key in lists and (always_list or len(values) > 1)
        found[key] = values if listed else values[0]
    return found
