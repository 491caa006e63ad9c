"""A Bot API emulator on 127.0.0.1 that the tests own.

It speaks the real HTTP API (`/bot{token}/{method}`, Telegram-shaped JSON), rejects
what Telegram rejects (bad token, empty or over-long text, broken HTML entities,
unknown reply targets) and lets a test push updates and read what the bot sent.
It runs on its own event loop in a thread; its public methods are thread-safe.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import threading
import time
from collections import defaultdict
from html.parser import HTMLParser
from typing import Any

import aiohttp
from aiohttp import web

BOT_USER = {"id": 4242, "is_bot": True, "first_name": "Tolmach", "username": "TolmachBot"}
TEXT_LIMIT = 4096
_HTML_TAGS = {
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "a",
    "code",
    "pre",
    "span",
    "tg-spoiler",
    "blockquote",
    "tg-emoji",
}


class ApiError(Exception):
    """A Bot API error reply."""

    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code, self.description, self.retry_after = code, description, retry_after


class _HtmlCheck(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _HTML_TAGS:
            raise ApiError(
                400, f'Bad Request: can\'t parse entities: Unsupported start tag "{tag}"'
            )
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack.pop() != tag:
            raise ApiError(400, f'Bad Request: can\'t parse entities: Unexpected end tag "{tag}"')


_TAG_OR_ENTITY = re.compile(r"</?[a-zA-Z][\w-]*(\s[^<>]*)?>|&(lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);")


def check_html(text: str) -> None:
    """Reject HTML the way Telegram does: bare < or &, unknown or unbalanced tags."""
    bare = _TAG_OR_ENTITY.sub("", text)
    if "<" in bare or "&" in bare:
        raise ApiError(400, "Bad Request: can't parse entities: unexpected < or & outside a tag")
    checker = _HtmlCheck()
    checker.feed(text)
    if checker.stack:
        raise ApiError(400, "Bad Request: can't parse entities: unclosed tag")


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class BotApiEmulator:
    """The fake Telegram server; see the module docstring."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.url = ""
        self._cond = threading.Condition()
        self._updates: list[dict[str, Any]] = []
        self._pushed: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._message_ids: dict[int, itertools.count[int]] = defaultdict(lambda: itertools.count(1))
        self._known: dict[int, set[int]] = defaultdict(set)
        self._sent: dict[int, list[dict[str, Any]]] = defaultdict(list)
        self._calls: list[tuple[str, dict[str, Any]]] = []
        self._faults: dict[str, list[ApiError]] = defaultdict(list)
        self._messages: dict[tuple[int, int], dict[str, Any]] = {}
        self.errors: list[tuple[str, str]] = []  # (method, description) of each rejection
        self._admins: dict[int, set[int]] = defaultdict(set)
        self._inline: dict[str, dict[str, Any] | None] = {}
        self._answered_at: dict[str, float] = {}
        self._loop = asyncio.new_event_loop()
        self._wakeup: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None
        # Documents: files users sent (file_id -> name, bytes), files the bot sent,
        # edits and deletions with their times (time.monotonic).
        self.file_limit = 20 * 1024 * 1024  # getFile's limit on api.telegram.org
        self._files: dict[str, tuple[str, bytes]] = {}
        self._documents: dict[int, list[dict[str, Any]]] = defaultdict(list)
        self._edits: dict[int, list[tuple[float, int, str]]] = defaultdict(list)
        self._deleted: dict[int, list[int]] = defaultdict(list)
        self.downloads: list[str] = []
        self.webhook: dict[str, str] | None = None  # url and secret_token, once set
        self.webhook_posts: list[tuple[int, int]] = []  # (update_id, HTTP status)
        self._posting: set[asyncio.Task[None]] = set()

    # ---- life cycle -------------------------------------------------------------
    def start(self, port: int = 0) -> None:
        """Serve on `port` of 127.0.0.1 (0: a free one)."""
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(port), self._loop).result(10)

    async def _start(self, port: int) -> None:
        self._wakeup = asyncio.Event()
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        app.router.add_post("/bot{token}/{method}", self._handle)
        app.router.add_get("/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        """Stop serving."""
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    # ---- test side ----------------------------------------------------------------
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
    ) -> int:
        """Deliver a user's message to the bot; returns its message_id.

        `caption` sends the text as a photo's caption; `reply_to` makes it a reply.
        """
        message_id = self._new_message_id(chat_id)
        message = self._message(
            chat_id, message_id, text, user_id, chat_type, language_code, caption, entities
        )
        if reply_to is not None:
            with self._cond:
                original = self._messages.get((chat_id, reply_to))
            message["reply_to_message"] = original or {
                "message_id": reply_to,
                "date": 0,
                "chat": message["chat"],
            }
        self._push_update({"message": message})
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
        message_id = self._new_message_id(chat_id)
        message = self._message(
            chat_id, message_id, caption or "", user_id, chat_type, language_code, True, None
        )
        file_id = f"doc{chat_id}_{message_id}"
        message.pop("photo")
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
        with self._cond:
            self._files[file_id] = (filename, data)
        self._push_update({"message": message})
        return message_id

    def documents_to(self, chat_id: int) -> list[dict[str, Any]]:
        """Files the bot sent to a chat: message, `file_name`, `data`, `caption`."""
        with self._cond:
            return list(self._documents[chat_id])

    def wait_documents(
        self, chat_id: int, count: int = 1, timeout: float = 120
    ) -> list[dict[str, Any]]:
        """Wait until the bot sent at least `count` files to a chat."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self._documents[chat_id]) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"chat {chat_id}: {len(self._documents[chat_id])} files")
                self._cond.wait(left)
            return list(self._documents[chat_id])

    def edits(self, chat_id: int) -> list[tuple[float, int, str]]:
        """editMessageText calls that succeeded in a chat: (time, message_id, text)."""
        with self._cond:
            return list(self._edits[chat_id])

    def deleted(self, chat_id: int) -> list[int]:
        """Message ids the bot deleted in a chat."""
        with self._cond:
            return list(self._deleted[chat_id])

    def message(self, chat_id: int, message_id: int) -> dict[str, Any] | None:
        """A message as it is now (after edits); None if deleted or unknown."""
        with self._cond:
            found = self._messages.get((chat_id, message_id))
            return dict(found) if found else None

    def push_again(self, chat_id: int, message_id: int) -> None:
        """Deliver an already delivered message once more (as after a bot crash)."""
        with self._cond:
            message = dict(self._messages[(chat_id, message_id)])
        self._push_update({"message": message})

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
        self._push_update({"edited_message": message})

    def push_callback(
        self,
        chat_id: int,
        message: dict[str, Any],
        data: str,
        user_id: int | None = None,
        language_code: str = "en",
    ) -> str:
        """The user presses an inline button under a message the bot sent."""
        query_id = str(next(self._update_ids) + 10_000)
        user = {
            "id": user_id or abs(chat_id),
            "is_bot": False,
            "first_name": "Tester",
            "language_code": language_code,
        }
        self._push_update(
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
        query_id = f"iq{next(self._update_ids)}"
        user = {
            "id": user_id,
            "is_bot": False,
            "first_name": "Tester",
            "language_code": language_code,
        }
        with self._cond:
            self._inline[query_id] = None
        self._push_update(
            {"inline_query": {"id": query_id, "from": user, "query": query, "offset": ""}}
        )
        return query_id

    def wait_inline(self, query_id: str, timeout: float = 60) -> dict[str, Any]:
        """Wait for the bot's answer to an inline query."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._inline.get(query_id) is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"inline query {query_id} not answered")
                self._cond.wait(left)
            answer = self._inline[query_id]
            assert answer is not None
            return answer

    def inline_answers(self) -> dict[str, dict[str, Any] | None]:
        """Every inline query pushed, with its answer (None if unanswered)."""
        with self._cond:
            return dict(self._inline)

    def answer_times(self) -> dict[str, float]:
        """When (time.monotonic) each answered inline query was answered."""
        with self._cond:
            return dict(self._answered_at)

    def set_admins(self, chat_id: int, user_ids: set[int]) -> None:
        """Who is an administrator of a group (for getChatMember)."""
        with self._cond:
            self._admins[chat_id] = set(user_ids)

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
        user = {
            "id": user_id or abs(chat_id),
            "is_bot": False,
            "first_name": "Tester",
            "language_code": language_code,
        }
        message: dict[str, Any] = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": self._chat(chat_id, chat_type),
            "from": user,
        }
        ents = list(entities or [])
        if text.startswith("/"):
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
        with self._cond:
            self._messages[(chat_id, message_id)] = message
        return message

    def sent_to(self, chat_id: int) -> list[dict[str, Any]]:
        """Messages the bot sent to a chat so far."""
        with self._cond:
            return list(self._sent[chat_id])

    def wait_for(self, chat_id: int, count: int = 1, timeout: float = 60) -> list[dict[str, Any]]:
        """Wait until the bot sent at least `count` messages to a chat."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self._sent[chat_id]) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"chat {chat_id}: {len(self._sent[chat_id])}/{count} sent")
                self._cond.wait(left)
            return list(self._sent[chat_id])

    def calls(self, method: str | None = None) -> list[tuple[str, dict[str, Any]]]:
        """Every API call the bot made (method, params), optionally of one method."""
        with self._cond:
            return [c for c in self._calls if method is None or c[0] == method]

    def fail_next(
        self, method: str, code: int, description: str, retry_after: int | None = None
    ) -> None:
        """Make the next call of `method` fail with this error."""
        with self._cond:
            self._faults[method].append(ApiError(code, description, retry_after))

    # ---- server side -----------------------------------------------------------------
    def _chat(self, chat_id: int, chat_type: str) -> dict[str, Any]:
        if chat_type == "private":
            return {"id": chat_id, "type": "private", "first_name": "Tester"}
        return {"id": chat_id, "type": chat_type, "title": f"Group {chat_id}"}

    def _new_message_id(self, chat_id: int) -> int:
        with self._cond:
            message_id = next(self._message_ids[chat_id])
            self._known[chat_id].add(message_id)
            return message_id

    def message_update(self, chat_id: int, text: str, **kwargs: Any) -> dict[str, Any]:
        """A new message update that is not delivered: for `post_update`."""
        message = self._message(
            chat_id,
            self._new_message_id(chat_id),
            text,
            kwargs.get("user_id"),
            kwargs.get("chat_type", "private"),
            kwargs.get("language_code", "en"),
            False,
            None,
        )
        return {"update_id": next(self._update_ids), "message": message}

    def updates_pushed(self) -> list[dict[str, Any]]:
        """Every update pushed so far (while polling: those not yet confirmed)."""
        with self._cond:
            return [dict(u) for u in self._pushed]

    def post_update(self, url: str, update: dict[str, Any], secret: str | None) -> int:
        """POST an update to a webhook URL as Telegram does; returns the HTTP status.

        `secret` goes in X-Telegram-Bot-Api-Secret-Token (None: no header at all).
        """
        future = asyncio.run_coroutine_threadsafe(self._post(url, update, secret), self._loop)
        return future.result(30)

    async def _post(self, url: str, update: dict[str, Any], secret: str | None) -> int:
        headers = {} if secret is None else {"X-Telegram-Bot-Api-Secret-Token": secret}
        try:
            async with (
                aiohttp.ClientSession() as session,
                session.post(url, json=update, headers=headers) as response,
            ):
                status = response.status
        except aiohttp.ClientError:
            status = 0
        with self._cond:
            self.webhook_posts.append((int(update["update_id"]), status))
            self._cond.notify_all()
        return status

    def _push_update(self, body: dict[str, Any]) -> None:
        update = {"update_id": next(self._update_ids), **body}
        with self._cond:
            self._pushed.append(update)
            hook = dict(self.webhook) if self.webhook else None
            if hook is None:
                self._updates.append(update)
        if hook is not None:  # a webhook is set: Telegram posts instead of queueing
            self._loop.call_soon_threadsafe(self._post_soon, hook, update)
            return
        if self._wakeup is not None:
            self._loop.call_soon_threadsafe(self._wakeup.set)

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _error(ApiError(401, "Unauthorized"))
        method = request.match_info["method"]
        params = _decode(dict(await request.post()) if request.can_read_body else {})
        params.update(request.query)
        with self._cond:
            self._calls.append((method, params))
            fault = self._faults[method].pop(0) if self._faults[method] else None
        handler = getattr(self, f"_api_{method}", None)
        try:
            if fault is not None:
                raise fault
            if handler is None:
                raise ApiError(404, "Not Found: method not found")
            result = await handler(params)
        except ApiError as exc:
            with self._cond:
                self.errors.append((method, exc.description))
            return _error(exc)
        return web.json_response({"ok": True, "result": result})

    async def _download(self, request: web.Request) -> web.StreamResponse:
        """The Bot API file route: `/file/bot<token>/<file_path>`."""
        if request.match_info["token"] != self.token:
            return _error(ApiError(401, "Unauthorized"))
        path = request.match_info["path"]
        with self._cond:
            found = self._files.get(path.split("/")[1] if path.count("/") >= 2 else "")
            self.downloads.append(path)
        if found is None:
            return _error(ApiError(404, "Not Found"))
        return web.Response(body=found[1], content_type="application/octet-stream")

    async def _api_getFile(self, params: dict[str, Any]) -> Any:
        file_id = str(params.get("file_id") or "")
        with self._cond:
            found = self._files.get(file_id)
        if found is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        if len(found[1]) > self.file_limit:
            raise ApiError(400, "Bad Request: file is too big")
        return {
            "file_id": file_id,
            "file_unique_id": file_id,
            "file_size": len(found[1]),
            "file_path": f"documents/{file_id}/{found[0]}",
        }

    async def _api_sendDocument(self, params: dict[str, Any]) -> Any:
        chat_id = int(params.get("chat_id") or 0)
        upload = params.get("document")
        if isinstance(upload, str) and upload.startswith("attach://"):
            upload = params.get(upload.removeprefix("attach://"))  # multipart part by name
        if not chat_id:
            raise ApiError(400, "Bad Request: chat not found")
        if not isinstance(upload, web.FileField):
            raise ApiError(400, "Bad Request: there is no document in the request")
        data = upload.file.read()
        if not data:
            raise ApiError(400, "Bad Request: file must be non-empty")
        reply = params.get("reply_parameters") or {}
        chat = self._chat(chat_id, "private" if chat_id > 0 else "supergroup")
        message: dict[str, Any] = {
            "message_id": self._new_message_id(chat_id),
            "date": int(time.time()),
            "chat": chat,
            "from": BOT_USER,
            "document": {
                "file_id": f"sent{chat_id}",
                "file_unique_id": f"sent{chat_id}",
                "file_name": upload.filename,
                "file_size": len(data),
            },
        }
        if params.get("caption"):
            message["caption"] = str(params["caption"])
        if reply.get("message_id"):
            reply_to = {"message_id": int(reply["message_id"]), "date": 0, "chat": chat}
            message["reply_to_message"] = reply_to
        record = {
            "message": message,
            "file_name": upload.filename,
            "data": data,
            "caption": params.get("caption"),
            "at": time.monotonic(),
        }
        with self._cond:
            self._messages[(chat_id, message["message_id"])] = message
            self._sent[chat_id].append(message)
            self._documents[chat_id].append(record)
            self._cond.notify_all()
        return message

    async def _api_editMessageText(self, params: dict[str, Any]) -> Any:
        chat_id, message_id = int(params.get("chat_id") or 0), int(params.get("message_id") or 0)
        text = str(params.get("text") or "")
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if _utf16_len(text) > TEXT_LIMIT:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        with self._cond:
            message = self._messages.get((chat_id, message_id))
            if message is None or message.get("from") != BOT_USER:
                raise ApiError(400, "Bad Request: message to edit not found")
            markup = params.get("reply_markup")
            if message.get("text") == text and message.get("reply_markup") == markup:
                raise ApiError(400, "Bad Request: message is not modified")
            message["text"] = text
            if markup:
                message["reply_markup"] = markup
            else:
                message.pop("reply_markup", None)
            self._edits[chat_id].append((time.monotonic(), message_id, text))
            self._cond.notify_all()
            return dict(message)

    async def _api_deleteMessage(self, params: dict[str, Any]) -> Any:
        chat_id, message_id = int(params.get("chat_id") or 0), int(params.get("message_id") or 0)
        with self._cond:
            if self._messages.pop((chat_id, message_id), None) is None:
                raise ApiError(400, "Bad Request: message to delete not found")
            self._deleted[chat_id].append(message_id)
            self._cond.notify_all()
        return True

    async def _api_getMe(self, params: dict[str, Any]) -> Any:
        return {
            **BOT_USER,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": True,
        }

    async def _api_getUpdates(self, params: dict[str, Any]) -> Any:
        if self.webhook is not None:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active")
        offset = int(params.get("offset") or 0)
        deadline = time.monotonic() + float(params.get("timeout") or 0)
        assert self._wakeup is not None
        while True:
            self._wakeup.clear()
            with self._cond:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
                ready = list(self._updates[: int(params.get("limit") or 100)])
            left = deadline - time.monotonic()
            if ready or left <= 0:
                return ready
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), left)

    def _post_soon(self, hook: dict[str, str], update: dict[str, Any]) -> None:
        task = self._loop.create_task(self._post_quietly(hook, update))
        self._posting.add(task)
        task.add_done_callback(self._posting.discard)

    async def _post_quietly(self, hook: dict[str, str], update: dict[str, Any]) -> None:
        await self._post(hook["url"], update, hook.get("secret_token"))

    async def _api_setWebhook(self, params: dict[str, Any]) -> Any:
        url = str(params.get("url") or "")
        if not url.startswith(("https://", "http://")):
            raise ApiError(400, "Bad Request: bad webhook: invalid URL")
        with self._cond:
            self.webhook = {"url": url, "secret_token": str(params.get("secret_token") or "")}
        return True

    async def _api_deleteWebhook(self, params: dict[str, Any]) -> Any:
        with self._cond:
            self.webhook = None
        return True

    async def _api_getWebhookInfo(self, params: dict[str, Any]) -> Any:
        with self._cond:
            url = self.webhook["url"] if self.webhook else ""
        return {"url": url, "has_custom_certificate": False, "pending_update_count": 0}

    async def _api_setMyCommands(self, params: dict[str, Any]) -> Any:
        return True

    async def _api_sendChatAction(self, params: dict[str, Any]) -> Any:
        return True

    async def _api_answerInlineQuery(self, params: dict[str, Any]) -> Any:
        query_id = str(params.get("inline_query_id"))
        results = params.get("results")
        with self._cond:
            if query_id not in self._inline or self._inline[query_id] is not None:
                raise ApiError(
                    400,
                    "Bad Request: query is too old and response timeout "
                    "expired or query ID is invalid",
                )
        if not isinstance(results, list) or len(results) > 50:
            raise ApiError(400, "Bad Request: RESULTS_TOO_MUCH")
        ids = [str(r.get("id", "")) for r in results]
        if len(set(ids)) != len(ids) or any(not 0 < len(i.encode()) <= 64 for i in ids):
            raise ApiError(400, "Bad Request: RESULT_ID_INVALID")
        for result in results:
            text = (result.get("input_message_content") or {}).get("message_text", "")
            if result.get("type") != "article" or not str(result.get("title", "")).strip():
                raise ApiError(400, "Bad Request: RESULT_TITLE_EMPTY")
            if not text.strip() or _utf16_len(text) > TEXT_LIMIT:
                raise ApiError(400, "Bad Request: MESSAGE_EMPTY")
        with self._cond:
            self._answered_at[query_id] = time.monotonic()
            self._inline[query_id] = {
                "results": results,
                **{k: params[k] for k in ("cache_time", "is_personal") if k in params},
            }
            self._cond.notify_all()
        return True

    async def _api_answerCallbackQuery(self, params: dict[str, Any]) -> Any:
        return True

    async def _api_getChatMember(self, params: dict[str, Any]) -> Any:
        chat_id, user_id = int(params["chat_id"]), int(params["user_id"])
        with self._cond:
            admin = user_id in self._admins[chat_id]
        user = {"id": user_id, "is_bot": False, "first_name": "Tester"}
        if admin:
            return {"status": "creator", "user": user, "is_anonymous": False}
        return {"status": "member", "user": user}

    async def _api_sendMessage(self, params: dict[str, Any]) -> Any:
        chat_id = int(params.get("chat_id") or 0)
        text = str(params.get("text") or "")
        if not chat_id:
            raise ApiError(400, "Bad Request: chat not found")
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if _utf16_len(text) > TEXT_LIMIT:
            raise ApiError(400, "Bad Request: message is too long")
        if str(params.get("parse_mode") or "").upper() == "HTML":
            check_html(text)
        reply = params.get("reply_parameters") or {}
        reply_to = reply.get("message_id") or params.get("reply_to_message_id")
        with self._cond:
            known = reply_to is None or int(reply_to) in self._known[chat_id]
        if not known and not reply.get("allow_sending_without_reply"):
            raise ApiError(400, "Bad Request: message to be replied not found")
        chat = self._chat(chat_id, "private" if chat_id > 0 else "supergroup")
        message: dict[str, Any] = {
            "message_id": self._new_message_id(chat_id),
            "date": int(time.time()),
            "chat": chat,
            "from": BOT_USER,
            "text": text,
            "sent_at": time.time(),  # for latency figures; not in Telegram's JSON
        }
        if reply_to is not None and known:
            message["reply_to_message"] = {"message_id": int(reply_to), "date": 0, "chat": chat}
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        if params.get("parse_mode"):
            message["parse_mode"] = params["parse_mode"]  # for tests; not in Telegram's JSON
        with self._cond:
            self._messages[(chat_id, message["message_id"])] = message
            self._sent[chat_id].append(message)
            self._cond.notify_all()
        return message


_JSON_FIELDS = {
    "reply_parameters",
    "reply_markup",
    "entities",
    "caption_entities",
    "results",
    "is_personal",
    "commands",
    "allowed_updates",
    "link_preview_options",
    "media",
    "allow_sending_without_reply",
    "disable_notification",
    "scope",
}


def _decode(params: dict[str, Any]) -> dict[str, Any]:
    """aiogram sends nested objects (and booleans) as JSON strings inside form fields."""
    out: dict[str, Any] = {}
    for key, value in params.items():
        if key in _JSON_FIELDS and isinstance(value, str):
            with contextlib.suppress(ValueError):
                value = json.loads(value)
        out[key] = value
    return out


def _error(exc: ApiError) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": exc.code, "description": exc.description}
    if exc.retry_after is not None:
        body["parameters"] = {"retry_after": exc.retry_after}
    return web.json_response(body, status=exc.code)
