"""The only contract between bot and workers: task names, queues and JSON payloads.

Both sides import this module; it must stay free of torch, transformers and aiogram.
"""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict

TRANSLATE = "tolmach.translate"

QUEUE_CHAT = "chat"

# Celery's Redis result backend stores each result under this key and PUBLISHes
# it on a channel of the same name; the bot's result listener subscribes to it.
RESULT_KEY_PREFIX = "celery-task-meta-"
READY_STATES = frozenset({"SUCCESS", "FAILURE", "REVOKED"})

ErrorCode = Literal[
    "unsupported_pair",
    "same_language",
    "undetected",
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


def translate_args(text: str, src: str, tgt: str) -> list[str]:
    """Positional JSON arguments of the translate task."""
    return [text, src, tgt]
