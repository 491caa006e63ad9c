"""`tolmach translate` as an operator runs it: the engine in its own process, no queue, and
never aiogram (a mistyped pair is worded by the parser it shares with the bot)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from cli.translate import USAGE
from tasks.pairs import NoTarget, SameLanguage, UnknownLanguage, words
from tests.support.procs import ROOT, python
from tests.support.tiny_model import reference_translate

# `python -m cli`, then a check of what it loaded on the way.
RUN = (
    "import sys; from cli.main import main; code = main(['translate', *sys.argv[1:]]);"
    "assert 'aiogram' not in sys.modules, 'aiogram was imported'; sys.exit(code)"
)


def tolmach_translate(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("MODEL", "HF_", "ENGINE"))}
    return subprocess.run(
        python("-c", RUN, *args),
        cwd=ROOT,
        env={**clean, "DEVICE": "cpu", "HF_HUB_OFFLINE": "1", **env},
        capture_output=True,
        text=True,
        timeout=240,
    )


def test_translates_with_the_engine_here(model_template: str, tmp_path: Path) -> None:
    done = tolmach_translate(
        "en>ru", "Hello", "world", MODEL_TEMPLATE=model_template, MODEL_CACHE=str(tmp_path)
    )
    assert done.returncode == 0, done.stderr
    folder = Path(model_template.format(src="en", tgt="ru"))
    assert done.stdout == reference_translate(folder, ["Hello world"], num_beams=2)[0] + "\n"


def _in_hub_cache(home: Path, model_id: str, folder: Path) -> None:
    """`folder` as the Hugging Face cache under `home` keeps a download of `model_id`."""
    revision = "0" * 40
    repo = home / "hub" / ("models--" + model_id.replace("/", "--"))
    shutil.copytree(folder, repo / "snapshots" / revision)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(revision)


@pytest.mark.parametrize("engine", ["auto", "transformers"])
def test_a_downloaded_hub_model_needs_no_hub(
    model_template: str, tmp_path: Path, engine: str
) -> None:
    # The default MODEL_TEMPLATE's model, downloaded earlier; now the hub is unreachable
    # and HF_HUB_OFFLINE is not set (a server offline, or the hub down). transformers
    # would ask the hub about each file first, retrying each for about 25 s.
    folder = Path(model_template.format(src="en", tgt="ru"))
    _in_hub_cache(tmp_path / "hf", "Helsinki-NLP/opus-mt-en-ru", folder)
    done = tolmach_translate(
        "en>ru",
        "Hello",
        "world",
        ENGINE=engine,
        HF_HOME=str(tmp_path / "hf"),
        HF_HUB_OFFLINE="0",
        HF_ENDPOINT="http://127.0.0.1:9",  # nothing listens there
        MODEL_CACHE=str(tmp_path / "cache"),
    )
    assert done.returncode == 0, done.stderr
    [expected] = reference_translate(folder, ["Hello world"], num_beams=2, engine=engine)
    assert done.stdout == expected + "\n"
    assert "127.0.0.1:9" not in done.stderr  # the hub was never asked


def test_a_mistyped_pair_gets_the_bots_english_words(tmp_path: Path) -> None:
    cases = [
        (["en>en", "hi"], SameLanguage("en")),
        (["en>rusian", "hi"], UnknownLanguage("rusian", "russian")),
    ]
    for args, error in cases:
        done = tolmach_translate(*args, MODEL_CACHE=str(tmp_path))
        assert (done.returncode, done.stderr, done.stdout) == (2, words(error) + "\n", "")


def test_no_target_gets_the_commands_own_usage_not_the_bots(tmp_path: Path) -> None:
    done = tolmach_translate("hello", "world", MODEL_CACHE=str(tmp_path))
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == USAGE + "\n"
    assert "tolmach translate en>ru" in done.stderr
    assert "/translate" not in done.stderr and "/lang" not in done.stderr
    assert words(NoTarget()) not in done.stderr
