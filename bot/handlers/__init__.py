"""The bot's routers, one per feature, in the order they are tried."""

from __future__ import annotations

from aiogram import Router

from bot.handlers import (
    app,
    buttons,
    documents,
    errors,
    groups,
    help,
    inline,
    private,
    settings,
    stats,
    translate,
)


def routers() -> list[Router]:
    """Commands first, then plain-text catch-alls; errors last, seeing everything."""
    return [
        help.router,
        app.router,
        stats.router,
        settings.router,
        translate.router,
        buttons.router,
        inline.router,
        documents.router,
        private.router,
        groups.router,
        errors.router,
    ]
