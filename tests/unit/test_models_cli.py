"""`tolmach models download|list` as an operator runs them (a real process, no network)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.support.procs import ROOT, free_port, python
from tests.support.tiny_model import build_tiny_marian


def tolmach(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("MODEL", "HF_", "ENGINE"))}
    return subprocess.run(
        python("-m", "cli", "models", *args),
        cwd=ROOT,
        env={**clean, "DEVICE": "cpu", **env},
        capture_output=True,
        text=True,
        timeout=240,
    )


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    folder = tmp_path / "cache"
    build_tiny_marian(folder / "opus-mt-en-ru", seed=0)
    build_tiny_marian(folder / "opus-mt-de-en", seed=2)
    return folder


def test_list_shows_local_models_with_size_and_engine(cache: Path, tmp_path: Path) -> None:
    done = tolmach("list", MODEL_CACHE=str(cache), HF_HUB_CACHE=str(tmp_path / "hub"))
    assert done.returncode == 0, done.stderr
    rows = sorted(line.split() for line in done.stdout.splitlines())
    assert [row[0] for row in rows] == ["opus-mt-de-en", "opus-mt-en-ru"]
    for row in rows:
        assert row[2] in ("kB", "MB") and float(row[1]) > 0
        assert row[3] == "transformers"


def test_download_converts_for_ctranslate2_and_goes_through_english(
    cache: Path, tmp_path: Path
) -> None:
    env = {
        "MODEL_CACHE": str(cache),
        "MODEL_TEMPLATE": str(cache / "opus-mt-{src}-{tgt}"),
        "HF_HUB_CACHE": str(tmp_path / "hub"),
        "HF_HUB_OFFLINE": "1",
    }
    done = tolmach("download", "de-ru", ENGINE="ctranslate2", **env)
    assert done.returncode == 0, done.stderr
    assert "de-en: " in done.stdout and "en-ru: " in done.stdout  # no de-ru: via English
    assert len(list((cache / "ct2").glob("opus-mt-*-int8"))) == 2
    listed = tolmach("list", **env).stdout
    assert sum("ctranslate2 int8" in line for line in listed.splitlines()) == 2


@pytest.mark.parametrize(
    "offline", [{"HF_HUB_OFFLINE": "1"}, {"HF_ENDPOINT": "http://127.0.0.1:{port}"}]
)
def test_missing_model_with_the_hub_unreachable_is_one_clear_line(
    offline: dict[str, str], tmp_path: Path
) -> None:
    env = {k: v.format(port=free_port()) for k, v in offline.items()}
    done = tolmach("download", "en-ru", HF_HUB_CACHE=str(tmp_path / "hub"), **env)
    assert done.returncode == 1
    [line] = done.stderr.strip().splitlines()
    assert "Helsinki-NLP/opus-mt-en-ru" in line and "unreachable" in line
    assert done.stdout == ""


def test_a_bad_pair_is_refused(tmp_path: Path) -> None:
    done = tolmach("download", "english", HF_HUB_CACHE=str(tmp_path / "hub"))
    assert done.returncode == 1 and "is not a language pair" in done.stderr
