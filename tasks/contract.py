"""The contract between the front ends (the bot, the HTTP API) and the workers: task
names, queues, JSON payloads and the codes a failure can carry.

Every side imports this module; it must stay free of torch, transformers and aiogram.
A document's task ids and state keys are here for the worker and the queue client
(`tasks.client.documents`), which submits and cancels documents for every front end.
"""

from __future__ import annotations

import re
from typing import Literal, NotRequired, TypedDict

TRANSLATE = "tolmach.translate"
# Documents: the queue client sends DOCUMENT under id `prepare_id(T)`; the worker fans out
# DOCUMENT_CHUNK tasks (`chunk_id(T, i)`) and a DOCUMENT_BUILD callback under T itself,
# so the document's answer (and its PROGRESS states) arrive on T's result channel.
DOCUMENT = "tolmach.document"
DOCUMENT_CHUNK = "tolmach.document.chunk"
DOCUMENT_BUILD = "tolmach.document.build"
DOCUMENT_TASKS = (DOCUMENT, DOCUMENT_CHUNK, DOCUMENT_BUILD)
DETECT = "tolmach.detect"
PROGRESS = "PROGRESS"

# Workers take from these in this order: inline queries cannot wait, documents can.
QUEUE_INLINE = "inline"
QUEUE_CHAT = "chat"
QUEUE_DOCUMENTS = "documents"
QUEUES = (QUEUE_INLINE, QUEUE_CHAT, QUEUE_DOCUMENTS)
# kombu's Redis transport keeps a queue's priority levels in lists of their own.
PRIORITY_SUFFIXES = ("", "\x06\x163", "\x06\x166", "\x06\x169")

# Each front end's Redis keys start with its prefix: the bot's, the HTTP API's.
BOT_PREFIX = "tolmach:"
API_PREFIX = BOT_PREFIX + "api:"
FRONT_ENDS = (BOT_PREFIX, API_PREFIX)


def queue_keys(queues: tuple[str, ...] = QUEUES) -> list[str]:
    """The Redis lists kombu keeps the messages of `queues` (every queue) in."""
    return [queue + suffix for queue in queues for suffix in PRIORITY_SUFFIXES]


def unqueued_key(prefix: str) -> str:
    """The sorted set (scored by acceptance time) of a front end's accepted requests
    whose task may not have reached the broker yet: the front end re-sends them if it
    died in between; a worker sees there a burst on its way."""
    return prefix + "unqueued"


# Celery's Redis result backend stores each result under this key and PUBLISHes
# it on a channel of the same name; each front end's result listener subscribes to it.
RESULT_KEY_PREFIX = "celery-task-meta-"
READY_STATES = frozenset({"SUCCESS", "FAILURE", "REVOKED"})

# Why a translation failed (a failed result's `error`); each front end words every one.
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
# Why a document came back without a file (a failed document's `reason`): the
# `tasks.formats.errors` reasons, the worker's download failures, and "cancelled" (the
# user stopped it). Each front end words every one.
DocumentReason = Literal[
    "unsupported_format",
    "file_too_big",
    "binary",
    "corrupt",
    "encrypted",
    "too_large",
    "archive_limits",
    "too_many_pages",
    "too_many_cues",
    "empty",
    "download",
    "cancelled",
]


class TranslateOk(TypedDict):
    """A finished translation; `detected` is true when `src` was detected."""

    ok: Literal[True]
    text: str
    src: str
    tgt: str
    detected: NotRequired[bool]


class TranslateFailed(TypedDict):
    """A typed failure each front end words for its user."""

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
    attempt: how many times a transient failure sent this request back (workers set it).
    """

    fallback: str
    skip: list[str]
    html: bool
    attempt: int


def translate_args(
    text: str, src: str, tgt: str, options: TranslateOptions | None = None
) -> list[object]:
    """Positional JSON arguments of the translate task."""
    return [text, src, tgt, dict(options or {})]


class DocumentRequest(TypedDict):
    """Arguments of the document task: where the worker gets the file from.

    file_path: the Bot API's `getFile` path (absolute on a local Bot API server).
    upload_key: instead, the Redis key an HTTP upload's bytes wait under.
    """

    file_path: str
    file_name: str
    src: str
    tgt: str
    upload_key: NotRequired[str]


class DocumentOk(TypedDict):
    """A translated document: its bytes wait under `key` (Redis) for the front end."""

    ok: Literal[True]
    key: str
    name: str
    src: str
    tgt: str
    segments: int


class DocumentFailed(TranslateFailed, total=False):
    """A refused document; `reason` says why, or, when the engine failed, repeats `error`."""

    reason: DocumentReason | ErrorCode
    name: str
    chars: int
    limit: int


class DocumentProgress(TypedDict):
    """Meta of a PROGRESS state on the document's result channel."""

    done: int
    total: int


def prepare_id(task_id: str) -> str:
    """The id of a document's first task (download, parse, fan out)."""
    return f"{task_id}.prepare"


def chunk_id(task_id: str, index: int) -> str:
    """The id of a document's chunk task, so the queue client can revoke it by name."""
    return f"{task_id}.c{index}"


def document_key(task_id: str, part: str) -> str:
    """Redis key of one piece of a document's state (`chunks`, `result`, `cancelled`…)."""
    return f"tolmach:doc:{task_id}:{part}"


# What no text may hold: lone surrogates (not Unicode: no encoding holds them, so neither
# Redis nor a tokenizer takes them) and control characters other than whitespace
# (\t \n \v \f \r). Front ends refuse them; workers answer them `bad_request`, as any
# producer may send tasks.
UNUSABLE = re.compile("[\ud800-\udfff\x00-\x08\x0e-\x1f\x7f-\x9f]")


def unusable(text: str) -> bool:
    """Whether `text` cannot be translated as it is (lone surrogates, control characters)."""
    return UNUSABLE.search(text) is not None
