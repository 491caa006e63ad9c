"""The API application: built from Settings, with the queue client's listener running
beside the request handlers for as long as the app lives."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from api import documents, libre, seed, web
from api.metrics import ApiMetrics
from api.services import create_services
from config import Settings

# Larger bodies are refused before they are read: the largest document, and some room
# for the multipart envelope.
ENVELOPE = 1024 * 1024


def create_app(settings: Settings) -> FastAPI:
    """The FastAPI application; the listener starts and stops with it."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = create_services(settings)
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
    app.middleware("http")(_body_limit(settings.document_byte_limit + ENVELOPE))
    app.middleware("http")(metrics.middleware)
    if settings.api_cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.api_cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["*"],
        )
    return app


Next = Callable[[Request], Awaitable[Response]]


def _body_limit(limit: int) -> Callable[[Request, Next], Awaitable[Response]]:
    async def check(request: Request, call_next: Next) -> Response:
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > limit:
            error = f"the request body is over the limit ({limit} bytes)"
            return JSONResponse({"error": error, "detail": error}, status_code=413)
        return await call_next(request)

    return check


async def _errors(request: Request, exc: Exception) -> Response:
    """LibreTranslate's error shape outside `/api` (its clients read `error`)."""
    assert isinstance(exc, HTTPException)
    if request.url.path.startswith("/api/"):
        return await http_exception_handler(request, exc)
    return JSONResponse({"error": exc.detail}, status_code=exc.status_code, headers=exc.headers)
