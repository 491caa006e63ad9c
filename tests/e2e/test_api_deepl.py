"""DeepL's API and the DeepLX dialect end to end: the official `deepl` SDK, pot-app's and
Subtitle Edit's requests against the real API process, the session's worker and
redis-server, the tiny models; and all three dialects on the same batches."""

from __future__ import annotations

import io
import subprocess
import time
import urllib.parse
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import deepl
import docx
import psutil
import pytest

from tasks.connections import as_text
from tasks.contract import QUEUE_CHAT
from tasks.formats import segments
from tasks.worker.metrics import STATS_KEY
from tests.support.api_proc import ApiProc, api_env
from tests.support.procs import Proc, python, wait_until
from tests.support.reference import reference
from tests.support.stack import RedisServer

pytestmark = pytest.mark.e2e
TEXTS = ["Good morning, my friend.", "The weather is really nice today."]


@pytest.fixture(scope="module")
def api(stack_env: dict[str, str], worker: Proc, logdir: Path) -> Iterator[ApiProc]:
    """The API at its defaults (API_KEYS=off: any DeepL key is taken)."""
    proc = ApiProc("api-deepl", api_env(stack_env), logdir).start()
    yield proc
    proc.stop()


def form(api: ApiProc, path: str, fields: dict[str, Any], **headers: str) -> tuple[int, Any]:
    body = urllib.parse.urlencode(fields, doseq=True).encode()
    kind = {"Content-Type": "application/x-www-form-urlencoded"}
    status, _, answer = api.request("POST", path, body, {**kind, **headers})
    return status, answer


def sdk(api: ApiProc, key: str = "any-key:fx", base: str = "") -> deepl.Translator:
    return deepl.Translator(key, server_url=f"http://127.0.0.1:{api.port}{base}")


def test_the_deepl_sdk_translates_one_text_a_list_and_detects(
    api: ApiProc, model_template: str
) -> None:
    translator = sdk(api)
    one = translator.translate_text(TEXTS[0], source_lang="EN", target_lang="RU")
    assert isinstance(one, deepl.TextResult)
    assert (one.text, one.detected_source_lang) == (reference(model_template, TEXTS)[0], "EN")
    assert one.billed_characters == len(TEXTS[0])
    # A list, the source detected, the target in lower case; answered in input order.
    many = translator.translate_text(TEXTS, target_lang="ru")
    assert isinstance(many, list)
    assert [r.text for r in many] == reference(model_template, TEXTS)
    assert [r.detected_source_lang for r in many] == ["EN", "EN"]
    # A regional variant is the deployment's language; a base URL ending in /v2 works.
    back = sdk(api, base="/v2").translate_text("Привет, мир", source_lang="RU", target_lang="EN-GB")
    assert isinstance(back, deepl.TextResult)
    assert back.text == reference(model_template, ["Привет, мир"], "ru", "en")[0]
    with pytest.raises(deepl.DeepLException, match=r"(?i)Bad request.*xx") as refused:
        translator.translate_text("Hello", target_lang="XX")
    assert refused.value.http_status_code == 400


def test_the_deepl_sdk_lists_languages_and_usage(api: ApiProc) -> None:
    translator = sdk(api)
    assert [(s.code, s.name) for s in translator.get_source_languages()] == [
        ("DE", "German"),
        ("EN", "English"),
        ("RU", "Russian"),
    ]
    targets = {t.code: t for t in translator.get_target_languages()}
    assert sorted(targets) == ["EN-GB", "EN-US", "RU"]
    assert targets["EN-US"].name == "English (American)"
    assert targets["RU"].supports_formality is False
    usage = translator.get_usage()  # no key counts anything under API_KEYS=off
    assert usage.character.valid and not usage.any_limit_reached


