"""The bot token stays out of the worker's download errors, whatever the path or failure:
from the Telegram module that fetches the file, and from the document's way in above it."""

from __future__ import annotations

import pytest
import redis

from config import Settings
from tasks.telegram.download import TelegramFileGone, download
from tasks.worker.document_state import DownloadFailed, fetch
from tasks.worker.source import TelegramFile
from tests.support.procs import free_port

TOKEN = "123456:SECRET-part_of_the-token"
PATHS = ["documents/a b.txt", "documents/\r\nHost: evil", "x" * 70_000]


@pytest.mark.parametrize("path", PATHS)
def test_download_errors_never_quote_the_token(path: str) -> None:
    unreachable = f"http://127.0.0.1:{free_port()}"
    with pytest.raises((OSError, TelegramFileGone)) as caught:
        download(unreachable, TOKEN, path, 1000)
    seen = f"{caught.value!s} {caught.value!r} {caught.value.__cause__!r}"
    assert "SECRET" not in seen and caught.value.__cause__ is None


@pytest.mark.parametrize("path", PATHS)
def test_a_documents_fetch_errors_never_quote_the_token(path: str) -> None:
    # The Redis client is never called: the file is Telegram's.
    settings = Settings(bot_token=TOKEN, telegram_api_url=f"http://127.0.0.1:{free_port()}")
    with pytest.raises((OSError, DownloadFailed)) as caught:
        fetch(TelegramFile(path), "a.txt", client=redis.Redis(), settings=settings)
    seen = f"{caught.value!s} {caught.value!r} {caught.value.__cause__!r}"
    assert "SECRET" not in seen and caught.value.__cause__ is None
