"""Segmentation round-trips exactly; protected spans never reach the model."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tasks.engine.segment import join, split, to_translate


def roundtrip(text: str) -> list[str]:
    pieces = split(text)
    assert join(pieces, to_translate(pieces)) == text
    return to_translate(pieces)


def test_sentences_and_whitespace() -> None:
    text = "Hello, world.  How are you?\n\n\tFine!  "
    assert roundtrip(text) == ["Hello, world.", "How are you?", "Fine!"]
    pieces = split(text)
    assert join(pieces, ["A", "B", "C"]) == "A  B\n\n\tC  "


def test_abbreviations_do_not_end_sentences() -> None:
    assert roundtrip("Dr. Smith went home. He slept.") == ["Dr. Smith went home.", "He slept."]


@pytest.mark.parametrize(
    "kept",
    [
        "https://example.org/a?b=1",
        "me@example.org",
        "@tolmach_bot",
        "#release",
        "`pip install x`",
        "🙂",
        "👍🏽",
    ],
)
def test_protected_spans_survive(kept: str) -> None:
    text = f"Look at {kept} today."
    segments = roundtrip(text)
    assert all(kept not in s for s in segments)
    pieces = split(text)
    assert kept in join(pieces, ["X"] * len(segments))


def test_nothing_to_translate() -> None:
    assert roundtrip("12:30 — 42 %") == []
    assert roundtrip("") == []


def test_long_sentence_is_cut() -> None:
    text = ", ".join(["word word word"] * 100) + "."
    segments = roundtrip(text)
    assert len(segments) > 1 and all(len(s) <= 600 for s in segments)


@given(st.text())
def test_any_text_round_trips(text: str) -> None:
    segments = roundtrip(text)
    assert all(s == s.strip() and s for s in segments)
