"""`GET /health` (LibreTranslate's path): whether this replica can serve at all."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import RedisDep

router = APIRouter(tags=["libretranslate"])


@router.get("/health")
async def health(redis: RedisDep) -> JSONResponse:
    """200 while Redis (queue and results) answers; 503 otherwise."""
    try:
        await redis.ping()
    except Exception:
        return JSONResponse({"status": "unavailable"}, status_code=503)
    return JSONResponse({"status": "ok"})
