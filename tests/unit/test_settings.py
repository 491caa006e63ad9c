"""Settings: defaults, and one clear line for a missing or malformed variable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from config import Settings
from config.settings import describe_error
from tests.support.procs import ROOT

CLEAN = {
    k: v
    for k, v in os.environ.items()
    if k not in {"BOT_TOKEN", "REDIS_URL", "DEVICE", "MODEL_TEMPLATE", "TELEGRAM_API_URL"}
}


def run_bot(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    # cwd is an empty folder so no developer's .env is read.
    return subprocess.run(
        [sys.executable, "-m", "bot"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={**CLEAN, "PYTHONPATH": str(ROOT), **env},
    )


def test_defaults() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.telegram_api_url == "https://api.telegram.org"
    assert str(settings.redis_url) == "redis://localhost:6379/0"
    assert settings.model_template == "Helsinki-NLP/opus-mt-{src}-{tgt}"
    assert settings.device == "auto"


def test_env_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("BOT_TOKEN=42:abc\nDEVICE=cpu\n")
    monkeypatch.chdir(tmp_path)
    for name in ("BOT_TOKEN", "DEVICE"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert settings.bot_token is not None and settings.bot_token.get_secret_value() == "42:abc"
    assert settings.device == "cpu"


def test_missing_token_is_one_clear_line(tmp_path: Path) -> None:
    result = run_bot(tmp_path)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "BOT_TOKEN" in lines[0]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DEVICE", "gpu"),
        ("REDIS_URL", "not-a-url"),
        ("MODEL_TEMPLATE", "no-placeholders"),
        ("TELEGRAM_API_URL", "ftp://x"),
        ("BOT_TOKEN", "bad token"),
        ("REDIS_SENTINELS", "sentinel-1"),
    ],
)
def test_malformed_setting_names_the_variable(tmp_path: Path, name: str, value: str) -> None:
    env = {"BOT_TOKEN": "1:abc", name: value}
    result = run_bot(tmp_path, **env)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and name in lines[0] and "Traceback" not in result.stderr
    if name == "BOT_TOKEN":
        assert value not in lines[0]  # secrets are never echoed


def test_sentinels_are_a_host_port_list() -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        redis_sentinels="10.0.0.5:26379, s2:26380,[::1]:26381",  # type: ignore[arg-type]
        redis_sentinel_master="tolmach",
    )
    assert settings.redis_sentinels == ["10.0.0.5:26379", "s2:26380", "[::1]:26381"]
    assert Settings(_env_file=None).redis_sentinels == []  # type: ignore[call-arg]


@pytest.mark.parametrize("value", ["s1", "s1:", ":26379", "s1:0", "s1:65536", "s1:port"])
def test_malformed_sentinel_is_named(value: str) -> None:
    with pytest.raises(ValidationError) as err:
        Settings(_env_file=None, redis_sentinels=value, redis_sentinel_master="m")  # type: ignore[call-arg, arg-type]
    line = describe_error(err.value)
    assert line.startswith("Configuration error: REDIS_SENTINELS: ") and repr(value) in line


def test_sentinels_need_a_master_name(tmp_path: Path) -> None:
    result = run_bot(tmp_path, BOT_TOKEN="1:abc", REDIS_SENTINELS="127.0.0.1:26379")
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Configuration error: REDIS_SENTINEL_MASTER: ")
