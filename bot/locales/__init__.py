"""Compiled gettext catalogs of the bot's own texts; `python -m bot.locales` rebuilds
the .mo files from the .po files after editing a translation."""

from __future__ import annotations

from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

HERE = Path(__file__).parent


def compile_all() -> list[Path]:
    """Write every `*.po` under bot/locales as a `.mo` beside it."""
    written = []
    for po in HERE.glob("*/LC_MESSAGES/*.po"):
        with po.open("rb") as source:
            catalog = read_po(source)
        mo = po.with_suffix(".mo")
        with mo.open("wb") as target:
            write_mo(target, catalog)
        written.append(mo)
    return written
