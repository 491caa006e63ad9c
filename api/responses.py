"""JSON answers that always render: whatever a client sent and an error echoes back (a
lone surrogate, NaN, bytes that are not UTF-8) comes out as valid JSON, never a 500."""

from __future__ import annotations

import json
import math
from typing import Any

from fastapi import HTTPException
from fastapi.responses import JSONResponse


class SafeJSONResponse(JSONResponse):
    """Starlette's JSON answer, falling back to escaped ASCII with non-finite numbers
    and undecodable values made strings when the plain rendering cannot hold them."""

    def render(self, content: Any) -> bytes:
        try:
            return super().render(content)
        except (UnicodeEncodeError, ValueError, TypeError):
            return json.dumps(
                _finite(content), ensure_ascii=True, allow_nan=False, default=_text
            ).encode("ascii")


def _finite(value: Any) -> Any:
    """`value` with NaN and infinities as strings (JSON has no word for them)."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return repr(value)


# Seconds a client is asked to wait for a model that could not be loaded just now.
MODEL_RETRY_AFTER = 30


def job_failed(error: dict[str, str]) -> HTTPException:
    """A failed job's answer: 500 for our fault, 503 (with Retry-After) for a model that
    could not be loaded just now or a queue that went away, which clients and SDKs
    retry, 400 for the request's."""
    if error["code"] == "internal":
        return HTTPException(500, error["message"])
    if error["code"] in ("model_unavailable", "unavailable"):
        retry = {"Retry-After": str(MODEL_RETRY_AFTER)}
        return HTTPException(503, error["message"], headers=retry)
    return HTTPException(400, error["message"])
