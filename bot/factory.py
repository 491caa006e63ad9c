"""Build the bot, its services and the dispatcher from Settings."""

from __future__ import annotations

from dataclasses import dataclass

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.utils.i18n import I18n, SimpleI18nMiddleware
from celery import Celery
from redis.asyncio import Redis

from bot.delivery import Delivery
from bot.flow import TranslateFlow
from bot.handlers import routers
from bot.i18n import Texts, create_i18n
from bot.inline import InlineFlow
from bot.jobs import TranslationJobs
from bot.listener import ResultListener
from bot.middlewares import OncePerMessage
from bot.prefs import PrefsStore
from bot.replies import ReplyStore, SourceStore
from bot.typing_indicator import TypingIndicator
from config import Settings
from tasks.celery_app import make_celery


@dataclass
class Services:
    """Everything handlers and the listener need, built once per process."""

    redis: Redis
    producer: Celery
    replies: ReplyStore
    prefs: PrefsStore
    i18n: I18n
    phrases: Texts
    typing: TypingIndicator
    flow: TranslateFlow
    inline: InlineFlow


def create_bot(settings: Settings) -> Bot:
    """The aiogram Bot, talking to TELEGRAM_API_URL (a local Bot API server works)."""
    assert settings.bot_token is not None, "load_settings(need_bot_token=True) checks this"
    session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
    return Bot(settings.bot_token.get_secret_value(), session=session)


def create_services(settings: Settings, bot: Bot) -> Services:
    """Redis clients, the Celery producer (no result backend: we listen ourselves)."""
    redis = Redis.from_url(str(settings.redis_url), health_check_interval=30)
    producer = make_celery(settings, results=False)
    replies = ReplyStore(redis, ttl=settings.reply_ttl)
    prefs = PrefsStore(redis)
    i18n = create_i18n()
    typing = TypingIndicator(bot)
    jobs = TranslationJobs(producer, replies)
    flow = TranslateFlow(
        jobs, prefs, SourceStore(redis, settings.reply_ttl), typing, settings.max_text_chars
    )
    phrases = Texts(i18n)
    inline = InlineFlow(
        jobs, prefs, redis, bot, phrases, settings.inline_debounce, settings.inline_deadline
    )
    return Services(redis, producer, replies, prefs, i18n, phrases, typing, flow, inline)


def create_dispatcher(settings: Settings, services: Services) -> Dispatcher:
    """The dispatcher with every router; services reach handlers as workflow data."""
    dispatcher = Dispatcher(
        settings=settings,
        flow=services.flow,
        inline=services.inline,
        prefs=services.prefs,
        phrases=services.phrases,
        redis=services.redis,
    )
    dispatcher.update.outer_middleware(OncePerMessage(services.redis))
    SimpleI18nMiddleware(services.i18n).setup(dispatcher)
    dispatcher.include_routers(*routers())
    return dispatcher


def create_listener(bot: Bot, services: Services) -> ResultListener:
    """The result listener that answers finished tasks."""
    delivery = Delivery(bot, services.phrases, services.typing, services.inline)
    return ResultListener(services.redis, services.replies, delivery)
