"""What the API's routes share, built once per process from Settings."""

from __future__ import annotations

from dataclasses import dataclass

from celery import Celery
from fastapi import HTTPException, Request
from redis.asyncio import Redis

from api.files import FileLedger
from api.guard import Caller, Guard
from api.jobs import DETECT_KIND, DOCUMENT_KIND, PREFIX, TEXT, ApiJobs
from api.keys import KeyStore
from config import Settings
from tasks.celery_app import make_celery
from tasks.client.admission import Admission, Policy
from tasks.client.buckets import TokenBuckets
from tasks.client.listener import ResultListener
from tasks.client.requests import RequestStore
from tasks.client.submit import Submitter
from tasks.connections import async_redis


@dataclass(kw_only=True)
class ApiServices:
    """What the routes need, built once per process (`app.state.services`)."""

    settings: Settings
    redis: Redis
    producer: Celery
    submitter: Submitter
    jobs: ApiJobs
    guard: Guard
    listener: ResultListener


def create_services(settings: Settings) -> ApiServices:
    """Redis, the producer, the API's own request records and the listener."""
    redis = async_redis(settings)
    producer = make_celery(settings, results=False)
    # Records of their own: the bot's listener never claims an API request, nor this
    # one a bot's.
    requests = RequestStore(redis, ttl=settings.reply_ttl, prefix=PREFIX)
    submitter = Submitter(producer, requests)
    files = FileLedger(
        redis, budget=settings.api_files_max_bytes, per_client=settings.api_files_per_client
    )
    jobs = ApiJobs(
        redis=redis,
        submitter=submitter,
        ttl=settings.reply_ttl,
        files=files,
        file_ttl=settings.api_file_ttl,
    )
    listener = ResultListener(
        redis,
        requests,
        {TEXT: jobs.collect, DOCUMENT_KIND: jobs.collect_file, DETECT_KIND: jobs.collect_detect},
        progress={DOCUMENT_KIND: jobs.file_progress},
        requeue=submitter.recover,
    )
    admission = Admission(redis, Policy.from_settings(settings))
    guard = Guard(
        settings=settings, keys=KeyStore(redis), buckets=TokenBuckets(redis), admission=admission
    )
    return ApiServices(
        settings=settings,
        redis=redis,
        producer=producer,
        submitter=submitter,
        jobs=jobs,
        guard=guard,
        listener=listener,
    )


def services_of(request: Request) -> ApiServices:
    """The process's services (built in the app's lifespan)."""
    services: ApiServices = request.app.state.services
    return services


async def owned(request: Request, task_id: str, api_key: str | None) -> Caller:
    """The caller of a route that reads or changes a job: under API_KEYS=required only
    the key or Mini App user that made the job gets past (others get the 404 of an
    unknown job).

    Raises:
        HTTPException: 401/403 (see `Guard.caller`), 404 (not the caller's job).
    """
    services = services_of(request)
    caller = await services.guard.caller(request, api_key)
    if services.settings.api_keys == "required":
        owner = await services.jobs.client(task_id)
        if owner is not None and owner != caller.owner:
            raise HTTPException(404, f"no task {task_id}")
    return caller
