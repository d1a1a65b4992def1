"""The house's layers, read from the code's own imports (every `import`, also those inside
functions): `facilitation/` imports none of the other packages, `rooms/` only
`facilitation/`, `signaling/` and `recordings/` nothing of `server/`, and no project files
import each other in a circle."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("facilitation", "rooms", "signaling", "recordings", "server")
# package -> the project packages it may import (itself included)
MAY_IMPORT = {
    "facilitation": {"facilitation"},
    "rooms": {"facilitation", "rooms"},
    "signaling": {"facilitation", "rooms", "signaling"},
    "recordings": {"facilitation", "rooms", "signaling", "recordings"},
    "server": set(PACKAGES),
}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_files() -> dict[str, Path]:
    return {module_name(p): p for package in PACKAGES for p in (ROOT / package).rglob("*.py")
            if "migrations" not in p.parts}


def imported(path: Path, modules: dict[str, Path]) -> Iterator[str]:
    """The project modules a file imports (a `from package import module` names the module)."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{alias.name}" for alias in node.names] + [node.module]
        else:
            continue
        for name in names:
            if name in modules:
                yield name
                break


def import_graph() -> dict[str, set[str]]:
    modules = project_files()
    return {name: set(imported(path, modules)) - {name} for name, path in modules.items()}


def test_each_package_imports_only_the_layers_below_it() -> None:
    wrong = sorted((name, target) for name, targets in import_graph().items()
                   for target in targets
                   if target.split(".")[0] not in MAY_IMPORT[name.split(".")[0]])
    assert not wrong, wrong


def test_no_project_files_import_each_other_in_a_circle() -> None:
    graph = import_graph()
    done: set[str] = set()
    path: list[str] = []

    def visit(name: str) -> None:
        if name in path:
            raise AssertionError(" -> ".join([*path[path.index(name):], name]))
        if name in done:
            return
        path.append(name)
        for target in sorted(graph.get(name, ())):
            # a package's __init__ that only re-exports is entered by every import below it
            if not name.startswith(target + "."):
                visit(target)
        path.pop()
        done.add(name)

    for name in sorted(graph):
        visit(name)
