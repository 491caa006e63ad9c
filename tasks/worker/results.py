"""A batch's results stored together: two round trips for the batch, not two per result.

Celery's Redis backend stores one result at a time: a GET (a result already SUCCESS is
never overwritten: a lost duplicate may have answered) and a SET+PUBLISH transaction.
For a batch of 64 that is 128 round trips between two model calls, while the model
idles. This does the same checks and stores the same meta, for the whole batch at once;
what the backend would have published, listeners receive the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from celery import states
from celery.backends.redis import RedisBackend
from celery_batches import SimpleRequest


def store_all(backend: RedisBackend, answers: Sequence[tuple[SimpleRequest, Any]]) -> None:
    """Mark every request done with its result, as `backend.mark_as_done` would.

    Raises what the Redis client raises; nothing is retried here (the caller falls back
    to the backend's one-at-a-time store, which retries a lost connection).
    """
    if not answers:
        return
    keys = [backend.get_key_for_task(request.id) for request, _ in answers]
    current = backend.mget(keys)
    with backend.client.pipeline() as pipe:  # MULTI: all of them or none
        for (request, result), key, stored in zip(answers, keys, current, strict=True):
            if stored is not None and backend.decode_result(stored)["status"] == states.SUCCESS:
                continue
            meta = backend._get_result_meta(
                result=result, state=states.SUCCESS, traceback=None, request=request
            )
            meta["task_id"] = request.id
            value = backend.encode(meta)
            if backend.expires:
                pipe.setex(key, backend.expires, value)
            else:
                pipe.set(key, value)
            pipe.publish(key, value)
        pipe.execute()
