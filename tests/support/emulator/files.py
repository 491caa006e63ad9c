"""The emulator's file routes: the download URL, getFile and sendDocument."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from tests.support.emulator.api import BOT_USER, ApiError, error_response
from tests.support.emulator.state import EmulatorState


class FileRoutes:
    """Files users sent (served back to the bot) and files the bot sends."""

    def __init__(self, state: EmulatorState) -> None:
        self._state = state

    async def download(self, request: web.Request) -> web.StreamResponse:
        """The Bot API file route: `/file/bot<token>/<file_path>`."""
        state = self._state
        if request.match_info["token"] != state.token:
            return error_response(ApiError(401, "Unauthorized"))
        path = request.match_info["path"]
        with state.cond:
            # file_path is documents/<file_id>/<name> (see getFile).
            found = state.files.get(path.split("/")[1] if path.count("/") >= 2 else "")
            state.downloads.append(path)
            state.cond.notify_all()  # a wait() may watch downloads
        if found is None:
            return error_response(ApiError(404, "Not Found"))
        return web.Response(body=found[1], content_type="application/octet-stream")

    async def _api_getFile(self, params: dict[str, Any]) -> Any:
        state = self._state
        file_id = str(params.get("file_id") or "")
        with state.cond:
            found = state.files.get(file_id)
        if found is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        if len(found[1]) > state.file_limit:
            raise ApiError(400, "Bad Request: file is too big")
        return {
            "file_id": file_id,
            "file_unique_id": file_id,
            "file_size": len(found[1]),
            "file_path": f"documents/{file_id}/{found[0]}",
        }

    async def _api_sendDocument(self, params: dict[str, Any]) -> Any:
        state = self._state
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
        chat = state.chat(chat_id, "private" if chat_id > 0 else "supergroup")
        message: dict[str, Any] = {
            "message_id": state.new_message_id(chat_id),
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
        with state.cond:
            state.messages[(chat_id, message["message_id"])] = message
            state.sent[chat_id].append(message)
            state.documents[chat_id].append(record)
            state.cond.notify_all()
        return message
