"""The API's answer when Redis is away, in each dialect's shape."""

from __future__ import annotations

import asyncio
import json

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from starlette.requests import Request

from api import deepl_common
from api.__main__ import _SECRET_PARAMS
from api.errors import _redis_down
from api.responses import job_failed


def _request(path: str, dialect: str | None = None) -> Request:
    scope = {"type": "http", "method": "POST", "path": path, "headers": [], "query_string": b""}
    request = Request(scope)
    if dialect is not None:
        request.state.dialect = dialect
    return request


@pytest.mark.parametrize(
    ("path", "dialect", "keys"),
    [
        ("/v2/translate", None, {"message"}),  # DeepL: its SDKs read `message`
        ("/translate", deepl_common.DEEPLX, {"code", "message"}),  # DeepLX
        ("/translate", None, {"error", "detail"}),  # LibreTranslate and /api alike
    ],
)
def test_redis_away_is_a_503_in_the_callers_dialect(
    path: str, dialect: str | None, keys: set[str]
) -> None:
    answer = asyncio.run(_redis_down(_request(path, dialect), RedisConnectionError("gone")))
    assert answer.status_code == 503 and answer.headers["retry-after"] == "10"
    assert set(json.loads(answer.body)) == keys


@pytest.mark.parametrize(
    ("code", "status"),
    [("model_unavailable", 503), ("unavailable", 503), ("internal", 500), ("bad_request", 400)],
)
def test_a_failed_job_is_answered_by_what_failed(code: str, status: int) -> None:
    # A model that could not be loaded just now is a 503 the SDKs retry, not a 400.
    answer = job_failed({"code": code, "message": "why"})
    assert answer.status_code == status
    assert ("Retry-After" in (answer.headers or {})) == (status == 503)


def test_a_document_key_in_a_query_string_is_not_logged() -> None:
    line = "POST /v2/document/ABC?document_key=s3cret&x=1 HTTP/1.1"
    assert "s3cret" not in _SECRET_PARAMS.sub(r"\1***", line)
