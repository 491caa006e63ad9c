"""When a failed translation is tried again: only transient failures, with backoff.

Apart from the task module so the policy can be read (and tested) without building
the worker app.
"""

from __future__ import annotations

from tasks.contract import TranslateResult

# Failures worth another try: a model that could not be fetched or loaded (a hub or
# disk hiccup). Anything else is final; a batch that crashed is "internal", not retried.
TRANSIENT = frozenset({"model_unavailable"})
MAX_ATTEMPTS = 3


def retry_delay(result: TranslateResult, attempt: int) -> int | None:
    """Seconds before a request is tried again (1, 2, 4…), or None to answer now."""
    if result["ok"] or result["error"] not in TRANSIENT or attempt + 1 >= MAX_ATTEMPTS:
        return None
    return int(2**attempt)
