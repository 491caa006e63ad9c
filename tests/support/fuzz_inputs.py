"""Hypothesis strategies for the API fuzz tests: hostile JSON, forms, multipart bodies,
path segments, query strings and headers, each already encoded as bytes on the wire."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote, urlencode

from hypothesis import strategies as st

from api.telegram import sign
from tests.support.stack import TOKEN

# Every code point: lone surrogates (sent as JSON escapes like "\ud800"), NUL, controls.
ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=12)
# What a header may carry (latin-1, no control characters): anything else h11 refuses
# before the app sees it.
HEADER_TEXT = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=40
)
FIELDS = ["q", "source", "target", "format", "api_key", "alternatives", "texts"]
FIELDS += ["source_lang", "target_langs", "priority", "file", "wait"]
FIELDS += ["text", "target_lang", "auth_key", "tag_handling", "ignore_tags"]  # DeepL's
KEYS = st.sampled_from(FIELDS) | ANY_TEXT
# Language fields: served (en, ru, de), with no model here (ja), and no language at all.
LANGS = st.sampled_from(["ru", "en", "de", "ja", "auto", "English", "русский", "", " "])
LANGS |= st.sampled_from(["englsh", "xx", "en-US", "zh-Hans", "\x00", "\ud800"])
# Short, so the valid requests among the examples cost the worker little.
TEXTS = st.sampled_from(["Hello.", "Good night", "Привет", "Guten Morgen", " ", "\x00"])
TEXTS |= st.sampled_from(["\ud800", "x" * 5001, "<b>hi</b><i", "&amp;&#0;"]) | ANY_TEXT
NUMBERS = st.integers() | st.floats() | st.sampled_from([2**63, -(2**63) - 1, 10**4000])
LEAVES = st.none() | st.booleans() | NUMBERS | ANY_TEXT | LANGS | TEXTS
JSON_VALUES = st.recursive(
    LEAVES,
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(KEYS, kids, max_size=4),
    max_leaves=12,
)
FORMATS = st.sampled_from(["text", "html", "xml"])
# Pairs the tiny models serve, mostly (ja: refused by admission).
GOOD_SOURCES = st.sampled_from(["en", "en", "auto", "de", "English"])
GOOD_TARGETS = st.sampled_from(["ru", "ru", "русский", "ja"])
# Half the examples are well-formed requests with one odd part, so admission, the queue,
# the worker's answer and its rendering are fuzzed too, not only the parsers.
LIBRE = st.fixed_dictionaries(
    {"q": TEXTS | st.lists(TEXTS, max_size=3), "source": GOOD_SOURCES, "target": GOOD_TARGETS},
    optional={"format": FORMATS, "alternatives": st.sampled_from([0, 2, "1"]), "api_key": TEXTS},
) | st.fixed_dictionaries(
    {},
    optional={
        "q": TEXTS | st.lists(TEXTS, max_size=4) | JSON_VALUES,
        "source": LANGS | JSON_VALUES,
        "target": LANGS | JSON_VALUES,
        "format": FORMATS | JSON_VALUES,
        "api_key": ANY_TEXT | JSON_VALUES,
        "alternatives": st.sampled_from([0, 3, -1, "2", "x", 10**30]) | JSON_VALUES,
        # DeepL's and DeepLX's fields (a `text` without `q` on /translate is DeepLX).
        "text": TEXTS | st.lists(TEXTS, max_size=3) | JSON_VALUES,
        "target_lang": LANGS | JSON_VALUES,
        "tag_handling": FORMATS | JSON_VALUES,
        "ignore_tags": ANY_TEXT | JSON_VALUES,
    },
)
ASYNC = st.fixed_dictionaries(
    {
        "texts": st.lists(TEXTS, min_size=1, max_size=2),
        "target_langs": st.lists(GOOD_TARGETS, min_size=1, max_size=2),
    },
    optional={
        "source_lang": GOOD_SOURCES,
        "priority": st.sampled_from(["high", "low"]),
        "format": FORMATS,
    },
) | st.fixed_dictionaries(
    {},
    optional={
        "texts": st.lists(TEXTS, max_size=4) | JSON_VALUES,
        "source_lang": LANGS | JSON_VALUES,
        "target_langs": st.lists(LANGS, max_size=3) | JSON_VALUES,
        "priority": st.sampled_from(["high", "normal", "low", "urgent"]) | JSON_VALUES,
        "format": FORMATS | JSON_VALUES,
    },
)
JSON_TYPES = st.sampled_from(["application/json", "application/json; charset=utf-8"])
JSON_TYPES |= st.sampled_from(["text/json", "application/vnd.api+json", "application/json;x"])
CONTENT_TYPES = JSON_TYPES | st.sampled_from(["application/x-www-form-urlencoded", "", "*/*"])
CONTENT_TYPES |= st.sampled_from(["multipart/form-data", "multipart/form-data; boundary=b"])
CONTENT_TYPES |= st.sampled_from(["text/plain", "application/x-www-form-urlencoded; charset=x"])
# Bytes no JSON or form parser should choke on with a 500.
MALFORMED = st.sampled_from(
    [
        *[b"", b"{", b"}", b"[", b'{"q": ', b'{"q": "\\ud800"}', b'{"q": "\\u0000"}', b"\xff\xfe"],
        *[b'{"q": NaN, "source": Infinity}', b'{"q": 1' + b"0" * 5000 + b"}", b"null", b"[]"],
        *[b'{"q": "a", "q": 1}', b"\x00" * 16, b"q=%ZZ&source=%ED%A0%80&target=%FF", b"q&q=&="],
        *[b"--b\r\nContent-Disposition: form-data\r\n\r\nx\r\n--b--\r\n", b"--b--", b"a=1;b=2"],
    ]
) | st.binary(max_size=80)
# Path segments, already percent-encoded: odd ones, and the fixture's jobs by name.
SEGMENTS = st.sampled_from(["", ".", "..", "%", "%zz", "%00", "%2F", "a%2Fb", "%2e%2e"])
SEGMENTS |= st.sampled_from(["%ED%A0%80", "%FF", "x" * 3000, "null", "@doc", "@text"])
SEGMENTS |= ANY_TEXT.map(lambda t: quote(t, safe="", errors="surrogatepass"))
WAITS = st.sampled_from(["0", "0.5", "60", "60.0001", "-1", "nan", "inf", "-inf", "1e309", ""])
WAITS |= st.sampled_from(["0x1", "1_0", "\u0663", " 5", "true"]) | NUMBERS.map(repr) | ANY_TEXT
NAMES = st.sampled_from(["a.txt", "b.srt", "c.md", "d.html"])
NAMES |= st.sampled_from(["n.docx", "x.pdf", "../../etc/passwd.txt", "A.TXT", "noext"])
NAMES |= st.sampled_from([".txt", "a.exe", "", "a.txt\x00.exe", 'q"uote.txt', "a\r\nb.txt"])
NAMES |= ANY_TEXT.map(lambda t: t + ".txt")
FILE_DATA = st.sampled_from([b"Hello.", "Привет, мир.".encode(), b"1\n00:00:01,000 --> x\n"])
FILE_DATA |= st.sampled_from(
    [b"", b"\x00\xff", b"PK\x03\x04junk", b"%PDF-1.4 junk", b"\xed\xa0\x80"]
)
FILE_DATA |= st.binary(max_size=64)


JSON = {"Content-Type": "application/json"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def now() -> str:
    """The present as initData's `auth_date`."""
    return str(int(time.time()))


