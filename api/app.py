"""The API application: built from Settings, with the queue client's listener running
beside the request handlers for as long as the app lives."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from redis.exceptions import RedisError
from starlette.exceptions import HTTPException

from api import deepl, deepl_common, deepl_documents, documents, libre, seed, web
from api.bodies import BodyLimit
from api.metrics import ApiMetrics
from api.responses import SafeJSONResponse
from api.services import create_services
from config import Settings
from tasks.client.admission import QueueFull, Refused
from tasks.languages import known_names


def create_app(settings: Settings) -> FastAPI:
    """The FastAPI application; the listener starts and stops with it."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = create_services(settings)
        known_names()  # every request resolves languages: build babel's names at start
        app.state.services = services
        running = [
            asyncio.create_task(services.listener.run()),
            asyncio.create_task(services.jobs.follow()),
        ]
        try:
            yield
        finally:
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
            await services.listener.drain()
            await services.redis.aclose()

    app = FastAPI(
        title="Tolmach",
        summary="Local neural machine translation: an async API with pushed results, "
        "and LibreTranslate's endpoints",
        lifespan=lifespan,
        default_response_class=SafeJSONResponse,
    )
    metrics = ApiMetrics()
    app.include_router(seed.router)
    app.include_router(documents.router)
    app.include_router(libre.router)
    for prefix in deepl_common.PREFIXES:  # DeepL's API, under each base URL clients use
        shown = prefix == deepl_common.PREFIXES[0]
        app.include_router(deepl.router, prefix=prefix, include_in_schema=shown)
        app.include_router(deepl_documents.router, prefix=prefix, include_in_schema=shown)
    app.include_router(deepl.root)
    app.include_router(deepl_documents.router, include_in_schema=False)
    app.include_router(web.router)
    app.mount("/static", StaticFiles(directory=web.STATIC), name="static")
    app.add_api_route("/metrics", metrics.scrape, methods=["GET"], include_in_schema=False)
    app.add_exception_handler(HTTPException, _errors)
    app.add_exception_handler(RedisError, _redis_down)
    app.add_exception_handler(Refused, _refused)
    app.add_exception_handler(RecursionError, _too_deep)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_middleware(metrics.middleware)
    app.add_middleware(BodyLimit, settings=settings)
    if settings.api_cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.api_cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["*"],
        )
    return app


async def _redis_down(request: Request, exc: Exception) -> Response:
    """Redis away: a clear 503 in the API's shape, not a traceback."""
    error = "the translation service is unavailable right now; try again later"
    return SafeJSONResponse({"error": error, "detail": error}, status_code=503)


async def _refused(request: Request, exc: Exception) -> Response:
    """The admission policy's refusal: 503 with Retry-After when the queue is full,
    else a 400 naming the problem."""
    assert isinstance(exc, Refused)
    if isinstance(exc, QueueFull):
        headers = {"Retry-After": str(exc.retry_after)}
        return await _errors(request, HTTPException(503, str(exc), headers=headers))
    return await _errors(request, HTTPException(400, f"Invalid request: {exc}"))


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
