"""Counting the CTranslate2 conversions the engine starts."""

from __future__ import annotations

from pathlib import Path

import pytest

import tasks.engine.ctranslate2


def count_conversions(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Record every conversion the engine starts."""
    done: list[Path] = []
    real = tasks.engine.ctranslate2.convert

    def counting(model_id: str, folder: Path, quantization: str) -> None:
        done.append(folder)
        real(model_id, folder, quantization)

    monkeypatch.setattr(tasks.engine.ctranslate2, "convert", counting)
    return done
