"""The store: one SQLite file that is the office's record of the year.

It holds what was issued (every template, its projects, and every cell of its
forms: the locked cells' issued values and the input cells' names), and later
what was received. Excel sheet protection is not security; this record is the
authority that returns are checked against.

All SQL lives in this module. The file is created readable by its owner only
(it holds the sheet passwords); a file that is not an xltool store, is
corrupt, or comes from a newer xltool is refused and never written to.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import itertools
import json
import operator
import os
import sqlite3
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import astuple, dataclass, fields
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

from xltool.errors import XltoolError
from xltool.findings import Finding, Severity
from xltool.targets import Indicator, Targets

SCHEMA_VERSION = 6
APPLICATION_ID = 0x58544F4C  # "XTOL": marks the file as an xltool store

_SCHEMA_V1 = """
CREATE TABLE templates (
    template_id     TEXT PRIMARY KEY,
    year            INTEGER,
    profile         TEXT NOT NULL,
    profile_version INTEGER NOT NULL,
    department_code TEXT NOT NULL,
    department      TEXT NOT NULL,
    file_name       TEXT NOT NULL,
    sha256          TEXT NOT NULL,
    password        TEXT NOT NULL,
    ledger_file     TEXT NOT NULL,
    issued_at       TEXT NOT NULL
);
CREATE TABLE template_projects (
    template_id  TEXT NOT NULL REFERENCES templates(template_id),
    position     INTEGER NOT NULL,
    project_code TEXT NOT NULL,
    project_name TEXT NOT NULL,
    sheet        TEXT NOT NULL,
    total        TEXT,
    fiscal       TEXT,
    other        TEXT,
    carryover    TEXT,
    PRIMARY KEY (template_id, position)
);
CREATE TABLE template_cells (
    template_id  TEXT NOT NULL REFERENCES templates(template_id),
    sheet        TEXT NOT NULL,
    cell         TEXT NOT NULL,
    locked       INTEGER NOT NULL,
    name         TEXT NOT NULL,
    project_code TEXT NOT NULL,
    field        TEXT NOT NULL,
    category     TEXT NOT NULL,
    value        TEXT NOT NULL,
    PRIMARY KEY (template_id, sheet, cell)
);
"""

# Received files, their findings, and the accepted targets with their history.
_SCHEMA_V2 = """
CREATE TABLE received_files (
    sha256          TEXT PRIMARY KEY,
    original_name   TEXT NOT NULL,
    size            INTEGER NOT NULL,
    received_at     TEXT NOT NULL,
    kind            TEXT NOT NULL,
    status          TEXT NOT NULL,
    template_id     TEXT NOT NULL,
    department_code TEXT NOT NULL,
    year            INTEGER,
    stored_path     TEXT NOT NULL
);
CREATE TABLE findings (
    sha256     TEXT NOT NULL REFERENCES received_files(sha256),
    seq        INTEGER NOT NULL,
    code       TEXT NOT NULL,
    severity   TEXT NOT NULL,
    department TEXT NOT NULL,
    project    TEXT NOT NULL,
    sheet      TEXT NOT NULL,
    cell       TEXT NOT NULL,
    value      TEXT NOT NULL,
    message    TEXT NOT NULL,
    fix        TEXT NOT NULL,
    PRIMARY KEY (sha256, seq)
);
CREATE TABLE accepted_returns (
    sha256          TEXT PRIMARY KEY REFERENCES received_files(sha256),
    template_id     TEXT NOT NULL,
    department_code TEXT NOT NULL,
    year            INTEGER,
    accepted_at     TEXT NOT NULL,
    superseded_by   TEXT
);
CREATE INDEX accepted_current ON accepted_returns(department_code, year, superseded_by);
CREATE TABLE accepted_goals (
    sha256       TEXT NOT NULL REFERENCES accepted_returns(sha256),
    project_code TEXT NOT NULL,
    goal         TEXT NOT NULL,
    PRIMARY KEY (sha256, project_code)
);
CREATE TABLE accepted_indicators (
    sha256       TEXT NOT NULL REFERENCES accepted_returns(sha256),
    seq          INTEGER NOT NULL,
    project_code TEXT NOT NULL,
    level1       TEXT NOT NULL,
    level2       TEXT NOT NULL,
    name         TEXT NOT NULL,
    value        TEXT NOT NULL,
    weight       TEXT,
    PRIMARY KEY (sha256, seq)
);
"""

# Every cell of an issued template's forms as one JSON array of
# [sheet, cell, locked, name, project_code, field, category, value] rows: collect reads a
# whole map per return, and one row reads far faster than hundreds.
_SCHEMA_V3 = """
CREATE TABLE form_maps (
    template_id TEXT PRIMARY KEY REFERENCES templates(template_id),
    cells       TEXT NOT NULL
);
INSERT INTO form_maps
    SELECT template_id, json_group_array(json_array(sheet, cell, locked, name, project_code,
                                                    field, category, value))
    FROM (SELECT * FROM template_cells ORDER BY template_id, rowid) GROUP BY template_id;
