"""Several pool children share the cores: without TORCH_THREADS each child's engine runs
a thread per core, so the worker makes their idle OpenMP threads sleep rather than spin
on the cores the other children need (bench/api.py measures the effect).

Real `celery -A tasks worker` processes with the default engine, as users start them;
each is stopped once it has imported the engine (the policy is set just before). A worker
started without `-c` runs two children, which share the host's cores between their engines.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import pytest
from celery.concurrency.prefork import TaskPool as PreforkPool
from celery.concurrency.solo import TaskPool as SoloPool

from cli.launcher import worker_command
from tasks.worker.startup import host_cores, pool_children, share_cores
from tests.support.procs import Proc, wait_until
from tests.support.stack import RedisServer, process_env

LINE = "children share the cores: OMP_WAIT_POLICY=PASSIVE"


def engine_imported(proc: Proc) -> str:
    """A started worker's log once it has imported the engine."""
    wait_until(
        lambda: "ctranslate2 imported in" in proc.log.read_text(errors="replace"),
        120,
        f"{proc.name} to import the engine",
    )
    return proc.log.read_text(errors="replace")


@pytest.mark.e2e
def test_children_of_a_default_worker_wait_passively(
    redis_server: RedisServer, model_template: str, logdir: Path, redis_db: int
) -> None:
    env = process_env(redis_server.url(redis_db), model_template, "http://127.0.0.1:9")
    env.pop("TORCH_THREADS")  # as users run it: the engine's own thread count
    env.pop("OMP_WAIT_POLICY", None)
    cases = {
        "cores-default": ([], env, True),
        "cores-two": (["-c", "2"], env, True),
        "cores-one": (["-c", "1"], env, False),
        "cores-threads-set": (["-c", "2"], {**env, "TORCH_THREADS": "1"}, False),
    }
    procs = {
        name: Proc(name, worker_command(args), e, logdir) for name, (args, e, _) in cases.items()
    }
    try:
        for proc in procs.values():  # started together: each takes seconds to import
            proc.start()
        for name, (_, _, passive) in cases.items():
            log = engine_imported(procs[name])
            if passive:  # set before the engine's libraries were imported
                assert log.index(f"2 {LINE}") < log.index("ctranslate2 imported in"), name
            else:
                assert LINE not in log, (name, log[-2000:])
            assert "Traceback" not in log, name
        # Two children by default, not one per core: the cores are divided among them.
        per_child = max(1, host_cores() // 2)
        assert f"2 children, {per_child} engine threads each" in engine_imported(
            procs["cores-default"]
        )
        assert "2 children, 1 engine threads each" in engine_imported(procs["cores-threads-set"])
    finally:
        for proc in procs.values():
            proc.stop()


def test_share_cores_keeps_an_operators_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    # Set first, so that monkeypatch restores the test process's own environment after.
    monkeypatch.setenv("OMP_WAIT_POLICY", "unset")
    monkeypatch.delenv("OMP_WAIT_POLICY")
    share_cores(1)
    assert "OMP_WAIT_POLICY" not in os.environ
    share_cores(3)
    assert os.environ["OMP_WAIT_POLICY"] == "PASSIVE"
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    share_cores(3)
    assert os.environ["OMP_WAIT_POLICY"] == "ACTIVE"


def test_pool_children_counts_processes_that_run_models() -> None:
    # Celery's own pool classes, as WorkController holds them when the signal is sent.
    prefork = SimpleNamespace(pool_cls=PreforkPool, concurrency=4)
    assert pool_children(prefork) == 4
    autoscaled = SimpleNamespace(pool_cls=PreforkPool, concurrency=2, max_concurrency=6)
    assert pool_children(autoscaled) == 6
    assert pool_children(SimpleNamespace(pool_cls=SoloPool, concurrency=4)) == 1
    assert pool_children(None) == 1
