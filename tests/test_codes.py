"""Every code is declared once, in the catalogue (xltool/codes.py), and taken from there.

The package's source is read with `ast`: a string that looks like a finding code
(`file.…`, `rule.…`, …), or that stands where a reconcile kind or a publish reason
goes, is a code spelled outside the catalogue; a catalogue entry no module names
is an entry nothing reports.
"""

from __future__ import annotations

import ast
import re
import string
from collections.abc import Iterator
from pathlib import Path

import pytest

from xltool import codes
from xltool.codes import KINDS, PROBLEMS, REASONS, Kind, Problem, Reason

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "xltool"
CATALOGUE = PACKAGE / "codes.py"

FINDING_CODE = re.compile(r"^(file|form|cell|rule|ledger|prefill|targets)\.[a-z_]+$")
FILE_NAME = re.compile(r"\.(xlsx|xlsm|xls|csv|json|db|toml|txt|pdf)$")
"""`ledger.xlsx` is a file name, not a code."""
HOLDERS = frozenset({"kind", "reason_code"})
"""What holds a reconcile kind (`Difference.kind`) or a publish reason
(`MissingProject.reason_code`): a string given to one of them is a code."""
CATALOGUES = frozenset({"KINDS", "REASONS"})

Entry = Problem | Kind | Reason
Spelled = tuple[str, int, str]
"""(file, line, code)."""


def _modules(folder: Path) -> Iterator[tuple[str, ast.Module]]:
    for path in sorted(folder.rglob("*.py")):
        if path != CATALOGUE:
            yield str(path.relative_to(ROOT)), ast.parse(path.read_text(encoding="utf-8"))


def _docstrings(tree: ast.Module) -> set[int]:
    """Strings standing alone as statements: docstrings, which may name codes."""
    return {id(node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)}


