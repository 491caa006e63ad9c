"""Fetch a file a user sent the bot: the Bot API's file route, or a local server's disk.

The one place a worker speaks Telegram. Plain urllib rather than aiogram: a worker holds
no Bot and no event loop, and this is one GET. Errors carry neither the URL nor a
library's text that quotes it: the URL carries the bot token.
"""

from __future__ import annotations

import os
import urllib.error
import urllib.parse
import urllib.request
from typing import Protocol

_READ_BLOCK = 1 << 20
TIMEOUT = 60  # seconds without a byte before the download counts as network trouble


class _Readable(Protocol):
    def read(self, size: int, /) -> bytes: ...


class TelegramFileTooBig(Exception):
    """The file is over the caller's limit (counted while reading, never read whole)."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"{size} bytes, the limit is {limit}")
        self.size, self.limit = size, limit


class TelegramFileGone(Exception):
    """The Bot API refused the file (4xx: an expired path, a 404) or gave a path that
    cannot be fetched; sending the file again helps, retrying does not."""


def download(api_url: str, token: str, file_path: str, limit: int) -> bytes:
    """The file at `file_path` (`getFile`'s path), at most `limit` bytes.

    Args:
        api_url: TELEGRAM_API_URL.
        token: The bot token (part of the URL; never logged or put in errors).
        file_path: `getFile`'s path; a local Bot API server (`--local`) gives an
            absolute path on its own disk, readable when the worker shares that disk.
        limit: Largest size accepted, in bytes.

    Raises:
        TelegramFileTooBig: Over `limit`.
        TelegramFileGone: The server answered 4xx, or the path is unusable.
        OSError: Network trouble or a 5xx (transient: worth retrying).
    """
    if os.path.isabs(file_path) and os.path.isfile(file_path):
        if (size := os.path.getsize(file_path)) > limit:
            raise TelegramFileTooBig(size, limit)
        with open(file_path, "rb") as local:
            return _read_bounded(local, limit)
    # Quoted: a path with spaces or control characters must not make urllib raise an
    # error that quotes the URL, and so the token.
    path = urllib.parse.quote(file_path.lstrip("/"), safe="/")
    url = f"{api_url}/file/bot{token}/{path}"
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as response:
            return _read_bounded(response, limit)
    except urllib.error.HTTPError as exc:
        if 400 <= exc.code < 500:
            raise TelegramFileGone(f"the Bot API answered {exc.code}") from None
        raise OSError(f"Bot API file route answered {exc.code}") from None
    except urllib.error.URLError as exc:  # its reason, never its URL
        raise OSError(f"Bot API file route unreachable: {type(exc.reason).__name__}") from None
    except ValueError:  # http.client's InvalidURL quotes the URL
        raise TelegramFileGone("the Bot API gave an unusable file path") from None


def _read_bounded(source: _Readable, limit: int) -> bytes:
    parts: list[bytes] = []
    size = 0
    while block := source.read(_READ_BLOCK):
        size += len(block)
        if size > limit:
            raise TelegramFileTooBig(size, limit)
        parts.append(block)
    return b"".join(parts)
