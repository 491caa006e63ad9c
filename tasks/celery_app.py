"""The Celery application, configured from Settings (JSON only, Redis everywhere)."""

from __future__ import annotations

from typing import Any

from celery import Celery
from kombu import Queue

from config import Settings
from tasks import broker_clients
from tasks.connections import broker_url, celery_ssl, transport_options
from tasks.contract import DOCUMENT_TASKS, QUEUE_CHAT, QUEUE_DOCUMENTS, QUEUES, TRANSLATE
from tasks.worker.lease import MessageLease


def celery_config(settings: Settings, *, results: bool = True) -> dict[str, Any]:
    """Celery settings shared by workers and the bot's producer.

    Args:
        settings: the process settings.
        results: False for a producer that must not subscribe to results itself
            (the bot has its own listener; Celery's would leak a subscription per task).
    """
    redis_url = broker_url(settings)  # REDIS_URL, or sentinel://… with REDIS_SENTINELS
    return {
        "broker_url": redis_url,
        "result_backend": redis_url if results else None,
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "result_accept_content": ["json"],
        "task_queues": [Queue(name) for name in QUEUES],
        "task_default_queue": QUEUE_CHAT,
        "task_routes": {
            TRANSLATE: {"queue": QUEUE_CHAT},
            **{name: {"queue": QUEUE_DOCUMENTS} for name in DOCUMENT_TASKS},
        },
        # A request is answered even if its worker dies: the message is only
        # acknowledged once the task finished, and requeued if the child is killed.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "task_soft_time_limit": settings.task_soft_time_limit,
        "task_time_limit": settings.task_soft_time_limit + 30,
        # Batching needs messages buffered in the worker: two batches' worth per child, so
        # a full batch can gather while the one before it runs (unacked until it returns).
        "worker_prefetch_multiplier": 2 * settings.batch_max_requests,
        # "priority": a worker always empties earlier queues (inline) before later ones.
        "broker_transport_options": {
            # Live workers renew their messages' stamps (tasks/worker/lease.py); a dead worker's
            # come back this long after its last renewal.
            "visibility_timeout": settings.visibility_timeout,
            # Look for messages of dead workers every 10 s (kombu's default scans only
            # every 10th time).
            "unacked_restore_throttle": 1,
            # A worker killed inside a restore scan holds its mutex until this expires.
            "unacked_mutex_expire": 30,
            "queue_order_strategy": "priority",
            **transport_options(settings),  # the Sentinel master's name; {} without
        },
        "result_backend_transport_options": transport_options(settings),
        **celery_ssl(settings),
        "broker_connection_retry_on_startup": True,
        # Wait for Redis however long it is away (Celery gives up after 100 tries).
        "broker_connection_max_retries": None,
        # Redis restarting: wait for it rather than fail. A publish (the bot queueing a
        # request, a worker queueing a retry) retries for about a minute...
        "task_publish_retry_policy": {
            "max_retries": 30,
            "interval_start": 0,
            "interval_step": 0.5,
            "interval_max": 2,
        },
        # ...and a worker storing a result retries until Redis is back (with backoff).
        "result_backend_always_retry": True,
        "result_backend_max_retries": 40,
        "result_backend_max_sleep_between_retries_ms": 2000,
        "result_expires": settings.reply_ttl,
        "worker_concurrency": settings.worker_concurrency,
        "worker_hijack_root_logger": True,
        # PRELOAD_PAIRS load in worker_process_init, before a child reports "up"; a
        # model download can take minutes, and Celery kills children slower than this.
        "worker_proc_alive_timeout": 900,
        # Task events on, so Flower (and `celery events`) can follow the workers.
        "worker_send_task_events": True,
        "task_send_sent_event": True,
    }


def make_celery(settings: Settings, *, results: bool = True) -> Celery:
    """Build the Celery app; workers import the tasks of `tasks.worker`."""
    modules = ["tasks.worker.translate", "tasks.worker.documents"]
    broker_clients.install()
    app = Celery("tolmach", include=modules if results else [])
    app.conf.update(celery_config(settings, results=results))
    if results:
        app.steps["consumer"].add(MessageLease)
    # Tasks read their settings from the app they run in, not from globals.
    app.conf.tolmach_settings = settings
    return app
