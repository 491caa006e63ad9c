"""The web page (and Mini App) in a real headless Chromium, against the real API process,
the session's worker and the tiny models."""

from __future__ import annotations

import asyncio
import io
import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import docx
import pytest
from redis.asyncio import Redis
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select, WebDriverWait

from api.telegram import sign
from tasks.client.prefs import PrefsStore, UserPrefs
from tasks.formats import segments
from tests.support.api_proc import ApiProc, multipart
from tests.support.browser import chromium, open_page
from tests.support.emulator import BotApiEmulator
from tests.support.procs import ROOT, Proc
from tests.support.reference import reference
from tests.support.stack import TOKEN, RedisServer

pytestmark = pytest.mark.e2e
# README's picture of the page: written when asked (`TOLMACH_SCREENSHOT=1`), so that a
# test run leaves the checkout as it found it.
README_SCREENSHOT = ROOT / "docs" / "page.png"


@pytest.fixture(scope="module")
def site(stack_env: dict[str, str], worker: Proc, logdir: Path) -> Iterator[str]:
    api = ApiProc("web-api", stack_env, logdir).start()
    yield api.base
    api.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    driver = chromium("en-US")
    yield driver
    driver.quit()


def output(driver: WebDriver) -> str:
    return str(driver.execute_script("return document.getElementById('output').value"))


def type_text(driver: WebDriver, source: str, target: str, text: str) -> None:
    Select(driver.find_element(By.ID, "source")).select_by_value(source)
    Select(driver.find_element(By.ID, "target")).select_by_value(target)
    box = driver.find_element(By.ID, "input")
    box.clear()
    box.send_keys(text)


def test_typing_gives_the_translation(
    browser: WebDriver, site: str, model_template: str, tmp_path: Path
) -> None:
    open_page(browser, site)
    text = "Good morning, my friend."
    type_text(browser, "en", "ru", text)
    [expected] = reference(model_template, [text])
    WebDriverWait(browser, 60).until(lambda d: output(d) == expected)
    assert browser.find_element(By.ID, "count").text == f"{len(text)} / 5000"
    shot = README_SCREENSHOT if os.environ.get("TOLMACH_SCREENSHOT") else tmp_path / "page.png"
    assert browser.save_screenshot(str(shot))
    assert shot.read_bytes().startswith(b"\x89PNG")


def test_typing_on_drops_the_stale_answer(
    browser: WebDriver, site: str, model_template: str
) -> None:
    open_page(browser, site)
    type_text(browser, "en", "ru", "Good morning")
    time.sleep(0.6)  # the first request is out; its answer must not win
    browser.find_element(By.ID, "input").send_keys(", dear friends!")
    [expected] = reference(model_template, ["Good morning, dear friends!"])
    WebDriverWait(browser, 60).until(lambda d: output(d) == expected)
    time.sleep(1.5)
    assert output(browser) == expected


def test_auto_shows_the_detected_language(
    browser: WebDriver, site: str, model_template: str
) -> None:
    open_page(browser, site)
    text = "The weather is really nice today, my friend."
    type_text(browser, "auto", "ru", text)
    WebDriverWait(browser, 60).until(lambda d: output(d) == reference(model_template, [text])[0])
    assert browser.find_element(By.ID, "detected").text == "Detected: English"


def upload(driver: WebDriver, site: str, path: Path) -> None:
    open_page(driver, site)
    Select(driver.find_element(By.ID, "source")).select_by_value("en")
    Select(driver.find_element(By.ID, "target")).select_by_value("ru")
    driver.find_element(By.ID, "file").send_keys(str(path))


def downloaded(driver: WebDriver, site: str) -> tuple[str, bytes]:
    def shown(d: WebDriver) -> bool:
        return bool(d.find_element(By.ID, "download").is_displayed())

    try:
        WebDriverWait(driver, 120).until(shown)
    except TimeoutException:
        page = {i: driver.find_element(By.ID, i).text for i in ("job-status", "file-error")}
        logs = driver.get_log("browser")
        raise AssertionError(f"no download link: {page}, console: {logs}") from None
    link = driver.find_element(By.ID, "download")
    assert driver.find_element(By.ID, "progress").get_attribute("value") == "100"
    with urllib.request.urlopen(str(link.get_attribute("href")), timeout=30) as got:
        return str(link.get_attribute("download")), got.read()


