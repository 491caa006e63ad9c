"""What the API's routes share, built once per process from Settings."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from redis.asyncio import Redis

from api.guard import Guard
from api.jobs import PREFIX, ApiJobs
from api.keys import KeyStore
from config import Settings
from tasks.client.buckets import TokenBuckets
from tasks.client.listener import ResultListener
from tasks.client.queue import QueueClient


@dataclass(kw_only=True)
class ApiServices:
    """What the routes need, built once per process (`app.state.services`)."""

    settings: Settings
    client: QueueClient
    redis: Redis
    jobs: ApiJobs
    guard: Guard
    listener: ResultListener


def create_jobs(settings: Settings, redis: Redis | None = None) -> tuple[ApiJobs, ResultListener]:
    """The API's jobs on a queue client of their own, and the listener that answers them.

    Records of their own (`PREFIX`): the bot's listener never claims an API request, nor
    this one a bot's.
    """
    client = QueueClient.from_settings(settings, redis, prefix=PREFIX)
    jobs = ApiJobs.from_settings(settings, client)
    return jobs, client.listen(jobs.deliverers, progress=jobs.progress)


def create_services(settings: Settings) -> ApiServices:
    """The jobs and their queue client, and the guard every route passes."""
    jobs, listener = create_jobs(settings)
    client = jobs.queue
    guard = Guard(
        settings=settings,
        keys=KeyStore(client.redis),
        buckets=TokenBuckets(client.redis),
        admission=client.admission,
    )
    return ApiServices(
        settings=settings,
        client=client,
        redis=client.redis,
        jobs=jobs,
        guard=guard,
        listener=listener,
    )


def services_of(request: Request) -> ApiServices:
    """The process's services (built in the app's lifespan)."""
    services: ApiServices = request.app.state.services
    return services
