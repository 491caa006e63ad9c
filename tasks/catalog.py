"""What this deployment can translate, published by workers for the bot's /languages."""

from __future__ import annotations

import glob
import json
import os
import re
from typing import TypedDict

from config import Settings
from tasks.registry import looks_local

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
