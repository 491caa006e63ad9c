"""What a worker's main process does as it starts: check that the local model folders
it is told to use exist, then import the engine's libraries before the pool forks.

Run on Celery's `worker_init`, in the main process before the pool starts or the broker
is reached, so a path that does not exist stops the worker with one line naming the path
and the setting, rather than every request being answered "no model for this pair".
Hub models are not looked up here (that needs the network; a worker fetches them lazily).
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any

from celery.signals import celeryd_after_setup, worker_init

from config import Settings
from tasks.engine.base import import_libraries
from tasks.engine.registry import ModelRegistry
from tasks.languages import PIVOT, known_names
from tasks.model_paths import looks_local, missing_folder

log = logging.getLogger(__name__)


@worker_init.connect
def check_model_paths(sender: Any = None, **_: Any) -> None:
    """Stop the worker (SystemExit: the line, exit status 1) if a model folder is missing."""
    settings = sender.app.conf.get("tolmach_settings")
    if isinstance(settings, Settings) and (problem := missing_model_path(settings)):
        # SystemExit passes through Celery's signal dispatch, which logs other errors
        # with a traceback and carries on.
        raise SystemExit(problem)


@celeryd_after_setup.connect
def import_engine(conf: Any = None, instance: Any = None, **_: Any) -> None:
    """Import torch and transformers (or ctranslate2) before the pool forks: children
    start warm and share those pages (a cold child spent seconds importing them).
    Sent after logging is set up (worker_init is too early for the line)."""
    settings = conf.get("tolmach_settings") if conf is not None else None
    if isinstance(settings, Settings):
        children = pool_children(instance)
        if not settings.torch_threads:
            share_cores(children)
        # Forked children read it from the app's configuration (tasks/worker/runtime.py).
        conf.tolmach_engine_threads = threads = engine_threads(settings, children)
        log.info("%d children, %d engine threads each", children, threads)
        started = time.perf_counter()
        import_libraries(settings.engine)
        known_names()  # every request resolves languages: build babel's names once, here
        library = "transformers" if settings.engine == "transformers" else "ctranslate2"
        log.info("%s imported in %.2fs", library, time.perf_counter() - started)


def engine_threads(settings: Settings, children: int) -> int:
    """Threads of each child's engine: TORCH_THREADS, or the cores shared among the
    children, so that together they run a thread per core and no more."""
    if settings.torch_threads:
        return settings.torch_threads
    return max(1, host_cores() // max(children, 1))


def host_cores() -> int:
    """The cores this process may run on (a container's CPU set, not the host's)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def pool_children(worker: Any) -> int:
    """How many processes of this worker run models: its prefork pool's children (at
    most, when autoscaling), or 1 for the solo and thread pools."""
    pool = getattr(worker, "pool_cls", None)
    if "prefork" not in str(getattr(pool, "__module__", pool)):
        return 1
    return int(getattr(worker, "max_concurrency", None) or getattr(worker, "concurrency", 1) or 1)


def share_cores(children: int) -> None:
    """Let several children's OpenMP threads share the cores: idle threads sleep.

    OpenMP threads spin between operations by default: where children's threads outnumber
    the cores (a host with fewer cores than children), they spin on the cores the others
    need. On 2 cores, a child per core each with a thread per core translated a burst with
    transformers at 0.43 x the raw engine; with passive waiting, 0.81-0.84 x.
    Must run before the engine's libraries are imported (OpenMP reads it once); an
    OMP_WAIT_POLICY already set is kept.
    """
    if children > 1 and "OMP_WAIT_POLICY" not in os.environ:
        os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
        log.info("%d children share the cores: OMP_WAIT_POLICY=PASSIVE", children)


def missing_model_path(settings: Settings) -> str | None:
    """One line naming a local model folder that is missing, or None if all are there.

    Checked: every local folder in MODELS; each pair of PRELOAD_PAIRS (directly or
    through English, as workers route it); without PRELOAD_PAIRS, the folder that holds
    MODEL_TEMPLATE's models.
    """
    for pair, model_id in settings.models.items():
        if missing_folder(model_id):
            return f"Configuration error: MODELS: no model folder {_shown(model_id)} (for {pair})"
    registry = ModelRegistry.from_settings(settings)
    for pair in settings.preload_pairs:
        src, _, tgt = pair.partition("-")
        if not _servable(registry, src, tgt):
            setting = "MODELS" if f"{src}-{tgt}" in settings.models else "MODEL_TEMPLATE"
            folder = _shown(registry.candidates(src, tgt)[0])
            return (
                f"Configuration error: {setting}: no model folder {folder} "
                f"for {pair} in PRELOAD_PAIRS"
            )
    root = template_root(settings.model_template)
    if not settings.preload_pairs and root is not None and not root.is_dir():
        return (
            f"Configuration error: MODEL_TEMPLATE: no folder {root.absolute()} "
            f"(MODEL_TEMPLATE={settings.model_template})"
        )
    return None


def template_root(template: str) -> Path | None:
    """The folder a local MODEL_TEMPLATE's models live in (the last one before `{`),
    or None for a hub template."""
    if not looks_local(template):
        return None
    return Path(template.split("{", 1)[0] + "x").expanduser().parent


def _servable(registry: ModelRegistry, src: str, tgt: str) -> bool:
    """Whether a pair has a model that may exist (a hub id, or a folder that does)."""
    if any(not missing_folder(model_id) for model_id in registry.candidates(src, tgt)):
        return True
    if PIVOT in (src, tgt):
        return False
    return _servable(registry, src, PIVOT) and _servable(registry, PIVOT, tgt)


def _shown(model_id: str) -> Path:
    return Path(model_id).expanduser().absolute()
