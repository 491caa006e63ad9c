"""The catalog: what a worker preloads by default, and where text in a language can go."""

from __future__ import annotations

from pathlib import Path

from config import Settings
from tasks.catalog import Catalog, reachable, to_preload


def folders(root: Path, *pairs: str) -> str:
    for pair in pairs:
        (root / f"opus-mt-{pair}").mkdir()
    return str(root / "opus-mt-{src}-{tgt}")


def test_the_deployments_pairs_are_preloaded_by_default(tmp_path: Path) -> None:
    template = folders(tmp_path, "en-ru", "ru-en", "de-en")
    pairs, why = to_preload(Settings(model_template=template))
    assert pairs == ["de-en", "en-ru", "ru-en"] and why == "the deployment's pairs"


def test_preload_is_capped_explicit_or_off(tmp_path: Path) -> None:
    template = folders(tmp_path, "en-ru", "ru-en", "de-en")
    capped, why = to_preload(Settings(model_template=template, max_loaded_models=2))
    assert capped == ["de-en", "en-ru"] and "first 2 of 3 (MAX_LOADED_MODELS)" in why
    assert to_preload(Settings(model_template=template, preload_pairs=["en-ru"]))[0] == ["en-ru"]
    assert to_preload(Settings(model_template=template, preload_models=False))[0] == []
    # A hub template lists nothing: hub models still load on first use.
    assert to_preload(Settings())[0] == []


def test_reachable_targets_directly_and_through_english() -> None:
    catalog = Catalog(
        pairs=["de-en", "en-ru", "en-uk", "ru-en"], multilingual=[], hub_template=False
    )
    assert reachable(catalog, "en") == ["ru", "uk"]
    assert reachable(catalog, "de") == ["en", "ru", "uk"]
    assert reachable(catalog, "ru") == ["en", "uk"]
    assert reachable(catalog, "fr") == []
    assert reachable(Catalog(pairs=[], multilingual=["m2m"], hub_template=False), "en") is None
    assert reachable(Catalog(pairs=[], multilingual=[], hub_template=True), "en") is None
