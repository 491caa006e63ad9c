"""The web page (also the Telegram Mini App): served at `/`, offline (no CDN), and the
few calls only it makes: who the Telegram user is, cancel a document, send it to chat."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse

from api.services import services_of
from api.telegram import send_document
from tasks.client.prefs import PrefsStore
from tasks.formats import supported_extensions

STATIC = Path(__file__).parent / "static"
router = APIRouter(tags=["web page"])


@router.get("/", include_in_schema=False)
async def page() -> FileResponse:
    """The page itself; its script and styles are under /static."""
    return FileResponse(STATIC / "index.html", media_type="text/html")


@router.get("/api/web/config")
async def config(request: Request) -> dict[str, Any]:
    """What the page needs to know of this deployment."""
    settings = services_of(request).settings
    return {
        "char_limit": settings.api_char_limit,
        "formats": sorted(supported_extensions()),
        "max_file_bytes": settings.document_byte_limit,
    }


@router.get("/api/web/me")
async def me(request: Request) -> dict[str, Any]:
    """The Mini App's user and their `/lang` languages (401 without valid initData)."""
    services = services_of(request)
    user = services.guard.require_user(request)
    prefs = await PrefsStore(services.redis).languages_of(user.id, user.language_code)
    return {
        "id": user.id,
        "first_name": user.first_name,
        "target": prefs.target,
        "second": prefs.second,
    }


@router.post("/api/result/{task_id}/cancel")
async def cancel(task_id: str, request: Request) -> dict[str, bool]:
    """Cancel a document job; `cancelled` is false when it had finished already."""
    return {"cancelled": await services_of(request).jobs.cancel(task_id)}


@router.post("/api/file/{task_id}/send")
async def send_to_chat(task_id: str, request: Request) -> dict[str, bool]:
    """Send a translated file to the Mini App user's chat with the bot."""
    services = services_of(request)
    user = services.guard.require_user(request)
    found = await services.jobs.file(task_id)
    if found is None or await services.jobs.owner(task_id) != user.id:
        raise HTTPException(404, f"no translated file of yours for {task_id}")
    settings = services.settings
    assert settings.bot_token is not None  # webapp_user checked it
    try:
        await send_document(
            settings.telegram_api_url,
            settings.bot_token.get_secret_value(),
            user.id,
            *found,
            caption="Tolmach",
        )
    except aiohttp.ClientError as exc:
        raise HTTPException(502, f"Telegram did not take the file: {exc}") from None
    return {"sent": True}
