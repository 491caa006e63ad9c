"""`GET /health` (LibreTranslate's path): whether this replica can serve at all."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import RedisDep

router = APIRouter(tags=["libretranslate"])
PING_WITHIN = 3.0  # seconds


@router.get("/health")
async def health(redis: RedisDep) -> JSONResponse:
    """200 while Redis (queue and results) answers; 503 otherwise, within seconds (the
    client's own retries would take a minute, longer than any probe waits)."""
    try:
        await asyncio.wait_for(redis.ping(), PING_WITHIN)
    except Exception:
        return JSONResponse({"status": "unavailable"}, status_code=503)
    return JSONResponse({"status": "ok"})
