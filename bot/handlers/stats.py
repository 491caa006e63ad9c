"""`/stats` for the bot's administrators (ADMIN_IDS): queues, requests, loaded models."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from bot import texts
from bot.server.metrics import BotMetrics
from config import Settings

router = Router(name=__name__)


@router.message(Command("stats"))
async def stats(message: Message, settings: Settings, metrics: BotMetrics) -> None:
    """Answer admins with the deployment's state; tell anyone else it is not for them."""
    user_id = message.from_user.id if message.from_user else None
    if user_id not in settings.admin_ids:
        await message.answer(_(texts.STATS_ADMINS_ONLY))
        return
    fleet = await metrics.fleet()
    requests = metrics.requests_seen()
    await message.answer(
        _(texts.STATS).format(
            queues=", ".join(f"{name} {depth}" for name, depth in fleet.queues.items()),
            requests=", ".join(f"{k} {v}" for k, v in sorted(requests.items())) or 0,
            translated=fleet.counters.get("requests", 0),
            batches=fleet.counters.get("batches", 0),
            models=", ".join(fleet.models) or _(texts.STATS_NONE),
        )
    )
