"""Unit and property tests for the /translate argument parser."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.errors import BotError, SameLanguage, UnknownLanguage, UsageError
from bot.parsing import TranslateCommand, parse_translate
from tasks.languages import normalize_code


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ("en>ru Hello, world", TranslateCommand("en", "ru", "Hello, world")),
        ("  EN>RU   Hello  ", TranslateCommand("en", "ru", "Hello")),
        ("en>ru line one\n\nline two", TranslateCommand("en", "ru", "line one\n\nline two")),
        ("en>ru\nHello", TranslateCommand("en", "ru", "Hello")),
        ("zh_hans>pt-br Olá", TranslateCommand("zh-Hans", "pt-BR", "Olá")),
        ("eng>rus a>b c", TranslateCommand("eng", "rus", "a>b c")),
    ],
)
def test_parses_pair_and_text(args: str, expected: TranslateCommand) -> None:
    assert parse_translate(args) == expected


@pytest.mark.parametrize(
    "args", [None, "", "   ", "en>ru", "en>ru   \n ", "hello world", "en ru hi"]
)
def test_usage_errors(args: str | None) -> None:
    with pytest.raises(UsageError):
        parse_translate(args)


@pytest.mark.parametrize(
    ("args", "code"), [("en>r2d2 hi", "r2d2"), (">ru hi", "?"), ("e>ru hi", "e")]
)
def test_unknown_language(args: str, code: str) -> None:
    with pytest.raises(UnknownLanguage) as info:
        parse_translate(args)
    assert info.value.code == code


def test_same_language() -> None:
    with pytest.raises(SameLanguage):
        parse_translate("en>EN hello")


@given(st.text())
def test_any_input_parses_or_raises_a_bot_error(args: str) -> None:
    try:
        result = parse_translate(args)
    except BotError:
        return
    assert result.text == result.text.strip() and result.text
    assert normalize_code(result.src) == result.src and normalize_code(result.tgt) == result.tgt


codes = st.sampled_from(["en", "ru", "de", "uk", "fr", "zh-Hans", "pt-BR"])


@given(codes, codes, st.text(min_size=1).filter(lambda t: t.strip()))
def test_valid_commands_keep_the_text(src: str, tgt: str, text: str) -> None:
    if src == tgt:
        with pytest.raises(SameLanguage):
            parse_translate(f"{src}>{tgt} {text}")
        return
    assert parse_translate(f"{src}>{tgt} {text}") == TranslateCommand(src, tgt, text.strip())


@given(st.text(max_size=12))
def test_normalized_codes_are_path_safe(raw: str) -> None:
    code = normalize_code(raw)
    assert code is None or all(c.isascii() and (c.isalpha() or c == "-") for c in code)