def test_the_deepl_sdk_translates_a_docx(api: ApiProc, model_template: str, tmp_path: Path) -> None:
    document = docx.Document()
    document.add_heading(TEXTS[0], level=1)
    document.add_paragraph(TEXTS[1])
    source = io.BytesIO()
    document.save(source)
    out = tmp_path / "report.ru.docx"
    translator = sdk(api)
    with out.open("wb") as output:
        status = translator.translate_document(
            source.getvalue(),
            output,
            source_lang="EN",
            target_lang="RU",
            filename="report.docx",
        )
    assert status.done and status.ok
    found = segments("report.docx", source.getvalue())
    assert found == TEXTS
    # Read as Word shows it (the segment reader skips text without letters, which a
    # random model may write).
    written = [p.text for p in docx.Document(io.BytesIO(out.read_bytes())).paragraphs]
    assert [text for text in written if text] == reference(model_template, TEXTS)
    # The handle answers only with its key.
    status_code, answer = api.post_json("/v2/document/" + "0" * 32, {"document_key": "nope"})
    assert (status_code, answer) == (404, {"message": "Document not found."})
    # Its id alone opens nothing on the job routes (it used to be the job's id: status,
    # cancel and download there needed no key).
    handle = translator.translate_document_upload(
        source.getvalue(), source_lang="EN", target_lang="RU", filename="again.docx"
    )
    translator.translate_document_wait_until_done(handle)
    for path in ("/api/result/", "/api/file/", "/download_file/"):
        status_code, _, _ = api.request("GET", path + handle.document_id)
        assert status_code in (400, 404), (path, status_code)
    assert translator.translate_document_get_status(handle).done


def test_deeplx_as_pot_app_sends_it_beside_libretranslate(
    api: ApiProc, model_template: str
) -> None:
    body = {"source_lang": "auto", "target_lang": "RU", "text": TEXTS[0]}
    status, answer = api.post_json("/translate", body)
    assert status == 200, answer
    expected = reference(model_template, TEXTS)[0]
    assert answer == {
        "code": 200,
        "data": expected,
        "source_lang": "EN",
        "target_lang": "RU",
        "alternatives": [],
    }
    # LibreTranslate's body on the same path is LibreTranslate's call.
    libre = {"q": TEXTS[0], "source": "en", "target": "ru"}
    assert api.post_json("/translate", libre) == (200, {"translatedText": expected})
    # Errors in DeepLX's shape.
    status, answer = api.post_json("/translate", {"text": "Hi", "source_lang": "EN"})
    assert (status, answer) == (
        400,
        {"code": 400, "message": "Parameter 'target_lang' not specified."},
    )


def test_a_repeated_text_form_as_subtitle_edit_sends_it(api: ApiProc, model_template: str) -> None:
    fields = {
        "text": TEXTS,
        "source_lang": "EN",
        "target_lang": "RU",
        "split_sentences": "nonewlines",
        "formality": "default",
        "preserve_formatting": "1",
    }
    status, answer = form(api, "/v2/translate", fields, Authorization="DeepL-Auth-Key k:fx")
    assert status == 200, answer
    assert [t["text"] for t in answer["translations"]] == reference(model_template, TEXTS)
    # The legacy `auth_key` field, on a base URL given without /v2 (shared with
    # LibreTranslate's /translate) and one given with /v2/ (…/v2/v2/translate).
    for path in ("/translate", "/v2/v2/translate"):
        status, again = form(api, path, {**fields, "auth_key": "k:fx"})
        assert (status, again) == (200, answer)
    status, answer = form(api, "/v2/translate", {"text": TEXTS[0]})
    assert (status, answer) == (400, {"message": "Parameter 'target_lang' not specified."})
    status, answer = form(api, "/v2/translate", {"text": ["Hi"] * 51, "target_lang": "RU"})
    assert (status, answer) == (413, {"message": "Too many texts: at most 50 in one request."})


def test_html_with_ignored_tags_keeps_them(api: ApiProc) -> None:
    text = "<p>Good morning, <code>x = 1</code> my friend.</p>"
    body = {
        "text": [text],
        "target_lang": "RU",
        "source_lang": "EN",
        "tag_handling": "html",
        "ignore_tags": ["code"],
    }
    status, answer = api.post_json("/v2/translate", body)
    assert status == 200, answer
    out = answer["translations"][0]["text"]
    assert out.startswith("<p>") and out.endswith("</p>") and "<code>x = 1</code>" in out
    assert "Good" not in out and "friend" not in out


