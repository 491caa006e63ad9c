"""Celery tasks: thin wrappers that call the engine and return contract payloads."""

from __future__ import annotations

import os
import socket
from functools import cache

import redis
from celery.utils.log import get_task_logger

from tasks import worker_app
from tasks.contract import TRANSLATE, TranslateFailed, TranslateResult
from tasks.engine import EngineOptions, translate_lines
from tasks.errors import TextTooLong, TranslationError, UnsupportedPair
from tasks.languages import normalize_code
from tasks.registry import ModelRegistry

app = worker_app()
log = get_task_logger(__name__)

MODEL_LOADS_KEY = "tolmach:model_loads"


@cache
def registry() -> ModelRegistry:
    """This process's registry, created on first use inside the worker child."""
    settings = app.conf.tolmach_settings
    options = EngineOptions(settings.device, settings.num_beams, settings.torch_threads)
    client = redis.Redis.from_url(str(settings.redis_url))
    where = f"{socket.gethostname()}:{os.getpid()}"

    def record_load(model_id: str, seconds: float) -> None:
        # Operators (and the tests) can see that each process loads a model once.
        client.hincrby(MODEL_LOADS_KEY, f"{model_id}|{where}", 1)

    return ModelRegistry(settings.model_template, options, on_load=record_load)


@app.task(name=TRANSLATE)
def translate(text: str, src: str, tgt: str) -> TranslateResult:
    """Translate one text from `src` to `tgt`; errors come back as typed payloads."""
    try:
        return _translate(text, src, tgt)
    except TranslationError as exc:
        log.info("translate %s>%s refused: %s", src, tgt, exc)
        return TranslateFailed(ok=False, error=exc.code, src=src, tgt=tgt, detail=str(exc))


def _translate(text: str, src: str, tgt: str) -> TranslateResult:
    src_code, tgt_code = normalize_code(src), normalize_code(tgt)
    if src_code is None or tgt_code is None:
        raise UnsupportedPair(src, tgt, "invalid language code")
    limit = app.conf.tolmach_settings.max_text_chars
    if len(text) > limit:
        raise TextTooLong(f"{len(text)} characters, limit {limit}")
    translator = registry().get(src_code, tgt_code)
    return {"ok": True, "text": translate_lines(translator, text), "src": src_code, "tgt": tgt_code}
