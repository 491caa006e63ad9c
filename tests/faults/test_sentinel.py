"""Redis Sentinel: how connections are built (unit), and a failover with real processes
(a master, a replica, three sentinels, a worker and the bot): the master is SIGKILLed
with requests in flight, and every accepted request is still answered exactly once.

Run `pytest tests/faults/test_sentinel.py -s` to see the failover's figures.
"""

from __future__ import annotations

import itertools
import os
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis

from cli import launcher
from config import Settings
from tasks.celery_app import celery_config, make_celery
from tasks.client.requests import PENDING
from tasks.connections import (
    REDIS_RETRIES,
    BlockingSentinelPool,
    MasterSSLConnection,
    async_redis,
    broker_url,
    sync_redis,
)
from tests.support.emulator import BotApiEmulator
from tests.support.load import Sent, sentence
from tests.support.procs import Proc, free_port, wait_until
from tests.support.stack import TOKEN, process_env, redis_proc, start_bot, worker_proc

MASTER = "tolmach"
PASSWORD = "master-secret"
SENTINEL_PASSWORD = "sentinel-secret"
DB = 3
_users = itertools.count(50_000)


def sentinel_settings(
    url: str = f"redis://:{PASSWORD}@ignored/{DB}",
    sentinels: str = "127.0.0.1:26379,s2:26380",
    **extra: Any,
) -> Settings:
    """Settings in sentinel mode; REDIS_URL's host is never used."""
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        redis_url=url,  # type: ignore[arg-type]
        redis_sentinels=sentinels,  # type: ignore[arg-type]
        redis_sentinel_master=MASTER,
        **extra,
    )


def test_without_sentinels_everything_is_redis_url() -> None:
    settings = Settings(_env_file=None, redis_url="redis://:pw@r1:6380/2")  # type: ignore[call-arg, arg-type]
    config = celery_config(settings)
    assert config["broker_url"] == config["result_backend"] == "redis://:pw@r1:6380/2"
    assert "master_name" not in config["broker_transport_options"]
    assert config["result_backend_transport_options"] == {}
    assert "broker_use_ssl" not in config
    kwargs = sync_redis(settings).connection_pool.connection_kwargs
    assert (kwargs["host"], kwargs["port"], kwargs["db"], kwargs["password"]) == (
        "r1",
        6380,
        2,
        "pw",
    )
    assert type(async_redis(settings).connection_pool).__name__ == "BlockingConnectionPool"


def test_celery_goes_through_the_sentinels() -> None:
    settings = sentinel_settings(redis_sentinel_password=SENTINEL_PASSWORD)
    config = celery_config(settings)
    expected = f"sentinel://:{PASSWORD}@127.0.0.1:26379/{DB};sentinel://:{PASSWORD}@s2:26380/{DB}"
    assert config["broker_url"] == config["result_backend"] == broker_url(settings) == expected
    for options in (config["broker_transport_options"], config["result_backend_transport_options"]):
        assert options["master_name"] == MASTER
        assert options["sentinel_kwargs"]["password"] == SENTINEL_PASSWORD
    assert config["broker_transport_options"]["queue_order_strategy"] == "priority"  # kept


def test_tls_and_credentials_come_from_redis_url() -> None:
    url = "rediss://app:p%40ss@ignored/4?ssl_ca_certs=/etc/ca.pem"
    settings = sentinel_settings(url)
    config = celery_config(settings)
    assert config["broker_url"].startswith("sentinel://app:p%40ss@127.0.0.1:26379/4;")
    ssl = {"ssl_ca_certs": "/etc/ca.pem", "ssl_cert_reqs": "required"}
    assert config["broker_use_ssl"] == config["redis_backend_use_ssl"] == ssl
    assert config["broker_transport_options"]["sentinel_kwargs"]["ssl"] is True
    client = async_redis(settings)
    pool = client.connection_pool
    assert isinstance(pool, BlockingSentinelPool) and pool.service_name == MASTER
    assert pool.connection_class is MasterSSLConnection  # TLS, following failovers
    kwargs = pool.connection_kwargs
    assert (kwargs["username"], kwargs["password"], kwargs["db"]) == ("app", "p@ss", 4)
    assert pool.max_connections == 100 and kwargs["retry"].get_retries() == REDIS_RETRIES


