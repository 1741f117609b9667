"""`status`: where every department stands — issued, sent, reminded, received, reviewed.

One row per department issued a template of the year (the latest year issued), and one per
project: the template in force (its version: how many times the department's template was
issued, and when), the mail sent and the reminders of the year (`mail_sent`: sent by the
server, not a draft written to an outbox, which is shown apart), the returns received and
the return in force, the state (`xltool.states`, one vocabulary with feedback and the
reconcile report), the office's latest 审核意见 and grade, the waived findings, a return
received after the approval (kept, not published: `xltool.store.chain`), the
year-over-year findings of the return under review, and the days left to the deadline the
template recorded (negative: days late).

The board is sorted by urgency: the late first, then the returned and rejected, the
silent, the accepted awaiting review, and the approved last.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from xltool.defaults import DEFAULT_STORE
from xltool.findings import Finding
from xltool.previous import compare_with_previous
from xltool.review.standing import sent_back, under_review
from xltool.states import (
    ACCEPTED,
    APPROVED,
    NOT_RETURNED,
    REVIEW_RETURNED,
    TO_FIX,
    department_state,
)
from xltool.store import ChainEntry, IssuedTemplate, Status, Store, in_force, open_store
from xltool.store.mailsent import Outcome, SentMessage
from xltool.store.reviews import ReviewRecord, waiver_of
from xltool.targets import Targets, read_targets

YEAR_OVER_YEAR = ("review.target_lowered", "review.indicator_dropped")
_URGENCY = {REVIEW_RETURNED: 0, TO_FIX: 0, NOT_RETURNED: 1, ACCEPTED: 2, APPROVED: 3}
_DONE = (ACCEPTED, APPROVED)


@dataclass(frozen=True)
class ProjectStanding:
    department_code: str
    department: str
    project_code: str
    project_name: str
    state: str
    grade: str
    opinion: str
    reviewer: str
    reviewed_at: str
    reviews: int
    """How many times the office reviewed it (its history)."""
    received_after_approval: str
    """The file name of a return received after its approval: kept, not published."""
    waived: int
    errors: int
    target_lowered: int
    indicator_dropped: int


@dataclass(frozen=True)
class DepartmentStanding:
    department_code: str
    department: str
    template_id: str
    version: int
    """How many times its template of the year was issued (1: once)."""
    issued_at: str
    sent_at: str
    """When the template was last mailed (empty: not mailed, or no mail kept)."""
    drafted_at: str
    """When the template was last written to an outbox as a draft, for the office to send
    itself (empty: never): not counted as sent."""
    reminders: int
    reminded_at: str
    returns: int
    """Returns it sent (the issued template sent back untouched is none)."""
    rounds: int
    """Rounds of revision: returns after the first."""
    in_force: str
    """The file name of the return in force."""
    state: str
    grade: str
    opinion: str
    reviewed_at: str
    received_after_approval: str
    waived: int
    errors: int
    target_lowered: int
    indicator_dropped: int
    deadline: str
    days_left: int | None
    """Days to the deadline (negative: days late); None where no deadline is known."""

    @property
    def late(self) -> bool:
        """Past the deadline without a return the office can take."""
        return self.days_left is not None and self.days_left < 0 and self.state not in _DONE

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "late": self.late}


@dataclass(frozen=True)
class StatusBoard:
    year: int | None
    today: date
    departments: tuple[DepartmentStanding, ...]
    projects: tuple[ProjectStanding, ...]

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame([d.to_dict() for d in self.departments],
                            columns=[*DepartmentStanding.__dataclass_fields__, "late"])

    def project_frame(self) -> pd.DataFrame:
        return pd.DataFrame([asdict(p) for p in self.projects],
                            columns=list(ProjectStanding.__dataclass_fields__))

    def to_dict(self) -> dict[str, Any]:
        return {"year": self.year, "today": self.today.isoformat(),
                "departments": [d.to_dict() for d in self.departments],
                "projects": [asdict(p) for p in self.projects]}


def status(*, store: Path | str = DEFAULT_STORE, today: date | None = None,
           previous: Path | str | None = None) -> StatusBoard:
    """Where every department issued a template of the latest year stands, most urgent
    first (TODAY: the day the days to the deadline count from). PREVIOUS: last year's
    targets workbook (`publish --targets-out`): the targets in force are compared with it
    (`xltool.previous`), whether or not collect was given it."""
    today = today or date.today()
    before = read_targets(previous) if previous is not None else None
    with open_store(store, create=False) as opened, opened.snapshot():
        templates = opened.templates()
        year = max((t.year for t in templates if t.year is not None), default=None)
        latest = in_force(t for t in templates if t.year == year)
        rows = [_Department(opened, t, templates, today, before)
                for _, t in sorted(latest.items())]
        departments = tuple(sorted((r.standing() for r in rows), key=_urgency))
        order = {d.department_code: n for n, d in enumerate(departments)}
        projects = tuple(p for r in sorted(rows, key=lambda r: order[r.template.department_code])
                         for p in r.projects())
    return StatusBoard(year, today, departments, projects)


def _urgency(row: DepartmentStanding) -> tuple[int, int, int, str]:
    return (0 if row.late else 1, _URGENCY.get(row.state, 1),
            row.days_left if row.days_left is not None else 10**6, row.department_code)


class _Department:
    """One department's record, read once, and what the board says of it."""

    def __init__(self, store: Store, template: IssuedTemplate,
                 templates: Sequence[IssuedTemplate], today: date,
                 before: Targets | None = None) -> None:
        code = template.department_code
        self.store, self.template, self.today = store, template, today
        self.version = sum(t.department_code == code and t.year == template.year
                           for t in templates)
        self.chain = [e for e in store.chain(code) if e.file.year == template.year]
        self.reviewing = under_review(self.chain, template.template_id)
        self.findings = store.findings(self.reviewing.file.sha256) if self.reviewing else []
        self.waivers = store.waivers(code, template.year)
        self.history = [r for r in store.reviews(code) if r.year == template.year]
        self.sent_back = sent_back(self.chain, template.template_id, self.history)
        self.approved = store.approved_returns(code, template.year)
        self.project_list = store.template_projects(template.template_id)
        if before is not None:
            self.findings = [*(f for f in self.findings if f.code not in YEAR_OVER_YEAR),
                             *self._against(before)]

    def _against(self, before: Targets) -> list[Finding]:
        """Last year's targets against the targets in force (none in force: nothing to
        compare, rather than every indicator dropped)."""
        current = next((e for e in self.chain if e.in_force), None)
        if current is None:
            return []
        return compare_with_previous(self.store.accepted_targets(current.file.sha256), before)

    def standing_review(self, project_code: str) -> ReviewRecord | None:
        of = [r for r in self.history if r.project_code == project_code]
        return of[-1] if of else None

    def project_state(self, project_code: str) -> str:
        return department_state(accepted=any(e.in_force for e in self.chain),
                                statuses=[e.file.status for e in self.chain],
                                review=self.review_state(project_code))

    def review_state(self, project_code: str) -> str:
        """APPROVED while an approval pins the project; while the office's standing decision
        sends it back, REVIEW_RETURNED, or TO_FIX once a return since is rejected
        (`xltool.review.standing`); else ''."""
        if project_code in self.approved:
            return APPROVED
        returned = self.sent_back.get(project_code)
        return returned.state if returned else ""

    def after_approval(self, project_code: str) -> str:
        pinned = self.approved.get(project_code)
        if pinned is None:
            return ""
        read = [e for e in self.chain if e.file.status in (Status.ACCEPTED, Status.SUPERSEDED,
                                                           Status.REJECTED)]
        names = [e.file.sha256 for e in read]
        later = read[names.index(pinned) + 1:] if pinned in names else []
        return later[-1].file.original_name if later else ""

    def counts(self, project_code: str | None) -> tuple[int, int, int, int]:
        """Waived findings, errors not waived, targets lowered, indicators dropped."""
        mine = [f for f in self.findings if project_code is None or f.project == project_code]
        waived = [f for f in mine if waiver_of(f, self.waivers)]
        errors = sum(f.is_error for f in mine) - sum(f.is_error for f in waived)
        lowered, dropped = (sum(f.code == c for f in mine) for c in YEAR_OVER_YEAR)
        return len(waived), errors, lowered, dropped

    def projects(self) -> list[ProjectStanding]:
        out = []
        for p in self.project_list:
            review = self.standing_review(p.project_code)
            reviews = sum(r.project_code == p.project_code for r in self.history)
            out.append(ProjectStanding(
                self.template.department_code, self.template.department, p.project_code,
                p.project_name, self.project_state(p.project_code),
                review.grade if review else "", review.opinion if review else "",
                review.reviewer if review else "", review.reviewed_at if review else "",
                reviews, self.after_approval(p.project_code), *self.counts(p.project_code)))
        return out

    def state(self) -> str:
        states = {self.project_state(p.project_code) for p in self.project_list}
        for state in (REVIEW_RETURNED, TO_FIX, NOT_RETURNED, ACCEPTED):
            if state in states:
                return state
        return APPROVED if states else NOT_RETURNED

    def mailed(self, kind: str, outcome: Outcome) -> list[SentMessage]:
        """The department's mail of KIND for the board's year with that OUTCOME, oldest
        first."""
        return [m for m in self.store.sent_mail(kind, self.template.department_code)
                if m.outcome == outcome and m.year == self.template.year]

    def standing(self) -> DepartmentStanding:
        t, code = self.template, self.template.department_code
        sent = self.mailed("template", Outcome.SENT)
        drafted = self.mailed("template", Outcome.DRAFTED)
        reminders = self.mailed("reminder", Outcome.SENT)
        returns = [e for e in self.chain if e.file.status != Status.UNCHANGED]
        current = next((e for e in self.chain if e.in_force), None)
        last = self.history[-1] if self.history else None
        deadline = self.store.mailing(t.template_id).deadline
        after = next((n for p in self.project_list if (n := self.after_approval(p.project_code))),
                     "")
        return DepartmentStanding(
            code, t.department, t.template_id, self.version, t.issued_at,
            sent[-1].sent_at or "" if sent else "",
            drafted[-1].sent_at or "" if drafted else "", len(reminders),
            reminders[-1].sent_at or "" if reminders else "", len(returns),
            max(len(returns) - 1, 0), _name(current), self.state(),
            last.grade if last else "", last.opinion if last else "",
            last.reviewed_at if last else "", after, *self.counts(None), deadline,
            _days_left(deadline, self.today))


def _name(entry: ChainEntry | None) -> str:
    return entry.file.original_name if entry else ""


_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})")


def deadline_date(text: str) -> date | None:
    """The date a deadline text names (`2024-03-31`, `2024年3月31日前`, `2024/3/31`)."""
    found = _DATE.search(text)
    if found is None:
        return None
    try:
        return date(*(int(part) for part in found.groups()))
    except ValueError:  # 2024年2月30日: no such day
        return None


def _days_left(deadline: str, today: date) -> int | None:
    day = deadline_date(deadline)
    return None if day is None else (day - today).days


__all__ = ["DepartmentStanding", "ProjectStanding", "StatusBoard", "deadline_date", "status"]
