"""What was received: every file, its findings (and earlier outcomes, when it was examined
again), and the targets of each accepted return, every one kept; which of them is in force
is the submission chain's to say (`xltool.store.chain`)."""

from __future__ import annotations

import itertools
import json
import operator
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

from xltool.findings import Finding, Severity
from xltool.store.chain import settle
from xltool.store.records import (
    RECEIVED_COLUMNS,
    ReceivedFile,
    Repository,
    decimal_of,
    text_of,
)
from xltool.targets import Indicator, Targets

_INSERT_RECEIVED = (f"INSERT INTO received_files ({', '.join(RECEIVED_COLUMNS)}) "
                    f"VALUES ({', '.join('?' * len(RECEIVED_COLUMNS))})")
_INSERT_FINDINGS = "INSERT INTO findings VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"


class ReceivedFiles(Repository):
    """The received files of an open store, and the accepted targets."""

    def received(self, sha256: str) -> ReceivedFile | None:
        row = self.connection.execute(
            "SELECT * FROM received_files WHERE sha256 = ?", (sha256,)).fetchone()
        return ReceivedFile(*row) if row else None

    def received_hashes(self) -> set[str]:
        """The content hash of every file received so far."""
        return {row[0] for row in self.connection.execute("SELECT sha256 FROM received_files")}

    def received_files(self) -> list[ReceivedFile]:
        rows = self.connection.execute(
            "SELECT * FROM received_files ORDER BY COALESCE(mailed_at, received_at), rowid"
        ).fetchall()
        return [ReceivedFile(*row) for row in rows]

    def record_received(self, received: ReceivedFile, findings: Sequence[Finding],
                        accepted: Targets | None) -> list[str]:
        """Record one file, its findings and, if accepted, its targets, in one transaction.

        An accepted return joins its department's chain (`xltool.store.chain`); the hashes
        of the returns that stopped being in force are returned (the file itself among them
        when an earlier-received return stays in force).
        """
        with self.transaction() as db:
            db.execute(_INSERT_RECEIVED, _row(received))
            _insert_findings(db, received.sha256, findings)
            if accepted is None:
                return []
            return _accept(db, received, accepted)

    def record_examined_again(self, received: ReceivedFile, findings: Sequence[Finding],
                              accepted: Targets | None) -> list[str]:
        """A file received before, examined again (collected again under other limits or a
        newer release, or rechecked): its newest outcome replaces the record's, the earlier
        one goes to its history (`examinations`). When it was received stays as recorded."""
        with self.transaction() as db:
            earlier = ReceivedFile(*db.execute("SELECT * FROM received_files WHERE sha256 = ?",
                                               (received.sha256,)).fetchone())
            db.execute(
                "INSERT INTO examinations SELECT ?, COUNT(*), ?, ?, ?, ? FROM examinations "
                "WHERE sha256 = ?",
                (earlier.sha256, examined_at(earlier), earlier.status, earlier.examined_with,
                 _findings_json(db, earlier.sha256), earlier.sha256))
            db.execute("DELETE FROM findings WHERE sha256 = ?", (received.sha256,))
            db.execute("UPDATE received_files SET kind = ?, status = ?, template_id = ?, "
                       "department_code = ?, year = ?, examined_with = ? WHERE sha256 = ?",
                       (received.kind, received.status, received.template_id,
                        received.department_code, received.year, received.examined_with,
                        received.sha256))
            _insert_findings(db, received.sha256, findings)
            if accepted is None or db.execute("SELECT 1 FROM accepted_returns WHERE sha256 = ?",
                                              (received.sha256,)).fetchone():
                return []
            return _accept(db, replace(received, received_at=earlier.received_at,
                                       mailed_at=earlier.mailed_at), accepted)

    def examinations(self, sha256: str) -> list[tuple[str, str, str | None, list[Any]]]:
        """The earlier outcomes of a file examined again: (when, status, release and limits,
        findings as dicts), oldest first."""
        rows = self.connection.execute(
            "SELECT examined_at, status, examined_with, findings FROM examinations "
            "WHERE sha256 = ? ORDER BY seq", (sha256,)).fetchall()
        return [(at, status, used, json.loads(found)) for at, status, used, found in rows]

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