DROP TABLE template_cells;
"""

# Collect reads a map per return, yet a year's templates of one profile share their layout
# and differ only in their ledger values and sheet names. Each map names its layout (a
# fingerprint of everything else, see `layout_key`) and keeps its sheets and values apart:
# a layout is compiled once, and a return needs only the small rest.
_SCHEMA_V4 = """
ALTER TABLE form_maps ADD COLUMN layout TEXT;
ALTER TABLE form_maps ADD COLUMN sheets_and_values TEXT;
"""

# A layout is kept once, however many templates share it: each form map keeps only its
# layout's fingerprint and what is its own — sheets, values, project codes (schema 5).
_SCHEMA_V5 = """
CREATE TABLE layouts (
    layout TEXT PRIMARY KEY,
    cells  TEXT NOT NULL
);
CREATE TABLE form_maps_v5 (
    template_id       TEXT PRIMARY KEY REFERENCES templates(template_id),
    layout            TEXT NOT NULL REFERENCES layouts(layout),
    sheets_and_values TEXT NOT NULL
);
"""

# An accepted return's targets as one row per project: its goal (NULL when the return gave
# none) and its indicators as one JSON array of [seq, level1, level2, name, value, weight],
# seq being the indicator's place in the return. Collect writes a return as a few rows
# rather than a hundred; the views keep a row per goal and per indicator for SQL readers.
_SCHEMA_V6 = """
CREATE TABLE accepted_projects (
    sha256       TEXT NOT NULL REFERENCES accepted_returns(sha256),
    project_code TEXT NOT NULL,
    goal         TEXT,
    indicators   TEXT NOT NULL,
    PRIMARY KEY (sha256, project_code)
);
"""

_TARGET_VIEWS = """
CREATE VIEW accepted_goals AS
    SELECT sha256, project_code, goal FROM accepted_projects WHERE goal IS NOT NULL;
CREATE VIEW accepted_indicators AS
    SELECT p.sha256 AS sha256, json_extract(i.value, '$[0]') AS seq,
           p.project_code AS project_code, json_extract(i.value, '$[1]') AS level1,
           json_extract(i.value, '$[2]') AS level2, json_extract(i.value, '$[3]') AS name,
           json_extract(i.value, '$[4]') AS value, json_extract(i.value, '$[5]') AS weight
    FROM accepted_projects p, json_each(p.indicators) i;
"""

_MIGRATIONS = {1: _SCHEMA_V1, 2: _SCHEMA_V2, 3: _SCHEMA_V3, 4: _SCHEMA_V4, 5: _SCHEMA_V5,
               6: _SCHEMA_V6}


class StoreError(XltoolError):
    """The store file cannot be used: not a store, corrupt, locked or from a newer xltool."""


@dataclass(frozen=True)
class IssuedTemplate:
    template_id: str
    year: int | None
    profile: str
    profile_version: int
    department_code: str
    department: str
    file_name: str
    sha256: str
    password: str
    ledger_file: str
    issued_at: str


@dataclass(frozen=True)
class IssuedProject:
    template_id: str
    position: int
    project_code: str
    project_name: str
    sheet: str
    total: Decimal | None
    fiscal: Decimal | None
    other: Decimal | None
    carryover: Decimal | None


class IssuedCell(NamedTuple):
    """A cell of an issued form: `value` is the issued text of a locked cell, or the prefill.

    A named tuple, not a dataclass: collect builds hundreds per template.
    """

    template_id: str
    sheet: str
    cell: str
    locked: bool
    name: str
    project_code: str
    field: str
    category: str
    value: str


class CellColumns(NamedTuple):
    """An issued template's cells as columns, in form order (`locked` as stored: 0/1 or bool)."""

    sheet: tuple[str, ...]
    cell: tuple[str, ...]
    locked: tuple[Any, ...]
    name: tuple[str, ...]
    project_code: tuple[str, ...]
    field: tuple[str, ...]
    category: tuple[str, ...]
    value: tuple[str, ...]


