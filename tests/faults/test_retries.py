"""Transient failures are retried with backoff and a cap; others are answered at once."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from celery import Celery

from config import Settings
from tasks.celery_app import make_celery
from tasks.contract import TRANSLATE, TranslateFailed, TranslateOk, translate_args
from tasks.worker.retry import retry_delay
from tests.support.emulator import BotApiEmulator
from tests.support.procs import wait_until
from tests.support.stack import NUM_BEAMS, RedisServer, process_env, wait_worker_ready, worker_proc
from tests.support.tiny_model import reference_translate


def test_only_transient_errors_are_retried_with_backoff() -> None:
    unavailable = TranslateFailed(ok=False, error="model_unavailable")
    assert [retry_delay(unavailable, attempt) for attempt in range(4)] == [1, 2, None, None]
    assert retry_delay(TranslateFailed(ok=False, error="unsupported_pair"), 0) is None
    assert retry_delay(TranslateFailed(ok=False, error="internal"), 0) is None
    assert retry_delay(TranslateOk(ok=True, text="x", src="en", tgt="ru"), 0) is None


@pytest.mark.e2e
def test_a_model_that_comes_back_is_used_on_retry(
    redis_server: RedisServer,
    model_template: str,
    emulator: BotApiEmulator,
    logdir: Path,
    tmp_path: Path,
    redis_db: int,
) -> None:
    # en-fr is a broken model folder until just after the first attempt failed.
    broken = tmp_path / "opus-mt-en-fr"
    broken.mkdir()
    (broken / "config.json").write_text('{"model_type": "marian"}', encoding="utf-8")
    redis_server.client(redis_db).flushdb()
    template = str(tmp_path / "opus-mt-{src}-{tgt}")
    proc = worker_proc(
        "worker-retry",
        process_env(redis_server.url(redis_db), template, emulator.url),
        logdir,
        concurrency=1,
    ).start()
    try:
        wait_worker_ready(redis_server.url(redis_db), proc)
        app: Celery = make_celery(Settings(redis_url=redis_server.url(redis_db)))  # type: ignore[arg-type]
        result = app.send_task(TRANSLATE, args=translate_args("Good morning", "en", "fr"))
        client = redis_server.client(redis_db)
        deadline = time.monotonic() + 60
        while b"retrying" not in proc.log.read_bytes() and time.monotonic() < deadline:
            time.sleep(0.05)
        shutil.rmtree(broken)
        shutil.copytree(model_template.format(src="en", tgt="ru"), broken)
        answer = result.get(timeout=60)
        del result
        # Acknowledged once answered: nothing left for a visibility timeout to resend.
        wait_until(lambda: client.hlen("unacked") == 0, 30, "the acknowledgement")
    finally:
        proc.stop()
    expected = reference_translate(broken, ["Good morning"], NUM_BEAMS)[0]
    assert answer == {"ok": True, "text": expected, "src": "en", "tgt": "fr"}