def signed(user: str) -> dict[str, str]:
    """The header of initData Telegram could have signed (the session's token) for `user`."""
    return {"X-Telegram-Init-Data": sign({"auth_date": now(), "user": user}, TOKEN)}


# Telegram initData signed with the session's token: the signature holds, the rest is odd.
SIGNED_USER = st.fixed_dictionaries(
    {"id": st.integers() | st.sampled_from([1, float("inf"), float("nan"), "12", None, 1.5])},
    optional={"language_code": LANGS | JSON_VALUES, "first_name": JSON_VALUES},
)
INIT_DATA = st.fixed_dictionaries(
    {
        "auth_date": st.just(0).map(lambda _: now()) | st.sampled_from(["", "x", "-1", "1e3"]),
        "user": (SIGNED_USER | JSON_VALUES).map(json.dumps),
    }
).map(lambda fields: sign(fields, TOKEN))
HEADERS = st.fixed_dictionaries(
    {},
    optional={
        "X-API-Key": HEADER_TEXT,
        "X-Telegram-Init-Data": HEADER_TEXT | INIT_DATA,
        "Accept": st.sampled_from(["*/*", "text/event-stream", "application/json", "x/y"]),
    },
)


def pairs(params: dict[str, Any]) -> list[tuple[str, str]]:
    """The fields of `params` as a form sends them: a list is a repeated field."""
    return [(k, str(x)) for k, v in params.items() for x in (v if isinstance(v, list) else [v])]


