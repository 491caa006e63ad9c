"""DeepL's `ignore_tags`: which spans of a text are kept as they are."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from api.deepl_tags import cut, glue, tag_names

PIECES = ["<code>", "</code>", "</CODE >", "<code/>", '<code a="1">', "<pre>", "</pre>",
          "<codex>", "<code", "Hello ", "world", " ", "\n", "x > y", "<b>", "</b>"]  # fmt: skip


def by_one_regex(text: str, names: list[str]) -> list[str]:
    """The kept spans as the first version found them (one regex, `[^<>]` in tags)."""
    alternatives = "|".join(re.escape(name) for name in names)
    pattern = re.compile(rf"<({alternatives})\b[^<>]*?(?:/>|>.*?</\1\s*>)", re.S | re.I)
    return [m.group() for m in pattern.finditer(text)]


@given(st.lists(st.sampled_from(PIECES), max_size=30))
def test_the_scan_keeps_what_the_regex_kept(pieces: list[str]) -> None:
    text = "".join(pieces)
    parts, [plan] = cut([text], ["code", "pre"])
    kept = [p for p in plan if isinstance(p, str) and p.strip()]
    assert kept == [s for s in by_one_regex(text, ["code", "pre"]) if s.strip()]
    assert glue([plan], parts) == [text]


def test_thousands_of_unclosed_tags_are_text() -> None:
    # Each `<code>` left open once made the search run to the end of the text again.
    text = "<code>" * 16_000 + "tail"
    parts, [plan] = cut([text], ["code"])
    assert parts == [text] and plan == [0]


def test_tag_names_are_distinct_and_few() -> None:
    assert tag_names(["code, pre", "code", "x y", "1a"]) == ["code", "pre"]
    assert len(tag_names(",".join(f"t{i}" for i in range(1000)))) == 64
