"""The queue client a front end holds, built in one call from Settings.

Every front end (the bot, the HTTP API) gets the same parts wired the same way: its
Redis client, a Celery producer without a result backend (the listener reads results
itself), request records under the front end's own prefix, the submitter, the admission
policy and the catalog reader. `listen` then makes its result listener from the front
end's table of deliverers, one per kind, with the sweeps that re-send what was lost.

The table comes second because deliverers are built from what the client made (the API's
from its jobs, which submit through it; the bot's language buttons from the catalog).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from celery import Celery
from redis.asyncio import Redis

from config import Settings
from tasks.celery_app import make_celery
from tasks.client.admission import Admission, Policy
from tasks.client.answering import Deliver
from tasks.client.catalog import CatalogReader
from tasks.client.documents import cancel_document, submit_document
from tasks.client.listener import Progress, ResultListener
from tasks.client.requests import PREFIX, RequestRecord, RequestStore
from tasks.client.submit import Submitter
from tasks.connections import async_redis
from tasks.contract import DocumentRequest


@dataclass(kw_only=True)
class QueueClient:
    """A front end's way to the workers: submit, cancel a document, hear answers."""

    redis: Redis
    producer: Celery
    requests: RequestStore
    submitter: Submitter
    admission: Admission
    catalog: CatalogReader

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        redis: Redis | None = None,
        *,
        prefix: str = PREFIX,
    ) -> QueueClient:
        """A front end's client.

        `redis`: the front end's Redis client (default: REDIS_URL's server, or the master
        Sentinel names); `prefix`: its records' keys, so that no other front end's
        listener ever claims one of its requests (the bot's: `requests.PREFIX`).
        """
        redis = redis if redis is not None else async_redis(settings)
        producer = make_celery(settings, results=False)
        requests = RequestStore(redis, ttl=settings.reply_ttl, prefix=prefix)
        submitter = Submitter(producer, requests)
        catalog = CatalogReader(redis)
        return cls(
            redis=redis,
            producer=producer,
            requests=requests,
            submitter=submitter,
            admission=Admission(redis, Policy.from_settings(settings), catalog),
            catalog=catalog,
        )

    def listen(
        self, deliverers: Mapping[str, Deliver], *, progress: Mapping[str, Progress] | None = None
    ) -> ResultListener:
        """The result listener that hands each answer to the deliverer of its request's
        kind (`progress`: how a long task's PROGRESS states show, per kind), and sends
        again what was accepted but never queued, or lost by the broker."""
        return ResultListener(
            self.redis,
            self.requests,
            deliverers,
            progress=progress,
            requeue=self.submitter.recover,
        )

    async def submit_document(
        self,
        record: RequestRecord,
        request: DocumentRequest,
        *,
        task_id: str,
        also: Mapping[str, str | bytes] | None = None,
    ) -> str:
        """Queue a document (see `tasks.client.documents.submit_document`)."""
        return await submit_document(self.submitter, record, request, task_id=task_id, also=also)

    async def cancel_document(
        self, task_id: str, tell: Callable[[RequestRecord], Awaitable[None]]
    ) -> bool:
        """Cancel a document (see `tasks.client.documents.cancel_document`)."""
        return await cancel_document(self.submitter, task_id, tell)