def test_tolmach_run_starts_no_private_redis_with_sentinels() -> None:
    nothing_there = f"redis://127.0.0.1:{free_port()}/0"
    assert launcher.needs_private_redis(Settings(_env_file=None, redis_url=nothing_there))  # type: ignore[call-arg, arg-type]
    assert not launcher.needs_private_redis(sentinel_settings(nothing_there))


# --- failover with real processes ------------------------------------------------------


@dataclass
class Topology:
    """A master, its replica and three sentinels watching them, on 127.0.0.1."""

    ports: dict[str, int]
    procs: dict[str, Proc]

    def node(self, name: str) -> redis.Redis:
        return redis.Redis(port=self.ports[name], password=PASSWORD, db=DB)

    def sentinel(self, n: int = 0) -> redis.Redis:
        return redis.Redis(port=self.ports[f"sentinel-{n}"], password=SENTINEL_PASSWORD)

    def master_port(self) -> int:
        _, port = self.sentinel().sentinel_get_master_addr_by_name(MASTER)
        return int(port)

    def watched(self) -> bool:
        """Every sentinel sees the replica and the two other sentinels (a failover
        needs a quorum of 2 and a majority to elect the sentinel that runs it)."""
        for n in range(3):
            state = self.sentinel(n).sentinel_master(MASTER)
            if state["num-slaves"] < 1 or state["num-other-sentinels"] < 2:
                return False
        return True


def _server(name: str, port: int, data: Path, logdir: Path, *extra: str) -> Proc:
    auth = ("--requirepass", PASSWORD, "--masterauth", PASSWORD)
    return redis_proc(name, port, data, logdir, *auth, *extra).start()


def _sentinel(n: int, port: int, master: int, data: Path, logdir: Path) -> Proc:
    conf = data / f"sentinel-{n}.conf"  # sentinel rewrites its file: one each
    conf.write_text(
        f"port {port}\nbind 127.0.0.1\ndir {data}\nrequirepass {SENTINEL_PASSWORD}\n"
        f"sentinel monitor {MASTER} 127.0.0.1 {master} 2\n"
        f"sentinel auth-pass {MASTER} {PASSWORD}\n"
        # Sentinel's own knobs, short so the test fails over in seconds (defaults: 30 s
        # to call a master down, 3 min between failover attempts).
        f"sentinel down-after-milliseconds {MASTER} 1000\n"
        f"sentinel failover-timeout {MASTER} 10000\n"
    )
    return Proc(f"sentinel-{n}", ["redis-sentinel", str(conf)], dict(os.environ), logdir).start()


@pytest.fixture
def topology(tmp_path: Path, logdir: Path) -> Iterator[Topology]:
    names = ["master", "replica", "sentinel-0", "sentinel-1", "sentinel-2"]
    ports = {name: free_port() for name in names}
    procs = {"master": _server("sentinel-master", ports["master"], tmp_path, logdir)}
    replica_data = tmp_path / "replica"
    replica_data.mkdir()
    replica_of = ("--replicaof", "127.0.0.1", str(ports["master"]))
    procs["replica"] = _server(
        "sentinel-replica", ports["replica"], replica_data, logdir, *replica_of
    )
    for n in range(3):
        port = ports[f"sentinel-{n}"]
        procs[f"sentinel-{n}"] = _sentinel(n, port, ports["master"], tmp_path, logdir)
    topo = Topology(ports, procs)
    try:
        wait_until(lambda: _answers(topo.watched), 30, "sentinels watching master and replica")
        yield topo
    finally:
        for proc in procs.values():
            proc.stop()


