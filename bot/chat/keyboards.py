"""Inline keyboards: "translate into another language" buttons under an answer."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from tasks.languages import display_name

POPULAR = ("en", "ru", "uk", "de", "fr", "es", "zh")
MAX_BUTTONS = 4


class OtherLanguage(CallbackData, prefix="tr"):
    """Callback data of a button: the stored original and the wanted language."""

    source: str
    tgt: str


def other_languages(source_id: str, exclude: set[str], locale: str) -> InlineKeyboardMarkup:
    """Buttons for popular languages other than the source and the current target."""
    return language_buttons(source_id, [c for c in POPULAR if c not in exclude], locale)


def language_buttons(source_id: str, codes: list[str], locale: str) -> InlineKeyboardMarkup:
    """One button per language (the first few): translate the stored original into it."""
    builder = InlineKeyboardBuilder()
    for code in codes[:MAX_BUTTONS]:
        builder.button(
            text=display_name(code, locale).capitalize(),
            callback_data=OtherLanguage(source=source_id, tgt=code),
        )
    builder.adjust(MAX_BUTTONS)
    return builder.as_markup()