def form(params: dict[str, Any]) -> bytes:
    """A urlencoded form (lone surrogates sent as the bytes UTF-8 would give them)."""
    return urlencode(pairs(params), errors="surrogatepass").encode()


def multipart(parts: Sequence[tuple[str, str | bytes, str | None]]) -> tuple[bytes, str]:
    """A multipart/form-data body of (name, value, filename or None), and its type."""
    boundary = b"fuzz7MA4YWxkTrZu0gW"
    out = b""
    for name, value, filename in parts:
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        data = value if isinstance(value, bytes) else value.encode(errors="surrogatepass")
        out += b"--" + boundary + b"\r\nContent-Disposition: "
        out += disposition.encode(errors="surrogatepass") + b"\r\n\r\n" + data + b"\r\n"
    return out + b"--" + boundary + b"--\r\n", f"multipart/form-data; boundary={boundary.decode()}"


def encoded(params: dict[str, Any], how: str, json_type: str) -> tuple[str, bytes | None, str]:
    """`params` as a JSON body, a form, a multipart form, or only a query string:
    (query string, body, content type)."""
    if how == "json":
        return "", json.dumps(params).encode(), json_type
    if how == "form":
        return "", form(params), FORM["Content-Type"]
    if how == "multipart":
        return "", *multipart([(k, v, None) for k, v in pairs(params)])
    return "?" + form(params).decode(), None, ""


Case = tuple[str, str, bytes | None, dict[str, str]]


def post(route: str, body: bytes, headers: dict[str, str] = JSON) -> Case:
    """A POST of `body` (JSON unless `headers` say otherwise)."""
    return ("POST", route, body, headers)


# Inputs that crashed the API (a 500, its traceback in the API's log) when found: pinned,
# so each stays red until its route is fixed. The first two were known before the fuzz.
DEEP = 100_000
NESTED = b"[" * DEEP + b"]" * DEEP
HI = b'"q": "Hi", "source": "en", '
KNOWN_CRASHES: dict[str, Case] = {
    "translate: q nested 100,000 lists deep": post(
        "/translate", b'{"q": %s, "source": "en", "target": "ru"}' % NESTED
    ),
    "detect: q a list of numbers": post("/detect", b'{"q": [1, 2]}'),
    "translate: a lone surrogate echoed in the 400": post(
        "/translate", b'{%s"target": "\\ud800"}' % HI
    ),
    "translate: alternatives 1e400": post(
        "/translate", b'{%s"target": "ru", "alternatives": 1e400}' % HI
    ),
    "translate_async: a lone surrogate echoed in the 400": post(
        "/api/translate_async", b'{"texts": ["Hi"], "target_langs": ["\\ud800"]}'
    ),
    "translate_async: a lone surrogate echoed in the 422": post(
        "/api/translate_async", b'{"texts": "\\ud800", "target_langs": ["ru"]}'
    ),
    "translate_async: NaN echoed in the 422": post(
        "/api/translate_async", b'{"texts": NaN, "target_langs": ["ru"]}'
    ),
    "translate_async: a body not UTF-8, no content type": post("/api/translate_async", b"\xe4", {}),
    "web/me: signed user id Infinity": ("GET", "/api/web/me", None, signed('{"id": Infinity}')),
    "result: signed user id Infinity": ("GET", "/api/result/x", None, signed('{"id": Infinity}')),
    "web/me: signed language_code a list": (
        "GET",
        "/api/web/me",
        None,
        signed('{"id": 1, "language_code": ["x"]}'),
    ),
}
# Hostile inputs that reach the worker or the deepest parsers, sent every run whatever
# the examples drawn.
HOSTILE: list[Case] = [
    post("/translate", b'{"q": "\\ud800", "source": "en", "target": "ru"}'),
    post("/translate", b'{"q": ["Hi", "a\\u0000b"], "source": "auto", "target": "ru"}'),
    post("/detect", b'{"q": "\\udfff\\u0000"}'),
    post("/api/translate_async", b'{"texts": ["\\ud800"], "target_langs": ["ru"]}'),
    post("/translate", b'{"q": 1%s, "source": "en", "target": "ru"}' % (b"0" * 5000)),
    post("/translate", b'{"q": NaN, "source": Infinity, "target": -Infinity}'),
    post("/translate", b'{%s"target": "ru", "format": "\\ud800"}' % HI),
    post("/translate", b'{"q": "Hi", "source": "\\ud800", "target": "ru"}'),
]
