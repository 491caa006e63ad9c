"""A finished job's answer: a text job's parts assembled, a failure put into words.

The words are the API's own (English, for developers): `MESSAGES` for each code a
worker's failed result carries (`tasks.contract.ErrorCode`), `REASONS` for each reason a
document comes back without a file (`tasks.contract.DocumentReason`);
`tests/unit/test_wording.py` checks that both word every one, and nothing else.
"""

from __future__ import annotations

from typing import Any

MESSAGES = {
    "unsupported_pair": "no model for {src}>{tgt}",
    "model_unavailable": "the model for {src}>{tgt} could not be loaded; try again later",
    "text_too_long": "the text is over the length limit",
    "same_language": "the text already is in {tgt}",
    "undetected": "the source language could not be detected; name it",
    # Only a request that names languages to skip gets it; the API names none.
    "skipped": "the text is in a language asked to be left as it is",
    "bad_request": "the request could not be translated",
    "internal": "translation failed",
}
# Why a document came back without a file (tasks.contract.DocumentReason) → what to say.
REASONS = {
    "unsupported_format": "unknown file format",
    "file_too_big": "the file is over the size limit",
    "binary": "the file holds binary data, not text",
    "corrupt": "the file is damaged or not of its format",
    "encrypted": "the file is encrypted",
    "too_large": "the file has more text than the limit",
    "archive_limits": "the file unpacks to far more data than it holds",
    "too_many_pages": "the file has too many pages",
    "too_many_cues": "the file has too many subtitles",
    "empty": "there is no text to translate in the file",
    "download": "the upload could not be read",
    "cancelled": "the translation was cancelled",
}


def assemble(job_id: str, job: dict[str, Any], parts: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A finished text job's result from its parts (`tgt|index` → task result)."""
    translations: dict[str, list[str]] = {}
    detected: str | None = None
    for tgt in job["targets"]:
        texts = []
        for index in range(job["texts"]):
            part = parts[f"{tgt}|{index}"]
            if not part.get("ok"):
                return {"status": "failed", "task_id": job_id, "error": describe(part)}
            detected = detected or str(part.get("src") or "")
            texts.append(str(part["text"]))
        translations[tgt] = texts
    source = job["source_lang"] if job["source_lang"] != "auto" else detected or "auto"
    return {
        "status": "completed",
        "task_id": job_id,
        "result": {"source_lang": source, "translations": translations},
    }


def describe(part: dict[str, Any]) -> dict[str, str]:
    """`{"code", "message"}` for a failed task result."""
    reason = part.get("reason")
    if isinstance(reason, str) and reason in REASONS:
        limit = f" ({part['chars']} > {part['limit']})" if "limit" in part else ""
        return {"code": reason, "message": REASONS[reason] + limit}
    code = str(part.get("error") or "internal")
    template = MESSAGES.get(code, MESSAGES["internal"])
    message = template.format(src=part.get("src", "?"), tgt=part.get("tgt", "?"))
    return {"code": code, "message": message}