def _accept(db: sqlite3.Connection, received: ReceivedFile, accepted: Targets) -> list[str]:
    """Keep the return's targets and settle its department's chain. It enters as in force
    (what `settle` finds unchanged when it is the newest, the common case)."""
    db.execute("INSERT INTO accepted_returns VALUES (?, ?, ?, ?, ?, NULL)",
               (received.sha256, received.template_id, received.department_code,
                received.year, received.received_at))
    _insert(db, "accepted_projects", _project_rows(received.sha256, accepted))
    stopped = settle(db, received.department_code, received.year)
    in_force = db.execute("SELECT superseded_by IS NULL FROM accepted_returns WHERE sha256 = ?",
                          (received.sha256,)).fetchone()[0]
    return stopped if in_force else [*stopped, received.sha256]


def _insert_findings(db: sqlite3.Connection, sha256: str, findings: Sequence[Finding]) -> None:
    if findings:
        db.executemany(_INSERT_FINDINGS, [
            (sha256, seq, f.code, f.severity.value, f.department, f.project, f.sheet, f.cell,
             f.value, f.message, f.fix) for seq, f in enumerate(findings)])


def _findings_json(db: sqlite3.Connection, sha256: str) -> str:
    return str(db.execute(
        "SELECT json_group_array(json_object('code', code, 'severity', severity, "
        "'sheet', sheet, 'cell', cell, 'message', message)) "
        "FROM (SELECT * FROM findings WHERE sha256 = ? ORDER BY seq)", (sha256,)).fetchone()[0])


def examined_at(received: ReceivedFile) -> str:
    """When the file's outcome was found: as its record says, or when it was collected."""
    if received.examined_with:
        return str(json.loads(received.examined_with).get("at") or received.received_at)
    return received.received_at


_json_text = json.encoder.encode_basestring
"""A text as `json.dumps(..., ensure_ascii=False)` writes it; TypeError for anything else."""


def _project_rows(sha256: str, targets: Targets) -> list[tuple[str, str, str | None, str]]:
    """TARGETS as `accepted_projects` rows: goal projects first, in order, then any project
    that has indicators only.

    Each indicator is written as `json.dumps` writes it, its texts by the very function
    json.dumps writes a text with: a return's seventy-odd rows cost half as much as through
    the encoder. Anything but text in a text field goes to `json.dumps` itself.

    An indicator is `[seq, level1, level2, name, value, weight]`, and, when its value's
    cell held no text (`0.95` shown as `95%`), what it held as a seventh element: a row of
    text cells is written as before the raw value was kept."""
    indicators: dict[str, list[str]] = {}
    try:
        for seq, i in enumerate(targets.indicators):
            weight, raw = i.weight, i.raw
            row = (f"[{seq}, {_json_text(i.level1)}, {_json_text(i.level2)}, "
                   f"{_json_text(i.name)}, {_json_text(i.value)}, "
                   f"{'null' if weight is None else _json_text(str(weight))}"
                   f"{'' if raw is None else ', ' + _json_text(raw)}]")
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
        row = [seq, i.level1, i.level2, i.name, i.value, text_of(i.weight)]
        indicators.setdefault(i.project_code, []).append(row if i.raw is None else
                                                         [*row, i.raw])
    return [(sha256, code, targets.goals.get(code),
             json.dumps(indicators.get(code, ()), ensure_ascii=False))
            for code in dict.fromkeys([*targets.goals, *indicators])]


def _indicators_in_order(rows: Iterable[tuple[str, str]]) -> list[Indicator]:
    """The indicators of (project code, JSON array) rows of one return, in the return's order
    (an indicator without a seventh element, the raw value, has none: as all did before)."""
    numbered = [(i[0], Indicator(code, i[1], i[2], i[3], i[4], decimal_of(i[5]),
                                 i[6] if len(i) > 6 else None))
                for code, listed in rows for i in json.loads(listed)]
    numbered.sort(key=lambda pair: pair[0])
    return [indicator for _, indicator in numbered]


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
    return tuple(getattr(received, name) for name in RECEIVED_COLUMNS)
