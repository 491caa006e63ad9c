"""The bot's own language (English, Russian): gettext catalogs via aiogram's I18n."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiogram.types import TelegramObject
from aiogram.utils.i18n import I18n, SimpleI18nMiddleware

LOCALES = Path(__file__).parent / "locales"
DOMAIN = "tolmach"


def create_i18n() -> I18n:
    """Load the compiled catalogs under bot/locales."""
    return I18n(path=LOCALES, default_locale="en", domain=DOMAIN)


class LocaleMiddleware(SimpleI18nMiddleware):
    """aiogram's locale of the user (`ru-RU` → `ru`, unknown → English), also handed to
    handlers as `locale`, so none works it out again."""

    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        """The UI locale of the update's user; stored in `data["locale"]`."""
        locale = await super().get_locale(event, data)
        data["locale"] = locale
        return locale


class Texts:
    """Messages in a given locale, for code that runs outside a handler."""

    def __init__(self, i18n: I18n) -> None:
        self.i18n = i18n

    def locale(self, language_code: str | None) -> str:
        """The UI locale for a Telegram `language_code` (ru-RU → ru; else English)."""
        base = (language_code or "").split("-")[0].lower()
        return base if base in self.i18n.available_locales else self.i18n.default_locale

    def __call__(self, message: str, locale: str, **values: Any) -> str:
        """`message` translated into `locale`, with `{placeholders}` filled."""
        text = self.i18n.gettext(message, locale=self.locale(locale))
        return text.format(**values) if values else text
