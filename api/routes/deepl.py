"""DeepL's API v2 for text: `/v2/translate`, `/v2/usage`, `/v2/languages`, so DeepL's
SDKs (`server_url`) and the tools built on them talk to Tolmach unchanged.

Texts join the same queue and batches as every other front end's; the caller's key,
rate and limits are the Guard's, as for LibreTranslate's routes. Parameters DeepL
clients send that change nothing here (`split_sentences`, `preserve_formatting`,
`formality`, `context`, ...) are accepted and left aside.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request

from api import deepl_common as common
from api import deepl_tags as tags
from api.deps import Gate, JobsDep
from api.guard import Guard
from api.jobs import ApiJobs
from tasks.languages import display_name

router = APIRouter(tags=["deepl"], dependencies=[Depends(common.dialect)])
# What DeepL answers as the limit of an account without one.
UNLIMITED = 1_000_000_000_000
# Texts in one DeepL request, as DeepL allows.
MOST_TEXTS = 50
TAG_MODES = ("html", "xml")


@router.post("/translate")
async def translate(
    params: common.FieldsDep, gate: common.GateDep, jobs: JobsDep
) -> dict[str, Any]:
    """`text` (repeated, or a JSON list) into `target_lang`, from `source_lang` or detected."""
    return await translate_fields(params, gate, jobs)


async def translate_fields(params: dict[str, Any], gate: Gate, jobs: ApiJobs) -> dict[str, Any]:
    """DeepL's translate call on parsed fields (LibreTranslate's `/translate` hands a
    DeepL body here)."""
    texts = _texts(params.get("text"))
    target = common.text_field(params.get("target_lang"), "target_lang")
    source = params.get("source_lang")
    html = str(params.get("tag_handling") or "").lower() in TAG_MODES
    ignored = tags.tag_names(params.get("ignore_tags")) if html else []
    parts, plans = tags.cut(texts, ignored)
    detected, translated = await common.translate(
        gate, jobs, texts, parts, source if isinstance(source, str) else "", target, html=html
    )
    return {
        "translations": [
            {"detected_source_language": detected, "text": out, "billed_characters": len(text)}
            for text, out in zip(texts, tags.glue(plans, translated), strict=True)
        ]
    }


def _texts(value: Any) -> list[str]:
    texts = value if isinstance(value, list) else [value]
    if value is None or not texts:
        raise HTTPException(400, "Parameter 'text' not specified.")
    if not all(isinstance(text, str) for text in texts):
        raise HTTPException(400, "Parameter 'text' must be a string or a list of strings.")
    if len(texts) > MOST_TEXTS:
        raise HTTPException(413, f"Too many texts: at most {MOST_TEXTS} in one request.")
    return texts


@router.get("/usage")
async def usage(gate: common.GateDep) -> dict[str, int]:
    """The key's characters this month and its monthly quota."""
    caller = await gate.caller()
    if caller.key is None:
        return {"character_count": 0, "character_limit": UNLIMITED}
    spent = await gate.guard.keys.spent(caller.key)
    return {"character_count": spent, "character_limit": caller.key.per_month or UNLIMITED}


@router.get("/languages")
async def languages_served(params: common.FieldsDep, gate: common.GateDep) -> list[dict[str, Any]]:
    """The deployment's languages as DeepL lists them: `?type=source` (the default) or
    `type=target` (with regional variants)."""
    await gate.caller()
    catalog = await common.catalog(gate.guard)
    if str(params.get("type") or "source").lower() != "target":
        return [
            {"language": common.deepl_code(code), "name": display_name(code)}
            for code in common.sources(catalog)
        ]
    listed = []
    for code in common.targets(catalog):
        named = common.VARIANTS.get(code) or [(code.upper(), display_name(code))]
        listed += [{"language": c, "name": n, "supports_formality": False} for c, n in named]
    return listed


async def languages_for(request: Request, guard: Guard) -> list[dict[str, Any]]:
    """DeepL's list, for a call LibreTranslate's `/languages` found to be DeepL's."""
    await common.dialect(request)
    params = await common.fields(request)
    return await languages_served(params, await common.gate(request, guard, params))


def asks(request: Request) -> bool:
    """Whether a call to a path DeepL shares with LibreTranslate (`/languages`) is
    DeepL's: it carries DeepL's key header or asks by `type`."""
    header = request.headers.get("authorization", "").lower()
    return header.startswith("deepl-auth-key") or "type" in request.query_params


# DeepL answers these to POST as well (one OpenAPI entry is enough).
router.add_api_route("/usage", usage, methods=["POST"], include_in_schema=False)
router.add_api_route("/languages", languages_served, methods=["POST"], include_in_schema=False)
# At the root as well: clients given a base URL without `/v2` call `/usage`.
root = APIRouter(tags=["deepl"], include_in_schema=False, dependencies=[Depends(common.dialect)])
root.add_api_route("/usage", usage, methods=["GET", "POST"])
