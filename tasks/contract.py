"""The only contract between bot and workers: task names, queues and JSON payloads.

Both sides import this module; it must stay free of torch, transformers and aiogram.
"""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict

TRANSLATE = "tolmach.translate"

# Workers take from these in this order: inline queries cannot wait, documents can.
QUEUE_INLINE = "inline"
QUEUE_CHAT = "chat"
QUEUE_DOCUMENTS = "documents"
QUEUES = (QUEUE_INLINE, QUEUE_CHAT, QUEUE_DOCUMENTS)

# Celery's Redis result backend stores each result under this key and PUBLISHes
# it on a channel of the same name; the bot's result listener subscribes to it.
RESULT_KEY_PREFIX = "celery-task-meta-"
READY_STATES = frozenset({"SUCCESS", "FAILURE", "REVOKED"})

ErrorCode = Literal[
    "unsupported_pair",
    "same_language",
    "undetected",
    "skipped",
    "model_unavailable",
    "text_too_long",
    "bad_request",
    "internal",
]


class TranslateOk(TypedDict):
    """A finished translation; `detected` is true when `src` was detected."""

    ok: Literal[True]
    text: str
    src: str
    tgt: str
    detected: NotRequired[bool]


class TranslateFailed(TypedDict):
    """A typed failure the bot words for the user."""

    ok: Literal[False]
    error: ErrorCode
    src: NotRequired[str]
    tgt: NotRequired[str]
    detail: NotRequired[str]


TranslateResult = TranslateOk | TranslateFailed


class TranslateOptions(TypedDict, total=False):
    """Optional behaviour of one request.

    fallback: target to use when the detected source already is the target.
    skip: detected sources to leave untranslated (a group's own languages).
    html: the text is Telegram HTML; tags and entities are kept, output escaped.
    """

    fallback: str
    skip: list[str]
    html: bool


def translate_args(
    text: str, src: str, tgt: str, options: TranslateOptions | None = None
) -> list[object]:
    """Positional JSON arguments of the translate task."""
    return [text, src, tgt, dict(options or {})]
