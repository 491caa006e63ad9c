"""The web page (also the Telegram Mini App): served at `/`, offline (no CDN), and the
few calls only it makes: who the Telegram user is, cancel a document, send it to chat."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Header, HTTPException, Query, Request
from fastapi.responses import FileResponse

from api.services import owned, services_of
from tasks.client.prefs import PrefsStore
from tasks.formats import supported_extensions
from tasks.telegram.files import (
    ChatClosed,
    FileRefused,
    FileSender,
    SendFailed,
    TelegramUnavailable,
)
from tasks.telegram.session import create_bot

STATIC = Path(__file__).parent / "static"
# What "Send to chat" answers when Telegram does not take the file: our words, never
# a library's text (aiohttp's carries the request URL, and the URL carries the token).
REFUSALS: dict[type[SendFailed], tuple[int, str]] = {
    ChatClosed: (403, "The bot cannot write to you: open a chat with it and press Start"),
    FileRefused: (502, "Telegram did not take the file; download it instead"),
    TelegramUnavailable: (503, "Telegram did not take the file; try again later"),
}


@asynccontextmanager
async def _telegram_session(app: FastAPI) -> AsyncIterator[None]:
    """Close the bot's Telegram session (if "Send to chat" opened one) when the app stops."""
    try:
        yield
    finally:
        sender: FileSender | None = getattr(app.state, "telegram", None)
        if sender is not None:
            await sender.close()


router = APIRouter(tags=["web page"], lifespan=_telegram_session)


@router.get("/", include_in_schema=False)
async def page() -> FileResponse:
    """The page itself; its script and styles are under /static."""
    return FileResponse(STATIC / "index.html", media_type="text/html")


@router.get("/api/web/config")
async def config(request: Request) -> dict[str, Any]:
    """What the page needs to know of this deployment."""
    services = services_of(request)
    settings = services.settings
    return {
        "char_limit": services.guard.text_limit(None),
        "formats": sorted(supported_extensions()),
        "max_file_bytes": settings.api_upload_limit,
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
async def cancel(
    task_id: str,
    request: Request,
    x_api_key: Annotated[str | None, Header()] = None,
    api_key: Annotated[str | None, Query()] = None,
) -> dict[str, bool]:
    """Cancel a document job; `cancelled` is false when it had finished already."""
    await owned(request, task_id, x_api_key or api_key)
    return {"cancelled": await services_of(request).jobs.cancel(task_id)}


@router.post("/api/file/{task_id}/send")
async def send_to_chat(task_id: str, request: Request) -> dict[str, bool]:
    """Send a translated file to the Mini App user's chat with the bot."""
    services = services_of(request)
    user = services.guard.require_user(request)
    found = await services.jobs.file(task_id)
    if found is None or await services.jobs.owner(task_id) != user.id:
        raise HTTPException(404, f"no translated file of yours for {task_id}")
    try:
        await _sender(request).send(user.id, *found, caption="Tolmach")
    except SendFailed as exc:
        status, words = REFUSALS[type(exc)]
        wait = exc.retry_after if isinstance(exc, TelegramUnavailable) else None
        headers = {"Retry-After": str(wait)} if wait else None
        raise HTTPException(status, words, headers=headers) from None
    return {"sent": True}


def _sender(request: Request) -> FileSender:
    """The process's sender: the bot's Bot (session and retry policy), built on first
    use, since most API processes never send a file (webapp_user checked BOT_TOKEN)."""
    state = request.app.state
    sender: FileSender | None = getattr(state, "telegram", None)
    if sender is None:
        sender = state.telegram = FileSender(create_bot(services_of(request).settings))
    return sender
