"""The layering holds: who may import what, and no import circles between modules.

Read from the source (every import statement, also those inside functions), so a
rule broken on a path no other test runs still fails here.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.support.procs import ROOT

PACKAGES = ("bot", "tasks", "config", "api", "cli")
MODEL_LIBRARIES = ("torch", "transformers", "ctranslate2")
# (package, imports it must never make, anywhere in it)
RULES = [
    ("bot", MODEL_LIBRARIES),
    ("api", (*MODEL_LIBRARIES, "bot", "cli", "aiogram")),
    ("tasks.engine", ("celery", "kombu", "celery_batches", "aiogram", "bot", "tasks.worker")),
    ("tasks.engine", ("tasks.client",)),
    ("tasks.client", ("aiogram", "bot", "api", "tasks.engine", "tasks.worker", *MODEL_LIBRARIES)),
    ("tasks.worker", ("aiogram", "bot", "api", "tasks.client")),
    ("config", ("bot", "tasks", "api", "cli", "aiogram", "celery", *MODEL_LIBRARIES)),
    # Everything behind the queue serves the front ends and the command, never the reverse.
    ("tasks", ("bot", "api", "cli")),
    # Telegram for both front ends: they import it, it imports neither.
    ("tasks.telegram", ("bot", "api", "tasks.client", "tasks.worker", "tasks.engine")),
    # One way to build the bot's Telegram session (`tasks.telegram.session`), with its
    # retry policy: the bot builds none of its own.
    ("bot", ("aiogram.client.session.aiohttp", "aiogram.client.telegram")),
    # The front ends never import each other nor the command (api's are in its rule above).
    ("bot", ("api", "cli")),
    # The command starts the bot as a process and words a mistyped pair with the parser it
    # shares with the bot (tasks.pairs): it never loads aiogram, nor bot, whose modules do.
    ("cli", ("aiogram", "bot")),
    ("tasks.pairs", ("aiogram",)),
]
# Known exceptions, (module, import); none now (the command may import api.keys: `tolmach
# keys` manages the API's keys with the API's own store).
EXEMPT: set[tuple[str, str]] = set()


def modules() -> dict[str, Path]:
    """Every module of the project's packages, by dotted name."""
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def imports(path: Path, *, top_level_only: bool) -> set[str]:
    """Dotted names a module imports; with `top_level_only`, only those run at import
    time (not inside functions, not under TYPE_CHECKING)."""
    tree = ast.parse(path.read_text("utf-8"))
    names: set[str] = set()
    nodes = _top_level(tree.body) if top_level_only else list(ast.walk(tree))
    for node in nodes:
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _top_level(body: list[ast.stmt]) -> list[ast.stmt]:
    found: list[ast.stmt] = []
    for node in body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        if isinstance(node, ast.If | ast.Try):
            for block in (node.body, getattr(node, "orelse", []), getattr(node, "finalbody", [])):
                found += _top_level(block)
            for handler in getattr(node, "handlers", []):
                found += _top_level(handler.body)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
    return found


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


@pytest.mark.parametrize(("package", "forbidden"), RULES)
def test_package_imports_only_what_its_layer_may(package: str, forbidden: tuple[str, ...]) -> None:
    broken = [
        f"{module} imports {name}"
        for module, path in modules().items()
        if _within(module, package)
        for name in imports(path, top_level_only=False)
        if any(_within(name, f) for f in forbidden) and not _exempt(module, name)
    ]
    assert broken == []


def _exempt(module: str, name: str) -> bool:
    return any(module == m and _within(name, n) for m, n in EXEMPT)


def test_the_exemptions_are_still_needed() -> None:
    """An exemption whose import is gone is dropped, so it cannot hide a new one."""
    known = modules()
    for module, name in EXEMPT:
        assert name in imports(known[module], top_level_only=False)


def test_no_import_circles() -> None:
    known = modules()
    # A module's own packages are initialised before it anyway: not an edge.
    graph = {
        module: {
            name
            for name in imports(path, top_level_only=True)
            if name in known and not _within(module, name)
        }
        for module, path in known.items()
    }
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for nxt in sorted(graph[module]):
            if state.get(nxt) == 1:
                cycles.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert cycles == []


def test_the_rules_see_the_imports_they_judge() -> None:
    """The scan is not blind: it finds the lazy engine import of `tolmach translate`
    and the worker's top-level import of the engine."""
    known = modules()
    assert "tasks.engine.registry" in imports(known["cli.translate"], top_level_only=False)
    assert "tasks.engine.registry" not in imports(known["cli.translate"], top_level_only=True)
    assert "tasks.engine.service" in imports(known["tasks.worker.runtime"], top_level_only=True)
