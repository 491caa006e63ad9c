"""The whole HTTP surface fuzzed with hypothesis against the real `tolmach api` process
(the session's redis-server, worker and tiny models): whatever a client sends, the API
answers within a bound, never with a 5xx but 503, every error is JSON with a message,
and the process lives on. Examples are derandomized, so CI sees the same inputs each run.

`test_known_crash` pins inputs that crashed the API (a 500 with a
traceback in its log) when they were found: they stay red until the API is fixed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support import fuzz_inputs as fi
from tests.support.fuzz_http import FuzzApi
from tests.support.procs import Proc

pytestmark = pytest.mark.e2e
FUZZ = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
POSTS = ["/translate", "/detect", "/translate_file", "/suggest", "/api/translate_async"]
POSTS += ["/api/translate_file_async", "/api/result/@doc/cancel", "/api/file/@doc/send"]
POSTS += ["/v2/translate", "/v2/document", "/v2/usage", "/v2/languages"]  # DeepL's dialect
GETS = ["/languages", "/frontend/settings", "/health", "/api/web/config", "/api/web/me"]
GETS += ["/", "/openapi.json", "/metrics", "/v2/usage", "/v2/languages", "/usage"]
JOB_ROUTES = ["GET /api/result/{}", "GET /api/result/{}/events", "POST /api/result/{}/cancel"]
JOB_ROUTES += ["GET /api/file/{}", "GET /download_file/{}", "POST /api/file/{}/send"]
JOB_ROUTES += ["POST /v2/document/{}", "POST /v2/document/{}/result"]


@pytest.fixture(scope="module")
def fuzz(stack_env: dict[str, str], worker: Proc, logdir: Path) -> Iterator[FuzzApi]:
    api = FuzzApi(stack_env, logdir).start()
    yield api
    api.proc.stop()


@FUZZ
@given(
    route=st.sampled_from(["/translate", "/detect", "/suggest", "/v2/translate"]),
    params=fi.LIBRE,
    how=st.sampled_from(["json", "form", "multipart", "query"]),
    json_type=fi.JSON_TYPES,
    extra=st.dictionaries(fi.KEYS, fi.TEXTS, max_size=3),
)
def test_libretranslate_bodies(
    fuzz: FuzzApi,
    route: str,
    params: dict[str, Any],
    how: str,
    json_type: str,
    extra: dict[str, Any],
) -> None:
    query, body, kind = fi.encoded(params, how, json_type)
    query += ("&" if query else "?") + fi.form(extra).decode() if extra else ""
    fuzz.check("POST", route + query, body, {"Content-Type": kind} if kind else {})


@FUZZ
@given(params=fi.ASYNC | fi.JSON_VALUES, json_type=fi.JSON_TYPES, headers=fi.HEADERS)
def test_async_translate_bodies(
    fuzz: FuzzApi, params: Any, json_type: str, headers: dict[str, str]
) -> None:
    body = json.dumps(params).encode()
    fuzz.check("POST", "/api/translate_async", body, {**headers, "Content-Type": json_type})


@settings(FUZZ, max_examples=150)
@given(route=st.sampled_from(POSTS), body=fi.MALFORMED, kind=fi.CONTENT_TYPES)
def test_malformed_bodies_and_content_types(
    fuzz: FuzzApi, route: str, body: bytes, kind: str
) -> None:
    fuzz.check("POST", fuzz.path(route), body, {"Content-Type": kind})


@settings(FUZZ, max_examples=50)
@given(
    route=st.sampled_from(["/translate_file", "/api/translate_file_async"]),
    name=fi.NAMES,
    data=fi.FILE_DATA,
    source=fi.GOOD_SOURCES | fi.LANGS,
    target=fi.GOOD_TARGETS | fi.LANGS,
    extra=st.lists(st.tuples(fi.KEYS, fi.TEXTS), max_size=3),
)
def test_uploads(
    fuzz: FuzzApi,
    route: str,
    name: str,
    data: bytes,
    source: str,
    target: str,
    extra: list[tuple[str, str]],
) -> None:
    fields = {"/translate_file": ("source", "target")}.get(route, ("source_lang", "target_lang"))
    parts: list[tuple[str, str | bytes, str | None]] = [("file", data, name)]
    parts += [(fields[0], source, None), (fields[1], target, None)]
    body, kind = fi.multipart([*parts, *((k, v, None) for k, v in extra)])
    fuzz.check("POST", route, body, {"Content-Type": kind})


@settings(FUZZ, max_examples=150)
@given(
    route=st.sampled_from(JOB_ROUTES),
    segment=fi.SEGMENTS,
    wait=st.none() | fi.WAITS,
    headers=fi.HEADERS,
)
def test_job_routes_with_odd_ids(
    fuzz: FuzzApi, route: str, segment: str, wait: str | None, headers: dict[str, str]
) -> None:
    method, template = route.split(" ")
    path = fuzz.path(template.format(segment))
    if wait is not None:
        path += "?" + fi.form({"wait": wait}).decode()
    fuzz.check(method, path, b"" if method == "POST" else None, headers)


@settings(FUZZ, max_examples=60)
@given(
    route=st.sampled_from(GETS),
    query=st.dictionaries(fi.KEYS, fi.TEXTS | fi.LANGS, max_size=3),
    headers=fi.HEADERS,
)
def test_plain_gets(
    fuzz: FuzzApi, route: str, query: dict[str, str], headers: dict[str, str]
) -> None:
    fuzz.check("GET", route + ("?" + fi.form(query).decode() if query else ""), None, headers)


@pytest.mark.parametrize("case", list(fi.KNOWN_CRASHES))
def test_known_crash(fuzz: FuzzApi, case: str) -> None:
    fuzz.check(*fi.KNOWN_CRASHES[case])


@pytest.mark.parametrize("case", fi.HOSTILE, ids=[repr(c[2])[:40] for c in fi.HOSTILE])
def test_pinned_hostile_inputs(fuzz: FuzzApi, case: fi.Case) -> None:
    fuzz.check(*case)


@pytest.mark.parametrize("depth", [1_000, fi.DEEP])
@pytest.mark.parametrize("route", ["/translate", "/detect", "/api/translate_async"])
def test_deep_nesting_sent_as_raw_bytes(fuzz: FuzzApi, route: str, depth: int) -> None:
    for key in ("q", "texts", "target_langs"):
        body = b'{"%s": ' % key.encode() + b"[" * depth + b"]" * depth + b"}"
        fuzz.check("POST", route, body, fi.JSON)
    fuzz.check("POST", route, b"[" * depth + b"]" * depth, fi.JSON)
    fuzz.check("POST", route, b'{"a":' * depth + b"1" + b"}" * depth, fi.JSON)
    fuzz.check("POST", route, b'{"q": ' + b"[" * depth + b"]" * depth + b"}", fi.FORM)
