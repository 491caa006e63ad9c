"""`tolmach models`: fetch the models of language pairs ahead of time, and list what is here.

Pairs resolve to models as workers resolve them (MODEL_TEMPLATE, MODELS, through English
when there is no direct model). Hub models go into the Hugging Face cache that workers load
from (`HF_HOME`; `/models` in the compose file). Where CTranslate2 runs the model (ENGINE=auto,
the default, for opus-mt, NLLB and M2M100), the converted copy is made now, under
`MODEL_CACHE/ct2`, instead of on a worker's first request.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from config import Settings
from tasks.engine.choice import engine_for
from tasks.engine.registry import ModelRegistry, Step
from tasks.languages import PIVOT
from tasks.model_paths import looks_local, missing_folder

Echo = Callable[[str], None]
# Weights transformers never reads here: other frameworks' copies of the same model.
_SKIP = ["*.h5", "*.msgpack", "*.ot", "*.onnx", "onnx/*", "*.tflite", "tf_model*", "flax_model*"]


class ModelsError(Exception):
    """A model could not be fetched; the message is one line for the operator."""


def parse_pair(pair: str) -> tuple[str, str]:
    """`en-ru` (or `en>ru`) as (src, tgt).

    Raises:
        ModelsError: not a pair of language codes.
    """
    src, sep, tgt = pair.replace(">", "-").partition("-")
    if not sep or not src.isalpha() or not tgt.isalpha():
        raise ModelsError(f"{pair!r} is not a language pair such as en-ru")
    return src.lower(), tgt.lower()


def download(settings: Settings, pairs: list[str], echo: Echo) -> None:
    """Fetch (and, for CTranslate2, convert) the models that serve `pairs`.

    Raises:
        ModelsError: a pair has no model, or the hub is unreachable for one not cached.
    """
    registry = ModelRegistry.from_settings(settings)
    for pair in pairs:
        src, tgt = parse_pair(pair)
        for step in fetch_pair(registry, src, tgt):
            name = f"{step.src}-{step.tgt}"
            echo(f"{name}: {step.model_id} ready")
            if engine_for(step.model_id, settings.engine) == "ctranslate2":
                echo(f"{name}: CTranslate2 copy in {convert(settings, step.model_id)}")


def fetch_pair(registry: ModelRegistry, src: str, tgt: str) -> list[Step]:
    """The models serving src→tgt, fetched: a direct model, else two through English."""
    for model_id in registry.candidates(src, tgt):
        if fetch(model_id):
            return [Step(model_id, src, tgt)]
    if PIVOT in (src, tgt):
        raise ModelsError(f"no model for {src}-{tgt} (tried {registry.candidates(src, tgt)})")
    return fetch_pair(registry, src, PIVOT) + fetch_pair(registry, PIVOT, tgt)


def fetch(model_id: str) -> bool:
    """Make a model available offline; False when it does not exist.

    Raises:
        ModelsError: the hub could not be reached and the model is not cached.
    """
    if looks_local(model_id):
        return not missing_folder(model_id)
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import (
        HfHubHTTPError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
    )

    try:
        snapshot_download(model_id, ignore_patterns=_SKIP)
    except RepositoryNotFoundError:
        return False
    except (LocalEntryNotFoundError, HfHubHTTPError, OSError) as exc:
        raise ModelsError(
            f"cannot fetch {model_id}: the Hugging Face hub is unreachable and the model "
            f"is not in the local cache ({type(exc).__name__})"
        ) from None
    return True


def convert(settings: Settings, model_id: str) -> Path:
    """The CTranslate2 copy of a fetched model, converting it now if needed."""
    from tasks.engine.ctranslate2 import converted
    from tasks.errors import TranslationError

    try:
        return converted(model_id, Path(settings.model_cache).expanduser(), _quantization(settings))
    except (TranslationError, OSError) as exc:
        raise ModelsError(f"cannot convert {model_id} for CTranslate2: {exc}") from None


def _quantization(settings: Settings) -> str:
    from tasks.engine.ctranslate2 import resolve_compute_type

    return resolve_compute_type(settings.ct2_compute_type, settings.device)


@dataclass(frozen=True)
class Present:
    """A model on this machine: what `tolmach models list` prints."""

    name: str
    size: int
    engine: str
    where: str


def present(settings: Settings) -> list[Present]:
    """Models in the hub cache, CTranslate2 copies and local model folders."""
    cache = Path(settings.model_cache).expanduser()
    found = _hub_models()
    ct2 = cache / "ct2"
    for folder in sorted(ct2.iterdir() if ct2.is_dir() else []):
        if (folder / "model.bin").is_file():
            kind = "ctranslate2 " + folder.name.rsplit("-", 1)[-1]
            found.append(Present(folder.name, _size(folder), kind, str(ct2)))
    for folder in _local_folders(settings, cache):
        found.append(Present(folder.name, _size(folder), "transformers", str(folder.parent)))
    return found


def _hub_models() -> list[Present]:
    from huggingface_hub import scan_cache_dir
    from huggingface_hub.errors import CacheNotFound

    try:
        info = scan_cache_dir()
    except CacheNotFound:
        return []
    return [
        Present(repo.repo_id, repo.size_on_disk, "transformers (hub)", str(repo.repo_path.parent))
        for repo in sorted(info.repos, key=lambda r: r.repo_id)
        if repo.repo_type == "model"
    ]


def _local_folders(settings: Settings, cache: Path) -> list[Path]:
    """Model folders directly in MODEL_CACHE, and those MODEL_TEMPLATE names."""
    candidates = list(cache.iterdir()) if cache.is_dir() else []
    template = os.path.expanduser(settings.model_template)
    if looks_local(template):
        root = Path(template.format(src="*", tgt="*"))
        candidates += list(root.parent.glob(root.name)) if "*" not in str(root.parent) else []
    unique = {p.resolve() for p in candidates if (p / "config.json").is_file()}
    return sorted(unique)


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def human(size: float) -> str:
    """A byte count for people: 1.5 MB."""
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} TB"
