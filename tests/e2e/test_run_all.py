"""`tolmach run` on a machine without a running Redis: it starts one, a worker, the HTTP
API and (with a token) the bot, answers, and Ctrl-C stops everything."""

from __future__ import annotations

import json
import signal
import urllib.request
from pathlib import Path

import psutil
import pytest

from tests.support.emulator import BotApiEmulator
from tests.support.procs import Proc, free_port, python, wait_until
from tests.support.stack import process_env

pytestmark = pytest.mark.e2e


def test_run_starts_redis_worker_and_bot(
    own_emulator: BotApiEmulator, model_template: str, logdir: Path, tmp_path: Path
) -> None:
    port = free_port()  # nothing listens here: `tolmach run` must start Redis itself
    env = {
        **process_env(f"redis://127.0.0.1:{port}/0", model_template, own_emulator.url),
        "TOLMACH_DATA": str(tmp_path),
    }
    run = Proc("tolmach-run", python("-m", "cli", "run"), env, logdir).start()
    try:
        own_emulator.push_message(77, "/translate en>ru Hello, world")
        [reply] = own_emulator.wait_for(77, timeout=120)
        assert reply["text"] and reply["reply_to_message"]["message_id"] == 1
        assert (tmp_path / "redis").is_dir()
        assert run.popen is not None
        children = psutil.Process(run.popen.pid).children(recursive=True)
        assert any("redis-server" in " ".join(c.cmdline()) for c in children)
        run.popen.send_signal(signal.SIGINT)
        run.popen.wait(60)
        assert not any(c.is_running() and c.status() != psutil.STATUS_ZOMBIE for c in children)
    finally:
        run.stop()


def test_run_without_a_bot_token_serves_the_http_api(
    model_template: str, logdir: Path, tmp_path: Path
) -> None:
    port, api_port = free_port(), free_port()
    env = {
        **process_env(f"redis://127.0.0.1:{port}/0", model_template, "http://127.0.0.1:9"),
        "TOLMACH_DATA": str(tmp_path),
        "API_PORT": str(api_port),
    }
    env.pop("BOT_TOKEN")
    run = Proc("tolmach-run-api", python("-m", "cli", "run"), env, logdir).start()
    try:
        request = urllib.request.Request(
            f"http://127.0.0.1:{api_port}/translate",
            json.dumps({"q": "Hello, world", "source": "en", "target": "ru"}).encode(),
            {"Content-Type": "application/json"},
        )
        wait_until(lambda: _answers(request) or not run.alive(), 120, "the API's translation")
        assert run.alive(), run.tail()
        assert run.popen is not None
        commands = [" ".join(c.cmdline()) for c in psutil.Process(run.popen.pid).children(True)]
        assert not any(c.endswith("-m bot") for c in commands)  # no bot without a token
        assert "without the bot" in run.log.read_text()
    finally:
        run.stop()


def _answers(request: urllib.request.Request) -> bool:
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return bool(json.loads(response.read())["translatedText"])
    except OSError:
        return False
