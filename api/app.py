"""The API application: built from Settings, with the queue client's listener running
beside the request handlers for as long as the app lives."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles

from api import errors, routes
from api.bodies import BodyLimit
from api.metrics import ApiMetrics
from api.responses import SafeJSONResponse
from api.services import create_services
from config import Settings
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
    routes.include(app)
    app.mount("/static", StaticFiles(directory=routes.web.STATIC), name="static")
    app.add_api_route("/metrics", metrics.scrape, methods=["GET"], include_in_schema=False)
    errors.install(app)
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
