"""The test side of the emulator: push updates to the bot, read and wait for what it sent."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from tests.support.emulator.api import BOT_USER, ApiError
from tests.support.emulator.server import ApiServer
from tests.support.emulator.state import EmulatorState


class BotApiEmulator:
    """The fake Telegram server, as a test drives it; see the package docstring.

    Public methods are thread-safe: the server answers the bot from its own thread.
    """

    def __init__(self, token: str) -> None:
        self._state = EmulatorState(token)
        self._server = ApiServer(self._state)

    # ---- what tests read directly ------------------------------------------------
    @property
    def token(self) -> str:
        """The bot token the emulator accepts (any other answers 401)."""
        return self._state.token

    @property
    def url(self) -> str:
        """The base URL (`http://127.0.0.1:<port>`) once started; "" before."""
        return self._server.url

    @property
    def errors(self) -> list[tuple[str, str]]:
        """(method, description) of each call the emulator rejected."""
        return self._state.errors

    @property
    def downloads(self) -> list[str]:
        """file_path of each request to the file route."""
        return self._state.downloads

    @property
    def webhook(self) -> dict[str, str] | None:
        """url and secret_token, once the bot set a webhook."""
        return self._state.webhook

    @webhook.setter
    def webhook(self, value: dict[str, str] | None) -> None:
        with self._state.cond:
            self._state.webhook = value

    @property
    def webhook_posts(self) -> list[tuple[int, int]]:
        """(update_id, HTTP status) of each update posted to a webhook."""
        return self._state.webhook_posts

    @property
    def file_limit(self) -> int:
        """The size over which getFile refuses a file (20 MiB, as on api.telegram.org)."""
        return self._state.file_limit

    @file_limit.setter
    def file_limit(self, value: int) -> None:
        with self._state.cond:
            self._state.file_limit = value

    # ---- life cycle -------------------------------------------------------------
    def start(self, port: int = 0) -> None:
        """Serve on `port` of 127.0.0.1 (0: a free one)."""
        self._server.start(port)

    def stop(self) -> None:
        """Stop serving."""
        self._server.stop()

    # ---- waiting ----------------------------------------------------------------
    def wait(
        self,
        predicate: Callable[[], bool],
        timeout: float = 60,
        describe: Callable[[], str] = lambda: "condition not met",
    ) -> None:
        """Block until `predicate()` holds, or raise TimeoutError(describe()) after `timeout`s.

        The predicate runs under the emulator's lock, first at once and then after every
        request the server answers, so it may read any of the emulator's state. A caller
        that holds `self._state.cond` around this call keeps it held once this returns, so
        what it then reads is what the predicate saw.
        """
        cond = self._state.cond
        deadline = time.monotonic() + timeout
        with cond:
            while not predicate():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(describe())
                cond.wait(left)

    def wait_for(self, chat_id: int, count: int = 1, timeout: float = 60) -> list[dict[str, Any]]:
        """Wait until the bot sent at least `count` messages to a chat."""
        with self._state.cond:
            sent = self._state.sent[chat_id]
            self.wait(
                lambda: len(sent) >= count,
                timeout,
                lambda: f"chat {chat_id}: {len(sent)}/{count} sent",
            )
            return list(sent)

    def wait_documents(
        self, chat_id: int, count: int = 1, timeout: float = 120
    ) -> list[dict[str, Any]]:
        """Wait until the bot sent at least `count` files to a chat."""
        with self._state.cond:
            documents = self._state.documents[chat_id]
            self.wait(
                lambda: len(documents) >= count,
                timeout,
                lambda: f"chat {chat_id}: {len(documents)} files",
            )
            return list(documents)

    def wait_inline(self, query_id: str, timeout: float = 60) -> dict[str, Any]:
        """Wait for the bot's answer to an inline query."""
        inline = self._state.inline
        with self._state.cond:
            self.wait(
                lambda: inline.get(query_id) is not None,
                timeout,
                lambda: f"inline query {query_id} not answered",
            )
            answer = inline[query_id]
            assert answer is not None
            return answer

    def on(self, event: str, hook: Callable[[list[int]], None] | None) -> None:
        """Call `hook` with the update ids of each getUpdates batch handed over
        (`event` "fetched") or confirmed by a getUpdates offset ("confirmed"), or with
        none when the bot calls the method named `event`; None removes it. It runs on
        the server's thread, before the call is answered."""
        with self._state.cond:
            if hook is None:
                self._state.hooks.pop(event, None)
            else:
                self._state.hooks[event] = hook

    # ---- pushing updates -----------------------------------------------------------
    def push_message(
        self,
        chat_id: int,
        text: str,
        *,
        user_id: int | None = None,
        chat_type: str = "private",
        language_code: str = "en",
        reply_to: int | None = None,
        caption: bool = False,
        entities: list[dict[str, Any]] | None = None,
        anonymous: bool = False,
        via_bot: bool = False,
    ) -> int:
        """Deliver a user's message to the bot; returns its message_id.

        `caption` sends the text as a photo's caption; `reply_to` makes it a reply;
        `anonymous`: a group's anonymous admin (from @GroupAnonymousBot, on behalf of
        the group), as Telegram sends it; `via_bot`: one of this bot's inline results
        the user sent.
        """
        message_id = self._state.new_message_id(chat_id)
        message = self._message(
            chat_id, message_id, text, user_id, chat_type, language_code, caption, entities
        )
        if anonymous:
            message["from"] = {"id": 1087968824, "is_bot": True, "first_name": "Group",
                               "username": "GroupAnonymousBot"}  # fmt: skip
            message["sender_chat"] = message["chat"]
        if via_bot:
            message["via_bot"] = dict(BOT_USER)
        if reply_to is not None:
            with self._state.cond:
                original = self._state.messages.get((chat_id, reply_to))
            message["reply_to_message"] = original or {
                "message_id": reply_to,
                "date": 0,
                "chat": message["chat"],
            }
        self._server.deliver({"message": message})
        return message_id

    def push_document(
        self,
        chat_id: int,
        filename: str,
        data: bytes,
        caption: str | None = None,
        media_group_id: str | None = None,
        *,
        user_id: int | None = None,
        chat_type: str = "private",
        language_code: str = "en",
        file_size: int | None = None,
    ) -> int:
        """A user sends (or forwards) a document; returns its message_id.

        `file_size` overrides the size Telegram reports (to test limits cheaply).
        """
        message_id = self._state.new_message_id(chat_id)
        message = self._message(
            chat_id, message_id, caption or "", user_id, chat_type, language_code, True, None
        )
        file_id = f"doc{chat_id}_{message_id}"
        message.pop("photo")  # built as a captioned photo; a document replaces it
        message["document"] = {
            "file_id": file_id,
            "file_unique_id": file_id,
            "file_name": filename,
            "file_size": len(data) if file_size is None else file_size,
        }
        if caption is None:
            message.pop("caption", None)
        if media_group_id is not None:
            message["media_group_id"] = media_group_id
        with self._state.cond:
            self._state.files[file_id] = (filename, data)
        self._server.deliver({"message": message})
        return message_id

    def push_again(self, chat_id: int, message_id: int) -> None:
        """Deliver an already delivered message once more (as after a bot crash)."""
        with self._state.cond:
            message = dict(self._state.messages[(chat_id, message_id)])
        self._server.deliver({"message": message})

    def push_edit(self, chat_id: int, message_id: int, text: str, **kwargs: Any) -> None:
        """The user edits an earlier message."""
        message = self._message(
            chat_id,
            message_id,
            text,
            kwargs.get("user_id"),
            kwargs.get("chat_type", "private"),
            kwargs.get("language_code", "en"),
            False,
            None,
        )
        message["edit_date"] = int(time.time()) + 1
        self._server.deliver({"edited_message": message})

    def push_callback(
        self,
        chat_id: int,
        message: dict[str, Any],
        data: str,
        user_id: int | None = None,
        language_code: str = "en",
    ) -> str:
        """The user presses an inline button under a message the bot sent."""
        query_id = str(next(self._state.update_ids) + 10_000)
        user = {
            "id": user_id or abs(chat_id),
            "is_bot": False,
            "first_name": "Tester",
            "language_code": language_code,
        }
        self._server.deliver(
            {
                "callback_query": {
                    "id": query_id,
                    "from": user,
                    "message": message,
                    "chat_instance": "1",
                    "data": data,
                }
            }
        )
        return query_id

    def push_inline(self, user_id: int, query: str, language_code: str = "en") -> str:
        """The user types `@bot <query>`; returns the inline query id."""
        query_id = f"iq{next(self._state.update_ids)}"
        user = {
            "id": user_id,
            "is_bot": False,
            "first_name": "Tester",
            "language_code": language_code,
        }
        with self._state.cond:
            self._state.inline[query_id] = None  # known, so answerInlineQuery accepts it
        self._server.deliver(
            {"inline_query": {"id": query_id, "from": user, "query": query, "offset": ""}}
        )
        return query_id

    # ---- webhook mode ---------------------------------------------------------------
    def message_update(self, chat_id: int, text: str, **kwargs: Any) -> dict[str, Any]:
        """A new message update that is not delivered: for `post_update`."""
        message = self._message(
            chat_id,
            self._state.new_message_id(chat_id),
            text,
            kwargs.get("user_id"),
            kwargs.get("chat_type", "private"),
            kwargs.get("language_code", "en"),
            False,
            None,
        )
        return {"update_id": next(self._state.update_ids), "message": message}

    def post_update(self, url: str, update: dict[str, Any], secret: str | None) -> int:
        """POST an update to a webhook URL as Telegram does; returns the HTTP status.

        `secret` goes in X-Telegram-Bot-Api-Secret-Token (None: no header at all).
        """
        return self._server.post(url, update, secret)

    # ---- reading what happened ------------------------------------------------------
    def sent_to(self, chat_id: int) -> list[dict[str, Any]]:
        """Messages the bot sent to a chat so far."""
        with self._state.cond:
            return list(self._state.sent[chat_id])

    def documents_to(self, chat_id: int) -> list[dict[str, Any]]:
        """Files the bot sent to a chat: message, `file_name`, `data`, `caption`."""
        with self._state.cond:
            return list(self._state.documents[chat_id])

    def edits(self, chat_id: int) -> list[tuple[float, int, str]]:
        """editMessageText calls that succeeded in a chat: (time, message_id, text)."""
        with self._state.cond:
            return list(self._state.edits[chat_id])

    def deleted(self, chat_id: int) -> list[int]:
        """Message ids the bot deleted in a chat."""
        with self._state.cond:
            return list(self._state.deleted[chat_id])

    def message(self, chat_id: int, message_id: int) -> dict[str, Any] | None:
        """A message as it is now (after edits); None if deleted or unknown."""
        with self._state.cond:
            found = self._state.messages.get((chat_id, message_id))
            return dict(found) if found else None

    def inline_answers(self) -> dict[str, dict[str, Any] | None]:
        """Every inline query pushed, with its answer (None if unanswered)."""
        with self._state.cond:
            return dict(self._state.inline)

    def answer_times(self) -> dict[str, float]:
        """When (time.monotonic) each answered inline query was answered."""
        with self._state.cond:
            return dict(self._state.answered_at)

    def updates_pushed(self) -> list[dict[str, Any]]:
        """Every update pushed so far (while polling: those not yet confirmed)."""
        with self._state.cond:
            return [dict(u) for u in self._state.pushed]

    def calls(self, method: str | None = None) -> list[tuple[str, dict[str, Any]]]:
        """Every API call the bot made (method, params), optionally of one method."""
        with self._state.cond:
            return [c for c in self._state.calls if method is None or c[0] == method]

    # ---- shaping the server's answers -------------------------------------------------
    def fail_next(
        self, method: str, code: int, description: str, retry_after: int | None = None
    ) -> None:
        """Make the next call of `method` fail with this error."""
        with self._state.cond:
            self._state.faults[method].append(ApiError(code, description, retry_after))

    def delay_next(self, method: str, seconds: float) -> None:
        """Make the next call of `method` wait this long for its answer."""
        with self._state.cond:
            self._state.delays[method].append(seconds)

    def set_admins(self, chat_id: int, user_ids: set[int]) -> None:
        """Who is an administrator of a group (for getChatMember)."""
        with self._state.cond:
            self._state.admins[chat_id] = set(user_ids)

    # ---- building users' messages -----------------------------------------------------
    def _message(
        self,
        chat_id: int,
        message_id: int,
        text: str,
        user_id: int | None,
        chat_type: str,
        language_code: str,
        caption: bool,
        entities: list[dict[str, Any]] | None,
    ) -> dict[str, Any]:
        """A user's Message (text, or a photo with a caption), stored as the current version."""
        user = {
            "id": user_id or abs(chat_id),
            "is_bot": False,
            "first_name": "Tester",
            "language_code": language_code,
        }
        message: dict[str, Any] = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": self._state.chat(chat_id, chat_type),
            "from": user,
        }
        ents = list(entities or [])
        if text.startswith("/"):  # Telegram marks a leading command as an entity
            length = len(text.split(maxsplit=1)[0])
            ents.insert(0, {"type": "bot_command", "offset": 0, "length": length})
        if caption:
            message["photo"] = [
                {"file_id": "photo", "file_unique_id": "photo", "width": 1, "height": 1}
            ]
            message["caption"] = text
            if ents:
                message["caption_entities"] = ents
        else:
            message["text"] = text
            if ents:
                message["entities"] = ents
        with self._state.cond:
            self._state.messages[(chat_id, message_id)] = message
        return message