LayoutKey = tuple[tuple[Any, ...], ...]
"""Everything about a template's cells but their values and the names of their sheets and
projects: (cells, locked, names, fields, categories, then the sheet and the project of each
cell as numbers in order of first appearance, then the project of each form by position)."""


def layout_key(columns: CellColumns, project_codes: Sequence[str]) -> LayoutKey:
    """The layout of a template's cells, from whole columns (no object per cell)."""
    sheet_numbers = {s: n for n, s in enumerate(dict.fromkeys(columns.sheet))}
    project_numbers = {c: n for n, c in enumerate(dict.fromkeys(columns.project_code))}
    return (columns.cell, tuple(map(bool, columns.locked)), columns.name, columns.field,
            columns.category, tuple(map(sheet_numbers.__getitem__, columns.sheet)),
            tuple(map(project_numbers.__getitem__, columns.project_code)),
            tuple(project_numbers.get(code) for code in project_codes))


_LAYOUT_TEXTS: dict[LayoutKey, tuple[str, str]] = {}


def _layout_text(key: LayoutKey) -> tuple[str, str]:
    """(fingerprint, JSON) of a layout: a year's templates share a handful, each serialised
    and hashed once."""
    text = _LAYOUT_TEXTS.get(key)
    if text is None:
        if len(_LAYOUT_TEXTS) >= 256:
            _LAYOUT_TEXTS.clear()
        as_json = json.dumps(key, ensure_ascii=False)
        text = _LAYOUT_TEXTS[key] = (hashlib.sha256(as_json.encode()).hexdigest(), as_json)
    return text


def layout_fingerprint(key: LayoutKey) -> str:
    return _layout_text(key)[0]


class FormMapRecord(NamedTuple):
    """A template's form map as the store keeps it, ready to insert."""

    layout: str
    layout_cells: str  # the layout as JSON, stored once per layout
    sheets_and_values: str  # this template's sheets, values and project codes as JSON


def form_map_record(projects: Iterable[IssuedProject],
                    cells: Iterable[IssuedCell] | CellColumns) -> FormMapRecord:
    """Pure work, so the template writer's workers can do it while the store records.

    CELLS may come as columns: a template's thousand cells need no object each."""
    if not isinstance(cells, CellColumns):
        cells = _columns([[c.sheet, c.cell, c.locked, c.name, c.project_code, c.field,
                           c.category, c.value] for c in cells])
    codes = [p.project_code for p in sorted(projects, key=lambda p: p.position)]
    return _form_map_record(cells, codes)


def _form_map_record(columns: CellColumns, project_codes: Sequence[str]) -> FormMapRecord:
    layout, layout_cells = _layout_text(layout_key(columns, project_codes))
    own = [list(dict.fromkeys(columns.sheet)), list(columns.value),
           list(dict.fromkeys(columns.project_code))]
    return FormMapRecord(layout, layout_cells, json.dumps(own, ensure_ascii=False))


def _form_map_rows(layout_cells: str, sheets_and_values: str) -> list[list[Any]]:
    """A template's cell rows again, from its layout and what is its own."""
    cells, locked, names, fields_, categories, sheet_numbers, project_numbers, _ = \
        json.loads(layout_cells)
    sheets, values, codes = json.loads(sheets_and_values)
    return [[sheets[s], cell, lock, name, codes[p], field, category, value]
            for cell, lock, name, field, category, s, p, value in zip(
                cells, locked, names, fields_, categories, sheet_numbers, project_numbers,
                values, strict=True)]


class TemplateLayout(NamedTuple):
    """A template's layout fingerprint, and what it does not fix: its sheets and values."""

    layout: str
    sheets: tuple[str, ...]
    values: tuple[str, ...]


def _template_layout(layout: str | None, sheets_and_values: str | None) -> TemplateLayout | None:
    if layout is None or sheets_and_values is None:
        return None
    sheets, values, _ = json.loads(sheets_and_values)
    return TemplateLayout(layout, tuple(sheets), tuple(values))


class IssuedForm(NamedTuple):
    """What a return is read by: its template, the template's projects by position, and its
    layout (None for a template recorded without one)."""

    template: IssuedTemplate
    projects: list[IssuedProject]
    layout: TemplateLayout | None


def _layout_columns(rows: list[list[Any]], project_codes: Sequence[str]) -> tuple[str, str]:
    """(layout fingerprint, sheets and values as JSON) of a form map's cell rows (schema 4)."""
    columns = _columns(rows)
    key = layout_key(columns, project_codes)
    sheets_and_values = [list(dict.fromkeys(columns.sheet)), list(columns.value)]
    return layout_fingerprint(key), json.dumps(sheets_and_values, ensure_ascii=False)