def _text(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _signatures(tree: ast.Module) -> dict[str, list[str]]:
    """The parameters of the functions, and the fields of the classes, a module defines."""
    found: dict[str, list[str]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            found[node.name] = [a.arg for a in (*node.args.posonlyargs, *node.args.args)]
        elif isinstance(node, ast.ClassDef):
            found[node.name] = [s.target.id for s in node.body if isinstance(s, ast.AnnAssign)
                                and isinstance(s.target, ast.Name)]
    return found


def _name(node: ast.AST) -> str:
    return node.id if isinstance(node, ast.Name) else \
        node.attr if isinstance(node, ast.Attribute) else ""


def _holds(node: ast.AST) -> bool:
    """Whether NODE is a kind or a reason: `row.kind`, `frame["kind"]`."""
    if isinstance(node, ast.Subscript):
        return _text(node.slice) in HOLDERS
    return isinstance(node, ast.Attribute) and node.attr in HOLDERS


def _given(node: ast.AST, signatures: dict[str, list[str]]) -> list[ast.AST]:
    """What NODE gives as a kind or a reason: an argument to a parameter or a field that
    holds one, a side of a comparison with one, a key of `KINDS` or `REASONS`."""
    if isinstance(node, ast.Call):
        params = signatures.get(_name(node.func), [])
        return [*(arg for param, arg in zip(params, node.args, strict=False)
                  if param in HOLDERS),
                *(k.value for k in node.keywords if k.arg in HOLDERS)]
    if isinstance(node, ast.Compare):
        sides = [node.left, *node.comparators]
        return sides if any(map(_holds, sides)) else []
    if isinstance(node, ast.Subscript) and _name(node.value) in CATALOGUES:
        return [node.slice]
    return []


def _kinds_and_reasons(tree: ast.Module) -> Iterator[tuple[int, str]]:
    signatures = _signatures(tree)
    for node in ast.walk(tree):
        for given in _given(node, signatures):
            text = _text(given)
            if text is not None:
                yield getattr(given, "lineno", 0), text


def _spelled(folder: Path, *, kinds: bool = True) -> Iterator[Spelled]:
    """Every code written as a string in the modules under FOLDER (the catalogue aside):
    finding codes, and with KINDS reconcile kinds and publish reasons."""
    for name, tree in _modules(folder):
        docstrings = _docstrings(tree)
        for node in ast.walk(tree):
            text = _text(node)
            if text is not None and id(node) not in docstrings and FINDING_CODE.match(text) \
                    and not FILE_NAME.search(text):
                yield name, getattr(node, "lineno", 0), text
        if kinds:
            for line, text in _kinds_and_reasons(tree):
                yield name, line, text


def _entries() -> dict[str, Entry]:
    """The catalogue's constants by name, variants included."""
    return {name: value for name, value in vars(codes).items()
            if isinstance(value, Problem | Kind | Reason)}


def _names_used(folder: Path) -> set[str]:
    used: set[str] = set()
    for _, tree in _modules(folder):
        for node in ast.walk(tree):
            if isinstance(node, ast.Name):
                used.add(node.id)
            elif isinstance(node, ast.Attribute):
                used.add(node.attr)
            elif isinstance(node, ast.ImportFrom):
                used.update(alias.name for alias in node.names)
    return used


# -- the package and its tests against the catalogue ---------------------------------------


def test_every_code_the_package_or_its_tests_use_is_catalogued() -> None:
    known = {*PROBLEMS, *KINDS, *REASONS}
    # The tests' own words for kinds are free (`kind` names many things there); their
    # finding codes are held to the catalogue, so no test expects a code xltool lacks.
    used = (*_spelled(PACKAGE), *_spelled(ROOT / "tests", kinds=False))
    unknown = [spelled for spelled in used if spelled[2] not in known]
    assert unknown == [], "codes missing from xltool/codes.py"


def test_no_module_but_the_catalogue_spells_a_code() -> None:
    assert list(_spelled(PACKAGE)) == [], "import the code's constant from xltool.codes"


def test_no_catalogue_entry_is_dead() -> None:
    used = _names_used(PACKAGE)
    assert sorted(name for name in _entries() if name not in used) == [], \
        "entries no module reports: report them, or remove them"


# -- the catalogue itself ------------------------------------------------------------------


def _constant_name(entry: Entry) -> str:
    prefix = {Kind: "RECONCILE_", Reason: "PUBLISH_", Problem: ""}[type(entry)]
    return prefix + entry.code.upper().replace(".", "_")


def test_entries_are_named_after_their_codes() -> None:
    catalogued = {id(entry) for entry in (*PROBLEMS.values(), *KINDS.values(),
                                          *REASONS.values())}
    entries = _entries()
    assert {id(entry) for entry in entries.values()} >= catalogued
    for name, entry in entries.items():
        if id(entry) in catalogued:
            assert name == _constant_name(entry)
        else:  # a variant: its entry's code, severity and section, and a name beside it
            assert isinstance(entry, Problem)
            main = PROBLEMS[entry.code]
            assert name.startswith(_constant_name(main) + "_")
            assert (entry.severity, entry.section, entry.meaning) == (
                main.severity, main.section, main.meaning)


@pytest.mark.parametrize("group, prefix", [
    (codes.LEDGER_PROBLEMS, "ledger."), (codes.FILE_PROBLEMS, "file."),
    (codes.FORM_PROBLEMS, "form."), (codes.CELL_PROBLEMS, "cell."),
    (codes.RULE_PROBLEMS, "rule."), (codes.PREFILL_PROBLEMS, ("targets.", "prefill.")),
])
def test_each_group_holds_its_own_codes(group: tuple[Problem, ...],
                                        prefix: str | tuple[str, ...]) -> None:
    assert all(problem.code.startswith(prefix) for problem in group)


def test_every_text_is_a_template_and_every_meaning_one_line() -> None:
    problems = [entry for entry in _entries().values() if isinstance(entry, Problem)]
    for problem in problems:
        for template in (problem.message, problem.fix):
            assert template
            # Parsing fails on a stray brace, which would break every message of the code.
            fields = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
            assert all(f.isidentifier() for f in fields), (problem.code, template)
    for entry in _entries().values():
        assert entry.meaning and "\n" not in entry.meaning and "|" not in entry.meaning
