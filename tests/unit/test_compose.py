"""docker/: the compose file's structure and the image's build arguments.

No Docker engine runs here, so the files are checked as data: what `docker compose`
would start, what it would expose, and that the examples name real settings.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from config import Settings
from tests.support.procs import ROOT

DOCKER = ROOT / "docker"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load((DOCKER / "docker-compose.yml").read_text())
    assert isinstance(data, dict)
    return data


def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


def test_services_and_volumes(compose: dict[str, Any]) -> None:
    assert {"redis", "bot", "worker", "worker-gpu"} <= set(services(compose))
    assert {"models", "redis-data"} <= set(compose["volumes"])


def test_redis_is_private_durable_and_health_checked(compose: dict[str, Any]) -> None:
    redis = services(compose)["redis"]
    assert "ports" not in redis
    command = " ".join(redis["command"])
    assert "--appendonly yes" in command
    assert "redis-cli" in redis["healthcheck"]["test"]
    assert any(v.endswith(":/data") for v in redis["volumes"])


def test_bot_and_workers_wait_for_a_healthy_redis(compose: dict[str, Any]) -> None:
    for name in ("bot", "worker", "worker-gpu"):
        service = services(compose)[name]
        assert service["depends_on"]["redis"]["condition"] == "service_healthy", name
        assert service["environment"]["REDIS_URL"] == "redis://redis:6379/0", name
    for name in ("bot", "worker"):
        assert services(compose)[name]["healthcheck"]["test"], name
    probe = services(compose)["bot"]["healthcheck"]["test"]
    assert probe[:3] == ["CMD", "python", "-c"] and "/health" in probe[3]
    compile(probe[3], "healthcheck", "exec")  # the folded YAML is one valid statement line


def test_worker_scales(compose: dict[str, Any]) -> None:
    """`--scale worker=N` needs no fixed name and no host port."""
    for name in ("worker", "worker-gpu"):
        worker = services(compose)[name]
        assert "container_name" not in worker and "ports" not in worker, name
        assert "models:/models" in worker["volumes"], name
        assert worker["command"][:3] == ["celery", "-A", "tasks"], name
    assert services(compose)["worker"]["image"] == services(compose)["bot"]["image"]


def test_only_the_http_api_publishes_a_host_port(compose: dict[str, Any]) -> None:
    """Redis, workers and the bot stay inside the compose network; the API is the way in."""
    assert {name for name, s in services(compose).items() if "ports" in s} == {"api"}
    assert services(compose)["api"]["ports"] == ["5000:5000"]
    assert services(compose)["api"]["command"] == ["python", "-m", "api"]
    assert services(compose)["api"]["environment"]["API_HOST"] == "0.0.0.0"


def test_gpu_worker_is_a_profile_with_a_cuda_build(compose: dict[str, Any]) -> None:
    gpu = services(compose)["worker-gpu"]
    assert gpu["profiles"] == ["gpu"]
    assert "/cu" in gpu["build"]["args"]["TORCH_INDEX"]
    [device] = gpu["deploy"]["resources"]["reservations"]["devices"]
    assert device["driver"] == "nvidia" and "gpu" in device["capabilities"]
    assert gpu["environment"]["DEVICE"] == "cuda"
    assert "profiles" not in services(compose)["worker"]


def test_dockerfile_builds_cpu_torch_unless_told_otherwise() -> None:
    dockerfile = (DOCKER / "Dockerfile").read_text()
    assert "ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu" in dockerfile
    assert 'pip install --index-url "$TORCH_INDEX"' in dockerfile
    assert "VOLUME" in dockerfile and "/models" in dockerfile


def test_examples_name_only_real_settings(compose: dict[str, Any]) -> None:
    fields = {name.upper() for name in Settings.model_fields}
    example = (DOCKER / ".env.example").read_text()
    named = re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", example, flags=re.MULTILINE)
    assert "BOT_TOKEN" in named and "WEBHOOK_SECRET" in named
    assert set(named) <= fields, set(named) - fields
    for name, service in services(compose).items():
        env = set(service.get("environment", {})) if name != "redis" else set()
        assert env <= fields, (name, env - fields)
