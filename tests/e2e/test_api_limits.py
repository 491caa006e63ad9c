"""The API's limits at their defaults, on a redis-server of this module's own where no
worker runs (so work stays queued and files stay held): text length, the queue ceiling,
files in Redis, open waits per client, trusted proxies, the exposure warning."""

from __future__ import annotations

import shutil
import time
import urllib.parse
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from api.files import LEDGER
from config import Settings
from tests.support.api_proc import ApiProc, api_env, multipart
from tests.support.stack import RedisServer, start_redis

pytestmark = pytest.mark.e2e
MB = 1024 * 1024


@pytest.fixture(scope="module")
def idle_redis(tmp_path_factory: pytest.TempPathFactory, logdir: Path) -> Iterator[RedisServer]:
    """A redis-server no worker consumes from."""
    assert shutil.which("redis-server")
    server = start_redis("idle-redis", tmp_path_factory.mktemp("idle-redis"), logdir)
    yield server
    server.proc.stop()


def _start(
    idle: RedisServer, stack_env: dict[str, str], logdir: Path, name: str, **env: str
) -> ApiProc:
    idle.client().flushall()
    return ApiProc(name, api_env(stack_env, REDIS_URL=idle.url(), **env), logdir).start()


@pytest.fixture(scope="module")
def module_api(
    idle_redis: RedisServer, stack_env: dict[str, str], logdir: Path
) -> Iterator[ApiProc]:
    proc = _start(idle_redis, stack_env, logdir, "api-limits")
    yield proc
    proc.stop()


@pytest.fixture
def api(module_api: ApiProc, idle_redis: RedisServer) -> ApiProc:
    """The API at its defaults, over an empty Redis (nothing held from other tests)."""
    idle_redis.client().flushall()
    return module_api


def _translate_async(api: ApiProc, text: str, **headers: str) -> tuple[int, dict[str, str], object]:
    body = f'{{"texts": ["{text}"], "source_lang": "en", "target_langs": ["ru"]}}'.encode()
    return api.request(
        "POST", "/api/translate_async", body, {"Content-Type": "application/json", **headers}
    )


def test_one_text_length_limit_everywhere(api: ApiProc) -> None:
    # MAX_TEXT_CHARS (4096) is what workers take: the API accepts no more.
    assert _translate_async(api, "a" * 4096)[0] == 202
    status, _, answer = _translate_async(api, "a" * 4097)
    assert status == 400 and "(4097) exceeds text limit (4096)" in answer["detail"], answer
    assert api.request("GET", "/frontend/settings")[2]["charLimit"] == 4096


def test_the_queue_ceiling_answers_503_with_retry_after(
    idle_redis: RedisServer, stack_env: dict[str, str], logdir: Path
) -> None:
    api = _start(idle_redis, stack_env, logdir, "api-ceiling", MAX_QUEUE_DEPTH="3")
    try:
        assert [_translate_async(api, f"Text {i}")[0] for i in range(3)] == [202] * 3
        status, headers, answer = _translate_async(api, "One more")
        assert status == 503 and headers["retry-after"] == "30", answer
        assert "busy" in answer["detail"]
    finally:
        api.stop()


def _upload(api: ApiProc, size: int) -> tuple[int, dict[str, str], object]:
    body, content_type = multipart(
        {"target_lang": "ru", "source_lang": "en"}, "big.txt", b"a" * size
    )
    return api.request("POST", "/api/translate_file_async", body, {"Content-Type": content_type})


def test_an_upload_has_its_own_limit_not_telegrams(api: ApiProc, idle_redis: RedisServer) -> None:
    """At the defaults an upload may pass Telegram's 20 MB download limit (the bot's):
    it is held for a worker up to API_UPLOAD_MAX_BYTES (50 MB), and refused above."""
    assert api.request("GET", "/api/web/config")[2]["max_file_bytes"] == 50 * MB
    status, _, accepted = _upload(api, 30 * MB)
    assert status == 202, accepted
    held = idle_redis.client().hvals(LEDGER)  # the upload waits in Redis for a worker
    assert [int(entry.split(b"|")[0]) for entry in held] == [30 * MB], held
    status, _, answer = _upload(api, 50 * MB + 1)  # within the body's envelope: the route
    assert status == 413 and "over the size limit (50 MB)" in answer["detail"], answer


def test_no_upload_is_larger_than_the_files_budget() -> None:
    """An upload over API_FILES_MAX_BYTES could never be admitted: the smaller limit wins."""
    assert Settings().api_upload_limit == 50 * MB
    assert Settings(api_files_max_bytes=40 * MB).api_upload_limit == 40 * MB
    assert Settings(api_upload_max_bytes=300 * MB).api_upload_limit == 256 * MB


