"""Batches: every segment once, sorted by length, within the token budget."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tasks.engine.batching import chunks, estimate_tokens


@given(st.lists(st.text(max_size=400)), st.integers(min_value=64, max_value=4096))
def test_chunks_cover_everything_once_within_budget(texts: list[str], budget: int) -> None:
    got = list(chunks(texts, budget))
    flat = [i for chunk in got for i in chunk]
    assert sorted(flat) == list(range(len(texts)))
    for chunk in got:
        padded = len(chunk) * max(estimate_tokens(texts[i]) for i in chunk)
        assert len(chunk) == 1 or padded <= budget
    lengths = [len(texts[i]) for i in flat]
    assert lengths == sorted(lengths)


def test_many_short_requests_make_one_batch() -> None:
    texts = ["Hello there, how are you?"] * 256
    assert [len(c) for c in chunks(texts, 8192)] == [256]
