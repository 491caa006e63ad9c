"""The API application: built from Settings, with the queue client's listener running
beside the request handlers for as long as the app lives."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from redis.exceptions import RedisError
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import documents, libre, seed, web
from api.metrics import ApiMetrics
from api.services import create_services
from config import Settings
from tasks.languages import known_names

# Larger bodies are refused before they are read: the largest document, and some room
# for the multipart envelope.
ENVELOPE = 1024 * 1024


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
    )
    metrics = ApiMetrics()
    app.include_router(seed.router)
    app.include_router(documents.router)
    app.include_router(libre.router)
    app.include_router(web.router)
    app.mount("/static", StaticFiles(directory=web.STATIC), name="static")
    app.add_api_route("/metrics", metrics.scrape, methods=["GET"], include_in_schema=False)
    app.add_exception_handler(HTTPException, _errors)
    app.add_exception_handler(RedisError, _redis_down)
    app.add_middleware(metrics.middleware)
    app.add_middleware(BodyLimit, limit=settings.document_byte_limit + ENVELOPE)
    if settings.api_cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.api_cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["*"],
        )
    return app


class BodyLimit:
    """Refuses a body over `limit` bytes with 413: at once from its Content-Length, or as
    soon as a chunked one grows past it (never read whole into memory)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        error = f"the request body is over the limit ({self.limit} bytes)"
        length = dict(scope["headers"]).get(b"content-length", b"")
        if length.isdigit() and int(length) > self.limit:
            response = JSONResponse({"error": error, "detail": error}, status_code=413)
            await response(scope, receive, send)
            return
        received = 0

        async def bounded() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit:
                raise HTTPException(413, error)
            return message

        await self.app(scope, bounded, send)


async def _redis_down(request: Request, exc: Exception) -> Response:
    """Redis away: a clear 503 in the API's shape, not a traceback."""
    error = "the translation service is unavailable right now; try again later"
    return JSONResponse({"error": error, "detail": error}, status_code=503)


async def _errors(request: Request, exc: Exception) -> Response:
    """LibreTranslate's error shape outside `/api` (its clients read `error`)."""
    assert isinstance(exc, HTTPException)
    if request.url.path.startswith("/api/"):
        return await http_exception_handler(request, exc)
    return JSONResponse({"error": exc.detail}, status_code=exc.status_code, headers=exc.headers)
