"""One place where errors become answers, in the shape of the caller's dialect:
LibreTranslate's `error` outside `/api`, FastAPI's `detail` on `/api/...`, DeepL's
`message` (and DeepLX's `code`); Redis away, the admission policy's refusals, JSON
nested too deeply and FastAPI's 422 alike."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from redis.exceptions import RedisError
from starlette.exceptions import HTTPException

from api import deepl_common
from api.responses import SafeJSONResponse
from tasks.client.admission import QueueFull, Refused

# Seconds a client is asked to wait while Redis is away (a restart or a failover).
REDIS_RETRY_AFTER = 10


def install(app: FastAPI) -> None:
    """Register the handlers on `app`."""
    app.add_exception_handler(HTTPException, _errors)
    app.add_exception_handler(RedisError, _redis_down)
    app.add_exception_handler(Refused, _refused)
    app.add_exception_handler(RecursionError, _too_deep)
    app.add_exception_handler(RequestValidationError, _invalid)


async def _redis_down(request: Request, exc: Exception) -> Response:
    """Redis away: a clear 503 in the API's shape, not a traceback."""
    error = "the translation service is unavailable right now; try again later"
    headers = {"Retry-After": str(REDIS_RETRY_AFTER)}
    shaped = deepl_common.error_response(request, HTTPException(503, error, headers=headers))
    if shaped is not None:
        return shaped  # DeepL's or DeepLX's shape: their clients read `message`
    return SafeJSONResponse({"error": error, "detail": error}, status_code=503, headers=headers)


async def _refused(request: Request, exc: Exception) -> Response:
    """The admission policy's refusal: 503 with Retry-After when the queue is full,
    else a 400 naming the problem."""
    assert isinstance(exc, Refused)
    if isinstance(exc, QueueFull):
        headers = {"Retry-After": str(exc.retry_after)}
        return await _errors(request, HTTPException(503, exc.public, headers=headers))
    return await _errors(request, HTTPException(400, f"Invalid request: {exc.public}"))


async def _too_deep(request: Request, exc: Exception) -> Response:
    """JSON nested deeper than Python's parser goes: malformed input, not our fault."""
    return await _errors(request, HTTPException(400, "Invalid JSON format: nested too deeply"))


async def _errors(request: Request, exc: Exception) -> Response:
    """LibreTranslate's error shape outside `/api` (its clients read `error`)."""
    assert isinstance(exc, HTTPException)
    if (shaped := deepl_common.error_response(request, exc)) is not None:
        return shaped  # DeepL's or DeepLX's shape
    body = {"detail" if request.url.path.startswith("/api/") else "error": exc.detail}
    return SafeJSONResponse(body, status_code=exc.status_code, headers=exc.headers)


async def _invalid(request: Request, exc: Exception) -> Response:
    """FastAPI's 422, without echoing the input (which may not even be text)."""
    assert isinstance(exc, RequestValidationError)
    errors = [
        {k: v for k, v in e.items() if k not in ("input", "ctx", "url")} for e in exc.errors()
    ]
    return SafeJSONResponse({"detail": errors}, status_code=422)