def _columns(rows: list[list[Any]]) -> CellColumns:
    if not rows:
        return CellColumns((), (), (), (), (), (), (), ())
    return CellColumns(*zip(*rows, strict=True))


def _fill_layouts(db: sqlite3.Connection) -> None:
    """Schema 4 for the form maps recorded before it."""
    for template_id, cells in db.execute(
            "SELECT template_id, cells FROM form_maps WHERE layout IS NULL").fetchall():
        codes = [row[0] for row in db.execute(
            "SELECT project_code FROM template_projects WHERE template_id = ? "
            "ORDER BY position", (template_id,))]
        db.execute("UPDATE form_maps SET layout = ?, sheets_and_values = ? "
                   "WHERE template_id = ?", (*_layout_columns(json.loads(cells), codes),
                                             template_id))


def _share_layouts(db: sqlite3.Connection) -> None:
    """Schema 5: every form map as its layout (kept once) and its own sheets and values."""
    for template_id, cells in db.execute("SELECT template_id, cells FROM form_maps").fetchall():
        codes = [row[0] for row in db.execute(
            "SELECT project_code FROM template_projects WHERE template_id = ? "
            "ORDER BY position", (template_id,))]
        _insert_form_map(db, template_id, _form_map_record(_columns(json.loads(cells)), codes),
                         table="form_maps_v5")
    db.execute("DROP TABLE form_maps")
    db.execute("ALTER TABLE form_maps_v5 RENAME TO form_maps")


def _insert_form_map(db: sqlite3.Connection, template_id: str, record: FormMapRecord,
                     table: str = "form_maps") -> None:
    db.execute("INSERT OR IGNORE INTO layouts VALUES (?, ?)",
               (record.layout, record.layout_cells))
    db.execute(f"INSERT INTO {table} VALUES (?, ?, ?)",
               (template_id, record.layout, record.sheets_and_values))


def _targets_per_project(db: sqlite3.Connection) -> None:
    """Schema 6: the accepted goals and indicators regrouped as a row per project."""
    for (sha256,) in db.execute("SELECT sha256 FROM accepted_returns ORDER BY rowid").fetchall():
        goals = dict(db.execute("SELECT project_code, goal FROM accepted_goals WHERE sha256 = ? "
                                "ORDER BY rowid", (sha256,)).fetchall())
        rows = db.execute(
            "SELECT project_code, level1, level2, name, value, weight FROM accepted_indicators "
            "WHERE sha256 = ? ORDER BY seq", (sha256,)).fetchall()
        indicators = tuple(Indicator(r[0], r[1], r[2], r[3], r[4], _amount(r[5])) for r in rows)
        _insert(db, "accepted_projects", _project_rows(sha256, Targets(goals, indicators)))
    db.execute("DROP TABLE accepted_goals")
    db.execute("DROP TABLE accepted_indicators")
    for statement in _TARGET_VIEWS.split(";"):
        if statement.strip():
            db.execute(statement)


_SUPERSEDE = ("UPDATE accepted_returns SET superseded_by = ? WHERE department_code = ? "
              "AND year IS ? AND superseded_by IS NULL")
_SUPERSEDE_RETURNING = _SUPERSEDE + " RETURNING sha256"
_RETURNING = sqlite3.sqlite_version_info >= (3, 35)
"""Whether SQLite can say which rows an UPDATE changed (RETURNING): one statement, not two."""

_json_text = json.encoder.encode_basestring
"""A text as `json.dumps(..., ensure_ascii=False)` writes it; TypeError for anything else."""


def _project_rows(sha256: str, targets: Targets) -> list[tuple[str, str, str | None, str]]:
    """TARGETS as `accepted_projects` rows: goal projects first, in order, then any project
    that has indicators only.

    Each indicator is written as `json.dumps` writes it, its texts by the very function
    json.dumps writes a text with: a return's seventy-odd rows cost half as much as through
    the encoder. Anything but text in a text field goes to `json.dumps` itself."""
    indicators: dict[str, list[str]] = {}
    try:
        for seq, i in enumerate(targets.indicators):
            weight = i.weight
            row = (f"[{seq}, {_json_text(i.level1)}, {_json_text(i.level2)}, "
                   f"{_json_text(i.name)}, {_json_text(i.value)}, "
                   f"{'null' if weight is None else _json_text(str(weight))}]")
            listed = indicators.get(i.project_code)
            if listed is None:
                indicators[i.project_code] = [row]
            else:
                listed.append(row)
    except TypeError:
        return _project_rows_dumped(sha256, targets)
    goals = targets.goals
    return [(sha256, code, goals.get(code), "[" + ", ".join(indicators.get(code, ())) + "]")
            for code in dict.fromkeys([*goals, *indicators])]


