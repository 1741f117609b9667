"""The submission chain: for each department and year, which return is in force, and why.

The rules, applied here and nowhere else:

* The template in force is the department's template issued last. A return of a template
  issued again before the return was received is `stale`: collect never accepts it.
* An accepted return of the template in force takes precedence over any return of an
  earlier template. Until one is accepted, the return in force stays what it was: a
  re-issue alone displaces nothing the office accepted.
* Among the accepted returns of the template in force (or, while it has none, of the
  template issued latest that has some), the one received last is in force.
  "Received" is when the office received it: the mail's date where known, otherwise when
  it was collected (the order of collection breaks a tie).
* The office may put an earlier accepted return of the template in force back in force
  (`reinstate`): it then counts as received at that moment, so a return received later
  displaces it again, as any newer return would.
* An approval pins (优 or 良, `xltool.store.reviews`): a project whose latest review
  approved a return of the template in force is published from that return, whatever the
  department sends later; the later return is collected, kept and may be in force for the
  other projects, but replaces the approved targets only once the office reviews the
  project again. A re-issued template ends the pin (its targets are to be set anew).
* A rejected return whose every error the office waived is accepted (by `collect`, when it
  examines the return: waivers stand for the department's later returns too), and takes
  its place in the chain as any accepted return does.

`settle` applies them to one department and year after anything that can change the
answer: a return accepted, a template issued, a reinstatement. Every other accepted
return keeps its targets and its record, marked superseded, with the return in force
that displaced it (`superseded_by`).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from xltool.store.records import (
    ISSUED_FILE_COLUMNS,
    RECEIVED_COLUMNS,
    IssuedFile,
    ReceivedFile,
    Repository,
    Status,
)
from xltool.store.reviews import APPROVING


def now() -> str:
    """The store's clock: UTC, to the second, as every time in the store is written."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def template_in_force(db: sqlite3.Connection, department_code: str,
                      year: int | None) -> str | None:
    """The department's template issued last for YEAR (on a tie, the one recorded last)."""
    row = db.execute(
        "SELECT template_id FROM templates WHERE department_code = ? AND year IS ? "
        "ORDER BY issued_at DESC, rowid DESC LIMIT 1", (department_code, year)).fetchone()
    return row[0] if row else None


_UNKNOWN = ("", 0)  # when a template the store does not hold was issued: before any


def approved_returns(db: sqlite3.Connection, department_code: str,
                     year: int | None) -> dict[str, str]:
    """Per project, the return an approval pins (the rule above): the return its latest
    review approved, when that return answers the department's template in force and is
    accepted (a rejected return approved with waivers: once collect has accepted it)."""
    in_force = template_in_force(db, department_code, year)
    latest: dict[str, tuple[str, str, str, bool]] = {}
    for project, grade, sha256, template_id, accepted in db.execute(
            "SELECT project_code, grade, sha256, template_id, "
            "       EXISTS (SELECT 1 FROM accepted_returns a WHERE a.sha256 = r.sha256) "
            "FROM reviews r WHERE department_code = ? AND year IS ? "
            "ORDER BY reviewed_at, review_id", (department_code, year)):
        latest[project] = (grade, sha256, template_id, bool(accepted))
    return {project: sha256 for project, (grade, sha256, template_id, accepted)
            in latest.items() if grade in APPROVING and template_id == in_force and accepted}


def settle(db: sqlite3.Connection, department_code: str, year: int | None) -> list[str]:
    """Apply the rules to one department and year; the hashes of the returns that stopped
    being in force."""
    issued = {template_id: (at, rowid) for template_id, at, rowid in db.execute(
        "SELECT template_id, issued_at, rowid FROM templates WHERE department_code = ? "
        "AND year IS ?", (department_code, year))}
    rows = db.execute(
        "SELECT a.sha256, a.template_id, a.superseded_by, COALESCE(f.mailed_at, f.received_at), "
        "       f.rowid, r.reinstated_at, r.after_file "
        "FROM accepted_returns a JOIN received_files f USING (sha256) "
        "LEFT JOIN (SELECT sha256, reinstated_at, after_file, "
        "                  ROW_NUMBER() OVER (PARTITION BY sha256 "
        "                                     ORDER BY reinstated_at DESC, rowid DESC) AS n "
        "           FROM reinstatements) r ON r.sha256 = a.sha256 AND r.n = 1 "
        "WHERE a.department_code = ? AND a.year IS ?", (department_code, year)).fetchall()
    if not rows:
        return []
    # the latest template with an accepted return (one unknown to the store: the earliest)
    latest = max(issued.get(r[1], _UNKNOWN) for r in rows)
    winner = max((r for r in rows if issued.get(r[1], _UNKNOWN) == latest), key=_standing)[0]
    stopped = [sha for sha, _, by, *_ in rows if by is None and sha != winner]
    changed = [(None if sha == winner else winner, sha) for sha, _, by, *_ in rows
               if by != (None if sha == winner else winner)]
    if changed:
        db.executemany("UPDATE accepted_returns SET superseded_by = ? WHERE sha256 = ?", changed)
        db.executemany(
            "UPDATE received_files SET status = ? WHERE sha256 = ?",
            [(Status.ACCEPTED if by is None else Status.SUPERSEDED, sha) for by, sha in changed])
    return stopped


