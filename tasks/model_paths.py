"""Model ids: a hub repository (`Helsinki-NLP/opus-mt-en-de`) or a local folder.

Shared by the engine, the worker's start-up checks and the catalog the bot reads, so
one rule decides which ids name folders.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")


def looks_local(model_id: str) -> bool:
    """A model id that names a folder rather than a hub repository."""
    return model_id.startswith(("/", ".", "~")) or Path(model_id).exists()


def missing_folder(model_id: str) -> bool:
    """A local model id whose folder does not exist (a hub id never is)."""
    return looks_local(model_id) and not Path(model_id).expanduser().is_dir()


def cached_copy(model_id: str) -> str | None:
    """The folder of a hub model already in the Hugging Face cache, found without the
    network; None for a local id or a model not cached."""
    if looks_local(model_id):
        return None
    from huggingface_hub import snapshot_download

    try:
        return str(snapshot_download(model_id, local_files_only=True))
    except (OSError, ValueError):  # LocalEntryNotFoundError is an OSError
        return None


def cached_first(model_id: str, load: Callable[[str], T]) -> T:
    """`load` of a model's cached copy when there is one, else of `model_id`.

    A cached model then needs no hub: transformers asks the hub whether each file is
    still current, and with the hub unreachable (an offline server without
    HF_HUB_OFFLINE=1) retries each question for about 25 s before it uses the cache.
    A copy that does not load (files missing) falls back to the hub.
    """
    folder = cached_copy(model_id)
    if folder is not None:
        try:
            return load(folder)
        except (OSError, ValueError) as exc:
            log.info("the cached copy of %r did not load (%r); asking the hub", model_id, exc)
    return load(model_id)
