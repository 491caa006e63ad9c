"""The web page (also the Telegram Mini App): served at `/`, offline (no CDN), and the
few calls only it makes: what the deployment takes, who the Telegram user is, and a
translated file sent to their chat."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.responses import FileResponse

from api.deps import GuardDep, JobsDep, MiniAppUserDep, RedisDep, SettingsDep
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

STATIC = Path(__file__).parent.parent / "static"
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
async def config(settings: SettingsDep, guard: GuardDep) -> dict[str, Any]:
    """What the page needs to know of this deployment."""
    return {
        "char_limit": guard.text_limit(None),
        "formats": sorted(supported_extensions()),
        "max_file_bytes": settings.api_upload_limit,
    }


@router.get("/api/web/me")
async def me(user: MiniAppUserDep, redis: RedisDep) -> dict[str, Any]:
    """The Mini App's user and their `/lang` languages (401 without valid initData)."""
    prefs = await PrefsStore(redis).languages_of(user.id, user.language_code)
    return {
        "id": user.id,
        "first_name": user.first_name,
        "target": prefs.target,
        "second": prefs.second,
    }


async def sender(request: Request, settings: SettingsDep) -> FileSender:
    """The process's sender: the bot's Bot (session and retry policy), built on first
    use, since most API processes never send a file (the user's initData was checked
    against BOT_TOKEN first)."""
    state = request.app.state
    found: FileSender | None = getattr(state, "telegram", None)
    if found is None:
        found = state.telegram = FileSender(create_bot(settings))
    return found


async def users_file(task_id: str, user: MiniAppUserDep, jobs: JobsDep) -> tuple[str, bytes]:
    """The Mini App user's translated file (name, bytes).

    Raises:
        HTTPException: 401 (see `mini_app_user`), 404 (no file, or not theirs).
    """
    found = await jobs.file(task_id)
    if found is None or await jobs.owner(task_id) != user.id:
        raise HTTPException(404, f"no translated file of yours for {task_id}")
    return found


@router.post("/api/file/{task_id}/send")
async def send_to_chat(
    user: MiniAppUserDep,
    file: Annotated[tuple[str, bytes], Depends(users_file)],
    # After the file: the Bot is built only for a send that will happen.
    telegram: Annotated[FileSender, Depends(sender)],
) -> dict[str, bool]:
    """Send a translated file to the Mini App user's chat with the bot."""
    try:
        await telegram.send(user.id, *file, caption="Tolmach")
    except SendFailed as exc:
        status, words = REFUSALS[type(exc)]
        wait = exc.retry_after if isinstance(exc, TelegramUnavailable) else None
        headers = {"Retry-After": str(wait)} if wait else None
        raise HTTPException(status, words, headers=headers) from None
    return {"sent": True}
