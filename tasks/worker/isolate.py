"""One request's failure stays its own: unusable text refused, a failed batch halved.

The engine answers each request apart for the errors it knows (`TranslationError`), but
anything else (a text the tokenizer cannot take, a bug) raises out of the whole call,
and a batch is every request a worker took at once, from any producer. So a failed call
is tried again in halves, recursively, until the requests that fail alone are found;
the rest get their translations. One culprit in a batch of n costs about 2·log2(n)
more engine calls, and a half that succeeded is never translated again.
"""

from __future__ import annotations

from collections.abc import Callable

from celery.exceptions import SoftTimeLimitExceeded
from celery.utils.log import get_task_logger

from tasks.contract import TranslateFailed, TranslateResult, unusable
from tasks.engine.service import Job

log = get_task_logger(__name__)
TranslateMany = Callable[[list[Job]], list[TranslateResult]]


def translate_isolated(
    translate_many: TranslateMany,
    jobs: list[Job],
    transient: tuple[type[BaseException], ...] = (),
) -> list[TranslateResult]:
    """`translate_many(jobs)`, one result per job, whatever one of them does to the call.

    Args:
        translate_many: The engine call (`TranslationService.translate_many`).
        jobs: The batch's requests.
        transient: Errors of the whole batch, not of a request (Redis down): raised, so
            the caller can queue the batch again.

    Returns:
        The results in the order of `jobs`; a job that fails on its own gets
        "bad_request" when its text is what the engine could not take (`unusable`, or
        a `ValueError`: `UnicodeError` is one), "internal" otherwise.

    Raises:
        SoftTimeLimitExceeded: The batch ran out of time: halves would run out too.
    """
    try:
        return translate_many(jobs)
    except (*transient, SoftTimeLimitExceeded):
        raise
    except Exception as exc:
        if len(jobs) == 1:
            return [_failed(jobs[0], exc)]
        # The exception's text may quote the user's; its type says enough here.
        log.warning("a batch of %d failed (%s); trying its halves", len(jobs), type(exc).__name__)
        half = len(jobs) // 2
        return translate_isolated(translate_many, jobs[:half], transient) + translate_isolated(
            translate_many, jobs[half:], transient
        )


def _failed(job: Job, exc: Exception) -> TranslateFailed:
    # A tokenizer refuses a lone surrogate with a RuntimeError (a C++ cast), so the text
    # is looked at, not only the exception.
    if unusable(job.text) or isinstance(exc, ValueError):
        log.warning("a request's text could not be translated (%s)", type(exc).__name__)
        return TranslateFailed(ok=False, error="bad_request")
    log.error("a request failed on its own", exc_info=exc)
    return TranslateFailed(ok=False, error="internal")
