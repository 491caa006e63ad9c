"""Under API_KEYS=required a job answers only the key (or Mini App user) that made it,
and a caller without a key is refused before its body is read. The real API process,
the session's worker and redis-server."""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.telegram import sign
from tests.support.api_proc import ApiProc, api_env, multipart
from tests.support.procs import Proc, python
from tests.support.stack import TOKEN, RedisServer

pytestmark = pytest.mark.e2e
JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def api(stack_env: dict[str, str], worker: Proc, logdir: Path) -> Iterator[ApiProc]:
    env = api_env(stack_env, API_KEYS="required", BOT_TOKEN=TOKEN)  # the setting under test
    proc = ApiProc("api-owners", env, logdir).start()
    yield proc
    proc.stop()


def _key(stack_env: dict[str, str]) -> str:
    done = subprocess.run(
        python("-m", "cli", "keys", "add"),
        env=stack_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def _user(user_id: int) -> str:
    user = json.dumps({"id": user_id, "first_name": "U", "language_code": "en"})
    return sign({"auth_date": str(int(time.time())), "user": user}, TOKEN)


def test_a_keyless_call_is_refused_before_its_body_is_read(api: ApiProc) -> None:
    sock = socket.create_connection(("127.0.0.1", api.port), timeout=10)
    head = "POST /api/translate_async HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    sock.sendall(f"{head}Content-Length: {20 * 1024 * 1024}\r\n\r\n".encode())
    # No byte of the body was sent; the answer closes the connection (its head and body
    # may come in separate segments).
    chunks = []
    while chunk := sock.recv(4096):
        chunks.append(chunk)
    sock.close()
    answer = b"".join(chunks).decode()
    assert answer.startswith("HTTP/1.1 403") and "get an API key" in answer


def test_a_text_job_answers_only_its_key(api: ApiProc, stack_env: dict[str, str]) -> None:
    mine, other = _key(stack_env), _key(stack_env)
    body = json.dumps({"texts": ["Good night."], "source_lang": "en", "target_langs": ["ru"]})
    status, _, accepted = api.request(
        "POST", "/api/translate_async", body.encode(), {**JSON, "X-API-Key": mine}
    )
    assert status == 202, accepted
    job = accepted["task_id"]
    for path, method in [
        (f"/api/result/{job}", "GET"),
        (f"/api/result/{job}/events", "GET"),
        (f"/api/result/{job}/cancel", "POST"),
        (f"/api/file/{job}", "GET"),
    ]:
        assert api.request(method, path, None, {"X-API-Key": other})[0] == 404, path
        assert api.request(method, path)[0] == 403, path
    status, _, done = api.request(
        "GET", f"/api/result/{job}?wait=60&api_key={urllib.parse.quote(mine)}"
    )
    assert status == 200 and done["status"] == "completed", done


def test_a_document_answers_only_its_user_and_goes_after_download(
    api: ApiProc, redis_server: RedisServer
) -> None:
    body, content_type = multipart(
        {"source_lang": "en", "target_lang": "ru"}, "a.txt", b"Hello, world"
    )
    status, _, accepted = api.request(
        "POST",
        "/api/translate_file_async",
        body,
        {"Content-Type": content_type, "X-Telegram-Init-Data": _user(61)},
    )
    assert status == 202, accepted
    job = accepted["task_id"]
    stranger = {"X-Telegram-Init-Data": _user(62)}
    assert api.request("GET", f"/api/result/{job}", None, stranger)[0] == 404
    # The page's stream and download link carry initData in the query.
    signed = urllib.parse.quote(_user(61))
    status, _, done = api.request("GET", f"/api/result/{job}?wait=60&init_data={signed}")
    assert status == 200 and done["status"] == "completed", done
    assert api.request("GET", f"/api/file/{job}", None, stranger)[0] == 404
    status, _, data = api.request("GET", f"/api/file/{job}?init_data={signed}")
    assert status == 200 and data, data
    # Fetched: kept a minute for a second fetch (or "Send to chat"), not API_FILE_TTL.
    assert 0 < redis_server.client().ttl(f"tolmach:doc:{job}:result") <= 60


def test_libretranslate_file_urls_stay_bare_gets(api: ApiProc, stack_env: dict[str, str]) -> None:
    key = _key(stack_env)
    body, content_type = multipart(
        {"source": "en", "target": "ru", "api_key": key}, "b.txt", b"Good morning"
    )
    status, _, answer = api.request("POST", "/translate_file", body, {"Content-Type": content_type})
    assert status == 200, answer
    url = urllib.parse.urlsplit(answer["translatedFileUrl"])
    status, _, data = api.request("GET", url.path)  # as its clients fetch it: no key
    assert status == 200 and data
