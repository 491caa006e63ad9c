"""Every failure a worker can send has words in each front end: the contract's literals
(`ErrorCode`, `DocumentReason`) name every code and reason the worker and the queue client
produce, and the bot's and the API's wording tables have an entry for each, and no other."""

from __future__ import annotations

from typing import get_args, get_type_hints

from api.jobs import results
from bot import texts
from tasks.contract import DocumentFailed, DocumentReason, ErrorCode
from tasks.formats.errors import DocumentError, TooManyParts
from tasks.worker import document_state

CODES = set(get_args(ErrorCode))
REASONS = set(get_args(DocumentReason))


def _subclasses(cls: type[DocumentError]) -> list[type[DocumentError]]:
    found = cls.__subclasses__()
    return [*found, *(deeper for sub in found for deeper in _subclasses(sub))]


def test_the_reasons_are_those_the_worker_and_the_client_give() -> None:
    """Read from the errors' definitions, so a new reason fails here until it is in the
    literal, and a reason no error gives any more fails until it is dropped."""
    given = {error.reason for error in _subclasses(DocumentError)}
    # TooManyParts names its reason after its unit, when raised.
    units = get_args(get_type_hints(TooManyParts.__init__)["unit"])
    given |= {f"too_many_{unit}" for unit in units}
    # The worker's build answers a cancelled document so (the queue client cancels it).
    given.add("cancelled")
    assert document_state.DownloadFailed.reason in given  # the worker's own errors seen
    assert given == REASONS
    either = get_args(get_type_hints(DocumentFailed)["reason"])  # a reason, or the code
    assert {value for literal in either for value in get_args(literal)} == REASONS | CODES
    assert not REASONS & CODES  # a reason never reads as an engine failure's code


def test_the_bot_words_every_failure_and_no_other() -> None:
    assert set(texts.ERRORS) == CODES
    assert set(texts.REASONS) == REASONS


def test_the_api_words_every_failure_and_no_other() -> None:
    assert set(results.MESSAGES) == CODES
    assert set(results.REASONS) == REASONS
