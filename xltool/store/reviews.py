"""The office's review (审核) as the store keeps it: every decision, and the waivers.

A review is the office's decision on one project of a department's return: a grade (优 and
良 approve, 中 and 差 return the project for revision) and an opinion (审核意见), with who
and when. Decisions are appended, never replaced: a project's latest decision is the one
that stands, the earlier ones are its history.

A waiver is the office accepting a finding as written, by its code and, optionally, its
project, sheet and cell. It stands for every later return of the department of the same
year (the same code at the same place stays accepted) until a review revokes it; a year's
waivers and opinions never reach another year's returns. A cell is always kept with its
sheet: the project sheets share one layout, so a cell alone would name the same place in
every project. A waiver never removes a finding: the finding is still recorded and listed,
marked as waived (`Waiver.covers`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from xltool.errors import StoreError
from xltool.findings import Finding
from xltool.store.records import Repository

APPROVING = ("优", "良")
RETURNING = ("中", "差")
GRADES = (*APPROVING, *RETURNING)


@dataclass(frozen=True)
class ReviewRecord:
    """One decision of the office on one project of a return."""

    sha256: str
    template_id: str
    department_code: str
    year: int | None
    project_code: str
    grade: str
    opinion: str
    reviewer: str
    reviewed_at: str
    review_id: int | None = None

    @property
    def approves(self) -> bool:
        return self.grade in APPROVING

    def to_dict(self) -> dict[str, Any]:
        return {"review_id": self.review_id, "sha256": self.sha256,
                "template_id": self.template_id, "department_code": self.department_code,
                "year": self.year, "project_code": self.project_code, "grade": self.grade,
                "approved": self.approves, "opinion": self.opinion, "reviewer": self.reviewer,
                "reviewed_at": self.reviewed_at}


_REVIEW_COLUMNS = ("sha256", "template_id", "department_code", "year", "project_code", "grade",
                   "opinion", "reviewer", "reviewed_at", "review_id")


@dataclass(frozen=True)
class Waiver:
    """A finding the office accepts as written. Empty PROJECT_CODE, SHEET or CELL: any."""

    department_code: str
    year: int | None
    code: str
    project_code: str = ""
    sheet: str = ""
    cell: str = ""
    opinion: str = ""
    """Why: the opinion of the review that granted it."""
    reviewer: str = ""
    granted_at: str = ""
    waiver_id: int | None = None
    """Its row in the store (None: not stored yet)."""

    def covers(self, finding: Finding) -> bool:
        """Whether FINDING (of this waiver's department) is one the office accepted."""
        return (finding.code == self.code
                and self.project_code in ("", finding.project)
                and self.sheet in ("", finding.sheet)
                and self.cell.upper() in ("", finding.cell.upper()))

    @property
    def where(self) -> str:
        """`rule.not_quantitative@项目1!C19`, as the office wrote it."""
        place = f"{self.sheet}!{self.cell}" if self.sheet else self.cell
        return f"{self.code}@{place}" if place else self.code

    @property
    def note(self) -> str:
        """What every reader of the finding is shown beside it."""
        return f"已豁免（{self.reviewer} {self.granted_at[:10]}：{self.opinion}）"

    def to_dict(self) -> dict[str, Any]:
        return {"department_code": self.department_code, "year": self.year,
                "code": self.code, "project_code": self.project_code, "sheet": self.sheet,
                "cell": self.cell, "opinion": self.opinion, "reviewer": self.reviewer,
                "granted_at": self.granted_at, "waiver_id": self.waiver_id}


def waiver_of(finding: Finding, waivers: Iterable[Waiver]) -> Waiver | None:
    """The first of WAIVERS covering FINDING, if any."""
    return next((w for w in waivers if w.covers(finding)), None)


def only_waived_errors(findings: Sequence[Finding], waivers: Sequence[Waiver]) -> bool:
    """Whether every error among FINDINGS is covered by a waiver (True with no error)."""
    return all(waiver_of(f, waivers) is not None for f in findings if f.is_error)


class Reviews(Repository):
    """The office's decisions and waivers in an open store."""

    def record_review(self, decisions: Sequence[ReviewRecord], granted: Sequence[Waiver],
                      revoked: Sequence[Waiver] = ()) -> list[ReviewRecord]:
        """Append DECISIONS; GRANTED waivers are tied to the first, REVOKED ones (standing
        waivers, by their row) end with it. All or nothing: a revoked waiver no longer
        standing, or a cell granted without its sheet, records nothing. The decisions as
        stored."""
        if any(w.cell and not w.sheet for w in granted):
            raise StoreError("豁免单元格时必须写明工作表（各项目工作表的格式相同）")
        stored = []
        with self.transaction() as db:
            for decision in decisions:
                cursor = db.execute(
                    f"INSERT INTO reviews ({', '.join(_REVIEW_COLUMNS[:-1])}) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    tuple(getattr(decision, c) for c in _REVIEW_COLUMNS[:-1]))
                stored.append(_with_id(decision, cursor.lastrowid))
            first = stored[0].review_id
            # a waiver named twice is ended once (the second UPDATE would find it ended)
            for waiver in {w.waiver_id: w for w in revoked}.values():
                ended = db.execute(
                    "UPDATE waivers SET revoked_by = ? WHERE revoked_by IS NULL "
                    "AND waiver_id = ?", (first, waiver.waiver_id)).rowcount
                if ended != 1:
                    raise StoreError(f"豁免 {waiver.where} 已不存在或已撤销：本次审核未记录")
            db.executemany(
                "INSERT INTO waivers (review_id, department_code, year, project_code, code, "
                "sheet, cell) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(first, w.department_code, w.year, w.project_code, w.code, w.sheet, w.cell)
                 for w in dict.fromkeys(granted)])
        return stored

    def reviews(self, department_code: str | None = None) -> list[ReviewRecord]:
        """Every decision (of one department, if named), in the order they were made."""
        rows = self.connection.execute(
            f"SELECT {', '.join(_REVIEW_COLUMNS)} FROM reviews "
            "WHERE ? IS NULL OR department_code = ? ORDER BY reviewed_at, review_id",
            (department_code, department_code)).fetchall()
        return [ReviewRecord(*row) for row in rows]

    def standing_reviews(self, year: int | None) -> dict[tuple[str, str], ReviewRecord]:
        """Per (department, project), the decision that stands for YEAR: the latest."""
        return {(r.department_code, r.project_code): r
                for r in self.reviews() if r.year == year}

    def has_reviews(self, year: int | None) -> bool:
        """Whether the office has reviewed any return of YEAR."""
        return self.connection.execute(
            "SELECT 1 FROM reviews WHERE year IS ? LIMIT 1", (year,)).fetchone() is not None

    def waivers(self, department_code: str | None, year: int | None) -> list[Waiver]:
        """The waivers of YEAR standing (not revoked), of one department if named."""
        rows = self.connection.execute(
            "SELECT w.department_code, w.year, w.code, w.project_code, w.sheet, w.cell, "
            "       r.opinion, r.reviewer, r.reviewed_at, w.waiver_id "
            "FROM waivers w JOIN reviews r USING (review_id) "
            "WHERE w.revoked_by IS NULL AND (?1 IS NULL OR w.department_code = ?1) "
            "AND w.year IS ?2 ORDER BY w.waiver_id", (department_code, year)).fetchall()
        return [Waiver(*row) for row in rows]

    def returned_opinions(self, department_code: str, year: int | None) -> tuple[str, ...]:
        """The office's opinions of YEAR that stand sending the department's projects back
        (中, 差), a line each, as its next feedback opens with them."""
        standing: dict[str, ReviewRecord] = {}
        for record in self.reviews(department_code):
            if record.year == year:
                standing[record.project_code] = record
        return tuple(f"项目 {r.project_code}（{r.grade}，{r.reviewer} {r.reviewed_at[:10]}）："
                     f"{r.opinion}" for r in standing.values() if not r.approves)

    def errors_all_waived(self, department_code: str, year: int | None,
                          findings: Sequence[Finding]) -> bool:
        """Whether a return of the department's template of YEAR with FINDINGS has no error
        but waived ones (collect accepts it then). No error: True, without reading the
        store."""
        if not any(f.is_error for f in findings):
            return True
        return only_waived_errors(findings, self.waivers(department_code, year))


def _with_id(decision: ReviewRecord, review_id: int | None) -> ReviewRecord:
    return replace(decision, review_id=review_id)
