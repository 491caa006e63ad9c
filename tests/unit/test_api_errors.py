"""The API's answer when Redis is away, in each dialect's shape."""

from __future__ import annotations

import asyncio
import json

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from starlette.requests import Request

from api import deepl_common
from api.errors import _redis_down


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