def _project_rows_dumped(sha256: str, targets: Targets
                         ) -> list[tuple[str, str, str | None, str]]:
    indicators: dict[str, list[list[Any]]] = {}
    for seq, i in enumerate(targets.indicators):
        indicators.setdefault(i.project_code, []).append(
            [seq, i.level1, i.level2, i.name, i.value, _text(i.weight)])
    return [(sha256, code, targets.goals.get(code),
             json.dumps(indicators.get(code, ()), ensure_ascii=False))
            for code in dict.fromkeys([*targets.goals, *indicators])]


def _indicators_in_order(rows: Iterable[tuple[str, str]]) -> list[Indicator]:
    """The indicators of (project code, JSON array) rows of one return, in the return's order."""
    numbered = [(i[0], Indicator(code, i[1], i[2], i[3], i[4], _amount(i[5])))
                for code, listed in rows for i in json.loads(listed)]
    numbered.sort(key=lambda pair: pair[0])
    return [indicator for _, indicator in numbered]


_BACKFILLS: dict[int, Callable[[sqlite3.Connection], None]] = {
    4: _fill_layouts, 5: _share_layouts, 6: _targets_per_project}
"""Work a schema step needs beyond its SQL, run right after it."""


@dataclass(frozen=True)
class ReceivedFile:
    """One received file and what became of it; `stored_path` is its kept copy."""

    sha256: str
    original_name: str
    size: int
    received_at: str
    kind: str
    status: str
    template_id: str
    department_code: str
    year: int | None
    stored_path: str


_RECEIVED_COLUMNS = tuple(f.name for f in fields(ReceivedFile))


_ROWS_AT_ONCE = 100  # well within SQLite's limit on parameters per statement


def _insert(db: sqlite3.Connection, table: str, rows: Sequence[tuple[Any, ...]]) -> None:
    """ROWS into TABLE, many per statement: a return has dozens, and one statement per row
    spends more on the statement than on the row."""
    for start in range(0, len(rows), _ROWS_AT_ONCE):
        chunk = rows[start:start + _ROWS_AT_ONCE]
        values = ", ".join(["(" + ", ".join("?" * len(chunk[0])) + ")"] * len(chunk))
        db.execute(f"INSERT INTO {table} VALUES {values}", [v for row in chunk for v in row])


def _row(received: ReceivedFile) -> tuple[Any, ...]:
    """The file's columns in table order (`astuple` would deep-copy every field)."""
    return tuple(getattr(received, name) for name in _RECEIVED_COLUMNS)


def _amount(value: str | None) -> Decimal | None:
    return Decimal(value) if value not in (None, "") else None


# The template's row, its layout, and its projects as one JSON array of rows (each led by its
# position: sorted by it when read, as an aggregate's order is not SQL's to promise).
_ISSUED_FORM = """
SELECT t.*, f.layout, f.sheets_and_values,
       (SELECT json_group_array(json_array(position, project_code, project_name, sheet,
                                           total, fiscal, other, carryover))
        FROM template_projects p WHERE p.template_id = t.template_id)
FROM templates t LEFT JOIN form_maps f USING (template_id)
WHERE t.template_id = ?
"""


@functools.lru_cache(maxsize=4096)
def _stored_amount(value: str) -> Decimal:
    return Decimal(value)  # immutable: one per text, shared by every project of that amount


_new_project = functools.partial(object.__new__, IssuedProject)


def _project(template_id: str, position: int, project_code: str, project_name: str, sheet: str,
             total: str | None, fiscal: str | None, other: str | None,
             carryover: str | None) -> IssuedProject:
    """An issued project from its stored columns, as `IssuedProject(...)` makes it, at a third
    of the cost: collect reads a template's projects for every return, and a frozen
    dataclass sets each field through `object.__setattr__`."""
    project = _new_project()
    vars(project).update(
        template_id=template_id, position=position, project_code=project_code,
        project_name=project_name, sheet=sheet,
        total=_stored_amount(total) if total else None,
        fiscal=_stored_amount(fiscal) if fiscal else None,
        other=_stored_amount(other) if other else None,
        carryover=_stored_amount(carryover) if carryover else None)
    return project


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


