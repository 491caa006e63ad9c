"""Where a bot request is answered: the front-end context inside a request record.

The queue client (`tasks.client`) keeps it opaque; only the bot reads it back.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, fields
from typing import Any

from tasks.client.listener import Deliver
from tasks.client.requests import RequestRecord


@dataclass(frozen=True)
class ReplyContext:
    """Where and how to answer one accepted request.

    kind: "translate" answers every outcome; "auto" (group auto-translate) stays
        silent unless there is a translation; "inline" answers inline query `query_id`;
        "document" sends a translated file and edits the status message `status_id`.
    user_id: who asked (a document: only they, or the chat's admins, may cancel it).
    source_id: the stored original, for "other language" buttons (None: no buttons).
    label: shown before the translation when one message asked for several targets
        (for a document: its file name and target language, one per line).
    html: the translation is Telegram HTML (the source's formatting carried over).
    """

    chat_id: int
    message_id: int
    locale: str = "en"
    kind: str = "translate"
    source_id: str | None = None
    label: str | None = None
    html: bool = False
    query_id: str | None = None
    status_id: int | None = None
    user_id: int | None = None

    def record(self) -> RequestRecord:
        """The request record the queue client stores for this context."""
        return RequestRecord(self.kind, asdict(self))

    @classmethod
    def of(cls, record: RequestRecord) -> ReplyContext:
        """The context a record carries (fields this version does not know are ignored)."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in record.context.items() if k in known}
        return cls(**{**values, "kind": record.kind})


# A bot deliverer: answers one request, given its context and the task's result meta.
Answer = Callable[[ReplyContext, dict[str, Any]], Awaitable[None]]


def deliverer(answer: Answer) -> Deliver:
    """The queue client's deliverer for a bot `answer`."""

    async def deliver(task_id: str, record: RequestRecord, meta: dict[str, Any]) -> None:
        await answer(ReplyContext.of(record), meta)

    return deliver