def test_an_upload_flood_keeps_redis_within_the_files_budget(
    api: ApiProc, idle_redis: RedisServer
) -> None:
    with ThreadPoolExecutor(30) as pool:
        answers = list(pool.map(lambda _: _upload(api, 19 * MB), range(30)))
    statuses = sorted(status for status, _, _ in answers)
    # Four files in flight per client (API_FILES_PER_CLIENT); the rest told why.
    assert statuses == [202] * 4 + [429] * 26, statuses
    refused = next(answer for status, _, answer in answers if status == 429)
    assert "4 files in progress" in refused["detail"]
    peak = int(idle_redis.client().info("memory")["used_memory_peak"])
    # Within the budget (256 MB by default), and near what the four held files take
    # (Redis's reading buffers come on top while a file is being written).
    assert peak < min(256 * MB, 2 * 4 * 19 * MB), f"Redis peaked at {peak / MB:.0f} MB"


def test_the_files_budget_is_shared_by_all_clients(
    idle_redis: RedisServer, stack_env: dict[str, str], logdir: Path
) -> None:
    api = _start(idle_redis, stack_env, logdir, "api-files", API_FILES_MAX_BYTES=str(40 * MB))
    try:
        statuses = [_upload(api, 19 * MB)[0] for _ in range(3)]
        assert statuses == [202, 202, 503]
        status, _, answer = _upload(api, 1 * MB)  # what still fits is taken
        assert status == 202, answer
    finally:
        api.stop()


def test_open_waits_are_capped_per_client(api: ApiProc) -> None:
    status, _, accepted = _translate_async(api, "Never translated here")
    assert status == 202
    path = f"/api/result/{accepted['task_id']}?wait=8"
    with ThreadPoolExecutor(8) as pool:
        waits = [pool.submit(api.request, "GET", path) for _ in range(8)]
        time.sleep(1.5)  # all eight are waiting
        started = time.monotonic()
        status, _, answer = api.request("GET", path)
        assert status == 429 and time.monotonic() - started < 2, answer
        events = api.request("GET", f"/api/result/{accepted['task_id']}/events")
        assert events[0] == 429
        assert [w.result()[2]["status"] for w in waits] == ["pending"] * 8
    assert api.request("GET", path.replace("wait=8", "wait=0.1"))[0] == 200


def test_forwarded_for_counts_only_from_named_proxies(
    idle_redis: RedisServer, stack_env: dict[str, str], logdir: Path
) -> None:
    rate = {"API_RATE_PER_MINUTE": "6", "API_RATE_BURST": "2"}  # the knob under test
    plain = _start(idle_redis, stack_env, logdir, "api-xff", **rate)
    try:
        got = [
            _translate_async(plain, "Hi", **{"X-Forwarded-For": f"10.9.9.{i}"})[0] for i in range(3)
        ]
        assert got == [202, 202, 429]  # one client, whatever it claims
    finally:
        plain.stop()
    proxied = _start(
        idle_redis, stack_env, logdir, "api-xff-proxy", FORWARDED_ALLOW_IPS="127.0.0.1", **rate
    )
    try:
        got = [
            _translate_async(proxied, "Hi", **{"X-Forwarded-For": f"10.9.9.{i}"})[0]
            for i in range(3)
        ]
        assert got == [202, 202, 202]  # each client behind the proxy its own bucket
    finally:
        proxied.stop()


def test_an_exposed_api_without_keys_warns_once(
    idle_redis: RedisServer, stack_env: dict[str, str], logdir: Path, module_api: ApiProc
) -> None:
    api = _start(idle_redis, stack_env, logdir, "api-exposed", API_HOST="0.0.0.0")
    try:
        log = api.proc.log.read_text()
    finally:
        api.stop()
    assert log.count("warning: the HTTP API listens on 0.0.0.0 with API_KEYS=off") == 1
    assert "warning" not in module_api.proc.log.read_text()  # on 127.0.0.1: quiet


def test_deepl_errors_in_its_shape_for_a_document_not_ready_a_rate_and_a_body(
    idle_redis: RedisServer, stack_env: dict[str, str], logdir: Path
) -> None:
    rate = {"API_RATE_PER_MINUTE": "6", "API_RATE_BURST": "2"}  # the knob under test
    api = _start(idle_redis, stack_env, logdir, "api-deepl-errors", **rate)
    try:
        body, kind = multipart({"target_lang": "RU"}, "a.txt", b"Hello")
        status, _, made = api.request("POST", "/v2/document", body, {"Content-Type": kind})
        assert status == 200 and made["document_id"], made
        path = f"/v2/document/{made['document_id']}"
        key = urllib.parse.urlencode({"document_key": made["document_key"]}).encode()
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        status, _, state = api.request("POST", path, key, form)
        assert status == 200 and state["status"] == "queued", state  # no worker here
        status, _, answer = api.request("POST", path + "/result", key, form)
        assert (status, answer) == (503, {"message": "Document not ready."})
        assert _translate_async(api, "Hi")[0] == 202  # the rest of the burst
        text = urllib.parse.urlencode({"text": "Hi", "target_lang": "RU"}).encode()
        status, headers, answer = api.request("POST", "/v2/translate", text, form)
        assert status == 429 and "retry-after" in headers and answer["message"], answer
        big = b"text=" + b"a" * (2 * MB)
        status, _, answer = api.request("POST", "/v2/translate", big, form)
        assert status == 413 and "over this route's limit" in answer["message"], answer
    finally:
        api.stop()
