"""The DeepLX dialect: `POST /translate` with `{"text", "source_lang", "target_lang"}`,
as pot-app, Bob, Zotero and many subtitle tools send it to a "DeepLX" server.

It shares `/translate` with LibreTranslate: a body with `text` and no `q` comes here
(and one that carries DeepL's key, or a list of texts, goes to DeepL's own handler).
A key, when API_KEYS asks for one, is DeepLX's token: `Authorization: Bearer <key>`
or `?token=<key>`. No router of its own: LibreTranslate's route hands the body over.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request

from api import deepl_common as common
from api.deps import Gate
from api.guard import Guard
from api.jobs import ApiJobs
from api.routes import deepl


async def translate(
    request: Request, params: dict[str, Any], guard: Guard, jobs: ApiJobs
) -> dict[str, Any]:
    """A `text` body on `/translate`: DeepL's call when it is one, else DeepLX's."""
    if isinstance(params.get("text"), list) or common.auth_key(request, params) is not None:
        gate = await common.gate(request, guard, params)
        return await deepl.translate_fields(params, gate, jobs)
    request.state.dialect = common.DEEPLX
    text = common.text_field(params.get("text"), "text")
    target = common.text_field(params.get("target_lang"), "target_lang")
    source = params.get("source_lang")
    detected, [out] = await common.translate(
        Gate(guard, request, _token(request, params)),
        jobs,
        [text],
        [text],
        source if isinstance(source, str) else "",
        target,
    )
    return {
        "code": 200,
        "data": out,
        "source_lang": detected,
        "target_lang": target.upper(),
        "alternatives": [],
    }


def _token(request: Request, params: dict[str, Any]) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    found = request.query_params.get("token") or params.get("token")
    return found if isinstance(found, str) and found else None
