"""The bot token stays out of the worker's download errors, whatever the path or failure."""

from __future__ import annotations

import pytest

from tasks.worker.document_state import DownloadFailed, download
from tests.procs import free_port

TOKEN = "123456:SECRET-part_of_the-token"


@pytest.mark.parametrize("path", ["documents/a b.txt", "documents/\r\nHost: evil", "x" * 70_000])
def test_download_errors_never_quote_the_token(path: str) -> None:
    unreachable = f"http://127.0.0.1:{free_port()}"
    with pytest.raises((OSError, DownloadFailed)) as caught:
        download(unreachable, TOKEN, path, "a.txt", 1000)
    seen = f"{caught.value!s} {caught.value!r} {caught.value.__cause__!r}"
    assert "SECRET" not in seen and caught.value.__cause__ is None
