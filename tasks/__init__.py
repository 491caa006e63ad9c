"""Worker side of Tolmach: `celery -A tasks worker` finds `app` here.

The app is built on first access (PEP 562), so the bot can import
`tasks.contract` without building a worker app or reading settings twice.
Models load lazily inside worker children, never at import time.
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

    return make_celery(load_settings())


def __getattr__(name: str) -> Any:
    if name in ("app", "celery"):
        return worker_app()
    raise AttributeError(name)