class Store:
    """An open store. Use `open_store(path)` as a context manager."""

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self.connection = connection
        self.path = path

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """All or nothing: an interrupted write leaves the store as it was."""
        with self.connection:
            self.connection.execute("BEGIN IMMEDIATE")
            yield self.connection

    # -- issued templates ------------------------------------------------------------------

    def record_template(self, template: IssuedTemplate, projects: Iterable[IssuedProject],
                        cells: Iterable[IssuedCell] | FormMapRecord) -> None:
        """Record (or re-record, when re-issued) a template with its projects and cells."""
        projects = list(projects)
        form_map = cells if isinstance(cells, FormMapRecord) else form_map_record(projects, cells)
        columns = [f.name for f in fields(IssuedTemplate)]
        updates = ", ".join(f"{c} = excluded.{c}" for c in columns[1:])
        with self.transaction() as db:
            db.execute(
                f"INSERT INTO templates ({', '.join(columns)}) VALUES "
                f"({', '.join('?' * len(columns))}) "
                f"ON CONFLICT(template_id) DO UPDATE SET {updates}",
                astuple(template),
            )
            db.execute("DELETE FROM template_projects WHERE template_id = ?",
                       (template.template_id,))
            db.execute("DELETE FROM form_maps WHERE template_id = ?", (template.template_id,))
            db.executemany(
                "INSERT INTO template_projects VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(p.template_id, p.position, p.project_code, p.project_name, p.sheet,
                  _text(p.total), _text(p.fiscal), _text(p.other), _text(p.carryover))
                 for p in projects],
            )
            _insert_form_map(db, template.template_id, form_map)

    def template(self, template_id: str) -> IssuedTemplate | None:
        row = self.connection.execute(
            "SELECT * FROM templates WHERE template_id = ?", (template_id,)).fetchone()
        return IssuedTemplate(*row) if row else None

    def templates(self) -> list[IssuedTemplate]:
        rows = self.connection.execute(
            "SELECT * FROM templates ORDER BY year, department_code, issued_at").fetchall()
        return [IssuedTemplate(*row) for row in rows]

    def template_projects(self, template_id: str) -> list[IssuedProject]:
        rows = self.connection.execute(
            "SELECT * FROM template_projects WHERE template_id = ? ORDER BY position",
            (template_id,)).fetchall()
        return [_project(*row) for row in rows]

    def issued_form(self, template_id: str) -> IssuedForm | None:
        """The template with its projects and layout, in one query rather than three: collect
        asks for one per return, and every statement gives up the interpreter while it runs
        (a wait to get it back while the kept copies are being synced)."""
        row = self.connection.execute(_ISSUED_FORM, (template_id,)).fetchone()
        if row is None:
            return None
        *template, layout, sheets_and_values, projects = row
        return IssuedForm(
            IssuedTemplate(*template),
            [_project(template_id, *project) for project in sorted(json.loads(projects))],
            _template_layout(layout, sheets_and_values))

    def template_cells(self, template_id: str) -> list[IssuedCell]:
        """Every cell of the template's forms, in form order."""
        return [IssuedCell(template_id, sheet, cell, bool(locked), *rest)
                for sheet, cell, locked, *rest in self._form_map(template_id)]

    def template_cell_columns(self, template_id: str) -> CellColumns:
        """The same cells column by column: collect compares a return with whole columns,
        and never needs an object per cell."""
        return _columns(self._form_map(template_id))

    def template_layout(self, template_id: str) -> TemplateLayout | None:
        """The template's layout fingerprint with its own sheets and values (in form order);
        None for a template recorded without them."""
        row = self.connection.execute(
            "SELECT layout, sheets_and_values FROM form_maps WHERE template_id = ?",
            (template_id,)).fetchone()
        return _template_layout(*row) if row else None

    def _form_map(self, template_id: str) -> list[list[Any]]:
        row = self.connection.execute(
            "SELECT layouts.cells, sheets_and_values FROM form_maps JOIN layouts USING (layout) "
            "WHERE template_id = ?", (template_id,)).fetchone()
        return _form_map_rows(*row) if row else []

    # -- received files ----------------------------------------------------------------------

    def received(self, sha256: str) -> ReceivedFile | None:
        row = self.connection.execute(
            "SELECT * FROM received_files WHERE sha256 = ?", (sha256,)).fetchone()
        return ReceivedFile(*row) if row else None

    def received_hashes(self) -> set[str]:
        """The content hash of every file received so far."""
        return {row[0] for row in self.connection.execute("SELECT sha256 FROM received_files")}

    def received_files(self) -> list[ReceivedFile]:
        rows = self.connection.execute(
            "SELECT * FROM received_files ORDER BY received_at, rowid").fetchall()
        return [ReceivedFile(*row) for row in rows]

    def record_received(self, received: ReceivedFile, findings: Sequence[Finding],
                        accepted: Targets | None) -> list[str]:
        """Record one file, its findings and, if accepted, its targets, in one transaction.

        An accepted return supersedes the department's current one for the same
        year (which stays in the history); the superseded file hashes are returned.
        """
        with self.transaction() as db:
            db.execute("INSERT INTO received_files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       _row(received))
            if findings:
                db.executemany(
                    "INSERT INTO findings VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [(received.sha256, seq, f.code, f.severity.value, f.department, f.project,
                      f.sheet, f.cell, f.value, f.message, f.fix)
                     for seq, f in enumerate(findings)])
            if accepted is None:
                return []
            return self._accept(db, received, accepted)

    def _accept(self, db: sqlite3.Connection, received: ReceivedFile,
                accepted: Targets) -> list[str]:
        replacing = (received.sha256, received.department_code, received.year)
        if _RETURNING:
            superseded = [row[0] for row in db.execute(_SUPERSEDE_RETURNING, replacing)]
        else:
            superseded = [row[0] for row in db.execute(
                "SELECT sha256 FROM accepted_returns WHERE department_code = ? AND year IS ? "
                "AND superseded_by IS NULL", replacing[1:])]
            db.execute(_SUPERSEDE, replacing)
        if superseded:
            db.executemany("UPDATE received_files SET status = 'superseded' WHERE sha256 = ?",
                           [(sha,) for sha in superseded])
        db.execute("INSERT INTO accepted_returns VALUES (?, ?, ?, ?, ?, NULL)",
                   (received.sha256, received.template_id, received.department_code,
                    received.year, received.received_at))
        _insert(db, "accepted_projects", _project_rows(received.sha256, accepted))
        return superseded

    def findings(self, sha256: str) -> list[Finding]:
        rows = self.connection.execute(
            "SELECT code, severity, department, project, sheet, cell, value, message, fix "
            "FROM findings WHERE sha256 = ? ORDER BY seq", (sha256,)).fetchall()
        return [Finding(code=r[0], severity=Severity(r[1]), department=r[2], project=r[3],
                        sheet=r[4], cell=r[5], value=r[6], message=r[7], fix=r[8])
                for r in rows]

    def current_returns(self) -> list[ReceivedFile]:
        """Per department and year, the accepted return in force."""
        rows = self.connection.execute(
            "SELECT f.* FROM received_files f JOIN accepted_returns a USING (sha256) "
            "WHERE a.superseded_by IS NULL ORDER BY f.year, f.department_code").fetchall()
        return [ReceivedFile(*row) for row in rows]

    def accepted_targets(self, sha256: str) -> Targets:
        rows = self.connection.execute(
            "SELECT project_code, goal, indicators FROM accepted_projects WHERE sha256 = ? "
            "ORDER BY rowid", (sha256,)).fetchall()
        return Targets(goals={code: goal for code, goal, _ in rows if goal is not None},
                       indicators=tuple(_indicators_in_order((r[0], r[2]) for r in rows)))

    # -- reconciliation: whole tables in one query each ----------------------------------

    def issued_projects(self) -> list[IssuedProject]:
        """Every project of every issued template, by template and position."""
        rows = self.connection.execute(
            "SELECT * FROM template_projects ORDER BY template_id, position").fetchall()
        return [_project(*row) for row in rows]

    def current_indicators(self) -> list[tuple[str, Indicator]]:
        """(sha256, indicator) of every accepted return in force, each return in form order.

        One query for all returns: reconciling thousands of returns one
        `accepted_targets` call at a time would spend its time in round trips.
        """
        rows = self.connection.execute(
            "SELECT p.sha256, p.project_code, p.indicators "
            "FROM accepted_projects p JOIN accepted_returns a USING (sha256) "
            "WHERE a.superseded_by IS NULL ORDER BY p.sha256, p.rowid").fetchall()
        return [(sha256, indicator)
                for sha256, group in itertools.groupby(rows, key=operator.itemgetter(0))
                for indicator in _indicators_in_order((r[1], r[2]) for r in group)]

    @contextmanager
    def snapshot(self) -> Iterator[Store]:
        """Reads inside see one state of the store, whatever a writing run commits meanwhile.

        A read transaction (never a write lock): a collect run goes on undisturbed.
        """
        self.connection.execute("BEGIN DEFERRED")
        try:
            yield self
        finally:
            self.connection.execute("COMMIT")


