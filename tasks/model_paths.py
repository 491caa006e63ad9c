"""Model ids: a hub repository (`Helsinki-NLP/opus-mt-en-de`) or a local folder.

Shared by the engine, the worker's start-up checks and the catalog the bot reads, so
one rule decides which ids name folders.
"""

from __future__ import annotations

from pathlib import Path


def looks_local(model_id: str) -> bool:
    """A model id that names a folder rather than a hub repository."""
    return model_id.startswith(("/", ".", "~")) or Path(model_id).exists()


def missing_folder(model_id: str) -> bool:
    """A local model id whose folder does not exist (a hub id never is)."""
    return looks_local(model_id) and not Path(model_id).expanduser().is_dir()
