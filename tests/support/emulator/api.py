"""Bot API wire basics the emulator's modules share: errors, limits, form decoding."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from aiohttp import web

BOT_USER = {"id": 4242, "is_bot": True, "first_name": "Tolmach", "username": "TolmachBot"}
TEXT_LIMIT = 4096  # sendMessage / editMessageText limit, in UTF-16 code units

# Fields aiogram sends as JSON strings inside form fields (nested objects, booleans).
_JSON_FIELDS = {
    "reply_parameters",
    "reply_markup",
    "entities",
    "caption_entities",
    "results",
    "is_personal",
    "commands",
    "allowed_updates",
    "link_preview_options",
    "media",
    "allow_sending_without_reply",
    "disable_notification",
    "scope",
}


class ApiError(Exception):
    """A Bot API error reply."""

    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code, self.description, self.retry_after = code, description, retry_after


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units, not code points."""
    return len(text.encode("utf-16-le")) // 2


def decode_params(params: dict[str, Any]) -> dict[str, Any]:
    """aiogram sends nested objects (and booleans) as JSON strings inside form fields."""
    out: dict[str, Any] = {}
    for key, value in params.items():
        if key in _JSON_FIELDS and isinstance(value, str):
            with contextlib.suppress(ValueError):
                value = json.loads(value)
        out[key] = value
    return out


def error_response(exc: ApiError) -> web.Response:
    """The JSON body and HTTP status Telegram answers an error with."""
    body: dict[str, Any] = {"ok": False, "error_code": exc.code, "description": exc.description}
    if exc.retry_after is not None:
        body["parameters"] = {"retry_after": exc.retry_after}
    return web.json_response(body, status=exc.code)
