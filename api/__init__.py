"""The HTTP front end (FastAPI on uvicorn): a second front end on the same queue client,
laid out as the bot is.

- `app`: the application, its lifespan (Redis, the producer, the result listener).
- `routes`: one router per feature (the async API, documents, LibreTranslate's, DeepL's,
  the web page, health), each route thin.
- `deps`: what routes are handed through `Depends` (services, the caller and its key,
  a job's owner check, the guard bound to a request).
- `services`: what the routes share, built once per process; `guard`: keys, rate limits,
  the admission policy, open waits; `bodies`: body limits before a body is read;
  `errors`: every error answered in its dialect's shape.
- `jobs`: a batch of texts into several targets (or a document), gathered into one result.

No ML library is imported here and no handler blocks on a result: a call that waits for
its job listens for the job's change (`jobs.waiters`), which the result listener of
whichever replica delivered the answer publishes.
"""
