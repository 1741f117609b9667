"""The package's imports follow the year's flow: no cycles, no stage reaching sideways or up.

Every import counts — at the top of a module, inside a function, and under
`TYPE_CHECKING` — because a cycle hidden in any of them is still a cycle for
whoever reads the code.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from tests.conftest import ROOT

PACKAGE = ROOT / "xltool"

# The stages of the year, in order; each may import the shared modules and the ledger (the
# year's source), never another stage. The demo, the command line and mail (the round trip
# over email) drive the stages; nothing in the library imports them.
STAGES = ("ledger", "template", "collect", "reconcile", "review", "publish")
DRIVERS = ("demo", "demo_mail", "cli", "__main__", "mail")
SHARED = ("errors", "findings", "text", "values", "money", "profile", "names", "defaults",
          "limits", "atomic", "batch", "xlsxout", "targets", "store", "codes", "tables",
          "outputs", "visible", "matching", "numfmt", "states", "officerules", "previous")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imported(path: Path, known: set[str]) -> Iterator[str]:
    """The package's modules PATH imports, wherever the import stands."""
    here = module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names if alias.name in known)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package.split(".")[:len(package.split(".")) - node.level + 1],
                                 *([base] if base else [])])
            for alias in node.names:
                target = f"{base}.{alias.name}"
                yield target if target in known else base


def graph() -> dict[str, set[str]]:
    found = modules()
    known = set(found)
    return {name: {target for target in imported(path, known)
                   if target in known and target != name}
            for name, path in found.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components of more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(edges[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def part(module: str) -> str:
    """The top-level part of the package a module belongs to: `collect` for xltool.collect.run."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "api"


def test_the_package_has_no_import_cycle() -> None:
    assert cycles(graph()) == []


def test_every_module_belongs_to_a_known_part() -> None:
    unknown = {part(m) for m in graph()} - {*STAGES, *DRIVERS, *SHARED, "api"}
    assert unknown == set(), "a new top-level module: add it to STAGES, DRIVERS or SHARED"


def test_stages_import_only_shared_modules_and_the_ledger() -> None:
    wrong = []
    for module, targets in graph().items():
        here = part(module)
        for target in targets:
            there = part(target)
            if here in SHARED and there not in SHARED:
                wrong.append(f"{module} -> {target} (a shared module importing a stage)")
            elif here in STAGES and there in STAGES and there not in (here, "ledger"):
                wrong.append(f"{module} -> {target} (one stage reaching into another)")
            elif there in DRIVERS and here not in DRIVERS:
                wrong.append(f"{module} -> {target} (the library importing its driver)")
    assert wrong == []


def test_the_graph_sees_imports_wherever_they_stand(tmp_path: Path) -> None:
    """The test would pass vacuously if it missed function-level or TYPE_CHECKING imports."""
    source = PACKAGE / "cli" / "template.py"
    targets = set(imported(source, set(modules())))
    assert {"xltool.template", "xltool.cli.show", "xltool.cli.output"} <= targets
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == [["a", "b", "c"]]
