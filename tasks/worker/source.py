"""Where a document task's file waits: an HTTP upload in Redis, or a file sent to the bot.

Read from the task's `DocumentRequest` (its wire form, `tasks.contract`);
`document_state.fetch` turns a source into the file's bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

from tasks.contract import DocumentRequest


@dataclass(frozen=True)
class Upload:
    """An HTTP upload: its bytes wait in Redis under `key` (the API bounded their size)."""

    key: str


@dataclass(frozen=True)
class TelegramFile:
    """A file a user sent the bot: `getFile`'s path on the Bot API server (the bot
    resolved the file_id before queueing, so the worker makes one call, not two)."""

    path: str


Source: TypeAlias = Upload | TelegramFile


def source_of(request: DocumentRequest) -> Source:
    """The source a document task's arguments name."""
    if upload := request.get("upload_key"):
        return Upload(upload)
    return TelegramFile(request["file_path"])
