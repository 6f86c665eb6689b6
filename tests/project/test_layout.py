"""The layout holds: no import circles among the project's files, and no source file over ~500 lines.

Imports are read with `ast` from every file, wherever they stand: at the top, inside a function
(an import there still ties the two files) or under `if TYPE_CHECKING:`. Relative imports are
resolved; `from package import name` ties the file to `package/name.py` when that is a module,
else to the package's `__init__.py`.

engine/ is also laid out in floors (files and collector; core; calculus, replay and see), and each
of its modules imports only its own part and the floors below.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("engine", "nn", "demos", "benchmarks")
MAX_LINES = 500
WHY_LONG = re.compile(r"\blines\b[^.]*\bbecause\b|\bbecause\b[^.]*\blines\b", re.IGNORECASE | re.DOTALL)


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def source_files(root: Path = ROOT, packages: tuple[str, ...] = PACKAGES) -> dict[str, Path]:
    """{dotted module name: file} for every .py file of the packages."""
    return {module_name(path, root): path for package in packages for path in sorted((root / package).rglob("*.py"))}


def imported(path: Path, modules: dict[str, Path], root: Path = ROOT) -> set[str]:
    """The project's modules that `path` imports, anywhere in the file."""
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def add(target: str, names: list[str]) -> None:
        for alias in names:
            if f"{target}.{alias}" in modules:
                found.add(f"{target}.{alias}")
            elif target in modules:
                found.add(target)

    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                for i in range(len(parts), 0, -1):  # import a.b.c: the deepest module of ours
                    if ".".join(parts[:i]) in modules:
                        found.add(".".join(parts[:i]))
                        break
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            add(target, [alias.name for alias in node.names])
    found.discard(name)
    return found


def import_graph(root: Path = ROOT, packages: tuple[str, ...] = PACKAGES) -> dict[str, set[str]]:
    modules = source_files(root, packages)
    return {name: imported(path, modules, root) for name, path in modules.items()}


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    group = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.append(member)
                        if member == node:
                            break
                    if len(group) > 1:
                        groups.append(sorted(group))
    return groups


def described(group: list[str], graph: dict[str, set[str]]) -> str:
    ties = [f"{a} -> {b}" for a in group for b in sorted(graph[a]) if b in group]
    return f"circle of {len(group)}: {', '.join(group)}\n    " + "\n    ".join(ties)


def in_package(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def check_no_circles(package: str) -> None:
    graph = import_graph()
    found = [g for g in circles(graph) if any(in_package(m, package) for m in g)]
    assert not found, "import circles:\n" + "\n".join(described(g, graph) for g in found)


def check_sizes(package: str) -> None:
    too_long = []
    for name, path in source_files().items():
        if not in_package(name, package):
            continue
        text = path.read_text(encoding="utf-8")
        lines = text.count("\n")
        if lines > MAX_LINES and not WHY_LONG.search(ast.get_docstring(ast.parse(text)) or ""):
            too_long.append(f"{path.relative_to(ROOT)}: {lines} lines")
    assert not too_long, (
        f"over {MAX_LINES} lines, and the docstring does not say why (... lines because ...):\n  "
        + "\n  ".join(too_long)
    )


LAID_OUT = ["engine", "nn", "demos", "benchmarks"]


@pytest.mark.parametrize("package", LAID_OUT)
def test_no_import_circles(package):
    check_no_circles(package)


@pytest.mark.parametrize("package", LAID_OUT)
def test_no_file_over_the_limit_without_a_reason(package):
    check_sizes(package)


# engine's floors, bottom up. A module may import modules of its own part and of lower floors only;
# the parts on one floor (calculus, replay, see) do not import each other. engine/__init__.py and
# engine/__main__.py stand on top. nn, demos and benchmarks stand above engine.
ENGINE_FLOORS = [
    ["engine.files", "engine.collector"],
    ["engine.core"],
    ["engine.calculus", "engine.replay", "engine.see"],
]


def engine_part(name: str) -> tuple[int, str] | None:
    """(floor, part) of an engine module; None for engine/__init__.py and engine/__main__.py (the top)."""
    for floor, parts in enumerate(ENGINE_FLOORS):
        for part in parts:
            if in_package(name, part):
                return floor, part
    return None


def test_engine_layers_import_only_downward():
    graph = import_graph()
    engine = [name for name in graph if in_package(name, "engine") and name not in ("engine", "engine.__main__")]
    unplaced = [name for name in engine if engine_part(name) is None]
    assert not unplaced, f"engine modules on no floor: {unplaced}"
    wrong = []
    for name in engine:
        floor, part = engine_part(name)  # type: ignore[misc]
        for target in graph[name]:
            if not in_package(target, "engine"):
                wrong.append(f"{name} -> {target} (engine imports nothing of nn, demos or benchmarks)")
                continue
            place = engine_part(target)
            if place is None:
                wrong.append(f"{name} -> {target} (the package's face is above every floor)")
            elif place[1] != part and place[0] >= floor:
                wrong.append(f"{name} -> {target} ({part} may not import {place[1]})")
    assert not wrong, "imports that do not run downward:\n  " + "\n  ".join(sorted(wrong))


def test_the_circle_finder_finds_circles_through_relative_and_deferred_imports(tmp_path):
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": set()}) == []
    package = tmp_path / "house"
    (package / "core").mkdir(parents=True)
    (package / "__init__.py").write_text("from .core import node\n")
    (package / "core" / "__init__.py").write_text("")
    (package / "core" / "node.py").write_text("def backward():\n    from ..passes import run  # deferred\n")
    (package / "passes.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .draw import x\n")
    (package / "draw.py").write_text("from house.core import node\nimport house.core.node\n")
    graph = import_graph(tmp_path, ("house",))
    assert graph["house"] == {"house.core.node"}  # `from .core import node`: the module, not the package
    assert graph["house.core.node"] == {"house.passes"}
    assert circles(graph) == [["house.core.node", "house.draw", "house.passes"]]


def test_the_size_rule_accepts_a_docstring_that_says_why():
    assert WHY_LONG.search("This file is 620 lines because the kernels must be in one namespace.")
    assert not WHY_LONG.search("The compiler: record, plan, run.")


def test_the_readme_names_every_part_of_engine_and_only_real_folders():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`((?:engine|nn|demos)/(?:\w+/)?)`", text))
    parts = {f"engine/{p.name}/" for p in (ROOT / "engine").iterdir() if (p / "__init__.py").exists()}
    assert parts <= named, f"the README's layout does not name {sorted(parts - named)}"
    assert all((ROOT / folder).is_dir() for folder in named), sorted(f for f in named if not (ROOT / f).is_dir())