def _answers(check: Any) -> bool:
    try:
        return bool(check())
    except (redis.RedisError, OSError):
        return False


@pytest.mark.e2e
def test_master_killed_mid_traffic(topology: Topology, model_template: str, logdir: Path) -> None:
    emulator = BotApiEmulator(TOKEN)
    emulator.start()
    env, settings = _stack(topology, model_template, emulator.url)
    procs: list[Proc] = []
    sent = Sent()
    try:
        procs.append(_start_worker(env, settings, logdir))
        port = free_port()
        procs.append(start_bot("sentinel-bot", {**env, "METRICS_PORT": str(port)}, logdir, port))
        # The worker's control channel and the bot's result listener: one pattern each.
        wait_until(lambda: _patterns(topology.node("master")) == 2, 30, "the bot listening")
        for i in range(20):
            sent.push(emulator, next(_users), sentence(5000 + i))
        wait_until(lambda: sent.answered(emulator) >= 5, 60, "traffic flowing")
        killed_at = time.monotonic()
        topology.procs["master"].stop(signal.SIGKILL)
        wait_until(
            lambda: _answers(lambda: topology.master_port() == topology.ports["replica"]),
            30,
            "the replica promoted",
        )
        promoted = time.monotonic() - killed_at
        new_master = topology.node("replica")
        # Neither stays on the dead master: both subscribe again on the new one.
        wait_until(lambda: _answers(lambda: _patterns(new_master) == 2), 30, "resubscribed")
        for i in range(20):
            sent.push(emulator, next(_users), sentence(5020 + i))
        wait_until(lambda: sent.answered(emulator) == 40, 90, "40 answers")
        recovered = time.monotonic() - killed_at
        wait_until(lambda: new_master.zcard(PENDING) == 0, 30, "no pending replies")
        time.sleep(1)  # a duplicate would arrive about now
        assert all(proc.alive() for proc in procs)  # nothing was restarted
    finally:
        for proc in reversed(procs):
            proc.stop()
        emulator.stop()
    print(f"\n[figures] failover: promoted {promoted:.1f} s, all answered {recovered:.1f} s")
    sent.check(emulator, model_template, "Sentinel master SIGKILLed mid-traffic")


def _stack(topology: Topology, template: str, api_url: str) -> tuple[dict[str, str], Settings]:
    """Environment of the worker and the bot, and the same as Settings for the test."""
    sentinels = ",".join(f"127.0.0.1:{topology.ports[f'sentinel-{n}']}" for n in range(3))
    env = {
        **process_env(f"redis://:{PASSWORD}@ignored/{DB}", template, api_url),
        "REDIS_SENTINELS": sentinels,
        "REDIS_SENTINEL_MASTER": MASTER,
        "REDIS_SENTINEL_PASSWORD": SENTINEL_PASSWORD,
        "PRELOAD_PAIRS": "en-ru",
    }
    settings = sentinel_settings(sentinels=sentinels, redis_sentinel_password=SENTINEL_PASSWORD)
    return env, settings


def _patterns(node: redis.Redis) -> int:
    return int(node.execute_command("PUBSUB", "NUMPAT"))


def _start_worker(env: dict[str, str], settings: Settings, logdir: Path) -> Proc:
    """A one-child worker; waits until it answers a control ping and has its model."""
    from tasks.worker.metrics import MODEL_LOADS_KEY

    proc = worker_proc("sentinel-worker", env, logdir, concurrency=1).start()
    app = make_celery(settings)
    client = sync_redis(settings)

    def ready() -> bool:
        if not proc.alive():
            raise RuntimeError(f"worker died:\n{proc.tail()}")
        return bool(app.control.ping(timeout=0.5)) and client.hlen(MODEL_LOADS_KEY) >= 1

    wait_until(ready, 120, "the worker")
    return proc
