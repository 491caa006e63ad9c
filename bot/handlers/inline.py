"""Inline queries: `@bot en>ru text` in any conversation."""

from __future__ import annotations

from aiogram import Router
from aiogram.types import InlineQuery, Update

from bot.inline.flow import InlineFlow

router = Router(name=__name__)


@router.inline_query()
async def inline_query(
    query: InlineQuery, event_update: Update, inline: InlineFlow, locale: str
) -> None:
    """Translate the query (debounced) and answer with one article per target."""
    await inline.query(query, order=event_update.update_id, locale=locale)
