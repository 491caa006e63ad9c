"""Faults at start, with real processes: a token Telegram rejects, Telegram or Redis not
answering, a model folder that does not exist. Each stops the process with one line (or,
for an outage, waits with one line per attempt), never a traceback; for `python -m bot`,
`celery -A tasks worker` and `tolmach run` alike.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
import redis as redis_client

from bot.server.startup import TOKEN_REJECTED, short_reason
from config import Settings
from tasks.worker.startup import missing_model_path, template_root
from tests.support.api_proc import ApiProc
from tests.support.emulator import BotApiEmulator
from tests.support.procs import Proc, free_port, python, wait_until
from tests.support.stack import TOKEN, RedisServer, process_env, redis_proc, worker_proc

e2e = pytest.mark.e2e
WRONG_TOKEN = "654321:not-the-emulator-token"
HUB_TEMPLATE = "Helsinki-NLP/opus-mt-{src}-{tgt}"  # the bot never loads a model


def output(proc: Proc) -> list[str]:
    """The non-empty lines a process wrote (stdout and stderr)."""
    text = proc.log.read_text(errors="replace") if proc.log.exists() else ""
    return [line for line in text.splitlines() if line.strip()]


def count(proc: Proc, text: str) -> int:
    return sum(text in line for line in output(proc))


def finished(proc: Proc, timeout: float = 60) -> int:
    """Wait for a process that must stop by itself; its exit status. (`tolmach run`
    starts three processes and stops them: on two busy cores, with the other test
    process's stack beside it, that is more than 30 s.)"""
    assert proc.popen is not None
    return proc.popen.wait(timeout)


def assert_stopped_with(proc: Proc, line: str) -> None:
    """Exit status 1, `line` printed once and last, no traceback."""
    code = finished(proc)
    lines = output(proc)
    assert code == 1, lines
    assert lines[-1] == line and count(proc, line) == 1, lines
    assert not any("Traceback" in text for text in lines), lines


def wait_retrying(proc: Proc, line: str, attempts: int = 2, timeout: float = 40) -> None:
    """Wait until `line` was logged `attempts` times by a process that keeps running."""

    def retried() -> bool:
        assert proc.alive(), output(proc)
        return count(proc, line) >= attempts

    wait_until(retried, timeout, f"{attempts} lines {line!r}")
    assert not any("Traceback" in text for text in output(proc)), output(proc)


def closed_url(scheme: str = "http") -> tuple[int, str]:
    """A port nothing listens on (now), and its URL."""
    port = free_port()
    return port, f"{scheme}://127.0.0.1:{port}" + ("/0" if scheme == "redis" else "")


# ---- python -m bot ---------------------------------------------------------------------


@e2e
def test_bot_stops_on_a_token_telegram_rejects(
    redis_server: RedisServer, own_emulator: BotApiEmulator, logdir: Path, redis_db: int
) -> None:
    env = process_env(redis_server.url(redis_db), HUB_TEMPLATE, own_emulator.url)
    bot = Proc("bot-401", python("-m", "bot"), {**env, "BOT_TOKEN": WRONG_TOKEN}, logdir)
    assert_stopped_with(bot.start(), TOKEN_REJECTED)
    assert WRONG_TOKEN.split(":")[1] not in bot.log.read_text()


@e2e
def test_bot_waits_for_telegram_then_comes_up(
    redis_server: RedisServer, logdir: Path, redis_db: int
) -> None:
    port, url = closed_url()
    env = process_env(redis_server.url(redis_db), HUB_TEMPLATE, url)
    bot = Proc("bot-no-telegram", python("-m", "bot"), env, logdir).start()
    emulator = BotApiEmulator(TOKEN)
    try:
        wait_retrying(bot, f"Telegram is unreachable at {url} (connection refused); retrying")
        emulator.start(port)  # Telegram is back: the bot carries on by itself
        wait_until(lambda: bool(emulator.calls("getUpdates")), 40, "the bot polling")
        assert bot.alive()
    finally:
        bot.stop()
        emulator.stop()


@e2e
def test_bot_waits_for_redis_then_comes_up(
    own_emulator: BotApiEmulator, logdir: Path, tmp_path: Path
) -> None:
    port, url = closed_url("redis")
    env = process_env(url, HUB_TEMPLATE, own_emulator.url)
    bot = Proc("bot-no-redis", python("-m", "bot"), env, logdir).start()
    redis = redis_proc("redis-late", port, tmp_path, logdir, env=env)
    try:
        wait_retrying(
            bot, f"Redis is unreachable at REDIS_URL 127.0.0.1:{port} (connection refused)"
        )
        redis.start()
        wait_until(lambda: bool(own_emulator.calls("getUpdates")), 40, "the bot polling")
    finally:
        bot.stop()
        redis.stop()


# ---- celery -A tasks worker ------------------------------------------------------------


@e2e
def test_worker_stops_on_a_missing_model_folder(
    redis_server: RedisServer, logdir: Path, tmp_path: Path, redis_db: int
) -> None:
    template = str(tmp_path / "models" / "opus-mt-{src}-{tgt}")
    env = process_env(redis_server.url(redis_db), template, "http://127.0.0.1:9")
    worker = worker_proc("worker-no-models", env, logdir, concurrency=1).start()
    assert_stopped_with(
        worker,
        f"Configuration error: MODEL_TEMPLATE: no folder {tmp_path / 'models'} "
        f"(MODEL_TEMPLATE={template})",
    )


@e2e
def test_worker_stops_on_a_preload_pair_without_a_folder(
    redis_server: RedisServer, model_template: str, logdir: Path, redis_db: int
) -> None:
    env = {
        **process_env(redis_server.url(redis_db), model_template, "http://127.0.0.1:9"),
        "PRELOAD_PAIRS": "en-ru,en-fr",
    }
    worker = worker_proc("worker-no-en-fr", env, logdir, concurrency=1).start()
    folder = model_template.format(src="en", tgt="fr")
    assert_stopped_with(
        worker,
        f"Configuration error: MODEL_TEMPLATE: no model folder {folder} for en-fr in PRELOAD_PAIRS",
    )


@e2e
def test_worker_waits_for_redis_without_a_traceback(model_template: str, logdir: Path) -> None:
    _, url = closed_url("redis")
    env = {**process_env(url, model_template, "http://127.0.0.1:9"), "PRELOAD_PAIRS": "en-ru"}
    worker = worker_proc("worker-no-redis", env, logdir, concurrency=1).start()
    try:
        # Celery retries the broker itself; our preload (which records the load in Redis)
        # must neither raise nor throw the loaded model away.
        wait_retrying(worker, f"Cannot connect to {url.replace('//', '//:**@')}")
        wait_until(lambda: count(worker, "could not record the load") >= 1, 40, "the preload")
        wait_retrying(worker, "Cannot connect to", attempts=3)
    finally:
        worker.stop()


# ---- tolmach run -----------------------------------------------------------------------


def tolmach_run(name: str, env: dict[str, str], logdir: Path) -> Proc:
    return Proc(name, python("-m", "cli", "run"), env, logdir).start()


@e2e
def test_run_stops_everything_on_a_rejected_token(
    redis_server: RedisServer,
    own_emulator: BotApiEmulator,
    model_template: str,
    logdir: Path,
    redis_db: int,
) -> None:
    env = process_env(redis_server.url(redis_db), model_template, own_emulator.url)
    run = tolmach_run("run-401", {**env, "BOT_TOKEN": WRONG_TOKEN}, logdir)
    # The worker is stopped too, and what it says while stopping is not shown.
    assert_stopped_with(run, TOKEN_REJECTED)


@e2e
def test_run_stops_everything_on_a_missing_model_folder(
    redis_server: RedisServer,
    own_emulator: BotApiEmulator,
    logdir: Path,
    tmp_path: Path,
    redis_db: int,
) -> None:
    template = str(tmp_path / "models" / "opus-mt-{src}-{tgt}")
    env = process_env(redis_server.url(redis_db), template, own_emulator.url)
    run = tolmach_run("run-no-models", env, logdir)
    assert_stopped_with(
        run,
        f"Configuration error: MODEL_TEMPLATE: no folder {tmp_path / 'models'} "
        f"(MODEL_TEMPLATE={template})",
    )


@e2e
def test_run_waits_for_telegram(
    redis_server: RedisServer, model_template: str, logdir: Path, redis_db: int
) -> None:
    _, url = closed_url()
    env = process_env(redis_server.url(redis_db), model_template, url)
    run = tolmach_run("run-no-telegram", env, logdir)
    try:
        wait_retrying(run, f"Telegram is unreachable at {url} (connection refused); retrying")
    finally:
        run.stop(signal.SIGINT)  # Ctrl-C
    assert not any("Traceback" in line for line in output(run)), output(run)


# ---- the checks themselves -------------------------------------------------------------


def test_missing_model_path_follows_the_routes_workers_take(model_template: str) -> None:
    def check(**values: object) -> str | None:
        settings = Settings(_env_file=None, model_template=model_template, **values)  # type: ignore[call-arg,arg-type]
        return missing_model_path(settings)

    assert check() is None
    assert check(preload_pairs=["en-ru", "de-ru"]) is None  # de-ru goes through English
    assert check(preload_pairs=["fr-ru"]) == (
        f"Configuration error: MODEL_TEMPLATE: no model folder "
        f"{model_template.format(src='fr', tgt='ru')} for fr-ru in PRELOAD_PAIRS"
    )
    assert check(models={"*": "facebook/nllb-200-distilled-600M"}, preload_pairs=["fr-ja"]) is None
    assert check(models={"en-uk": "/nowhere/en-uk"}) == (
        "Configuration error: MODELS: no model folder /nowhere/en-uk (for en-uk)"
    )
    assert missing_model_path(Settings(_env_file=None)) is None  # type: ignore[call-arg]


def test_template_root() -> None:
    assert template_root("Helsinki-NLP/opus-mt-{src}-{tgt}") is None
    assert template_root("/models/opus-mt-{src}-{tgt}") == Path("/models")
    assert template_root("/models/{src}-{tgt}/ct2") == Path("/models")
    assert template_root("~/m/{src}{tgt}") == Path.home() / "m"


def test_short_reason_names_the_cause() -> None:
    try:
        try:
            raise ConnectionRefusedError(111, "Connect call failed")
        except OSError as exc:
            raise RuntimeError("Cannot connect to host") from exc
    except RuntimeError as outer:
        assert short_reason(outer) == "connection refused"
    assert short_reason(TimeoutError()) == "timed out"
    assert short_reason(ValueError("first line\nsecond")) == "first line"


@e2e
def test_api_health_says_redis_is_gone_within_seconds(
    model_template: str, logdir: Path, tmp_path: Path
) -> None:
    # A probe (a load balancer's, Kubernetes') waits a few seconds: /health must answer
    # 503 within them, not after the Redis client's minute of retries.
    port, url = closed_url("redis")
    env = process_env(url, model_template, "http://127.0.0.1:9")
    redis = redis_proc("redis-health", port, tmp_path, logdir, env=env).start()
    api = ApiProc("api-health", env, logdir)
    try:
        wait_until(lambda: _pings(url), 30, "Redis up")
        api.start()
        assert _health(api)[0] == 200
        redis.stop()
        started = time.monotonic()
        status, took = _health(api)[0], time.monotonic() - started
        assert status == 503 and took < 5, (status, took)
    finally:
        api.stop()
        redis.stop()


def _pings(url: str) -> bool:
    try:
        return bool(redis_client.Redis.from_url(url).ping())
    except redis_client.RedisError:
        return False


def _health(api: ApiProc) -> tuple[int, object]:
    status, _, answer = api.request("GET", "/health", timeout=90)
    return status, answer
