"""The HTTP front end (FastAPI on uvicorn): a second front end on the same queue client.

- `app`: the application, its lifespan (Redis, the producer, the result listener).
- `jobs`: a batch of texts into several targets, gathered into one result.
- `seed`: the async API (`POST /api/translate_async`, `GET /api/result/{id}`).
- `libre`: the LibreTranslate-compatible `POST /translate` and `GET /health`.

No ML library is imported here and no handler blocks on a result: a call that waits for
its job listens for the job's change (`jobs.waiters`), which the result listener of
whichever replica delivered the answer publishes.
"""