def _standing(row: tuple[Any, ...]) -> tuple[str, float]:
    """A candidate's place in the order: when it was received, or last reinstated if that
    came later; then the order of events (of collection, a reinstatement coming after the
    files received before it: times are to the second)."""
    received, rowid, reinstated, after_file = row[3], row[4], row[5], row[6]
    if reinstated is not None and reinstated >= received:
        return reinstated, after_file + 0.5
    return received, rowid


@dataclass(frozen=True)
class ChainEntry:
    """One received file of a department, as its chain lists it."""

    file: ReceivedFile
    errors: int
    warnings: int
    in_force: bool
    superseded_by: str | None
    reinstated: tuple[tuple[str, str], ...]
    """(when, why) of each time the office put it back in force."""
    examinations: int
    """How many times it was examined (more than once: collected again under other limits
    or a newer release, or rechecked)."""

    def to_dict(self) -> dict[str, Any]:
        f = self.file
        return {"sha256": f.sha256, "original_name": f.original_name, "status": f.status,
                "received": f.received, "collected_at": f.received_at,
                "mailed_at": f.mailed_at, "template_id": f.template_id, "errors": self.errors,
                "warnings": self.warnings, "in_force": self.in_force,
                "superseded_by": self.superseded_by,
                "reinstated": [{"at": at, "reason": why} for at, why in self.reinstated],
                "examinations": self.examinations}


class Submissions(Repository):
    """The chain of each department's returns in an open store."""

    def issued_files(self, department_code: str | None = None) -> list[IssuedFile]:
        """Every issued copy, oldest first (of one department's templates, if named)."""
        columns = ", ".join(f"i.{c}" for c in ISSUED_FILE_COLUMNS)
        rows = self.connection.execute(
            f"SELECT {columns} FROM issued_files i JOIN templates t USING (template_id) "
            "WHERE ? IS NULL OR t.department_code = ? ORDER BY i.issued_at, i.rowid",
            (department_code, department_code)).fetchall()
        return [IssuedFile(*row) for row in rows]

    def template_in_force(self, department_code: str, year: int | None) -> str | None:
        return template_in_force(self.connection, department_code, year)

    def approved_returns(self, department_code: str, year: int | None) -> dict[str, str]:
        """Per project, the return an approval pins (see the module's rules)."""
        return approved_returns(self.connection, department_code, year)

    def chain(self, department_code: str) -> list[ChainEntry]:
        """Every file received of the department, in the order the office received them."""
        columns = ", ".join(f"f.{c}" for c in RECEIVED_COLUMNS)
        rows = self.connection.execute(f"""
            SELECT {columns},
                   (SELECT COUNT(*) FROM findings x WHERE x.sha256 = f.sha256
                    AND x.severity = 'error'),
                   (SELECT COUNT(*) FROM findings x WHERE x.sha256 = f.sha256
                    AND x.severity != 'error'),
                   a.sha256 IS NOT NULL AND a.superseded_by IS NULL, a.superseded_by,
                   (SELECT json_group_array(json_array(reinstated_at, reason))
                    FROM (SELECT * FROM reinstatements r WHERE r.sha256 = f.sha256
                          ORDER BY reinstated_at, rowid)),
                   (SELECT COUNT(*) FROM examinations e WHERE e.sha256 = f.sha256) + 1
            FROM received_files f LEFT JOIN accepted_returns a USING (sha256)
            WHERE f.department_code = ?
            ORDER BY COALESCE(f.mailed_at, f.received_at), f.rowid""",
            (department_code,)).fetchall()
        width = len(RECEIVED_COLUMNS)
        return [ChainEntry(ReceivedFile(*row[:width]), row[width], row[width + 1],
                           bool(row[width + 2]), row[width + 3],
                           tuple(tuple(pair) for pair in json.loads(row[width + 4])),
                           row[width + 5])
                for row in rows]

    def reinstate(self, sha256: str, reason: str, *, at: str | None = None) -> None:
        """Put an accepted return of the template in force back in force, recording when and
        why. The caller checks it may be (`xltool.collect.chain.reinstate` says why not)."""
        with self.transaction() as db:
            department_code, year = db.execute(
                "SELECT department_code, year FROM accepted_returns WHERE sha256 = ?",
                (sha256,)).fetchone()
            (after_file,) = db.execute("SELECT COALESCE(MAX(rowid), 0) FROM received_files"
                                       ).fetchone()
            db.execute("INSERT INTO reinstatements VALUES (?, ?, ?, ?)",
                       (sha256, at or now(), reason, after_file))
            settle(db, department_code, year)

    def received_like(self, prefix: str) -> list[str]:
        """The hashes of received files that begin with PREFIX (two at most: one is an
        answer, two say the prefix is too short)."""
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return [row[0] for row in self.connection.execute(
            "SELECT sha256 FROM received_files WHERE sha256 LIKE ? ESCAPE '\\' LIMIT 2",
            (escaped + "%",))]

    def kept_targets(self, sha256: str) -> bool:
        """Whether the file's targets are kept: it was accepted once."""
        return self.connection.execute(
            "SELECT 1 FROM accepted_returns WHERE sha256 = ?", (sha256,)).fetchone() is not None