# -- opening -------------------------------------------------------------------------------


@contextmanager
def exclusive(path: Path | str, on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
    """One writing run per store at a time: a second run waits, and says so, until the first ends.

    SQLite would interleave two runs file by file; holding the whole run keeps
    "the later return wins" true and the outcome of each run its own.
    """
    lock_path = Path(path).with_name(Path(path).name + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        if not _try_lock(fd):
            if on_wait:
                on_wait(f"另一个 xltool 正在使用 {Path(path).name}，等待其完成……")
            _lock(fd)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def _try_lock(fd: int) -> bool:
    if sys.platform == "win32":  # pragma: no cover - Windows offices
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _lock(fd: int) -> None:
    if sys.platform == "win32":  # pragma: no cover - Windows offices
        while not _try_lock(fd):
            time.sleep(0.5)
        return
    import fcntl

    fcntl.flock(fd, fcntl.LOCK_EX)


@contextmanager
def open_store(path: Path | str, *, create: bool = True) -> Iterator[Store]:
    path = Path(path)
    if not path.exists():
        if not create:
            raise StoreError(f"{path}: 没有这个存储文件（先用 xltool template 下发模板）")
        _create(path)
    connection = _connect(path)
    try:
        _check(connection, path)
        _configure(connection)
        yield Store(connection, path)
    except sqlite3.DatabaseError as error:  # damage found in use: stop with a message
        if getattr(error, "sqlite_errorcode", None) not in _DAMAGED:
            raise
        raise StoreError(f"{path}: 存储文件已损坏（{error}），已停止；请用备份恢复") from error
    finally:
        connection.close()


_DAMAGED = (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)


def _connect(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, timeout=60, isolation_level=None)


def _configure(connection: sqlite3.Connection) -> None:
    connection.execute("PRAGMA foreign_keys = ON")
    # WAL with NORMAL: a commit is atomic and a crash never corrupts the store; after a
    # power cut the last commits may be undone, and a re-run collects those files again.
    connection.execute("PRAGMA synchronous = NORMAL")


def _create(path: Path) -> None:
    """A new store appears complete or not at all, owner-only from the first byte."""
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}.new")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)
    try:
        connection = _connect(draft)
        try:
            connection.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            connection.execute("PRAGMA journal_mode = WAL")
            _migrate(connection, 0)
        finally:
            connection.close()
        _place_new(draft, path)
    finally:
        draft.unlink(missing_ok=True)


def _place_new(draft: Path, path: Path) -> None:
    """DRAFT at PATH, unless another process created PATH meanwhile."""
    try:
        os.link(draft, path)
    except FileExistsError:
        return
    except OSError:  # no hard links here: FAT and exFAT drives, some network shares
        # on Windows a rename never replaces a file; elsewhere `template` creates a store
        # holding `exclusive`, so no other run can be creating it meanwhile
        if not path.exists():
            with contextlib.suppress(FileExistsError):
                os.rename(draft, path)


def _check(connection: sqlite3.Connection, path: Path) -> None:
    try:
        application_id = _pragma(connection, "application_id")
        version = _pragma(connection, "user_version")
        # every page read once (about a millisecond a megabyte): damage is found before the work
        intact = application_id != APPLICATION_ID or _pragma(connection, "quick_check") == "ok"
    except sqlite3.DatabaseError as error:
        raise StoreError(f"{path}: 不是可用的 xltool 存储文件（{error}），文件未被改动") from error
    if application_id != APPLICATION_ID:
        raise StoreError(f"{path}: 不是 xltool 的存储文件，文件未被改动")
    if not intact:
        raise StoreError(f"{path}: 存储文件已损坏（完整性检查未通过），文件未被改动；请用备份恢复")
    if version > SCHEMA_VERSION:
        raise StoreError(f"{path}: 由更新版本的 xltool 创建（第{version}版结构），请升级 xltool")
    if version < SCHEMA_VERSION:
        _migrate(connection, version)


def _migrate(connection: sqlite3.Connection, version: int) -> None:
    """Bring an older store up to date in one transaction (another process may be doing it too)."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        current = _pragma(connection, "user_version")
        for step in range(max(version, current) + 1, SCHEMA_VERSION + 1):
            for statement in _MIGRATIONS[step].split(";"):
                if statement.strip():
                    connection.execute(statement)
            if step in _BACKFILLS:
                _BACKFILLS[step](connection)
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise


def _pragma(connection: sqlite3.Connection, name: str) -> Any:
    return connection.execute(f"PRAGMA {name}").fetchone()[0]
