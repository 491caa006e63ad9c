"""The document path's pieces without a worker: chunking, downloads, state in Redis."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.documents.progress import progress_bar
from config import Settings
from tasks.contract import document_key
from tasks.telegram.download import TelegramFileGone, TelegramFileTooBig, download
from tasks.worker.document_state import (
    DocumentState,
    DownloadFailed,
    FileTooBig,
    fetch,
    plan_chunks,
)
from tasks.worker.source import TelegramFile, Upload, source_of
from tests.support.emulator import BotApiEmulator
from tests.support.stack import TOKEN, RedisServer


def test_chunks_keep_order_and_size() -> None:
    texts = [f"sentence {i}" * (1 + i % 3) for i in range(50)]
    chunks = list(plan_chunks(texts, 100))
    assert [t for chunk in chunks for t in chunk] == texts
    assert all(sum(map(len, c)) - len(c[-1]) < 100 for c in chunks)
    assert list(plan_chunks([], 100)) == []


def test_progress_bar() -> None:
    assert progress_bar(0, 10) == "░░░░░░░░░░ 0%"
    assert progress_bar(3, 10) == "▓▓▓░░░░░░░ 30%"
    assert progress_bar(10, 10) == "▓▓▓▓▓▓▓▓▓▓ 100%"
    assert progress_bar(0, 0) == "░░░░░░░░░░ 0%"


def test_byte_limit_follows_the_bot_api_server() -> None:
    assert Settings().document_byte_limit == 20 * 1024 * 1024
    local = Settings(telegram_api_url="http://127.0.0.1:8081")
    assert local.document_byte_limit == 2000 * 1024 * 1024
    assert Settings(document_max_bytes=5).document_byte_limit == 5


def test_download_through_the_file_route(emulator: BotApiEmulator) -> None:
    message_id = emulator.push_document(77, "a.txt", b"hello world")
    path = f"documents/doc77_{message_id}/a.txt"
    assert download(emulator.url, TOKEN, path, 100) == b"hello world"
    assert emulator.downloads[-1] == path
    with pytest.raises(TelegramFileTooBig):
        download(emulator.url, TOKEN, path, 5)
    with pytest.raises(TelegramFileGone):
        download(emulator.url, TOKEN, "documents/missing/a.txt", 100)


def test_download_from_a_local_bot_api_server_disk(tmp_path: Path) -> None:
    local = tmp_path / "file.srt"
    local.write_bytes(b"1\n00:00:01,000 --> 00:00:02,000\nHi\n")
    assert download("http://127.0.0.1:9", TOKEN, str(local), 100).startswith(b"1\n")
    with pytest.raises(TelegramFileTooBig) as caught:
        download("http://127.0.0.1:9", TOKEN, str(local), 10)
    assert caught.value.size == local.stat().st_size  # the whole file's size, not a part's


def test_a_document_source_resolves_to_its_bytes_or_a_reason(
    emulator: BotApiEmulator, redis_server: RedisServer
) -> None:
    """A file sent to the bot comes through the Telegram module under the download limit
    (DOCUMENT_MAX_BYTES, the knob checked); an upload from Redis; either one gone is the
    reason "download", one too big "file_too_big"."""
    client = redis_server.client()
    message_id = emulator.push_document(78, "b.txt", b"hello there")
    path = f"documents/doc78_{message_id}/b.txt"
    settings = Settings(bot_token=TOKEN, telegram_api_url=emulator.url, document_max_bytes=100)
    assert fetch(TelegramFile(path), "b.txt", client=client, settings=settings) == b"hello there"
    small = Settings(bot_token=TOKEN, telegram_api_url=emulator.url, document_max_bytes=5)
    with pytest.raises(FileTooBig) as too_big:
        fetch(TelegramFile(path), "b.txt", client=client, settings=small)
    assert too_big.value.reason == "file_too_big" and too_big.value.limit == 5
    with pytest.raises(DownloadFailed) as gone:
        fetch(TelegramFile("documents/missing/b.txt"), "b.txt", client=client, settings=settings)
    assert gone.value.reason == "download" and "'b.txt'" in str(gone.value)
    client.set("unit-upload", b"uploaded bytes", ex=60)
    assert fetch(Upload("unit-upload"), "c.txt", client=client, settings=settings) == (
        b"uploaded bytes"
    )
    with pytest.raises(DownloadFailed, match="expired"):
        fetch(Upload("unit-upload-gone"), "c.txt", client=client, settings=settings)


def test_a_requests_source_is_its_upload_or_its_telegram_file() -> None:
    telegram = source_of(
        {"file_path": "documents/x.txt", "file_name": "x.txt", "src": "en", "tgt": "ru"}
    )
    assert telegram == TelegramFile("documents/x.txt")
    upload = source_of(
        {"file_path": "", "file_name": "x.txt", "src": "en", "tgt": "ru", "upload_key": "k"}
    )
    assert upload == Upload("k")


def test_state_counts_a_chunk_that_ran_twice_once(redis_server: RedisServer) -> None:
    state = DocumentState(redis_server.client(), "unit-doc", 60)
    state.save_input(b"original", [["a", "b"], ["c"]])
    assert state.segments(1) == ["c"]
    assert state.save_output(0, ["A", "B"]) == (2, 3)
    assert state.save_output(0, ["X", "Y"]) == (2, 3)  # a duplicate changes nothing
    assert not state.translated(1)
    assert state.outputs(2) == [["A", "B"], None]
    assert state.save_output(1, {"error": "internal"}) == (3, 3)
    key = state.finish(b"translated")
    assert key == document_key("unit-doc", "result")
    assert state.client.get(key) == b"translated"
    assert not state.client.exists(state.key("input"))
