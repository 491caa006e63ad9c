"""Request bodies bounded before they are read: a limit per route, enforced from the
Content-Length and again while a chunked body streams in, and under
API_KEYS=required no body read at all from a caller that brings no key.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.responses import SafeJSONResponse
from config import Settings

KB = 1024
# Routes that take no body worth the name (a cancel, a send): JSON envelopes only.
SMALL = 64 * KB
# Multipart's envelope around a document: boundaries, the other form fields.
ENVELOPE = 1024 * KB
# The most bytes JSON spends on one character: a surrogate pair's two `\uXXXX`.
BYTES_PER_CHAR = 12
# DeepL's under each of its base URLs (api/deepl_common.py's PREFIXES).
_DEEPL = ("/v2", "/v2/v2")
TEXT_ROUTES = ("/translate", "/detect", "/api/translate_async", *(p + "/translate" for p in _DEEPL))
FILE_ROUTES = (
    "/translate_file",
    "/api/translate_file_async",
    "/document",
    *(p + "/document" for p in _DEEPL),
)
# Routes whose key can only come in a header or the query: a keyless call is refused
# before its body is read. (LibreTranslate's clients put `api_key` in the body: those
# bodies are read, within the route's limit, to find it.)
KEY_OUTSIDE_BODY = ("/api/translate_async", "/api/translate_file_async")


def limits(settings: Settings) -> dict[str, int]:
    """Bytes of body each route takes: a text route what its characters can cost in
    JSON (never the upload limit), a file route the largest upload (API_UPLOAD_MAX_BYTES)."""
    chars = min(settings.request_char_budget, settings.api_batch_limit * settings.max_text_chars)
    text = chars * BYTES_PER_CHAR + SMALL
    found = {path: text for path in TEXT_ROUTES}
    found.update({path: settings.api_upload_limit + ENVELOPE for path in FILE_ROUTES})
    return found


class BodyLimit:
    """Refuses a body over its route's limit with 413: at once from its Content-Length,
    or as soon as a chunked one grows past it (never read whole into memory)."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.limits = limits(settings)
        self.keys_required = settings.api_keys == "required"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        headers = dict(scope["headers"])
        if self.keys_required and path in KEY_OUTSIDE_BODY and not _brings_key(scope, headers):
            error = "Please contact the server operator to get an API key"
            await _answer(scope, receive, send, 403, error)
            return
        limit = self.limits.get(path, SMALL)
        error = f"the request body is over this route's limit ({limit} bytes)"
        length = headers.get(b"content-length", b"")
        if length.isdigit() and int(length) > limit:
            await _answer(scope, receive, send, 413, error)
            return
        received = 0
        refused = False

        async def bounded() -> Message:
            nonlocal received, refused
            if refused:  # the app asks again after a refusal: the body is over
                return {"type": "http.disconnect"}
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                refused = True
                raise BodyTooLarge(error)
            return message

        try:
            await self.app(scope, bounded, send)
        except BodyTooLarge:  # raised where no handler turned it into a response
            await _answer(scope, receive, send, 413, error)


class BodyTooLarge(HTTPException):
    """A streamed body grew past its route's limit (an HTTPException, so a route that
    was parsing it answers 413 too, rather than "could not parse")."""

    def __init__(self, error: str) -> None:
        super().__init__(413, error)


def _brings_key(scope: Scope, headers: dict[bytes, bytes]) -> bool:
    if headers.get(b"x-api-key") or headers.get(b"x-telegram-init-data"):
        return True
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    return bool(query.get("api_key") or query.get("init_data"))


async def _answer(scope: Scope, receive: Receive, send: Send, status: int, error: str) -> None:
    """An error in every shape the API's clients read (LibreTranslate's `error`,
    FastAPI's `detail`, DeepL's and DeepLX's `message`)."""
    response = SafeJSONResponse(
        {"error": error, "detail": error, "message": error},
        status_code=status,
        headers={"Connection": "close"},
    )
    await response(scope, receive, send)
