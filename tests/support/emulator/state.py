"""The emulator's shared state: what the server records and the test-side driver reads."""

from __future__ import annotations

import itertools
import threading
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from tests.support.emulator.api import ApiError


class EmulatorState:
    """Everything both sides touch, guarded by one condition.

    The server runs on its own thread, the tests on theirs: every read or write holds
    `cond`, and every change a test may wait for is followed by `cond.notify_all()`.
    `cond` wraps an RLock, so a waiter may hold it around `cond.wait` and its own reads.
    """

    def __init__(self, token: str) -> None:
        self.token = token
        self.cond = threading.Condition()
        # Updates: queued for getUpdates, and every one pushed (for updates_pushed).
        self.updates: list[dict[str, Any]] = []
        self.pushed: list[dict[str, Any]] = []
        self.update_ids = itertools.count(1)
        # Messages: ids per chat, ids that exist (for reply checks), current versions.
        self.message_ids: dict[int, itertools.count[int]] = defaultdict(lambda: itertools.count(1))
        self.known: dict[int, set[int]] = defaultdict(set)
        self.messages: dict[tuple[int, int], dict[str, Any]] = {}
        self.sent: dict[int, list[dict[str, Any]]] = defaultdict(list)
        # Calls the bot made, injected faults per method, and each rejection.
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.faults: dict[str, list[ApiError]] = defaultdict(list)
        self.delays: dict[str, list[float]] = defaultdict(list)  # seconds before answering
        self.errors: list[tuple[str, str]] = []  # (method, description) of each rejection
        self.admins: dict[int, set[int]] = defaultdict(set)
        # Inline queries: pushed ids with their answer (None until answered), and when.
        self.inline: dict[str, dict[str, Any] | None] = {}
        self.answered_at: dict[str, float] = {}
        # Documents: files users sent (file_id -> name, bytes), files the bot sent,
        # edits and deletions with their times (time.monotonic).
        self.file_limit = 20 * 1024 * 1024  # getFile's limit on api.telegram.org
        self.files: dict[str, tuple[str, bytes]] = {}
        self.documents: dict[int, list[dict[str, Any]]] = defaultdict(list)
        self.edits: dict[int, list[tuple[float, int, str]]] = defaultdict(list)
        self.deleted: dict[int, list[int]] = defaultdict(list)
        self.downloads: list[str] = []
        # Webhook mode: url and secret_token once set; each post as (update_id, HTTP status).
        self.webhook: dict[str, str] | None = None
        self.webhook_posts: list[tuple[int, int]] = []
        # Called on the server's thread with the update ids getUpdates hands over
        # ("fetched") or a getUpdates offset confirms ("confirmed"); under a method's
        # name, with no ids, when the bot calls it.
        self.hooks: dict[str, Callable[[list[int]], None]] = {}

    def chat(self, chat_id: int, chat_type: str) -> dict[str, Any]:
        """A Telegram Chat object for an id."""
        if chat_type == "private":
            return {"id": chat_id, "type": "private", "first_name": "Tester"}
        return {"id": chat_id, "type": chat_type, "title": f"Group {chat_id}"}

    def new_message_id(self, chat_id: int) -> int:
        """The chat's next message id, known from now on as a valid reply target."""
        with self.cond:
            message_id = next(self.message_ids[chat_id])
            self.known[chat_id].add(message_id)
            return message_id
