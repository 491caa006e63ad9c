"""Build the bot, its services and the dispatcher from Settings."""

from __future__ import annotations

from dataclasses import dataclass

from aiogram import Bot, Dispatcher
from aiogram.utils.i18n import I18n
from redis.asyncio import Redis

from bot.chat.choices import LanguageChoices
from bot.chat.delivery import Delivery
from bot.chat.flow import TranslateFlow
from bot.chat.sources import SourceStore
from bot.chat.typing_indicator import TypingIndicator
from bot.context import deliverer
from bot.documents.delivery import DocumentDelivery
from bot.documents.flow import DocumentFlow
from bot.documents.progress import ProgressBoard
from bot.handlers import routers
from bot.i18n import LocaleMiddleware, Texts, create_i18n
from bot.inline.answers import InlineAnswers
from bot.inline.flow import InlineFlow
from bot.limits import Limiter, Rates
from bot.middlewares.dedupe import OncePerMessage
from bot.middlewares.gate import Gate, Throttle
from bot.server.intake import Intake
from bot.server.metrics import BotMetrics, CountUpdates
from config import Settings
from tasks.client.access import AllowList
from tasks.client.listener import ResultListener
from tasks.client.prefs import PrefsStore
from tasks.client.queue import QueueClient
from tasks.telegram.session import create_bot as create_bot  # one way, shared with the API


@dataclass(kw_only=True)
class Services:
    """Everything handlers and the listener need, built once per process."""

    client: QueueClient
    redis: Redis
    prefs: PrefsStore
    i18n: I18n
    phrases: Texts
    typing: TypingIndicator
    limiter: Limiter
    metrics: BotMetrics
    board: ProgressBoard
    flow: TranslateFlow
    inline: InlineFlow
    documents: DocumentFlow
    intake: Intake


def create_services(settings: Settings, bot: Bot) -> Services:
    """The queue client (the same as the API's, with the bot's records) and the flows."""
    client = QueueClient.from_settings(settings)
    redis, submitter = client.redis, client.submitter
    prefs = PrefsStore(redis)
    i18n = create_i18n()
    phrases = Texts(i18n)
    typing = TypingIndicator(bot)
    policy = client.admission.policy  # the same admission policy as the API's
    limiter = Limiter(redis, Rates.from_settings(settings), client.admission)
    board = ProgressBoard(bot)
    return Services(
        client=client,
        redis=redis,
        prefs=prefs,
        i18n=i18n,
        phrases=phrases,
        typing=typing,
        limiter=limiter,
        metrics=BotMetrics(redis),
        board=board,
        flow=TranslateFlow(
            submitter=submitter,
            prefs=prefs,
            sources=SourceStore(redis, settings.reply_ttl),
            typing=typing,
            policy=policy,
        ),
        inline=InlineFlow(
            submitter=submitter,
            prefs=prefs,
            redis=redis,
            phrases=phrases,
            answers=InlineAnswers(redis=redis, bot=bot, phrases=phrases),
            limiter=limiter,
            debounce=settings.inline_debounce,
            deadline=settings.inline_deadline,
        ),
        documents=DocumentFlow(
            bot=bot,
            client=client,
            prefs=prefs,
            phrases=phrases,
            board=board,
            max_bytes=settings.document_byte_limit,
        ),
        intake=Intake(redis),
    )


def create_dispatcher(settings: Settings, services: Services) -> Dispatcher:
    """The dispatcher with every router; services reach handlers as workflow data."""
    dispatcher = Dispatcher(
        settings=settings,
        flow=services.flow,
        inline=services.inline,
        prefs=services.prefs,
        phrases=services.phrases,
        redis=services.redis,
        catalog=services.client.catalog,
        metrics=services.metrics,
        documents=services.documents,
    )
    dispatcher.update.outer_middleware(OncePerMessage(services.redis, services.intake))
    dispatcher.update.outer_middleware(CountUpdates(services.metrics))  # after dedup
    dispatcher.update.outer_middleware(Gate(AllowList(settings), services.limiter))
    throttle = Throttle(services.limiter)
    for observer in (dispatcher.message, dispatcher.edited_message, dispatcher.callback_query):
        observer.middleware(throttle)  # inner: runs after a `costly` handler's filters matched
    LocaleMiddleware(services.i18n).setup(dispatcher)
    dispatcher.include_routers(*routers())
    return dispatcher


def create_listener(bot: Bot, services: Services) -> ResultListener:
    """The result listener, with one deliverer per kind of request."""
    chat = deliverer(
        Delivery(
            bot=bot,
            phrases=services.phrases,
            typing=services.typing,
            choices=LanguageChoices(services.client.catalog),
        )
    )
    documents = DocumentDelivery(
        bot=bot, redis=services.redis, phrases=services.phrases, board=services.board
    )
    deliverers = {
        "translate": chat,
        "auto": chat,
        "inline": deliverer(services.inline.answers.collect),
        "document": deliverer(documents),
    }
    return services.client.listen(
        {kind: services.metrics.timed(deliver) for kind, deliver in deliverers.items()},
        progress={"document": documents.progress},
    )
