"""LibreTranslate's endpoints, so its clients (libretranslatepy, libretranslate-aio,
browser extensions) talk to Tolmach unchanged.

Bodies come as JSON or as a form, as LibreTranslate accepts; errors are its
`{"error": "..."}` with its status codes and wording. Each call is synchronous for the
client, but no handler blocks: it awaits the job the result listener finishes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from api import languages
from api.deps import Gate, GuardDep, JobsDep, ServicesDep, SettingsDep
from api.fields import request_fields
from api.responses import job_failed
from api.routes import deepl, deeplx
from api.uploads import FORM_LIMITS, accept_file, file_response
from tasks.catalog import reachable
from tasks.client.submit import QueueUnavailable
from tasks.contract import QUEUE_CHAT
from tasks.formats import supported_extensions
from tasks.languages import display_name

router = APIRouter(tags=["libretranslate"])
# A synchronous call: answered within this, or a 500 (the task still finishes).
ANSWER_WITHIN = 120.0
# Documents take longer: the client waits for the translated file's URL.
FILE_WITHIN = 600.0
FORMATS = ("text", "html")


async def fields(request: Request) -> dict[str, Any]:
    """The request's parameters (a repeated `q` is a batch, as libretranslate-aio sends
    one; so is DeepL's `text`)."""
    return await request_fields(request, lists=("q", "text"))


FieldsDep = Annotated[dict[str, Any], Depends(fields)]


async def gate(request: Request, guard: GuardDep, params: FieldsDep) -> Gate:
    """The guard with LibreTranslate's key: the `api_key` field, when it is a string."""
    key = params.get("api_key")
    return Gate(guard, request, key if isinstance(key, str) else None)


GateDep = Annotated[Gate, Depends(gate)]


def _required(params: dict[str, Any], name: str) -> Any:
    value = params.get(name)
    if value is None or value == "" or value == []:
        raise HTTPException(400, f"Invalid request: missing {name} parameter")
    return value


def _finished(status: dict[str, Any] | None) -> dict[str, Any]:
    """A job's result, or the LibreTranslate error that says why there is none."""
    if status is None or status["status"] not in ("completed", "failed"):
        raise HTTPException(500, "The translation did not finish in time; try again later")
    if status["status"] == "failed":
        error = status["error"]
        raise job_failed(error)
    result: dict[str, Any] = status["result"]
    return result


@dataclass(frozen=True)
class TextCall:
    """`/translate`'s parameters, checked."""

    texts: list[str]
    batch: bool  # `q` came as a list: so does the answer
    src: str
    tgt: str
    html: bool
    alternatives: int


def text_call(params: dict[str, Any]) -> TextCall:
    """Check `/translate`'s parameters before any work is done.

    Raises:
        HTTPException: 400 naming the missing or malformed parameter.
    """
    q = _required(params, "q")
    source, target = _required(params, "source"), _required(params, "target")
    texts = q if isinstance(q, list) else [q]
    if not all(isinstance(text, str) for text in texts):
        raise HTTPException(400, "Invalid request: q must be a string or a list of strings")
    text_format = params.get("format") or "text"
    if text_format not in FORMATS:
        raise HTTPException(400, f"{text_format} format is not supported")
    alternatives = _alternatives(params)
    src, tgt = languages.source(str(source)), languages.target(str(target))
    html = text_format == "html"
    return TextCall(texts, isinstance(q, list), src, tgt, html, alternatives)


@router.post("/translate")
async def translate(
    request: Request, params: FieldsDep, gate: GateDep, jobs: JobsDep
) -> dict[str, Any]:
    """`q` (a string or a list) from `source` (or `auto`) into `target`."""
    if "q" not in params and "text" in params:  # DeepLX's body (or DeepL's) on this path
        return await deeplx.translate(request, params, gate.guard, jobs)
    call = text_call(params)
    await gate.admit(call.texts, src=call.src, targets=[call.tgt])
    try:
        status = await jobs.translate(
            call.texts, call.src, [call.tgt], QUEUE_CHAT, html=call.html, seconds=ANSWER_WITHIN
        )
    except QueueUnavailable:
        raise HTTPException(503, "The translation service is unavailable; try again") from None
    return _answer(call, _finished(status))


