"""The queue and both its sides: the shared contract (`contract`), the queue client every
front end uses (`client`), the workers (`worker`), their engine (`engine`) and the document
formats (`formats`); `celery -A tasks worker` finds `app` here.

The app is built on first access (PEP 562), so a front end can import `tasks.contract`
and `tasks.client` without building a worker app or reading settings twice. Models load
lazily inside worker children, never at import time.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from celery import Celery


@cache
def worker_app() -> Celery:
    """The worker's Celery app, configured from the environment."""
    from config import load_settings
    from tasks.celery_app import make_celery

    settings = load_settings()
    if settings.log_format == "json":
        _json_logs()
    return make_celery(settings)


def _json_logs() -> None:
    """LOG_FORMAT=json: Celery leaves logging to us when `setup_logging` has a receiver."""
    from celery.signals import setup_logging

    from config.logs import setup_logging as configure

    def receiver(loglevel: int | str | None = None, **_: Any) -> None:
        configure(loglevel or "INFO", "json")

    setup_logging.connect(receiver, weak=False)


def __getattr__(name: str) -> Any:
    if name in ("app", "celery"):
        return worker_app()
    raise AttributeError(name)
