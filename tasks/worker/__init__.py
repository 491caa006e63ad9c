"""The Celery worker: tasks that wrap the engine, and what a worker process holds.

- `runtime`: the app, settings, Redis client, the service, preloading and the catalog.
- `translate`: the batched translate task; `retry`: its retry policy.
- `documents` (Celery tasks) and `document_state` (their Celery-free steps).
- `batches`, `lease`: celery-batches and visibility tweaks; `startup`: start-up checks;
  `metrics`: the counters workers keep in Redis.
"""
