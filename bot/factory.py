"""Build the bot, its services and the dispatcher from Settings."""

from __future__ import annotations

from dataclasses import dataclass

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.utils.i18n import I18n, SimpleI18nMiddleware
from celery import Celery
from redis.asyncio import Redis

from bot.choices import LanguageChoices
from bot.delivery import Delivery
from bot.documents import DocumentFlow
from bot.documents_delivery import DocumentDelivery
from bot.flow import TranslateFlow
from bot.gate import Gate, Throttle
from bot.handlers import routers
from bot.i18n import Texts, create_i18n
from bot.inline import InlineFlow
from bot.jobs import TranslationJobs
from bot.limits import AllowList, Limiter, Rates
from bot.listener import ResultListener
from bot.metrics import BotMetrics, CountUpdates
from bot.middlewares import OncePerMessage
from bot.prefs import PrefsStore
from bot.replies import ReplyStore, SourceStore
from bot.typing_indicator import TypingIndicator
from config import Settings
from tasks.celery_app import make_celery
from tasks.connections import async_redis


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
    metrics: BotMetrics
    limiter: Limiter
    jobs: TranslationJobs
    documents: DocumentFlow | None = None


def create_bot(settings: Settings) -> Bot:
    """The aiogram Bot, talking to TELEGRAM_API_URL (a local Bot API server works)."""
    assert settings.bot_token is not None, "load_settings(need_bot_token=True) checks this"
    session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
    return Bot(settings.bot_token.get_secret_value(), session=session)


def create_services(settings: Settings, bot: Bot) -> Services:
    """Redis clients, the Celery producer (no result backend: we listen ourselves)."""
    redis = async_redis(settings)  # REDIS_URL's server, or the master Sentinel names
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
    limiter = Limiter(redis, Rates.from_settings(settings))
    inline = InlineFlow(
        jobs,
        prefs,
        redis,
        bot,
        phrases,
        settings.inline_debounce,
        settings.inline_deadline,
        limiter,
    )
    metrics = BotMetrics(redis)
    services = Services(
        redis, producer, replies, prefs, i18n, phrases, typing, flow, inline, metrics, limiter, jobs
    )
    services.documents = DocumentFlow(
        bot, producer, replies, prefs, redis, phrases, settings.document_byte_limit, jobs
    )
    return services


def create_dispatcher(settings: Settings, services: Services) -> Dispatcher:
    """The dispatcher with every router; services reach handlers as workflow data."""
    dispatcher = Dispatcher(
        settings=settings,
        flow=services.flow,
        inline=services.inline,
        prefs=services.prefs,
        phrases=services.phrases,
        redis=services.redis,
        metrics=services.metrics,
        documents=services.documents,
    )
    dispatcher.update.outer_middleware(OncePerMessage(services.redis))
    dispatcher.update.outer_middleware(CountUpdates(services.metrics))  # after dedup
    dispatcher.update.outer_middleware(Gate(AllowList(settings), services.limiter))
    throttle = Throttle(services.limiter)
    for observer in (dispatcher.message, dispatcher.edited_message, dispatcher.callback_query):
        observer.middleware(throttle)  # inner: runs after a `costly` handler's filters matched
    SimpleI18nMiddleware(services.i18n).setup(dispatcher)
    dispatcher.include_routers(*routers())
    return dispatcher


def create_listener(bot: Bot, services: Services) -> ResultListener:
    """The result listener that answers finished tasks."""
    documents = services.documents
    delivery = Delivery(
        bot,
        services.phrases,
        services.typing,
        services.inline,
        documents=DocumentDelivery(documents) if documents else None,
        choices=LanguageChoices(services.redis),
    )
    return ResultListener(
        services.redis,
        services.replies,
        services.metrics.timed(delivery),
        progress=documents.on_progress if documents else None,
        requeue=services.jobs.recover,
    )