def test_a_txt_round_trips_with_progress_and_download(
    browser: WebDriver, site: str, model_template: str, tmp_path: Path
) -> None:
    lines = ["Hello, world", "How are you today?", "Good morning, dear friends!"]
    path = tmp_path / "notes.txt"
    path.write_text("\n".join(lines))
    upload(browser, site, path)
    name, data = downloaded(browser, site)
    assert name == "notes.ru.txt"
    assert data.decode().split("\n") == reference(model_template, lines)


def test_a_docx_round_trips(
    browser: WebDriver, site: str, model_template: str, tmp_path: Path
) -> None:
    document = docx.Document()
    for text in ("Hello, world", "Translation runs on local neural models."):
        document.add_paragraph(text)
    path = tmp_path / "report.docx"
    document.save(str(path))
    upload(browser, site, path)
    name, data = downloaded(browser, site)
    assert name == "report.ru.docx"
    found = segments("report.docx", path.read_bytes())
    assert segments("report.docx", data) == reference(model_template, found)
    assert docx.Document(io.BytesIO(data)).paragraphs  # a document Word opens


@pytest.mark.parametrize(
    ("name", "data", "words"),
    [
        ("tool.exe", b"MZ\x90\x00", "“tool.exe”: unknown file format"),
        ("binary.txt", bytes(range(256)) * 8, "“binary.txt” is not a text file"),
    ],
)
def test_a_refused_file_shows_its_message(
    browser: WebDriver, site: str, tmp_path: Path, name: str, data: bytes, words: str
) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    upload(browser, site, path)
    WebDriverWait(browser, 60).until(lambda d: words in d.find_element(By.ID, "file-error").text)


def test_the_russian_ui_shows_russian_labels(site: str) -> None:
    driver = chromium("ru-RU")
    try:
        open_page(driver, site)
        assert driver.find_element(By.ID, "text-title").text == "Текст"
        assert driver.find_element(By.ID, "files-title").text == "Файлы"
        assert driver.find_element(By.ID, "copy").text == "Копировать"
        source = Select(driver.find_element(By.ID, "source"))
        assert source.first_selected_option.text == "Определить язык"
        driver.find_element(By.ID, "ui-language").click()  # switchable
        assert driver.find_element(By.ID, "text-title").text == "Text"
    finally:
        driver.quit()


