"""Long answers are split into valid Telegram messages at natural boundaries."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.chat.splitting import split_message


def test_short_text_is_one_piece() -> None:
    assert split_message("  Hello  ") == ["Hello"]
    assert split_message("   ") == []


def test_splits_at_sentence_ends() -> None:
    sentence = "This is a sentence of moderate length. "
    text = sentence * 300  # ~11,700 characters
    pieces = split_message(text)
    assert len(pieces) == 3
    assert all(len(p) <= 4096 and p.endswith(".") for p in pieces)
    assert " ".join(pieces) == text.strip()


def test_prefers_paragraphs() -> None:
    text = "a" * 3000 + "\n\n" + "b" * 3000
    assert split_message(text) == ["a" * 3000, "b" * 3000]


def test_no_boundary_cuts_hard() -> None:
    assert [len(p) for p in split_message("x" * 9000)] == [4096, 4096, 808]


def units(text: str) -> int:
    """The length Telegram counts: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def test_emoji_count_twice_as_telegram_counts_them() -> None:
    # "😀 Привет. " * 580 is 5,800 characters but 6,380 UTF-16 units: pieces cut at 4,096
    # characters were refused ("message is too long").
    pieces = split_message("😀 Привет. " * 580)
    assert len(pieces) == 2 and all(units(p) <= 4096 for p in pieces)
    assert [units(p) for p in split_message("😀" * 3000)] == [4096, 1904]


@given(st.text(), st.integers(min_value=20, max_value=300))
def test_pieces_fit_and_keep_every_visible_character(text: str, limit: int) -> None:
    pieces = split_message(text, limit)
    assert all(0 < units(p) <= limit for p in pieces)
    assert "".join("".join(p.split()) for p in pieces) == "".join(text.split())
