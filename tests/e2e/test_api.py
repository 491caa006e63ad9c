"""The HTTP API end to end: the real `python -m api` process over HTTP, the session's
real worker and redis-server, the tiny models."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import http.client
import json
import os
import re
import signal
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psutil
import pytest

from tasks.worker.metrics import BATCH_SIZE_KEY
from tests.support.api_proc import ApiProc, multipart
from tests.support.ops import json_lines
from tests.support.procs import Proc, free_port, python, wait_until
from tests.support.reference import reference
from tests.support.stack import RedisServer

pytestmark = pytest.mark.e2e


class Api:
    """The API process and a small HTTP client for it."""

    def __init__(self, proc: Proc, port: int) -> None:
        self.proc, self.base = proc, f"http://127.0.0.1:{port}"

    def call(
        self, method: str, path: str, body: Any = None, *, form: bool = False
    ) -> tuple[int, Any]:
        data, headers = None, {}
        if body is not None and form:
            data = urllib.parse.urlencode(body, doseq=True).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif body is not None:
            data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
        request = urllib.request.Request(self.base + path, data, headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=150) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    def up(self) -> bool:
        try:
            return self.call("GET", "/health")[0] == 200
        except OSError:
            return False


@pytest.fixture(scope="module")
def api(stack_env: dict[str, str], worker: Proc, logdir: Path) -> Iterator[Api]:
    env = {k: v for k, v in stack_env.items() if k != "BOT_TOKEN"}  # the API needs no bot
    started = ApiProc("api", env, logdir, command=("-m", "cli", "api")).start()  # `tolmach api`
    served = Api(started.proc, started.port)
    yield served
    served.proc.stop()  # a test may have put a restarted API in its place
    started.stop()


def test_async_batch_into_two_targets_comes_back_in_order(api: Api, model_template: str) -> None:
    texts = ["Guten Morgen, mein Freund.", "Das Wetter ist heute schön."]
    status, accepted = api.call(
        "POST",
        "/api/translate_async",
        {"texts": texts, "source_lang": "de", "target_langs": ["en", "ru"]},
    )
    assert status == 202
    task_id = accepted["task_id"]
    status, done = api.call("GET", f"/api/result/{task_id}?wait=60")
    assert status == 200 and done["status"] == "completed", done
    assert done["result"]["source_lang"] == "de"
    english = [reference(model_template, t, "de", "en") for t in texts]
    assert done["result"]["translations"]["en"] == english
    via_english = [reference(model_template, t) for t in english]
    assert done["result"]["translations"]["ru"] == via_english
    # Kept: the same answer again, without waiting.
    assert api.call("GET", f"/api/result/{task_id}") == (200, done)


def test_a_result_is_pending_until_done_and_polling_sees_it_finish(api: Api) -> None:
    _, accepted = api.call(
        "POST", "/api/translate_async", {"texts": ["Hello there."], "target_langs": ["ru"]}
    )
    status, first = api.call("GET", f"/api/result/{accepted['task_id']}")
    assert status == 200 and first["status"] in ("pending", "progress", "completed")
    deadline = time.monotonic() + 60
    while first["status"] != "completed" and time.monotonic() < deadline:
        time.sleep(0.2)
        _, first = api.call("GET", f"/api/result/{accepted['task_id']}")
    assert first["status"] == "completed" and first["result"]["source_lang"] == "en"


def test_unknown_task_is_404(api: Api) -> None:
    assert api.call("GET", "/api/result/no-such-task")[0] == 404


def test_unknown_language_is_400_with_the_close_match(api: Api) -> None:
    status, body = api.call(
        "POST", "/api/translate_async", {"texts": ["Hi"], "target_langs": ["englsh"]}
    )
    assert status == 400 and "englsh" in body["detail"] and "english" in body["detail"]


def test_missing_fields_are_422_naming_the_field(api: Api) -> None:
    status, body = api.call("POST", "/api/translate_async", {"texts": ["Hi"]})
    assert status == 422 and "target_langs" in json.dumps(body)


def test_a_pair_the_deployment_lacks_is_refused_before_queueing(api: Api) -> None:
    # The workers' catalog says what is served: no job is made to fail later.
    status, body = api.call(
        "POST",
        "/api/translate_async",
        {"texts": ["Bonjour"], "source_lang": "fr", "target_langs": ["ja"]},
    )
    assert status == 400 and "does not translate into ja" in body["detail"], body


def test_libretranslate_translate_json_and_form(api: Api, model_template: str) -> None:
    text = "Good morning, my friend."
    expected = reference(model_template, text)
    body = {"q": text, "source": "en", "target": "ru"}
    assert api.call("POST", "/translate", body) == (200, {"translatedText": expected})
    assert api.call("POST", "/translate", body, form=True) == (200, {"translatedText": expected})


def test_the_same_call_sent_again_while_out_waits_for_the_first(
    api: Api, worker: Proc, redis_server: RedisServer, model_template: str
) -> None:
    # A client that gave up waiting sends the same call again (DeepL's SDKs after 10 s,
    # five times): it joins the job still out instead of queueing the work once more.
    # The worker is paused, so the first is still out when the second comes.
    text = "A sentence sent twice while the first is still out."
    body = {"q": text, "source": "en", "target": "ru"}
    client = redis_server.client()
    before = set(client.keys("tolmach:api:reply:*"))

    def queued() -> int:
        return len(set(client.keys("tolmach:api:reply:*")) - before)

    assert worker.popen is not None
    os.killpg(worker.popen.pid, signal.SIGSTOP)
    paused = True
    try:
        with ThreadPoolExecutor(2) as pool:
            first = pool.submit(api.call, "POST", "/translate", body)
            wait_until(lambda: queued() == 1, 30, "the first call queued")
            second = pool.submit(api.call, "POST", "/translate", body)
            time.sleep(1)
            assert queued() == 1
            os.killpg(worker.popen.pid, signal.SIGCONT)
            paused = False
            expected = (200, {"translatedText": reference(model_template, text)})
            assert first.result() == expected and second.result() == expected
    finally:
        if paused:
            os.killpg(worker.popen.pid, signal.SIGCONT)


def test_libretranslate_batch_and_auto_detection(api: Api, model_template: str) -> None:
    texts = ["Good morning, my friend.", "The weather is really nice today."]
    status, body = api.call("POST", "/translate", {"q": texts, "source": "auto", "target": "ru"})
    assert status == 200, body
    assert body["translatedText"] == [reference(model_template, t) for t in texts]
    assert [d["language"] for d in body["detectedLanguage"]] == ["en", "en"]


def test_a_full_batch_reaches_the_workers_whole(
    api: Api, model_template: str, redis_server: RedisServer
) -> None:
    # The API's largest batch (API_BATCH_LIMIT, 64 texts) into an idle worker: its parts
    # are queued together, so the worker sees the burst and its two children split it
    # (a few model calls). Queued one after another, each part found the worker idle with
    # nothing behind it and was translated alone, a trickle of small batches.
    texts = [f"Batch sentence {i} is about the weather in the city." for i in range(64)]
    batches = redis_server.client()
    before = float(batches.hget(BATCH_SIZE_KEY, "count") or 0)
    status, body = api.call("POST", "/translate", {"q": texts, "source": "en", "target": "ru"})
    calls = float(batches.hget(BATCH_SIZE_KEY, "count") or 0) - before
    assert status == 200, body
    assert body["translatedText"] == reference(model_template, texts)
    assert calls <= 4, f"64 texts took {calls:.0f} model calls"


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"source": "en", "target": "ru"}, "missing q parameter"),
        ({"q": "", "source": "en", "target": "ru"}, "missing q parameter"),
        ({"q": "Hi", "target": "ru"}, "missing source parameter"),
        ({"q": "Hi", "source": "en"}, "missing target parameter"),
        ({"q": "Hi", "source": "en", "target": "xyzzy"}, "xyzzy is not supported"),
        ({"q": "a" * 5001, "source": "en", "target": "ru"}, "(5001) exceeds text limit (5000)"),
        ({"q": ["a"] * 65, "source": "en", "target": "ru"}, "(65) exceeds batch limit (64)"),
        ({"q": "Hi", "source": "en", "target": "ru", "alternatives": "x"}, "not a number"),
    ],
)
def test_libretranslate_errors_are_its_400s(api: Api, body: dict[str, str], words: str) -> None:
    status, answer = api.call("POST", "/translate", body)
    assert status == 400 and words in answer["error"], answer


def test_events_stream_pushes_until_the_one_final_event(api: Api, model_template: str) -> None:
    text = "Good morning, dear friends!"
    _, accepted = api.call(
        "POST",
        "/api/translate_async",
        {"texts": [text], "source_lang": "en", "target_langs": ["ru"]},
    )
    url = f"{api.base}/api/result/{accepted['task_id']}/events"
    events = []
    with urllib.request.urlopen(url, timeout=60) as stream:
        assert stream.headers["Content-Type"].startswith("text/event-stream")
        for line in stream:  # ends when the server closes the stream
            if line.startswith(b"data: "):
                events.append(json.loads(line[6:]))
    assert [e["status"] for e in events][-1] == "completed"
    assert all(e["status"] in ("pending", "progress") for e in events[:-1])
    assert events[-1]["result"]["translations"]["ru"] == [reference(model_template, text)]
    # A finished task's stream sends its final event at once, and only that.
    with urllib.request.urlopen(url, timeout=10) as stream:
        again = [json.loads(line[6:]) for line in stream if line.startswith(b"data: ")]
    assert again == [events[-1]]


def upload(api: Api, path: str, fields: dict[str, str], name: str, data: bytes) -> tuple[int, Any]:
    body, content_type = multipart(fields, name, data)
    request = urllib.request.Request(
        api.base + path, body, {"Content-Type": content_type}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=150) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


LINES = ["Hello, world", "", "How are you today?"]


def test_a_document_round_trip_with_progress_and_a_download(api: Api, model_template: str) -> None:
    data = "\n".join(LINES).encode()
    status, accepted = upload(
        api, "/api/translate_file_async", {"source_lang": "en", "target_lang": "ru"}, "a.txt", data
    )
    assert status == 202, accepted
    _, done = api.call("GET", f"/api/result/{accepted['task_id']}?wait=60")
    assert done["status"] == "completed", done
    assert done["result"]["file_name"] == "a.ru.txt"
    with urllib.request.urlopen(api.base + done["result"]["download_url"], timeout=10) as got:
        translated = got.read().decode().split("\n")
    expected = [reference(model_template, line) if line else "" for line in LINES]
    assert translated == expected


@pytest.mark.parametrize(
    ("name", "data", "words"),
    [
        ("a.exe", b"MZ\x90\x00", "unknown file format"),
        ("empty.txt", b"", "is empty"),
    ],
)
def test_files_refused_before_queueing_name_the_problem(
    api: Api, name: str, data: bytes, words: str
) -> None:
    status, body = upload(
        api, "/api/translate_file_async", {"source_lang": "en", "target_lang": "ru"}, name, data
    )
    assert status == 400 and words in body["detail"], body


def test_a_binary_file_fails_with_its_reason(api: Api) -> None:
    _, accepted = upload(
        api,
        "/api/translate_file_async",
        {"source_lang": "en", "target_lang": "ru"},
        "binary.txt",
        bytes(range(256)) * 8,
    )
    _, done = api.call("GET", f"/api/result/{accepted['task_id']}?wait=60")
    assert done["status"] == "failed" and done["error"]["code"] == "binary", done


def test_a_body_over_the_limit_is_413(api: Api) -> None:
    """Refused from its Content-Length, before a byte of it is read."""
    host, port = api.base.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    connection.putrequest("POST", "/translate_file")
    connection.putheader("Content-Type", "multipart/form-data; boundary=x")
    # Over API_UPLOAD_MAX_BYTES (50 MB by default) and the form's envelope (1 MB).
    connection.putheader("Content-Length", str(52 * 1024 * 1024))
    connection.endheaders()
    response = connection.getresponse()
    assert response.status == 413 and "limit" in json.loads(response.read())["error"]
    connection.close()


def test_libretranslatepy_works_unchanged(api: Api, model_template: str) -> None:
    from libretranslatepy import LibreTranslateAPI

    client = LibreTranslateAPI(api.base)  # it adds the trailing slash itself
    text = "Good morning, my friend."
    assert client.translate(text, "en", "ru") == reference(model_template, text)
    [best, *_] = client.detect("Good morning, my friend, how are you today?")
    assert best["language"] == "en" and 0 < best["confidence"] <= 100
    served = {entry["code"]: entry for entry in client.languages()}
    assert {"en", "ru", "de"} <= set(served) and "ru" in served["de"]["targets"]


def test_libretranslate_aio_works_unchanged(api: Api, model_template: str, tmp_path: Path) -> None:
    from libretranslate_aio import AsyncLibreTranslate, LibreTranslate

    client = LibreTranslate(api.base)
    text = "The weather is really nice today."
    single = client.translate(text, "en", "ru")
    assert single.translated_text == reference(model_template, text)
    texts = ["Hello, world", "How are you today?"]
    batch = client.translate(texts, "auto", "ru")
    assert batch.translated_text == [reference(model_template, t) for t in texts]
    assert client.health() is True
    from libretranslate_aio import ForbiddenError

    with pytest.raises(ForbiddenError, match="Suggestions are disabled"):
        client.suggest("Hello", "Привет", "en", "ru")
    settings = client.frontend_settings()
    assert settings.char_limit > 0 and ".txt" in (settings.supported_files_format or [])
    assert {lang.code for lang in client.languages()} >= {"en", "ru"}

    document = tmp_path / "notes.txt"
    document.write_text("\n".join(LINES))

    async def file_round_trip() -> str:
        async with AsyncLibreTranslate(api.base) as aclient:
            done = await aclient.translate_file(document, "en", "ru")
            return done.translated_file_url

    url = asyncio.run(file_round_trip())
    with urllib.request.urlopen(url, timeout=10) as got:
        translated = got.read().decode().split("\n")
    assert translated == [reference(model_template, line) if line else "" for line in LINES]


@pytest.fixture(scope="module")
def guarded(stack_env: dict[str, str], worker: Proc, logdir: Path) -> Iterator[Api]:
    """An API that requires keys, with a small rate (the knob under test)."""
    port = free_port()
    env = {
        **stack_env,
        "API_PORT": str(port),
        "API_KEYS": "required",
        "API_RATE_PER_MINUTE": "6",
        "API_RATE_BURST": "2",
        "API_CORS_ORIGINS": "https://example.org",
        "LOG_FORMAT": "json",
    }
    started = ApiProc("api-guarded", env, logdir, port).start()
    yield Api(started.proc, port)
    started.stop()


def keys(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        python("-m", "cli", "keys", *args), env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_api_keys_are_required_and_rate_limited(
    guarded: Api, stack_env: dict[str, str], redis_server: RedisServer
) -> None:
    from libretranslate_aio import ForbiddenError, LibreTranslate, RateLimitError

    with pytest.raises(ForbiddenError, match="operator to get an API key"):
        LibreTranslate(guarded.base).translate("Hello", "en", "ru")
    with pytest.raises(ForbiddenError, match="Invalid API key"):
        LibreTranslate(guarded.base, api_key="not-a-key").translate("Hello", "en", "ru")
    # A key that is not valid text is no key (it failed the lookup with a 500).
    raw = b'{"q": "Hi", "source": "en", "target": "ru", "api_key": "\\ud800"}'
    request = urllib.request.Request(
        guarded.base + "/translate", raw, {"Content-Type": "application/json"}, method="POST"
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 403 and b"Invalid API key" in refused.value.read()
    key = keys(stack_env, "add", "--per-minute", "6")
    # Listed by id, stored as a digest: nothing in Redis or the listing works as a key.
    listed = keys(stack_env, "list")
    assert key not in listed and hashlib.sha256(key.encode()).hexdigest()[:12] in listed
    stored = redis_server.client().hgetall("tolmach:api:keys")
    assert stored and key.encode() not in b"".join(k + v for k, v in stored.items())
    client = LibreTranslate(guarded.base, api_key=key)
    assert client.translate("Hello", "en", "ru").translated_text  # the burst holds two
    assert client.translate("Hello", "en", "ru").translated_text
    with pytest.raises(RateLimitError):
        client.translate("Hello", "en", "ru")
    # A key in the query string is never written to the access log.
    status, _ = guarded.call("GET", f"/api/result/{'0' * 32}?api_key={key}")
    assert status in (404, 429)
    assert key not in guarded.proc.log.read_text() and "api_key=***" in guarded.proc.log.read_text()
    keys(stack_env, "remove", key)
    with pytest.raises(ForbiddenError, match="Invalid API key"):
        client.translate("Hello", "en", "ru")


def test_a_task_accepted_before_an_api_restart_is_still_served(
    api: Api, model_template: str, stack_env: dict[str, str], logdir: Path
) -> None:
    texts = [f"Good morning, my friend number {i}." for i in range(40)]
    _, accepted = api.call(
        "POST",
        "/api/translate_async",
        {"texts": texts, "source_lang": "en", "target_langs": ["ru"]},
    )
    api.proc.stop(signal.SIGKILL)  # no goodbye: the results arrive while no API listens
    port = int(api.base.rsplit(":", 1)[1])
    api.proc = ApiProc("api-restarted", stack_env, logdir, port).start().proc
    _, done = api.call("GET", f"/api/result/{accepted['task_id']}?wait=60")
    assert done["status"] == "completed", done
    assert done["result"]["translations"]["ru"] == [reference(model_template, t) for t in texts]


def test_tolmach_api_stopped_alone_stops_its_server(
    stack_env: dict[str, str], logdir: Path
) -> None:
    env = {k: v for k, v in stack_env.items() if k != "BOT_TOKEN"}
    launched = ApiProc("api-launcher", env, logdir, command=("-m", "cli", "api")).start()
    assert launched.proc.popen is not None
    launcher = psutil.Process(launched.proc.popen.pid)
    servers = launcher.children()
    assert servers, "`tolmach api` runs the server as its child"
    # SIGTERM to the launcher alone, as `kill PID` or a supervisor stopping its main
    # process sends it: the server must not live on, holding the port, without it.
    launcher.send_signal(signal.SIGTERM)
    try:
        # Stopped cleanly: 0, or 128 + SIGTERM as a shell reports a service it stopped.
        assert launched.proc.popen.wait(30) in (0, 128 + signal.SIGTERM)
        _, alive = psutil.wait_procs(servers, timeout=30)
        assert not alive, f"the server outlived its launcher: {alive}"
        assert not launched.up()
    finally:
        for server in servers:
            with contextlib.suppress(psutil.NoSuchProcess):
                server.kill()


def test_libretranslate_html_keeps_the_tags(api: Api) -> None:
    body = {"q": "<p>Hello, <b>world</b></p>", "source": "en", "target": "ru", "format": "html"}
    status, answer = api.call("POST", "/translate", body)
    assert status == 200, answer
    out = answer["translatedText"]
    assert out.startswith("<p>") and "<b>" in out and out.endswith("</b></p>")
    assert "Hello" not in out  # the text between the tags was translated
    status, answer = api.call("POST", "/translate", {**body, "format": "rtf"})
    assert status == 400 and answer["error"] == "rtf format is not supported"


def test_docs_metrics_cors_and_json_logs(api: Api, guarded: Api) -> None:
    assert "/api/translate_async" in api.call("GET", "/openapi.json")[1]["paths"]
    with urllib.request.urlopen(api.base + "/docs", timeout=10) as page:
        assert b"swagger" in page.read().lower()
    with urllib.request.urlopen(api.base + "/metrics", timeout=10) as scrape:
        metrics = scrape.read().decode()
    assert re.search(r'tolmach_api_requests_total{route="/translate",status="\d+"}', metrics)
    assert "tolmach_api_latency_seconds_bucket" in metrics
    request = urllib.request.Request(
        guarded.base + "/health", headers={"Origin": "https://example.org"}
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.headers["Access-Control-Allow-Origin"] == "https://example.org"
    lines = json_lines(guarded.proc.log)
    assert lines and {"time", "level", "logger", "message"} <= set(lines[0])