def me(site: str, init_data: str) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(
        site + "/api/web/me", headers={"X-Telegram-Init-Data": init_data}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_init_data_signed_with_the_bot_token_is_accepted_and_a_forged_one_refused(
    site: str, redis_server: RedisServer
) -> None:
    async def set_languages() -> None:
        redis = Redis.from_url(redis_server.url())
        await PrefsStore(redis).set_user(4711, UserPrefs("de", "en"))
        await redis.aclose()

    asyncio.run(set_languages())
    user = json.dumps({"id": 4711, "first_name": "Ann", "language_code": "en"})
    fields = {"auth_date": str(int(time.time())), "query_id": "AAH", "user": user}
    status, body = me(site, sign(fields, TOKEN))
    assert status == 200 and body["target"] == "de" and body["second"] == "en"
    assert me(site, sign(fields, "123:another-bots-token"))[0] == 401
    forged = sign(fields, TOKEN).replace("Ann", "Eve")
    assert me(site, forged)[0] == 401
    stale = {**fields, "auth_date": str(int(time.time()) - 2 * 86_400)}
    status, body = me(site, sign(stale, TOKEN))
    assert status == 401 and "day old" in str(body["detail"])
    # A translation signed as that user passes; a forged one never reaches the queue.
    request = urllib.request.Request(
        site + "/api/translate_async",
        json.dumps({"texts": ["Hello"], "target_langs": ["ru"]}).encode(),
        {"Content-Type": "application/json", "X-Telegram-Init-Data": forged},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 401


def test_swap_turns_the_translation_into_the_text(
    browser: WebDriver, site: str, model_template: str
) -> None:
    open_page(browser, site)
    text = "Good morning, my friend."
    type_text(browser, "en", "ru", text)
    [russian] = reference(model_template, [text])
    WebDriverWait(browser, 60).until(lambda d: output(d) == russian)
    browser.find_element(By.ID, "swap").click()
    assert (
        Select(browser.find_element(By.ID, "source")).first_selected_option.get_attribute("value")
        == "ru"
    )
    assert browser.find_element(By.ID, "target").get_attribute("value") == "en"
    assert browser.find_element(By.ID, "input").get_attribute("value") == russian
    [back] = reference(model_template, [russian], "ru", "en")
    WebDriverWait(browser, 60).until(lambda d: output(d) == back)


def test_init_data_that_is_not_telegrams_is_a_401_never_a_500(site: str) -> None:
    user = json.dumps({"id": 4711, "first_name": "Ann"})
    fields = {"auth_date": str(int(time.time())), "user": user}
    assert me(site, sign(fields, TOKEN).rsplit("hash=", 1)[0] + "hash=%C3%A9")[0] == 401
    future = {**fields, "auth_date": str(int(time.time()) + 3600)}
    assert me(site, sign(future, TOKEN))[0] == 401
    assert me(site, "garbage")[0] == 401


def test_send_to_chat_sends_the_users_own_file_through_the_bot(
    site: str, emulator: BotApiEmulator, model_template: str
) -> None:
    def signed(user_id: int) -> str:
        user = json.dumps({"id": user_id, "first_name": "Ann"})
        return sign({"auth_date": str(int(time.time())), "user": user}, TOKEN)

    body, content_type = multipart(
        {"source_lang": "en", "target_lang": "ru"}, "hello.txt", b"Hello, world"
    )
    request = urllib.request.Request(
        site + "/api/translate_file_async",
        body,
        {"Content-Type": content_type, "X-Telegram-Init-Data": signed(5150)},
    )
    with urllib.request.urlopen(request, timeout=30) as accepted:
        task_id = json.loads(accepted.read())["task_id"]
    with urllib.request.urlopen(f"{site}/api/result/{task_id}?wait=60", timeout=90) as got:
        assert json.loads(got.read())["status"] == "completed"

    def send(init_data: str) -> int:
        request = urllib.request.Request(
            f"{site}/api/file/{task_id}/send",
            b"",
            {"X-Telegram-Init-Data": init_data},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code

    assert send(signed(6160)) == 404  # someone else's file
    assert send(signed(5150)) == 200
    [sent] = emulator.wait_documents(5150, timeout=30)
    assert sent["file_name"] == "hello.ru.txt"
    assert sent["data"].decode() == reference(model_template, ["Hello, world"])[0]


def test_a_mini_app_user_outside_the_allow_list_is_refused(
    stack_env: dict[str, str], worker: Proc, logdir: Path
) -> None:
    api = ApiProc("web-api-private", {**stack_env, "ALLOWED_USERS": "111"}, logdir).launch()
    base = api.base
    try:
        api.wait_up()

        def translate(user_id: int) -> int:
            user = json.dumps({"id": user_id, "first_name": "A"})
            init = sign({"auth_date": str(int(time.time())), "user": user}, TOKEN)
            request = urllib.request.Request(
                base + "/api/translate_async",
                json.dumps({"texts": ["Hello"], "target_langs": ["ru"]}).encode(),
                {"Content-Type": "application/json", "X-Telegram-Init-Data": init},
            )
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    return response.status
            except urllib.error.HTTPError as exc:
                return exc.code

        assert translate(222) == 403
        assert translate(111) == 202
    finally:
        api.stop()


def test_copy_and_cancel(browser: WebDriver, site: str, tmp_path: Path) -> None:
    open_page(browser, site)
    type_text(browser, "en", "ru", "Hello, world")
    WebDriverWait(browser, 60).until(lambda d: output(d) != "")
    browser.find_element(By.ID, "copy").click()
    WebDriverWait(browser, 5).until(lambda d: d.find_element(By.ID, "copy").text == "Copied")
    # A document long enough to be running when Cancel is pressed.
    path = tmp_path / "long.txt"
    path.write_text("\n".join(f"Line number {i} of a long document." for i in range(1500)))
    browser.find_element(By.ID, "file").send_keys(str(path))
    WebDriverWait(browser, 30).until(lambda d: d.find_element(By.ID, "cancel").is_displayed())
    browser.find_element(By.ID, "cancel").click()
    WebDriverWait(browser, 60).until(
        lambda d: d.find_element(By.ID, "file-error").text == "The translation was cancelled."
    )
    assert not browser.find_element(By.ID, "download").is_displayed()
