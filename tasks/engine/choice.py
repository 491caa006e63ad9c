"""ENGINE=auto: CTranslate2 for every model it converts, transformers for the rest.

CTranslate2 runs opus-mt 4-6x faster than torch on a CPU (bench/engine.py) and needs
neither torch nor transformers once a model is converted, so it is the default wherever
it can run the model. What a model is comes from its `config.json` (read from the folder,
or fetched alone from the hub), never from loading it.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from tasks.errors import UnsupportedPair
from tasks.model_paths import cached_copy, looks_local

log = logging.getLogger(__name__)

# Hugging Face model types CTranslate2's converter takes: Marian (opus-mt) and M2M100
# (NLLB-200's dense models are M2M100 too).
CONVERTIBLE = frozenset({"marian", "m2m_100"})
ENGINES = ("transformers", "ctranslate2")


def engine_for(model_id: str, engine: str) -> str:
    """The engine that runs `model_id` when ENGINE is `engine` (`auto` resolved).

    Raises:
        UnsupportedPair: `engine` is auto and the hub has no such repository.
    """
    if engine in ENGINES:
        return engine
    kind = model_type(model_id)
    return "ctranslate2" if kind in CONVERTIBLE else "transformers"


def model_type(model_id: str) -> str | None:
    """`model_type` from a model's config.json; None when it cannot be read (the
    engine's own load then says why).

    Raises:
        UnsupportedPair: a hub id with no such repository.
    """
    try:
        config = _read_config(model_id)
    except (OSError, ValueError) as exc:
        if type(exc).__name__ == "RepositoryNotFoundError":
            raise UnsupportedPair("?", "?", model_id) from exc
        log.debug("no config.json for %r: %r", model_id, exc)
        return None
    kind = config.get("model_type")
    return kind if isinstance(kind, str) else None


def _read_config(model_id: str) -> dict[str, Any]:
    if looks_local(model_id):
        path = Path(model_id).expanduser() / "config.json"
    elif (cached := cached_copy(model_id)) and (Path(cached) / "config.json").is_file():
        path = Path(cached) / "config.json"
    else:
        from huggingface_hub import hf_hub_download

        path = Path(hf_hub_download(model_id, "config.json"))
    loaded = json.loads(path.read_text("utf-8"))
    return loaded if isinstance(loaded, dict) else {}
