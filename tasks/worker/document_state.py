"""A document's way in and its state between tasks: its bytes, chunks, translations.

Knows nothing of Celery: `tasks.worker.documents` drives it. Everything a document needs
between its tasks lives in Redis under `document_key(task_id, …)` with a TTL, so any
worker on any host can run any of its tasks, and a task that runs twice finds its
work already done.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import redis

from config import Settings
from tasks.contract import DocumentFailed, document_key
from tasks.engine.service import TranslationService
from tasks.errors import TranslationError, UnsupportedPair
from tasks.formats.errors import DocumentError
from tasks.languages import resolve
from tasks.telegram.download import TelegramFileGone, TelegramFileTooBig, download
from tasks.worker.source import Source, Upload

DETECT_SAMPLE = 2000  # characters the source language is detected on


class FileTooBig(DocumentError):
    """The file is over the download limit (DOCUMENT_MAX_BYTES)."""

    reason = "file_too_big"

    def __init__(self, filename: str, size: int, limit: int) -> None:
        super().__init__(f"{filename!r} is {size} bytes, the limit is {limit}")
        self.filename, self.size, self.limit = filename, size, limit


class DownloadFailed(DocumentError):
    """The Bot API refused the file (expired path, 404), or the upload expired: sending
    it again helps."""

    reason = "download"


def fetch(source: Source, name: str, *, client: redis.Redis, settings: Settings) -> bytes:
    """The document's bytes, wherever they wait.

    Args:
        source: An HTTP upload in Redis, or a file sent to the bot.
        name: The file name, for errors.
        client: Redis, where uploads wait.
        settings: TELEGRAM_API_URL, BOT_TOKEN and the download limit (DOCUMENT_MAX_BYTES).

    Raises:
        FileTooBig: A Telegram file over the download limit.
        DownloadFailed: The Bot API refused the file, or the upload expired.
        OSError: Network trouble (transient: the task retries).
    """
    if isinstance(source, Upload):
        return _uploaded(client, source.key, name)
    token = settings.bot_token.get_secret_value() if settings.bot_token else ""
    limit = settings.document_byte_limit
    try:
        return download(settings.telegram_api_url, token, source.path, limit)
    except TelegramFileTooBig as exc:
        raise FileTooBig(name, exc.size, exc.limit) from None
    except TelegramFileGone as exc:
        raise DownloadFailed(f"{name!r}: {exc}") from None


def _uploaded(client: redis.Redis, key: str, name: str) -> bytes:
    """The bytes of an HTTP upload (the API checked their size).

    Raises:
        DownloadFailed: The upload expired before a worker took it.
    """
    data = client.get(key)
    if not isinstance(data, bytes):
        raise DownloadFailed(f"{name!r}: the upload expired before it was translated")
    return data


def plan_chunks(texts: list[str], chunk_chars: int) -> Iterator[list[str]]:
    """Consecutive runs of segments of about `chunk_chars` characters each."""
    chunk: list[str] = []
    size = 0
    for text in texts:
        chunk.append(text)
        size += len(text)
        if size >= chunk_chars:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


def failure(exc: TranslationError, name: str, src: str, tgt: str) -> DocumentFailed:
    """The result of a refused document, with what the bot needs to word it."""
    reason = exc.reason if isinstance(exc, DocumentError) else exc.code
    failed = DocumentFailed(
        ok=False, error=exc.code, reason=reason, name=name, src=src, tgt=tgt, detail=str(exc)[:300]
    )
    amount = next((getattr(exc, a) for a in ("chars", "size", "count") if hasattr(exc, a)), None)
    limit = getattr(exc, "limit", None)
    if isinstance(amount, int) and isinstance(limit, int):
        failed["chars"], failed["limit"] = amount, limit
    return failed


def source_language(src: str, tgt: str, texts: list[str], service: TranslationService) -> str:
    """The document's one source language (detected once, on its first paragraphs).

    Raises:
        UnsupportedPair: Unknown target, or no model (nor pivot) for the pair.
        Undetected: `auto` and the language could not be told.
        SameLanguage: The source already is the target.
    """
    if not texts:  # nothing to translate, whatever the pair ("auto" has no route)
        if resolve(tgt) is None:
            raise UnsupportedPair(src, tgt, "unknown language")
        return src
    sample: list[str] = []
    for text in texts:  # the first paragraphs only, not a copy of the document
        sample.append(text)
        if src != "auto" or sum(map(len, sample)) >= DETECT_SAMPLE:
            break
    code, target, _ = service.languages(src, tgt, " ".join(sample)[:DETECT_SAMPLE])
    service.registry.route(code, target)  # no model: say so before any chunk runs
    return code


@dataclass
class DocumentState:
    """One document's state in Redis (see the module docstring)."""

    client: redis.Redis
    task_id: str
    ttl: int

    def key(self, part: str) -> str:
        """The Redis key of one part of the state."""
        return document_key(self.task_id, part)

    def save_input(self, data: bytes, chunks: list[list[str]]) -> None:
        """Keep the original and each chunk's segments for the chunk and build tasks."""
        with self.client.pipeline(transaction=True) as pipe:
            pipe.set(self.key("input"), data, ex=self.ttl)
            pipe.delete(self.key("segments"))
            for i, chunk in enumerate(chunks):
                pipe.hset(self.key("segments"), str(i), json.dumps(chunk))
            pipe.expire(self.key("segments"), self.ttl)
            pipe.set(self.key("chunks"), len(chunks), ex=self.ttl)
            pipe.set(self.key("total"), sum(len(c) for c in chunks), ex=self.ttl)
            pipe.execute()

    def segments(self, index: int) -> list[str]:
        """One chunk's segments."""
        raw = self.client.hget(self.key("segments"), str(index))
        return list(json.loads(raw)) if raw else []

    def translated(self, index: int) -> bool:
        """Whether a chunk's translations are stored already (a task that ran twice)."""
        return bool(self.client.hexists(self.key("output"), str(index)))

    def save_output(self, index: int, result: list[str] | dict[str, str]) -> tuple[int, int]:
        """Store a chunk's translations (or its error); returns (segments done, total)."""
        with self.client.pipeline(transaction=True) as pipe:
            pipe.hsetnx(self.key("output"), str(index), json.dumps(result))
            pipe.expire(self.key("output"), self.ttl)
            first, _ = pipe.execute()
        if first:  # a chunk that ran twice counts once
            count = len(result) if isinstance(result, list) else len(self.segments(index))
            self.client.incrby(self.key("done"), count)
            self.client.expire(self.key("done"), self.ttl)
        done, total = self.client.mget(self.key("done"), self.key("total"))
        return int(done or 0), int(total or 0)

    def outputs(self, chunks: int) -> list[list[str] | dict[str, str] | None]:
        """Every chunk's stored translations or error, None where missing."""
        raw = self.client.hmget(self.key("output"), [str(i) for i in range(chunks)])
        return [json.loads(r) if r is not None else None for r in raw]

    def cancelled(self) -> bool:
        """Whether the user pressed Cancel (the bot sets the flag)."""
        return bool(self.client.exists(self.key("cancelled")))

    def finish(self, output: bytes) -> str:
        """Store the translated file for the bot and drop the working state."""
        with self.client.pipeline(transaction=True) as pipe:
            pipe.set(self.key("result"), output, ex=self.ttl)
            for part in ("input", "segments", "output"):
                pipe.delete(self.key(part))
            pipe.execute()
        return self.key("result")
