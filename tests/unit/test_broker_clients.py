"""kombu's Redis channels reuse one redis-py client (tasks.broker_clients), and messages
still go through: a real redis-server, the real Celery app and kombu channel."""

from __future__ import annotations

from config import Settings
from tasks.celery_app import make_celery
from tasks.contract import QUEUE_CHAT, TRANSLATE, translate_args
from tests.support.stack import RedisServer


def test_a_channel_reuses_its_client_until_its_pool_is_replaced(
    redis_server: RedisServer, redis_db: int
) -> None:
    client = redis_server.client(redis_db)
    client.flushdb()
    app = make_celery(Settings(redis_url=redis_server.url(redis_db)), results=False)  # type: ignore[arg-type]
    with app.connection_for_write() as connection:
        channel = connection.default_channel
        first = channel._create_client()
        assert channel._create_client() is first
        channel._pool = None  # what kombu does when the connection is lost
        assert channel._create_client() is not first
        # A message still reaches its queue (published through the reused client).
        with app.producer_or_acquire() as producer:
            for _ in range(3):
                app.send_task(
                    TRANSLATE,
                    args=translate_args("Hi", "en", "ru"),
                    queue=QUEUE_CHAT,
                    producer=producer,
                )
    assert client.llen(QUEUE_CHAT) == 3
