"""The bot's routers, one per feature, in the order they are tried."""

from __future__ import annotations

from aiogram import Router

from bot.handlers import errors, help, translate


def routers() -> list[Router]:
    """All routers; the error router is last so it sees every feature's errors."""
    return [help.router, translate.router, errors.router]
