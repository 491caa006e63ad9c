"""The HTTP API keeps its promise when a worker dies: a worker SIGKILLed while it holds
the API's requests, and each request is still answered, once."""

from __future__ import annotations

import json
import signal
import urllib.request
from collections import Counter
from pathlib import Path

import pytest

from tests.support.api_proc import ApiProc
from tests.support.procs import Proc, wait_until
from tests.support.reference import reference
from tests.support.stack import RedisServer, launch_worker, process_env, wait_worker

pytestmark = pytest.mark.e2e


def post(url: str, body: object) -> dict[str, object]:
    data = json.dumps(body).encode()
    request = urllib.request.Request(url, data, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=150) as response:
        answer: dict[str, object] = json.loads(response.read())
        return answer


def test_a_worker_killed_holding_api_requests_still_answers_each_once(
    redis_server: RedisServer, model_template: str, logdir: Path, redis_db: int
) -> None:
    client = redis_server.client(redis_db)
    client.flushdb()
    env = process_env(redis_server.url(redis_db), model_template, "http://127.0.0.1:9")
    api = ApiProc("faults-api", env, logdir).launch()
    base = api.base
    # This worker buffers requests for a minute before translating: it dies holding them.
    doomed = launch_worker("api-doomed-worker", {**env, "BATCH_WAIT_MS": "60000"}, logdir)
    rescuer: Proc | None = None
    try:
        wait_worker(doomed, redis_server, redis_db)
        api.wait_up()
        texts = [f"Good morning, friend number {i}." for i in range(12)]
        task = post(f"{base}/api/translate_async", {"texts": texts, "target_langs": ["ru"]})
        wait_until(lambda: _held(client) == 12, 60, "the 12 requests taken by the worker")
        doomed.stop(signal.SIGKILL)
        rescuer = launch_worker("api-rescuer-worker", env, logdir)
        with urllib.request.urlopen(f"{base}/api/result/{task['task_id']}?wait=60") as got:
            done = json.loads(got.read())
        if done["status"] != "completed":  # a minute is the long-poll's most: ask again
            with urllib.request.urlopen(f"{base}/api/result/{task['task_id']}?wait=60") as got:
                done = json.loads(got.read())
        assert done["status"] == "completed", done
        assert done["result"]["translations"]["ru"] == reference(model_template, texts)
        # Every part is in and no record is left waiting (a claim makes each delivery one).
        wait_until(lambda: client.zcard("tolmach:api:pending") == 0, 30, "no pending records")
        assert client.hlen(f"tolmach:api:parts:{task['task_id']}") == 12
    finally:
        doomed.stop(signal.SIGKILL)
        if rescuer is not None:
            rescuer.stop()
        api.stop()


def _held(client: object) -> int:
    """Messages a worker took and has not acknowledged (kombu's `unacked` hash)."""
    held = Counter(json.loads(raw)[2] for raw in client.hvals("unacked"))  # type: ignore[attr-defined]
    return held["chat"]
