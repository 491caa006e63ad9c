"""The web page's "Send to chat": the bot's own Telegram session (its retry policy
included) sends the file; when Telegram refuses, the answer is words, and the bot token
is in no answer, page or log line. The real API process, the session's worker, and a
Bot API emulator of this module's own (its faults reach no other test's bot)."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from aiogram.client.session.aiohttp import AiohttpSession
from aiohttp import ClientSession
from selenium.webdriver.remote.webdriver import WebDriver

from api.app import create_app
from api.telegram import sign
from config import Settings
from tasks.telegram.retries import ATTEMPTS
from tests.support.api_proc import ApiProc, multipart
from tests.support.browser import chromium, open_page
from tests.support.emulator import BotApiEmulator
from tests.support.procs import Proc
from tests.support.reference import reference
from tests.support.stack import TOKEN

pytestmark = pytest.mark.e2e
SECRET = TOKEN.partition(":")[2]  # the part of the token that makes it a key
USER = 5150
START = "The bot cannot write to you: open a chat with it and press Start"
# (Telegram's code and description, times it answers so, our status and words)
REFUSALS = [
    (400, "Bad Request: chat not found", 1, 403, START),
    (403, "Forbidden: bot was blocked by the user", 1, 403, START),
    (400, "Bad Request: wrong file identifier", 1, 502, "download it instead"),
    (500, "Internal Server Error", ATTEMPTS, 503, "try again later"),
]


@dataclass
class Api:
    base: str
    proc: Proc
    task_id: str = ""

    def log(self) -> str:
        return self.proc.log.read_text(errors="replace")


def signed(user_id: int) -> str:
    user = json.dumps({"id": user_id, "first_name": "Ann"})
    return sign({"auth_date": str(int(time.time())), "user": user}, TOKEN)


@pytest.fixture(scope="module")
def telegram() -> Iterator[BotApiEmulator]:
    emulator = BotApiEmulator(TOKEN)
    emulator.start()
    yield emulator
    emulator.stop()


@pytest.fixture(scope="module")
def api(
    stack_env: dict[str, str], worker: Proc, logdir: Path, telegram: BotApiEmulator
) -> Iterator[Api]:
    """The API, and a file it translated for USER (sent as often as the tests like)."""
    env = {**stack_env, "TELEGRAM_API_URL": telegram.url}
    started = ApiProc("send-to-chat-api", env, logdir).start()
    api = Api(started.base, started.proc)
    body, content_type = multipart(
        {"source_lang": "en", "target_lang": "ru"}, "hello.txt", b"Hello, world"
    )
    headers = {"Content-Type": content_type, "X-Telegram-Init-Data": signed(USER)}
    request = urllib.request.Request(api.base + "/api/translate_file_async", body, headers)
    with urllib.request.urlopen(request, timeout=30) as accepted:
        api.task_id = json.loads(accepted.read())["task_id"]
    with urllib.request.urlopen(f"{api.base}/api/result/{api.task_id}?wait=60", timeout=90) as got:
        assert json.loads(got.read())["status"] == "completed"
    yield api
    started.stop()


def send(api: Api, user_id: int = USER) -> tuple[int, bytes, dict[str, str]]:
    """POST "Send to chat" as the Mini App user: status, raw body, headers."""
    request = urllib.request.Request(
        f"{api.base}/api/file/{api.task_id}/send",
        b"",
        {"X-Telegram-Init-Data": signed(user_id)},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), dict(exc.headers)


def test_the_file_reaches_the_users_chat(
    api: Api, telegram: BotApiEmulator, model_template: str
) -> None:
    before = len(telegram.documents_to(USER))
    status, body, _ = send(api)
    assert (status, json.loads(body)) == (200, {"sent": True})
    [*_, sent] = telegram.wait_documents(USER, before + 1, timeout=30)
    assert sent["file_name"] == "hello.ru.txt" and sent["caption"] == "Tolmach"
    [expected] = reference(model_template, ["Hello, world"])
    assert sent["data"].decode() == expected
    assert send(api, user_id=6160)[0] == 404  # someone else's file
    assert len(telegram.documents_to(USER)) == before + 1


@pytest.mark.parametrize(("code", "description", "times", "status", "words"), REFUSALS)
def test_a_refusal_is_answered_in_words_without_the_token(
    api: Api,
    telegram: BotApiEmulator,
    code: int,
    description: str,
    times: int,
    status: int,
    words: str,
) -> None:
    calls, files = len(telegram.calls("sendDocument")), len(telegram.documents_to(USER))
    for _ in range(times):
        telegram.fail_next("sendDocument", code, description)
    got, body, _ = send(api)
    assert got == status
    detail = json.loads(body)["detail"]
    assert words in detail and description not in detail  # ours, not Telegram's or aiogram's
    assert SECRET.encode() not in body
    # 4xx: not retried; 5xx: retried by the bot's policy until it gives up.
    assert len(telegram.calls("sendDocument")) == calls + times
    assert len(telegram.documents_to(USER)) == files
    log = api.log()
    assert f"sendDocument to {USER} failed" in log  # the operator hears of it...
    assert SECRET not in log  # ...without the token


def test_a_429_is_waited_out_and_the_file_sent_once(api: Api, telegram: BotApiEmulator) -> None:
    calls, files = len(telegram.calls("sendDocument")), len(telegram.documents_to(USER))
    telegram.fail_next("sendDocument", 429, "Too Many Requests: retry after 2", retry_after=2)
    started = time.monotonic()
    status, body, _ = send(api)
    assert (status, json.loads(body)) == (200, {"sent": True})
    assert time.monotonic() - started >= 2
    assert len(telegram.calls("sendDocument")) == calls + 2
    assert len(telegram.documents_to(USER)) == files + 1


def test_the_page_shows_the_words_and_never_the_token(api: Api, telegram: BotApiEmulator) -> None:
    driver: WebDriver = chromium("en-US")
    try:
        open_page(driver, api.base)
        # As Telegram's script would sign the page in, and as a finished upload leaves it.
        driver.execute_script(
            "state.initData = arguments[0]; state.job = {id: arguments[1]};"
            " $('job').hidden = false;",
            signed(USER),
            api.task_id,
        )
        driver.set_script_timeout(60)

        def press_send() -> str:
            driver.execute_async_script(
                "const done = arguments[0]; sendToChat().then(() => done());"
            )
            return str(driver.find_element("id", "job-status").text)

        for code, description, times, _, words in REFUSALS:
            for _ in range(times):
                telegram.fail_next("sendDocument", code, description)
            shown = press_send()
            assert words in shown and description not in shown
            assert SECRET not in driver.page_source
        assert press_send() == "Sent to your chat"
    finally:
        driver.quit()


def test_one_bot_per_process_and_its_session_closed_when_the_app_stops(
    api: Api, stack_env: dict[str, str], telegram: BotApiEmulator
) -> None:
    """The app itself, in this process (to look at its Bot): the sends share one Bot,
    whose HTTP session the app's shutdown closes."""
    fields = {name.lower(): value for name, value in stack_env.items()}
    settings = Settings(**{**fields, "telegram_api_url": telegram.url})
    app = create_app(settings)
    files = len(telegram.documents_to(USER))

    async def run() -> ClientSession:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
                senders = []
                for _ in range(2):
                    answer = await client.post(
                        f"/api/file/{api.task_id}/send",
                        headers={"X-Telegram-Init-Data": signed(USER)},
                    )
                    assert answer.status_code == 200, answer.text
                    senders.append(app.state.telegram)
            assert senders[0] is senders[1]
            session = senders[0].bot.session
            assert isinstance(session, AiohttpSession) and session._session is not None
            assert not session._session.closed
            return session._session

    assert asyncio.run(run()).closed
    assert len(telegram.documents_to(USER)) == files + 2
