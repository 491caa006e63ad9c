"""The bot's Russian catalog covers every message and its compiled .mo is current."""

from __future__ import annotations

import io

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from bot import texts
from bot.i18n import Texts, create_i18n
from bot.locales import HERE


def messages() -> list[str]:
    values = [v for k, v in vars(texts).items() if k.isupper() and isinstance(v, str)]
    return values + list(texts.COMMANDS.values())


def test_every_message_has_a_russian_translation_with_the_same_placeholders() -> None:
    phrases = Texts(create_i18n())
    for message in messages():
        russian = phrases.i18n.gettext(message, locale="ru")
        assert russian != message, message
        for name in ("{code}", "{src}", "{tgt}", "{languages}", "{limit}", "{length}", "{target}"):
            assert (name in message) == (name in russian), (message, name)


def test_compiled_catalogs_match_their_sources() -> None:
    for po in HERE.glob("*/LC_MESSAGES/*.po"):
        with po.open("rb") as source:
            catalog = read_po(source)
        compiled = io.BytesIO()
        write_mo(compiled, catalog)
        assert po.with_suffix(".mo").read_bytes() == compiled.getvalue(), (
            f"{po}: run `python -m bot.locales`"
        )


def test_locale_choice() -> None:
    phrases = Texts(create_i18n())
    assert phrases.locale("ru-RU") == "ru"
    assert phrases.locale("de") == "en"
    assert phrases.locale(None) == "en"
