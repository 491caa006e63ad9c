"""What this deployment can translate, published by workers for the bot's /languages."""

from __future__ import annotations

import glob
import json
import os
import re
from typing import TypedDict

from config import Settings
from tasks.languages import PIVOT
from tasks.model_paths import looks_local

CATALOG_KEY = "tolmach:catalog"


class Catalog(TypedDict):
    """Pairs with a model on disk, wildcard models, and whether the hub is used."""

    pairs: list[str]
    multilingual: list[str]
    hub_template: bool


def build_catalog(settings: Settings) -> Catalog:
    """Look at MODEL_TEMPLATE and MODELS (local folders are listed, hub ids are not)."""
    template = os.path.expanduser(settings.model_template)
    pairs: set[str] = {k for k in settings.models if k != "*"}
    hub = not looks_local(template)
    if not hub:
        pattern = re.escape(template).replace(r"\{src\}", "(?P<src>[A-Za-z-]+?)")
        pattern = pattern.replace(r"\{tgt\}", "(?P<tgt>[A-Za-z-]+)")
        for path in glob.glob(template.replace("{src}", "*").replace("{tgt}", "*")):
            if (m := re.fullmatch(pattern, path)) and os.path.isdir(path):
                pairs.add(f"{m['src']}-{m['tgt']}")
    wildcard = [settings.models["*"]] if "*" in settings.models else []
    return Catalog(pairs=sorted(pairs), multilingual=wildcard, hub_template=hub)


def encode(catalog: Catalog) -> str:
    """JSON for Redis."""
    return json.dumps(catalog)


def to_preload(settings: Settings) -> tuple[list[str], str]:
    """The pairs a worker process loads as it starts, and why (for its log line).

    PRELOAD_PAIRS when set; else, unless PRELOAD_MODELS is off, the pairs the catalog
    lists (local MODEL_TEMPLATE folders and MODELS), at most MAX_LOADED_MODELS of them
    (more would only push each other out of memory).
    """
    if settings.preload_pairs:
        return list(settings.preload_pairs), "PRELOAD_PAIRS"
    if not settings.preload_models:
        return [], "PRELOAD_MODELS is off"
    listed = build_catalog(settings)["pairs"]
    if not listed:
        return [], "no local pairs: a hub MODEL_TEMPLATE loads on first use, or set PRELOAD_PAIRS"
    pairs = listed[: settings.max_loaded_models]
    why = "the deployment's pairs"
    if len(listed) > len(pairs):
        why += f", first {len(pairs)} of {len(listed)} (MAX_LOADED_MODELS)"
    return pairs, why


def reachable(catalog: Catalog, src: str) -> list[str] | None:
    """Targets the catalog's pairs reach from `src`, directly or through English;
    None when any pair may work (a hub template or a multilingual model)."""
    if catalog["hub_template"] or catalog["multilingual"]:
        return None
    pairs = [tuple(pair.split("-", 1)) for pair in catalog["pairs"]]
    direct = [tgt for s, tgt in pairs if s == src]
    via = [tgt for s, tgt in pairs if s == PIVOT] if PIVOT in direct else []
    return [tgt for tgt in dict.fromkeys(direct + via) if tgt != src]