def _answer(call: TextCall, done: dict[str, Any]) -> dict[str, Any]:
    """LibreTranslate's answer: one text, or a list as `q` was."""
    translated: list[str] = done["translations"][call.tgt]
    answer: dict[str, Any] = {"translatedText": translated if call.batch else translated[0]}
    if call.src == languages.AUTO:
        detected = {"confidence": 90.0, "language": done["source_lang"]}
        answer["detectedLanguage"] = [detected] * len(call.texts) if call.batch else detected
    if call.alternatives > 0:
        answer["alternatives"] = [[] for _ in call.texts] if call.batch else []
    return answer


def _alternatives(params: dict[str, Any]) -> int:
    try:
        return max(int(params.get("alternatives") or 0), 0)
    except (TypeError, ValueError, OverflowError):
        raise HTTPException(
            400, "Invalid request: alternatives parameter is not a number"
        ) from None


@router.post("/detect")
async def detect(params: FieldsDep, gate: GateDep, jobs: JobsDep) -> list[dict[str, Any]]:
    """The likeliest languages of `q`, best first, confidence 0 to 100."""
    q = _required(params, "q")
    if not all(isinstance(text, str) for text in (q if isinstance(q, list) else [q])):
        raise HTTPException(400, "Invalid request: q must be a string or a list of strings")
    texts = [" ".join(q)] if isinstance(q, list) else [q]
    await gate.admit(texts)
    try:
        job_id = await jobs.submit_detect(texts)
    except QueueUnavailable:
        raise HTTPException(503, "The translation service is unavailable; try again") from None
    done = _finished(await jobs.wait(job_id, ANSWER_WITHIN))
    found: list[dict[str, Any]] = done["detections"][0]
    return found or [{"confidence": 0.0, "language": "en"}]


@router.get("/languages")
async def languages_served(request: Request, guard: GuardDep) -> list[dict[str, Any]]:
    """What this deployment translates: each source with its reachable targets."""
    if deepl.asks(request):  # DeepL's client, given a base URL without `/v2`
        return await deepl.languages_for(request, guard)
    catalog = await guard.admission.catalog()
    if catalog is None:
        return []
    codes = sorted({code for pair in catalog["pairs"] for code in pair.split("-", 1)})
    served = []
    for code in codes:
        targets = reachable(catalog, code)
        others = [c for c in (codes if targets is None else targets) if c != code]
        served.append({"code": code, "name": display_name(code), "targets": sorted(others)})
    return served


@router.post("/suggest")
async def suggest() -> dict[str, bool]:
    """LibreTranslate's suggestion box: not offered here, as LibreTranslate says it."""
    raise HTTPException(403, "Suggestions are disabled on this server.")


@router.post("/translate_file")
async def translate_file(request: Request, services: ServicesDep) -> dict[str, str]:
    """A document (multipart `file`, `source`, `target`): the translated file's URL."""
    form = await request.form(**FORM_LIMITS)
    file = form.get("file")
    if not isinstance(file, UploadFile):
        raise HTTPException(400, "Invalid request: missing file parameter")
    source = str(form.get("source") or "")
    target = str(form.get("target") or "")
    if not source:
        raise HTTPException(400, "Invalid request: missing source parameter")
    if not target:
        raise HTTPException(400, "Invalid request: missing target parameter")
    api_key = form.get("api_key")
    caller = await services.guard.admit(request, api_key if isinstance(api_key, str) else None, [])
    job_id = await accept_file(services, caller, file, source, target)
    _finished(await services.jobs.wait(job_id, FILE_WITHIN))
    return {"translatedFileUrl": str(request.url_for("download_file", filename=job_id))}


@router.get("/download_file/{filename}", name="download_file")
async def download_file(filename: str, jobs: JobsDep) -> Response:
    """The file `translate_file` named."""
    found = await jobs.file(filename)
    if found is None:
        raise HTTPException(400, "Invalid filename")
    await jobs.downloaded(filename)
    return file_response(*found)


@router.get("/frontend/settings")
async def frontend_settings(settings: SettingsDep, guard: GuardDep) -> dict[str, Any]:
    """What LibreTranslate's web page (and libretranslate-aio) read of the server."""
    return {
        "charLimit": guard.text_limit(None),
        "frontendTimeout": 500,
        "apiKeys": settings.api_keys != "off",
        "keyRequired": settings.api_keys == "required",
        "suggestions": False,
        "filesTranslation": True,
        "supportedFilesFormat": sorted(supported_extensions()),
        "language": {
            "source": {"code": "auto", "name": "Auto Detect"},
            "target": {"code": "en", "name": "English"},
        },
    }
