"""No request hurts another: the real API process at its default settings, the session's
real worker and redis-server, strangers' traffic mixed as it would be on a public server."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.support.api_proc import ApiProc, api_env
from tests.support.emulator import BotApiEmulator
from tests.support.procs import Proc
from tests.support.reference import reference
from tests.support.stack import BotHandle, RedisServer

pytestmark = pytest.mark.e2e
MB = 1024 * 1024


@pytest.fixture(scope="module")
def api(stack_env: dict[str, str], worker: Proc, logdir: Path) -> Iterator[ApiProc]:
    proc = ApiProc("api-hardening", api_env(stack_env), logdir).start()
    yield proc
    proc.stop()


def _translate(api: ApiProc, q: str) -> tuple[int, dict[str, object]]:
    # The raw JSON escape goes over the wire as LibreTranslate clients send it.
    body = '{"q": ' + q + ', "source": "en", "target": "ru"}'
    status, _, answer = api.request(
        "POST", "/translate", body.encode(), {"Content-Type": "application/json"}
    )
    return status, answer


def test_a_lone_surrogate_fails_alone_in_a_burst(api: ApiProc, model_template: str) -> None:
    ordinary = [f"Ordinary sentence number {i} for the burst." for i in range(37)]
    bad = ['"Hello \\ud800 world."', '"\\udfff"', '"Nul \\u0000 inside."']
    calls = [json.dumps(text) for text in ordinary] + bad
    with ThreadPoolExecutor(len(calls)) as pool:
        answers = list(pool.map(lambda q: _translate(api, q), calls))
    expected = reference(model_template, ordinary)
    for (status, answer), want in zip(answers[:37], expected, strict=True):
        assert status == 200 and answer["translatedText"] == want, answer
    for status, answer in answers[37:]:
        assert status == 400, answer
        assert "surrogate" in str(answer["error"]) or "control character" in str(answer["error"])


@pytest.mark.parametrize(
    ("path", "body", "shape"),
    [
        ("/v2/translate", '{"text": ["Hi"], "target_lang": "\\ud800"}', {"message"}),
        (
            "/v2/translate",
            '{"text": ["Hi"], "source_lang": "\\udfff", "target_lang": "RU"}',
            {"message"},
        ),
        ("/translate", '{"text": "Hi", "target_lang": "\\ud800"}', {"code", "message"}),
    ],
)
def test_a_lone_surrogate_in_a_deepl_language_is_a_400_in_its_dialect(
    api: ApiProc, path: str, body: str, shape: set[str]
) -> None:
    # The error quotes the language as sent: it used to fail rendering (500).
    status, _, answer = api.request(
        "POST", path, body.encode(), {"Content-Type": "application/json"}
    )
    assert status == 400 and set(answer) == shape, (status, answer)


def test_a_file_name_with_a_lone_surrogate_is_translated_and_downloaded(api: ApiProc) -> None:
    # A multipart part may declare a charset that decodes "\ud800" to a lone surrogate.
    body = (
        b'--bnd\r\nContent-Disposition: form-data; name="target_lang"\r\n\r\nru\r\n'
        b'--bnd\r\nContent-Disposition: form-data; name="source_lang"\r\n\r\nen\r\n'
        b'--bnd\r\nContent-Disposition: form-data; name="file"; filename="\\ud800.txt"\r\n'
        b"Content-Type: text/plain\r\n\r\nGood morning.\r\n--bnd--\r\n"
    )
    content_type = "multipart/form-data; boundary=bnd; charset=unicode_escape"
    status, _, accepted = api.request(
        "POST", "/api/translate_file_async", body, {"Content-Type": content_type}
    )
    assert status == 202, (status, accepted)
    status, _, done = api.request("GET", f"/api/result/{accepted['task_id']}?wait=60")
    assert status == 200 and done["status"] == "completed", done
    status, headers, _ = api.request("GET", done["result"]["download_url"])
    assert status == 200 and "attachment" in headers["content-disposition"], (status, headers)


@pytest.mark.parametrize("path", ["/api/translate_file_async", "/translate_file", "/v2/document"])
def test_an_upload_of_many_files_is_refused_before_it_is_held(api: ApiProc, path: str) -> None:
    # One document a request: a body of 200 small "files" (each would be kept in memory)
    # is a 400, not read into RAM part by part.
    fields = b"".join(
        b'--bnd\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n' % pair
        for pair in ((b"target_lang", b"RU"), (b"target", b"ru"), (b"source", b"en"))
    )
    files = b"".join(
        b'--bnd\r\nContent-Disposition: form-data; name="file"; filename="f%d.txt"\r\n'
        b"Content-Type: text/plain\r\n\r\n%s\r\n" % (i, b"x" * 1000)
        for i in range(200)
    )
    body = fields + files + b"--bnd--\r\n"
    headers = {"Content-Type": "multipart/form-data; boundary=bnd"}
    status, _, answer = api.request("POST", path, body, headers)
    assert status == 400 and "files" in json.dumps(answer).lower(), (status, answer)


def _api_records(redis_server: RedisServer) -> set[bytes]:
    # Keys, not a count: an earlier test's answered requests may still be dropping theirs.
    return set(redis_server.client().keys("tolmach:api:reply:*"))


def test_one_request_cannot_fan_out(api: ApiProc, redis_server: RedisServer) -> None:
    before = _api_records(redis_server)
    targets = [a + b for a in "abcdefghijklmnopqrstuvwxyz" for b in "abcdefghijklmnopqrstuvwxyz"]
    body = {"texts": [f"Text {i}" for i in range(64)], "target_langs": targets}
    started = time.monotonic()
    status, answer = api.post_json("/api/translate_async", body)
    assert status == 400 and "at most 10 targets" in answer["detail"], answer
    assert time.monotonic() - started < 5
    # Served languages only, and the work budget: each a 400 before anything is queued.
    status, answer = api.post_json(
        "/api/translate_async", {"texts": ["Hi"], "target_langs": ["ru", "de"]}
    )
    assert status == 400 and "does not translate into de" in answer["detail"], answer
    status, answer = api.post_json(
        "/api/translate_async", {"texts": ["x" * 4000] * 26, "target_langs": ["ru"]}
    )
    assert status == 400 and "over the limit of 100000" in answer["detail"], answer
    assert not _api_records(redis_server) - before, "a refused request left a record"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/translate", '{"q": ' + "[" * 100_000 + "]" * 100_000 + ', "target": "ru"}'),
        ("/translate", '{"q": "Hi", "source": "en", "target": "ru"'),
        ("/translate", '["q", "source", "target"]'),
        ("/translate", '{"q": [1, 2], "source": "en", "target": "ru"}'),
        ("/translate", '{"q": "Hi", "source": {"a": 1}, "target": "ru"}'),
        ("/detect", '{"q": [1, 2]}'),
        ("/detect", '{"q": {"nested": ["x"]}}'),
        ("/api/translate_async", '{"texts": ' + "[" * 50_000 + "]" * 50_000 + "}"),
        ("/api/translate_async", '{"texts": "Hi", "target_langs": "ru"}'),
        ("/api/translate_async", "\x00\xff not json"),
    ],
)
def test_malformed_bodies_get_400(api: ApiProc, path: str, body: str) -> None:
    status, _, answer = api.request(
        "POST", path, body.encode("utf-8", "surrogateescape"), {"Content-Type": "application/json"}
    )
    assert status in (400, 422), (status, answer)
    assert isinstance(answer, dict) and (answer.get("error") or answer.get("detail"))
    assert api.proc.alive()


def _send_body(port: int, path: str, size: int, chunked: bool) -> int:
    """Send a `size`-byte JSON body (declared, or chunked) and return the status."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=60)
    head = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    head += "Transfer-Encoding: chunked\r\n\r\n" if chunked else f"Content-Length: {size}\r\n\r\n"
    piece = b'{"q": "' + b"a" * (MB - 7)
    try:
        sock.sendall(head.encode())
        for _ in range(size // MB):
            data = (b"%x\r\n" % len(piece) + piece + b"\r\n") if chunked else piece
            sock.sendall(data)
    except OSError:
        pass  # the server answered and closed: the rest was never read
    answer = sock.recv(4096).decode(errors="replace")
    sock.close()
    return int(answer.split()[1])


def test_large_bodies_are_refused_while_read(api: ApiProc) -> None:
    peak = api.rss_peak_kb()
    sizes = [(path, chunked) for path in ("/translate", "/detect") for chunked in (False, True)]
    with ThreadPoolExecutor(4) as pool:
        statuses = list(pool.map(lambda p: _send_body(api.port, p[0], 20 * MB, p[1]), sizes))
    assert statuses == [413] * 4
    grew = (api.rss_peak_kb() - peak) / 1024
    assert grew < 150, f"peak RSS grew {grew:.0f} MB"
    assert api.request("GET", "/health")[0] == 200


def test_200_concurrent_requests_from_one_address_are_all_answered(api: ApiProc) -> None:
    texts = [f"Concurrent request {i} from one client." for i in range(200)]
    with ThreadPoolExecutor(200) as pool:
        answers = list(
            pool.map(
                lambda t: api.post_json("/translate", {"q": t, "source": "en", "target": "ru"}),
                texts,
            )
        )
    assert [status for status, _ in answers] == [200] * 200, [a for a in answers if a[0] != 200][:3]


def test_a_bulk_client_does_not_starve_telegram_users(
    api: ApiProc, bot: BotHandle, emulator: BotApiEmulator
) -> None:
    bulk: list[int] = []

    def flood(worker: int) -> None:
        for i in range(600 // 24):
            text = f"Bulk client line {worker}-{i} of a long subtitle file."
            bulk.append(api.post_json("/translate", {"q": text, "source": "en", "target": "ru"})[0])

    with ThreadPoolExecutor(24) as pool:
        running = [pool.submit(flood, w) for w in range(24)]
        time.sleep(1.0)  # the flood is under way
        pushed = {}
        for user in range(7700, 7705):
            emulator.push_message(user, f"/translate en>ru User {user} says hello.")
            pushed[user] = time.monotonic()
        waited: dict[int, float] = {}
        while len(waited) < len(pushed) and time.monotonic() - min(pushed.values()) < 30:
            for user, at in pushed.items():
                if user not in waited and emulator.sent_to(user):
                    waited[user] = time.monotonic() - at
            time.sleep(0.05)
        for future in running:
            future.result()
    assert len(waited) == 5 and max(waited.values()) < 10, waited
    assert len(bulk) == 600 and set(bulk) == {200}
