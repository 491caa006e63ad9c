"""The emulator's server side: the aiohttp app, its event-loop thread and the Bot API methods."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from aiohttp import web

from tests.support.emulator.api import (
    BOT_USER,
    TEXT_LIMIT,
    ApiError,
    decode_params,
    error_response,
    utf16_len,
)
from tests.support.emulator.files import FileRoutes
from tests.support.emulator.html_checks import check_html
from tests.support.emulator.state import EmulatorState

Handler = Callable[[dict[str, Any]], Awaitable[Any]]


def _api_methods(owner: object) -> dict[str, Handler]:
    """`owner`'s `_api_<method>` coroutines by Bot API method name."""
    prefix = "_api_"
    return {
        name.removeprefix(prefix): getattr(owner, name)
        for name in dir(owner)
        if name.startswith(prefix)
    }


class ApiServer:
    """Serves `/bot{token}/{method}` and the file route on 127.0.0.1 from its own thread."""

    def __init__(self, state: EmulatorState) -> None:
        self._state = state
        self.url = ""
        self._loop = asyncio.new_event_loop()
        self._wakeup: asyncio.Event | None = None  # set when an update is queued
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None
        self._stopping = asyncio.Event()  # ends the delays of calls in flight
        self._posting: set[asyncio.Task[None]] = set()  # webhook posts in flight
        self._files = FileRoutes(state)
        self._methods = {**_api_methods(self), **_api_methods(self._files)}

    # ---- life cycle -------------------------------------------------------------
    def start(self, port: int = 0) -> None:
        """Serve on `port` of 127.0.0.1 (0: a free one)."""
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(port), self._loop).result(10)

    async def _start(self, port: int) -> None:
        self._wakeup = asyncio.Event()  # created here: it must belong to the server's loop
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/file/bot{token}/{path:.+}", self._files.download)
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
        self._loop.call_soon_threadsafe(self._stopping.set)
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    # ---- updates: queued for getUpdates, or posted to the webhook ----------------------
    def deliver(self, body: dict[str, Any]) -> None:
        """Give the bot an update (from any thread), as Telegram would."""
        state = self._state
        update = {"update_id": next(state.update_ids), **body}
        with state.cond:
            state.pushed.append(update)
            hook = dict(state.webhook) if state.webhook else None
            if hook is None:
                state.updates.append(update)
        if hook is not None:  # a webhook is set: Telegram posts instead of queueing
            self._loop.call_soon_threadsafe(self._post_soon, hook, update)
            return
        if self._wakeup is not None:
            self._loop.call_soon_threadsafe(self._wakeup.set)

    def post(self, url: str, update: dict[str, Any], secret: str | None) -> int:
        """POST an update to `url` from the server's loop (from any thread); the HTTP status."""
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
            status = 0  # the bot is not listening: recorded, not raised
        with self._state.cond:
            self._state.webhook_posts.append((int(update["update_id"]), status))
            self._state.cond.notify_all()
        return status

    def _post_soon(self, hook: dict[str, str], update: dict[str, Any]) -> None:
        task = self._loop.create_task(self._post_quietly(hook, update))
        self._posting.add(task)  # keep a reference, or the task may be collected mid-post
        task.add_done_callback(self._posting.discard)

    async def _post_quietly(self, hook: dict[str, str], update: dict[str, Any]) -> None:
        await self._post(hook["url"], update, hook.get("secret_token"))

    # ---- the Bot API ------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.Response:
        state = self._state
        if request.match_info["token"] != state.token:
            return error_response(ApiError(401, "Unauthorized"))
        method = request.match_info["method"]
        params = decode_params(dict(await request.post()) if request.can_read_body else {})
        params.update(request.query)
        with state.cond:
            state.calls.append((method, params))
            fault = state.faults[method].pop(0) if state.faults[method] else None
            delay = state.delays[method].pop(0) if state.delays[method] else 0.0
            hook = state.hooks.get(method)
        if hook is not None:
            hook([])
        if delay:  # a slow Telegram; the server's other calls go on
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), delay)
        handler = self._methods.get(method)
        try:
            if fault is not None:
                raise fault
            if handler is None:
                raise ApiError(404, "Not Found: method not found")
            result = await handler(params)
        except ApiError as exc:
            with state.cond:
                state.errors.append((method, exc.description))
            return error_response(exc)
        finally:
            with state.cond:
                state.cond.notify_all()  # a wait() may watch calls, errors or the webhook
        return web.json_response({"ok": True, "result": result})

    async def _api_getMe(self, params: dict[str, Any]) -> Any:
        return {
            **BOT_USER,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": True,
        }

    async def _api_getUpdates(self, params: dict[str, Any]) -> Any:
        state = self._state
        if state.webhook is not None:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active")
        offset = int(params.get("offset") or 0)
        deadline = time.monotonic() + float(params.get("timeout") or 0)
        assert self._wakeup is not None
        while True:  # long polling: answer once something is queued or the timeout ends
            self._wakeup.clear()
            with state.cond:
                # Updates below the offset are confirmed: Telegram forgets them.
                confirmed = [u["update_id"] for u in state.updates if u["update_id"] < offset]
                state.updates = [u for u in state.updates if u["update_id"] >= offset]
                ready = list(state.updates[: int(params.get("limit") or 100)])
                hooks = dict(state.hooks)
            if confirmed and "confirmed" in hooks:
                hooks["confirmed"](confirmed)
            left = deadline - time.monotonic()
            if ready or left <= 0:
                if ready and "fetched" in hooks:
                    hooks["fetched"]([u["update_id"] for u in ready])
                return ready
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), left)

    async def _api_setWebhook(self, params: dict[str, Any]) -> Any:
        url = str(params.get("url") or "")
        if not url.startswith(("https://", "http://")):
            raise ApiError(400, "Bad Request: bad webhook: invalid URL")
        with self._state.cond:
            self._state.webhook = {
                "url": url,
                "secret_token": str(params.get("secret_token") or ""),
            }
        return True

    async def _api_deleteWebhook(self, params: dict[str, Any]) -> Any:
        with self._state.cond:
            self._state.webhook = None
        return True

    async def _api_getWebhookInfo(self, params: dict[str, Any]) -> Any:
        with self._state.cond:
            url = self._state.webhook["url"] if self._state.webhook else ""
        return {"url": url, "has_custom_certificate": False, "pending_update_count": 0}

    async def _api_setMyCommands(self, params: dict[str, Any]) -> Any:
        return True

    async def _api_setChatMenuButton(self, params: dict[str, Any]) -> Any:
        return True

    async def _api_sendChatAction(self, params: dict[str, Any]) -> Any:
        return True

    async def _api_answerCallbackQuery(self, params: dict[str, Any]) -> Any:
        return True

    async def _api_getChatMember(self, params: dict[str, Any]) -> Any:
        chat_id, user_id = int(params["chat_id"]), int(params["user_id"])
        with self._state.cond:
            admin = user_id in self._state.admins[chat_id]
        user = {"id": user_id, "is_bot": False, "first_name": "Tester"}
        if admin:
            return {"status": "creator", "user": user, "is_anonymous": False}
        return {"status": "member", "user": user}

    async def _api_answerInlineQuery(self, params: dict[str, Any]) -> Any:
        state = self._state
        query_id = str(params.get("inline_query_id"))
        results = params.get("results")
        with state.cond:
            if query_id not in state.inline or state.inline[query_id] is not None:
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
            if not text.strip() or utf16_len(text) > TEXT_LIMIT:
                raise ApiError(400, "Bad Request: MESSAGE_EMPTY")
        with state.cond:
            state.answered_at[query_id] = time.monotonic()
            state.inline[query_id] = {
                "results": results,
                **{k: params[k] for k in ("cache_time", "is_personal") if k in params},
            }
            state.cond.notify_all()
        return True

    async def _api_sendMessage(self, params: dict[str, Any]) -> Any:
        state = self._state
        chat_id = int(params.get("chat_id") or 0)
        text = str(params.get("text") or "")
        if not chat_id:
            raise ApiError(400, "Bad Request: chat not found")
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if utf16_len(text) > TEXT_LIMIT:
            raise ApiError(400, "Bad Request: message is too long")
        if str(params.get("parse_mode") or "").upper() == "HTML":
            check_html(text)
        reply = params.get("reply_parameters") or {}
        reply_to = reply.get("message_id") or params.get("reply_to_message_id")
        with state.cond:
            known = reply_to is None or int(reply_to) in state.known[chat_id]
        if not known and not reply.get("allow_sending_without_reply"):
            raise ApiError(400, "Bad Request: message to be replied not found")
        chat = state.chat(chat_id, "private" if chat_id > 0 else "supergroup")
        message: dict[str, Any] = {
            "message_id": state.new_message_id(chat_id),
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
        with state.cond:
            state.messages[(chat_id, message["message_id"])] = message
            state.sent[chat_id].append(message)
            state.cond.notify_all()
        return message

    async def _api_editMessageText(self, params: dict[str, Any]) -> Any:
        state = self._state
        chat_id, message_id = int(params.get("chat_id") or 0), int(params.get("message_id") or 0)
        text = str(params.get("text") or "")
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if utf16_len(text) > TEXT_LIMIT:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        with state.cond:
            message = state.messages.get((chat_id, message_id))
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
            state.edits[chat_id].append((time.monotonic(), message_id, text))
            state.cond.notify_all()
            return dict(message)

    async def _api_deleteMessage(self, params: dict[str, Any]) -> Any:
        state = self._state
        chat_id, message_id = int(params.get("chat_id") or 0), int(params.get("message_id") or 0)
        with state.cond:
            if state.messages.pop((chat_id, message_id), None) is None:
                raise ApiError(400, "Bad Request: message to delete not found")
            state.deleted[chat_id].append(message_id)
            state.cond.notify_all()
        return True