def keys(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        python("-m", "cli", "keys", *args), env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_keys_and_the_monthly_quota_in_every_dialect(
    stack_env: dict[str, str], worker: Proc, logdir: Path
) -> None:
    guarded = ApiProc("api-deepl-keys", api_env(stack_env, API_KEYS="required"), logdir).start()
    try:
        with pytest.raises(deepl.AuthorizationException):
            sdk(guarded, "not-a-key").translate_text("Hello", target_lang="RU")
        key = keys(stack_env, "add", "--chars-per-month", "60")
        assert "60 chars/month" in keys(stack_env, "list")
        translator = sdk(guarded, key)
        usage = translator.get_usage()
        assert (usage.character.count, usage.character.limit) == (0, 60)
        # A request refused for what it asks spends nothing.
        blank = {"texts": ["x" * 30, "   "], "target_langs": ["ru"]}
        status, _ = guarded.post_json("/api/translate_async", blank, {"X-API-Key": key})
        assert status == 400 and translator.get_usage().character.count == 0
        translator.translate_text(TEXTS[0], target_lang="RU")  # 24 characters
        body = {"text": "Hello there", "target_lang": "RU"}  # 11 more, as DeepLX's token
        assert guarded.post_json("/translate?token=" + key, body)[0] == 200
        bearer = {"Authorization": f"Bearer {key}"}
        assert guarded.post_json("/translate", body, bearer)[0] == 200
        assert translator.get_usage().character.count == len(TEXTS[0]) + 2 * len("Hello there")
        # Past the quota: 456, as DeepL answers, in each dialect; nothing more is counted.
        with pytest.raises(deepl.QuotaExceededException):
            translator.translate_text(TEXTS[1], target_lang="RU")
        libre = {"q": TEXTS[1], "source": "en", "target": "ru", "api_key": key}
        status, answer = guarded.post_json("/translate", libre)
        assert status == 456 and "Quota exceeded" in answer["error"]
        assert translator.get_usage().character.count == 46
    finally:
        guarded.stop()


def resent(api: ApiProc) -> int:
    """Tasks the API's sweep has sent again so far."""
    return api.proc.log.read_text(errors="replace").count("sending it again")


def test_three_dialects_share_the_batches(
    api: ApiProc, model_template: str, redis_server: RedisServer, worker: Proc
) -> None:
    stats = redis_server.client()

    def settled() -> bool:  # the previous test's last batch is counted after its answer
        first = stats.hgetall(STATS_KEY)
        time.sleep(0.5)
        return bool(first == stats.hgetall(STATS_KEY))

    wait_until(settled, 30, "the worker's statistics to settle")
    before = {as_text(k): int(v) for k, v in stats.hgetall(STATS_KEY).items()}
    resent_before = resent(api)
    texts = [f"Good morning, my friend number {i}." for i in range(200)]

    def call(index: int) -> str:
        text = texts[index]
        if index % 3 == 0:
            status, answer = api.post_json(
                "/translate", {"q": text, "source": "en", "target": "ru"}
            )
            assert status == 200, answer
            return str(answer["translatedText"])
        if index % 3 == 1:
            status, answer = api.post_json(
                "/v2/translate", {"text": [text], "source_lang": "EN", "target_lang": "RU"}
            )
            assert status == 200, answer
            return str(answer["translations"][0]["text"])
        status, answer = api.post_json(
            "/translate", {"text": text, "source_lang": "EN", "target_lang": "RU"}
        )
        assert status == 200, answer
        return str(answer["data"])

    # The worker is paused while the requests come in, so that they wait together (an
    # idle worker translates each as it comes: CTranslate2 on the tiny model outruns 200
    # clients). Its main process is resumed first, with its children still frozen: it
    # hands each child one request and buffers the rest, as behind busy children; then
    # the children, which take the buffered requests in shared batches.
    assert worker.popen is not None
    main = psutil.Process(worker.popen.pid)
    children = main.children()
    queue = redis_server.client()
    for process in (main, *children):
        process.suspend()
    try:
        with ThreadPoolExecutor(max_workers=len(texts)) as pool:
            pending = pool.map(call, range(len(texts)))
            wait_until(lambda: queue.llen(QUEUE_CHAT) >= len(texts), 60, "the queued requests")
            main.resume()
            wait_until(lambda: queue.llen(QUEUE_CHAT) <= len(texts) - 100, 60, "the buffer")
            for child in children:
                child.resume()
            answers = list(pending)
    finally:
        for process in (main, *children):
            process.resume()
    after = {as_text(k): int(v) for k, v in stats.hgetall(STATS_KEY).items()}
    requests = after["requests"] - before.get("requests", 0)
    batches = after["batches"] - before.get("batches", 0)
    # Each translated, plus any the API's sweep sent again (a request over 20 s old that
    # it found neither answered nor held by the broker while the worker took them up).
    # None served from the cache (CACHE_TTL is on: these texts are new). A request may
    # run twice, never be answered twice: delivery is at least once, answers exactly once.
    assert requests >= len(texts) + resent(api) - resent_before
    # The worker took them many at a time, whichever dialect each came in.
    assert batches <= requests / 4, (requests, batches)
    assert answers == reference(model_template, texts)
