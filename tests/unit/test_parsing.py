"""Unit and property tests for the command parsers."""

from __future__ import annotations

import pytest
from fastapi import HTTPException
from hypothesis import given
from hypothesis import strategies as st

from api import languages as api_languages
from tasks import languages as language_table
from tasks.languages import LANGUAGES, app_language, resolve, suggest
from tasks.pairs import (
    AUTO,
    NoTarget,
    PairError,
    SameLanguage,
    TranslateCommand,
    UnknownLanguage,
    UsageError,
    parse_languages,
    parse_translate,
    words,
)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ("en>ru Hello, world", TranslateCommand("en", ("ru",), "Hello, world")),
        ("  EN>RU   Hello  ", TranslateCommand("en", ("ru",), "Hello")),
        ("en>ru line one\n\nline two", TranslateCommand("en", ("ru",), "line one\n\nline two")),
        ("en>ru\nHello", TranslateCommand("en", ("ru",), "Hello")),
        ("zh_hans>pt-br Olá", TranslateCommand("zh", ("pt-BR",), "Olá")),
        ("eng>rus a>b c", TranslateCommand("en", ("ru",), "a>b c")),
        ("english>русский Hi", TranslateCommand("en", ("ru",), "Hi")),
        ("auto>ru Hi", TranslateCommand(AUTO, ("ru",), "Hi")),
        (">ru Hi", TranslateCommand(AUTO, ("ru",), "Hi")),
        ("ru Hi there", TranslateCommand(AUTO, ("ru",), "Hi there")),
        ("Deutsch Hi", TranslateCommand(AUTO, ("de",), "Hi")),
        ("en>ru,de,ru Hi", TranslateCommand("en", ("ru", "de"), "Hi")),
        ("ru,uk Hi", TranslateCommand(AUTO, ("ru", "uk"), "Hi")),
        ("Hello world", TranslateCommand(AUTO, (), "Hello world")),
        ("en>ru", TranslateCommand("en", ("ru",), "")),
        ("ru", TranslateCommand(AUTO, ("ru",), "")),
        (None, TranslateCommand(AUTO, (), "")),
        ("   ", TranslateCommand(AUTO, (), "")),
    ],
)
def test_parses_languages_and_text(args: str | None, expected: TranslateCommand) -> None:
    assert parse_translate(args) == expected


@pytest.mark.parametrize(
    ("args", "code", "suggestion"),
    [
        ("en>r2d2 hi", "r2d2", None),
        ("en>rusian hi", "rusian", "russian"),
        ("englsh>ru hi", "englsh", "english"),
    ],
)
def test_unknown_language_with_suggestion(args: str, code: str, suggestion: str | None) -> None:
    with pytest.raises(UnknownLanguage) as info:
        parse_translate(args)
    assert (info.value.code, info.value.suggestion) == (code, suggestion)


def test_same_language() -> None:
    with pytest.raises(SameLanguage):
        parse_translate("en>EN hello")
    # Dropped from a list of several, not an error.
    assert parse_translate("en>en,ru hi").targets == ("ru",)


def test_parse_languages() -> None:
    assert parse_languages("ru en") == ("ru", "en")
    assert parse_languages("русский,english") == ("ru", "en")
    for bad in (None, "", "a b c d"):
        with pytest.raises(UsageError):
            parse_languages(bad)
    with pytest.raises(UnknownLanguage):
        parse_languages("ru klingonish")


@given(st.text())
def test_any_input_parses_or_raises_a_pair_error(args: str) -> None:
    try:
        result = parse_translate(args)
    except PairError:
        return
    assert result.text == result.text.strip()
    assert result.src == AUTO or resolve(result.src) == result.src
    assert result.src not in result.targets


languages = st.sampled_from(sorted(LANGUAGES))


@given(languages, languages, st.text(min_size=1).filter(lambda t: t.strip()))
def test_valid_commands_keep_the_text(src: str, tgt: str, text: str) -> None:
    if src == tgt:
        with pytest.raises(SameLanguage):
            parse_translate(f"{src}>{tgt} {text}")
        return
    assert parse_translate(f"{src}>{tgt} {text}") == TranslateCommand(src, (tgt,), text.strip())


@given(st.text(max_size=12))
def test_resolved_codes_are_path_safe(raw: str) -> None:
    code = resolve(raw)
    assert code is None or all(c.isascii() and (c.isalpha() or c == "-") for c in code)


def test_language_names_are_built_once_per_process() -> None:
    """Every request resolves its languages; the names (babel's data) cost about half a
    second to build, so they must be built once, not per call."""
    language_table._aliases.cache_clear()
    for name in ("English", "русский", "deu", "pt-BR"):
        resolve(name)
    assert language_table._aliases.cache_info().misses == 1


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (UsageError(), "Usage: /translate <from>><to> <text>\n"),
        (NoTarget(), "Which language should I translate into?"),
        (UnknownLanguage("r2d2"), "I don't know the language “r2d2”."),
        (
            UnknownLanguage("rusian", "russian"),
            "I don't know the language “rusian”. Did you mean “russian”?",
        ),
        (SameLanguage("en"), "The source and the target are the same language (en): nothing"),
    ],
)
def test_errors_in_plain_english(error: PairError, expected: str) -> None:
    """`tolmach translate` prints these; the bot words them through its catalogs."""
    text = words(error)
    assert text.startswith(expected) and "{" not in text


def test_suggestions_kept_for_misspellings_are_bounded() -> None:
    # Anyone's input reaches `suggest` (a command's first word, an API's language): its
    # cache must not grow with every new string.
    for i in range(3000):
        suggest(f"notalanguage{i}")
    assert suggest.cache_info().currsize <= 1024
    assert suggest("russain") == "russian"


@pytest.mark.parametrize(
    ("code", "target"),
    [("pt-br", "pt"), ("en-US", "en"), ("ru", "ru"), ("zh-hant", "zh-Hant"), ("", None)],
)
def test_an_apps_language_is_a_target_without_its_region(code: str, target: str | None) -> None:
    # Telegram sends "pt-br": no model is named for pt-BR, the Portuguese one serves it.
    assert app_language(code) == target


@pytest.mark.parametrize("code", ["qq", "zz", "xx-YY"])
def test_two_letters_that_name_no_language_are_refused(code: str) -> None:
    # `/lang qq` was saved ("I will translate into qq") and every later request failed;
    # the API queued "zz" and waited for a worker to say there was no model.
    with pytest.raises(UnknownLanguage):
        parse_languages(code)
    with pytest.raises(UnknownLanguage):
        parse_translate(f"en>{code} Hello")
    with pytest.raises(HTTPException) as refused:
        api_languages.target(code)
    assert refused.value.status_code == 400


@pytest.mark.parametrize(
    ("code", "found"), [("yo", "yo"), ("pt-br", "pt-BR"), ("ru", "ru"), ("ceb", "ceb")]
)
def test_languages_outside_the_table_still_count(code: str, found: str) -> None:
    assert parse_languages(code) == (found,)
