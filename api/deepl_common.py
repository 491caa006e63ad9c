"""What DeepL's API and the DeepLX dialect share: their bodies, keys, language codes,
error shapes, and the one synchronous translate call both make on the common queue.

DeepL names languages in upper case with regional variants (`EN-US`, `PT-BR`,
`ZH-HANT`); each is mapped to what this deployment serves: the variant where a model
has it, else its language (`EN-GB` → `en`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from api import languages
from api.deps import Gate, GuardDep
from api.fields import request_fields
from api.guard import Guard
from api.jobs import ApiJobs
from api.responses import SafeJSONResponse, job_failed
from tasks.catalog import Catalog, reachable
from tasks.client.submit import QueueUnavailable
from tasks.contract import QUEUE_CHAT
from tasks.languages import LANGUAGES

DEEPL, DEEPLX = "deepl", "deeplx"
# Where DeepL's routes live: clients append `/v2/...` to a base URL given with or
# without `/v2` (`/v2/v2/...`); `/translate`, `/languages` at the root are shared with
# LibreTranslate and told apart by their fields.
PREFIXES = ("/v2", "/v2/v2")
# Seconds a synchronous call waits for its translations (as LibreTranslate's).
ANSWER_WITHIN = 120.0
# Form fields a client may repeat: each is a list.
LISTS = ("text", "ignore_tags")
# DeepL's regional target codes for a language of ours, with DeepL's names.
VARIANTS: dict[str, list[tuple[str, str]]] = {
    "en": [("EN-GB", "English (British)"), ("EN-US", "English (American)")],
    "pt": [("PT-BR", "Portuguese (Brazilian)"), ("PT-PT", "Portuguese (European)")],
    "zh": [("ZH", "Chinese"), ("ZH-HANS", "Chinese (simplified)")],
    "zh-Hant": [("ZH-HANT", "Chinese (traditional)")],
}


def speaks(request: Request) -> str | None:
    """The dialect a request was made in (its handler says; `/v2/...` is DeepL's)."""
    found = getattr(request.state, "dialect", None)
    if isinstance(found, str):
        return found
    return DEEPL if request.url.path.startswith("/v2/") else None


def error_response(request: Request, exc: StarletteHTTPException) -> Response | None:
    """An error in the request's dialect: DeepL's `{"message"}`, DeepLX's `{"code",
    "message"}`; None for other routes."""
    dialect = speaks(request)
    if dialect is None:
        return None
    body: dict[str, Any] = {"message": exc.detail}
    if dialect == DEEPLX:
        body = {"code": exc.status_code, **body}
    # Safe: a message may quote the caller's input, lone surrogates included.
    return SafeJSONResponse(body, status_code=exc.status_code, headers=exc.headers)


async def dialect(request: Request) -> None:
    """Marks a call DeepL's (a dependency of its routers): its errors in DeepL's shape,
    on any path."""
    request.state.dialect = DEEPL


async def fields(request: Request) -> dict[str, Any]:
    """The request's parameters (a `text` or `ignore_tags` form field is always a list)."""
    return await request_fields(request, lists=LISTS, always_list=True)


FieldsDep = Annotated[dict[str, Any], Depends(fields)]


async def gate(request: Request, guard: GuardDep, params: FieldsDep) -> Gate:
    """The guard with DeepL's key; the call is DeepL's (also when LibreTranslate's
    `/translate` hands a DeepL body over)."""
    request.state.dialect = DEEPL
    return Gate(guard, request, auth_key(request, params))


GateDep = Annotated[Gate, Depends(gate)]


def auth_key(request: Request, params: dict[str, Any]) -> str | None:
    """DeepL's key: `Authorization: DeepL-Auth-Key <key>` or the legacy `auth_key`."""
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "deepl-auth-key" and key.strip():
        return key.strip()
    found = params.get("auth_key")
    return found if isinstance(found, str) and found else None


def text_field(value: Any, name: str) -> str:
    """A required string field.

    Raises:
        HTTPException: 400 when it is missing or not a string.
    """
    if not isinstance(value, str) or not value.strip():
        raise HTTPException(400, f"Parameter '{name}' not specified.")
    return value


async def catalog(guard: Guard) -> Catalog | None:
    """What the workers published they serve (None before any started)."""
    return await guard.admission.catalog()


def served(found: Catalog | None) -> set[str] | None:
    """The deployment's languages; None: any known one (a hub or multilingual model)."""
    if found is None or found["hub_template"] or found["multilingual"]:
        return None
    return {code for pair in found["pairs"] for code in pair.split("-", 1)}


def our_code(raw: str, known: set[str] | None) -> str:
    """DeepL's code (any case, a regional variant) as a language this deployment serves.

    Raises:
        HTTPException: 400 for what is no language at all.
    """
    code = languages.target(raw)
    base = code.split("-", 1)[0]
    if known is None:
        return code if code in LANGUAGES else base
    return code if code in known or base not in known else base


def deepl_code(code: str) -> str:
    """Our code as DeepL names a source language (`zh-Hant` → `ZH`)."""
    return code.split("-", 1)[0].upper()


def sources(found: Catalog | None) -> list[str]:
    """Languages the deployment translates from."""
    if served(found) is None or found is None:
        return sorted(LANGUAGES)
    return sorted({pair.split("-", 1)[0] for pair in found["pairs"]})


def targets(found: Catalog | None) -> list[str]:
    """Languages the deployment translates into, from any source."""
    if served(found) is None or found is None:
        return sorted(LANGUAGES)
    reached: set[str] = set()
    for src in sources(found):
        reached.update(reachable(found, src) or [])
    return sorted(reached)


async def translate(
    gate: Gate,
    jobs: ApiJobs,
    texts: list[str],
    pieces: list[str],
    source: str,
    target: str,
    *,
    html: bool = False,
) -> tuple[str, list[str]]:
    """Admit `texts` (the caller's limits, as every front end applies them), translate
    `pieces` (what of them goes to the model) on the chat queue; returns the source
    language (detected, in DeepL's code) and the pieces translated. `gate` carries the
    dialect's key.

    Raises:
        HTTPException: 400 (languages, limits), 403, 429, 456, 500, 503.
    """
    known = served(await catalog(gate.guard))
    auto = not source.strip() or source.strip().lower() == languages.AUTO
    src = languages.AUTO if auto else our_code(source, known)
    tgt = our_code(target, known)
    await gate.admit(texts, src=src, targets=[tgt])
    if not pieces:
        return ("" if auto else deepl_code(src)), []
    try:
        status = await jobs.translate(
            pieces, src, [tgt], QUEUE_CHAT, html=html, seconds=ANSWER_WITHIN
        )
    except QueueUnavailable:
        raise HTTPException(503, "The translation service is unavailable; try again") from None
    if status is None or status["status"] not in ("completed", "failed"):
        raise HTTPException(504, "The translation did not finish in time; try again later")
    if status["status"] == "failed":
        error = status["error"]
        raise job_failed(error)
    result = status["result"]
    return deepl_code(str(result["source_lang"])), list(result["translations"][tgt])
