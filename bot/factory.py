"""Build the bot, its services and the dispatcher from Settings."""

from __future__ import annotations

from dataclasses import dataclass

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from celery import Celery
from redis.asyncio import Redis

from bot.delivery import Delivery
from bot.handlers import routers
from bot.jobs import TranslationJobs
from bot.listener import ResultListener
from bot.replies import ReplyStore
from config import Settings
from tasks.celery_app import make_celery


@dataclass
class Services:
    """Everything handlers and the listener need, built once per process."""

    redis: Redis
    producer: Celery
    replies: ReplyStore
    jobs: TranslationJobs


def create_bot(settings: Settings) -> Bot:
    """The aiogram Bot, talking to TELEGRAM_API_URL (a local Bot API server works)."""
    assert settings.bot_token is not None, "load_settings(need_bot_token=True) checks this"
    session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
    return Bot(settings.bot_token.get_secret_value(), session=session)


def create_services(settings: Settings) -> Services:
    """Redis clients and the Celery producer (no result backend: we listen ourselves)."""
    redis = Redis.from_url(str(settings.redis_url), health_check_interval=30)
    producer = make_celery(settings, results=False)
    replies = ReplyStore(redis, ttl=settings.reply_ttl)
    return Services(redis, producer, replies, TranslationJobs(producer, replies))


def create_dispatcher(settings: Settings, services: Services) -> Dispatcher:
    """The dispatcher with every router; services reach handlers as workflow data."""
    dispatcher = Dispatcher(settings=settings, jobs=services.jobs)
    dispatcher.include_routers(*routers())
    return dispatcher


def create_listener(bot: Bot, services: Services) -> ResultListener:
    """The result listener that answers finished tasks."""
    return ResultListener(services.redis, services.replies, Delivery(bot))
