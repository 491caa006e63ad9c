"""Webhook mode end to end: two bot replicas behind one webhook URL, one Redis, one worker.

Telegram (the emulator) posts updates with the secret token; a request without it is
refused; an update that reaches both replicas (a retry landing elsewhere) and every
result, which both replicas' listeners see, is answered once.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.server.updates import webhook_path
from config import Settings, load_settings
from config.settings import SettingsError, describe_error
from tasks.client.requests import PENDING
from tests.support.emulator import BotApiEmulator
from tests.support.ops import get
from tests.support.procs import Proc, free_port, python, wait_until
from tests.support.reference import reference
from tests.support.stack import (
    TOKEN,
    RedisServer,
    launch_worker,
    process_env,
    wait_healthy,
    wait_worker,
)

pytestmark = pytest.mark.e2e
SECRET = "webhook-Secret_42"
PATH = "/tg/hook"


@dataclass
class Replicas:
    emulator: BotApiEmulator
    urls: list[str]  # each replica's webhook URL; the first is the "load balancer"
    procs: list[Proc]
    server: RedisServer
    db: int

    def settled(self) -> None:
        client = self.server.client(self.db)
        wait_until(lambda: client.zcard(PENDING) == 0, 60, "pending answers")


@pytest.fixture(scope="module")
def replicas(
    redis_server: RedisServer, model_template: str, logdir: Path, redis_db: int
) -> Iterator[Replicas]:
    redis_server.client(redis_db).flushdb()
    emulator = BotApiEmulator(TOKEN)
    emulator.start()
    env = process_env(redis_server.url(redis_db), model_template, emulator.url)
    ports = [free_port(), free_port()]
    urls = [f"http://127.0.0.1:{port}{PATH}" for port in ports]
    procs = [launch_worker("webhook-worker", env, logdir)]
    try:
        for number, port in enumerate(ports):
            bot_env = {
                **env,
                "WEBHOOK_URL": urls[0],  # both replicas register the balancer's URL
                "WEBHOOK_SECRET": SECRET,
                "WEBHOOK_PORT": str(port),
                "HTTP_HOST": "127.0.0.1",
            }
            procs.append(Proc(f"webhook-bot-{number}", python("-m", "bot"), bot_env, logdir))
            procs[-1].start()  # both replicas start together; then wait for each
        for proc, port in zip(procs[1:], ports, strict=True):
            wait_healthy(proc, port)
        wait_worker(procs[0], redis_server, redis_db)
        wait_until(lambda: len(emulator.calls("setWebhook")) >= 2, 30, "setWebhook")
        yield Replicas(emulator, urls, procs, redis_server, redis_db)
    finally:
        for proc in reversed(procs):
            proc.stop()
        emulator.stop()


def test_each_replica_sets_the_webhook_with_the_secret(replicas: Replicas) -> None:
    for _, params in replicas.emulator.calls("setWebhook"):
        assert params["url"] == replicas.urls[0]
        assert params["secret_token"] == SECRET
        assert "message" in params["allowed_updates"]
    assert replicas.emulator.calls("getUpdates") == []


def test_wrong_or_missing_secret_is_rejected_right_one_answered(
    replicas: Replicas, model_template: str
) -> None:
    emulator = replicas.emulator
    forged = emulator.message_update(5001, "/translate en>ru Hello, world")
    assert emulator.post_update(replicas.urls[0], forged, "wrong-secret") == 401
    assert emulator.post_update(replicas.urls[1], forged, None) == 401
    emulator.push_message(5002, "/translate en>ru Hello, world")  # posted with the secret
    [reply] = emulator.wait_for(5002, timeout=60)
    assert reply["text"] == reference(model_template, "Hello, world")
    replicas.settled()
    assert emulator.sent_to(5001) == []


def test_an_update_reaching_both_replicas_is_answered_once(
    replicas: Replicas, model_template: str
) -> None:
    emulator = replicas.emulator
    update = emulator.message_update(5003, "/translate en>ru Good morning")
    assert [emulator.post_update(url, update, SECRET) for url in replicas.urls] == [200, 200]
    [reply] = emulator.wait_for(5003, timeout=60)
    assert reply["text"] == reference(model_template, "Good morning")
    replicas.settled()
    time.sleep(1)  # a second answer would be on its way by now
    assert len(emulator.sent_to(5003)) == 1


def test_inline_and_button_updates_reaching_both_replicas_are_answered_once(
    replicas: Replicas,
) -> None:
    emulator = replicas.emulator
    emulator.push_message(5004, "The weather is nice today, my friend.", language_code="ru")
    [translation] = emulator.wait_for(5004, timeout=60)
    data = translation["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    emulator.push_callback(5004, translation, data)
    query_id = emulator.push_inline(5004, "en>ru Hello there")
    callback, inline = emulator.updates_pushed()[-2:]
    for update in (callback, inline):
        assert emulator.post_update(replicas.urls[1], update, SECRET) == 200
    assert emulator.wait_inline(query_id)["results"]
    emulator.wait_for(5004, 2, timeout=60)
    replicas.settled()
    time.sleep(1)
    assert len(emulator.sent_to(5004)) == 2
    assert len(emulator.calls("answerCallbackQuery")) == 1
    assert [e for e in emulator.errors if e[0] == "answerInlineQuery"] == []


def test_health_and_metrics_on_the_webhook_server(replicas: Replicas) -> None:
    bodies = []
    for url in replicas.urls:
        base = url.removesuffix(PATH)
        assert get(base + "/health") == (200, '{"ok": true}')
        status, body = get(base + "/metrics")
        assert status == 200
        bodies.append(body)
    assert any('tolmach_requests_total{kind="command"} ' in body for body in bodies)
    assert all('tolmach_queue_depth{queue="chat"} 0.0' in body for body in bodies)
    for proc in replicas.procs[1:]:
        log = proc.log.read_text()
        assert "webhook mode" in log and SECRET not in log and TOKEN not in log


def test_a_replica_killed_while_it_takes_a_document_in_gets_it_posted_again(
    replicas: Replicas,
) -> None:
    # The replica dies on its getFile, before the document's request is recorded: Telegram
    # has no 200 for that post, so it posts the update again (here to the other replica),
    # which takes it over once the dead one's claim lapses. One translated file comes back.
    emulator, doomed = replicas.emulator, replicas.procs[1]
    port = int(replicas.urls[0].split(":")[2].split("/")[0])

    def kill(ids: list[int]) -> None:
        emulator.on("getFile", None)
        assert doomed.popen is not None
        doomed.popen.kill()

    emulator.on("getFile", kill)
    try:
        emulator.push_document(5005, "notes.txt", b"Good morning. The weather is nice.\n", "ru")
        wait_until(lambda: emulator.webhook_posts[-1:] == [(_last_id(emulator), 0)], 30, "post")
        update = emulator.updates_pushed()[-1]
        assert emulator.post_update(replicas.urls[1], update, SECRET) == 200
        [translated] = emulator.wait_documents(5005, timeout=120)
        assert translated["file_name"] == "notes.ru.txt"
        replicas.settled()
        time.sleep(1)
        assert len(emulator.documents_to(5005)) == 1
    finally:
        emulator.on("getFile", None)
        doomed.stop()
        doomed.start()  # for whatever runs next
        wait_healthy(doomed, port)


def _last_id(emulator: BotApiEmulator) -> int:
    return int(emulator.updates_pushed()[-1]["update_id"])


def test_webhook_url_without_a_secret_is_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEBHOOK_URL", "https://bot.example.com/telegram")
    monkeypatch.delenv("WEBHOOK_SECRET", raising=False)
    with pytest.raises(SettingsError, match="WEBHOOK_SECRET is not set"):
        load_settings()


def test_a_malformed_secret_is_refused_without_echoing_it() -> None:
    with pytest.raises(ValidationError) as info:
        Settings(webhook_secret="has spaces and ünïcode")  # type: ignore[arg-type]
    line = describe_error(info.value)
    assert line.startswith("Configuration error: WEBHOOK_SECRET:") and "spaces" not in line


def test_settings_lists_and_webhook_path() -> None:
    settings = Settings(admin_ids="1, 22,333", webhook_url="")  # type: ignore[arg-type]
    assert settings.admin_ids == [1, 22, 333] and settings.webhook_url is None
    assert webhook_path("https://bot.example.com/tg/hook") == "/tg/hook"
    assert webhook_path("https://bot.example.com") == "/webhook"
