"""What is published: each department's accepted return in force, as the store records it.

Everything here comes from the store, never from a returned file: the project
list, amounts and header fields (实施单位, 项目属性, 项目期 …) from the issued
template's record, the goals and indicators from the accepted targets. A header
field the store does not know stays blank; nothing is invented.

One store is one year's round. When it holds several years, the latest year
with an accepted return is published.

This is the edition as issued; `now.py` brings it to the ledger as it is now
(`publish --ledger`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import cached_property

from xltool.codes import (
    PUBLISH_NOT_ISSUED,
    PUBLISH_NOT_RETURNED,
    PUBLISH_NOT_REVIEWED,
    PUBLISH_REJECTED,
    PUBLISH_REVIEW_RETURNED,
    PUBLISH_STALE,
    REASONS,
    Reason,
)
from xltool.errors import NothingToPublish, ProfileNotKept, StoreIncomplete
from xltool.matching import AmountChange
from xltool.money import shown_wan
from xltool.profile import FUNDING_KEYS, FormProfile
from xltool.store import (
    IssuedCell,
    IssuedProject,
    ReceivedFile,
    Status,
    Store,
    in_force,
)
from xltool.store.reviews import waiver_of
from xltool.targets import Indicator, Targets
from xltool.text import normalise_text
from xltool.values import is_label_placeholder


@dataclass(frozen=True)
class PublishedProject:
    code: str
    name: str
    header: dict[str, str]
    """Profile header key (`unit`, `attribute` …) → the issued text."""
    amounts: dict[str, Decimal | None]
    """Funding key (`total`, `fiscal`, `other`, `carryover`) → 万元, None when not given."""
    goal: str
    indicators: tuple[Indicator, ...]
    changes: tuple[AmountChange, ...] = ()
    """`publish --ledger --allow-stale`: the funding rows changed since issue."""
    note: str = ""
    """Printed under the project's table (说明): why its amounts are not those issued."""
    waived: tuple[tuple[str, str, str], ...] = ()
    """(二级指标, value, note) of each indicator the office accepted as written (a waived
    finding at its cell, `xltool review --waive`): the data sheet says so."""

    def waiver_note(self, indicator: Indicator) -> str:
        """What the data sheet says of INDICATOR: the office accepted it as written, or ''."""
        return next((note for level2, value, note in self.waived
                     if level2 == indicator.level2 and value in (indicator.value, indicator.name)),
                    "")

    def amount(self, key: str) -> Decimal:
        return self.amounts.get(key) or Decimal(0)


@dataclass(frozen=True)
class PublishedDepartment:
    code: str
    name: str
    year: int | None
    profile: FormProfile
    projects: tuple[PublishedProject, ...]
    received_at: str

    @property
    def indicator_count(self) -> int:
        return sum(len(p.indicators) for p in self.projects)

    def amount(self, key: str) -> Decimal:
        return sum((p.amount(key) for p in self.projects), Decimal(0))


@dataclass(frozen=True)
class MissingProject:
    """An issued project that is not published, and why (`reason_code` is stable)."""

    department_code: str
    department: str
    project_code: str
    project_name: str
    reason_code: str
    detail: str = ""
    """What the ledger says of it (`publish --ledger`): its new department, code or amounts."""
    changes: tuple[AmountChange, ...] = ()
    """`budget_changed`: each funding row changed since issue, old and new."""

    @property
    def reason(self) -> str:
        return REASONS[self.reason_code].label

    def to_dict(self) -> dict[str, object]:
        return {"department_code": self.department_code, "department": self.department,
                "project_code": self.project_code, "project_name": self.project_name,
                "reason_code": self.reason_code, "reason": self.reason, "detail": self.detail,
                "changes": changes_dict(self.changes)}


@dataclass(frozen=True)
class StaleProject:
    """`--allow-stale`: a project published although its funding changed since issue."""

    department_code: str
    department: str
    project_code: str
    project_name: str
    detail: str
    changes: tuple[AmountChange, ...]

    def to_dict(self) -> dict[str, object]:
        return {"department_code": self.department_code, "department": self.department,
                "project_code": self.project_code, "project_name": self.project_name,
                "detail": self.detail, "changes": changes_dict(self.changes)}


def changes_dict(changes: Iterable[AmountChange]) -> list[dict[str, str]]:
    """For `--json`: each changed row's key, and its amounts issued and now, as text."""
    return [{"field": c.key, "issued": shown_wan(c.issued), "ledger": shown_wan(c.ledger)}
            for c in changes]


@dataclass(frozen=True)
class Edition:
    """One year's publication: the departments in code order, and what is missing."""

    year: int | None
    departments: tuple[PublishedDepartment, ...]
    missing: tuple[MissingProject, ...] = field(default=())

    @property
    def projects(self) -> list[tuple[PublishedDepartment, PublishedProject]]:
        return [(d, p) for d in self.departments for p in d.projects]

    @cached_property
    def targets(self) -> Targets:
        """The published goals and indicators as a targets workbook holds them."""
        return Targets(goals={p.code: p.goal for _, p in self.projects},
                       indicators=tuple(i for _, p in self.projects for i in p.indicators))

    @property
    def latest_received(self) -> str:
        return max(d.received_at for d in self.departments)

    def amount(self, key: str) -> Decimal:
        return sum((d.amount(key) for d in self.departments), Decimal(0))


def is_public(indicator: Indicator) -> bool:
    """Not an empty row, not an unfilled `指标N：` label (collect drops those; guard anyway)."""
    name, value = normalise_text(indicator.name), normalise_text(indicator.value)
    if not name and not value:
        return False
    return bool(value) or not is_label_placeholder(name)


def gather(store: Store, departments: Sequence[str] = ()) -> Edition:
    """The edition to publish: accepted returns in force of the latest year, and the gaps."""
    wanted = set(departments)
    returns = [r for r in store.current_returns() if not wanted or r.department_code in wanted]
    if not returns:
        asked = f"（主管部门 {'、'.join(departments)}）" if departments else ""
        raise NothingToPublish(f"存储 {store.path} 中没有已接受的报送表{asked}，无可公开的内容。"
                               "请先用 xltool collect 收取各部门的报送表")
    year = max(returns, key=lambda r: (r.year is not None, r.year or 0)).year
    published = tuple(_department(store, r) for r in returns if r.year == year)
    withheld: dict[tuple[str, str], str] = {}
    if store.has_reviews(year):
        published, withheld = _as_reviewed(store, published)
    return Edition(year, published,
                   tuple(_missing(store, year, departments, published, withheld)))


def _as_reviewed(store: Store, published: tuple[PublishedDepartment, ...]
                 ) -> tuple[tuple[PublishedDepartment, ...], dict[tuple[str, str], str]]:
    """Once the office reviews, exactly the approved projects, each with the targets of the
    return its approval pins (`xltool.store.chain`); the others withheld, and why."""
    kept, withheld = [], {}
    for department in published:
        pinned = store.approved_returns(department.code, department.year)
        standing = store.standing_reviews(department.year)
        projects = []
        for project in department.projects:
            if project.code in pinned:
                projects.append(_pinned(store, project, pinned[project.code]))
                continue
            review = standing.get((department.code, project.code))
            returned = review is not None and not review.approves
            withheld[department.code, project.code] = (
                PUBLISH_REVIEW_RETURNED if returned else PUBLISH_NOT_REVIEWED).code
        if projects:
            kept.append(replace(department, projects=tuple(projects)))
    return tuple(kept), withheld


def _pinned(store: Store, project: PublishedProject, sha256: str) -> PublishedProject:
    """PROJECT with the goal and indicators of the approved return SHA256."""
    targets = store.accepted_targets(sha256)
    received = store.received(sha256)
    issued = store.issued_form(received.template_id) if received else None
    waived = accepted_as_written(store, sha256, issued.cells() if issued else ())
    return replace(project, goal=targets.goals.get(project.code, ""),
                   waived=waived.get(project.code, ()),
                   indicators=tuple(i for i in targets.indicators
                                    if i.project_code == project.code and is_public(i)))


def _department(store: Store, received: ReceivedFile) -> PublishedDepartment:
    """The department's accepted return, laid out by the profile its template was issued with."""
    issued = store.issued_form(received.template_id)
    if issued is None:
        raise StoreIncomplete(f"存储中没有模板 {received.template_id} 的下发记录"
                              f"（已接受的报送表 {received.original_name}），无法公开")
    template, profile = issued.template, issued.profile
    if profile is None:
        raise ProfileNotKept(template, then="无法公开")
    targets = store.accepted_targets(received.sha256)
    indicators: dict[str, list[Indicator]] = {}
    for indicator in targets.indicators:
        if is_public(indicator):
            indicators.setdefault(indicator.project_code, []).append(indicator)
    headers = _headers(issued.cells())
    waived = accepted_as_written(store, received.sha256, issued.cells())
    projects = tuple(
        replace(_project(p, headers.get(p.project_code, {}),
                         targets.goals.get(p.project_code, ""), indicators.get(p.project_code, [])),
                waived=waived.get(p.project_code, ()))
        for p in issued.projects)
    return PublishedDepartment(template.department_code, template.department, template.year,
                               profile, projects, received.received_at)


def accepted_as_written(store: Store, sha256: str, cells: Iterable[IssuedCell]
                        ) -> dict[str, tuple[tuple[str, str, str], ...]]:
    """Per project, (二级指标, value, note) of each finding of the return SHA256 the office
    waived, placed by the issued cell it was found at."""
    findings = store.findings(sha256)
    if not any(f.is_error for f in findings):
        return {}
    received = store.received(sha256)
    waivers = store.waivers(received.department_code, received.year) if received else []
    category = {(c.sheet, c.cell): c.category for c in cells}
    found: dict[str, list[tuple[str, str, str]]] = {}
    for finding in findings:
        waiver = waiver_of(finding, waivers)
        if waiver is not None and (finding.sheet, finding.cell) in category:
            found.setdefault(finding.project, []).append(
                (category[finding.sheet, finding.cell], finding.value,
                 f"财政部门审核后按原文接受：{waiver.opinion}"))
    return {project: tuple(places) for project, places in found.items()}


def _headers(cells: Iterable[IssuedCell]) -> dict[str, dict[str, str]]:
    """Per project, the issued text of each header field (input fields: what was issued)."""
    headers: dict[str, dict[str, str]] = {}
    for cell in cells:
        if cell.field.startswith("header."):
            headers.setdefault(cell.project_code, {})[cell.field[len("header."):]] = cell.value
    return headers


def _project(issued: IssuedProject, header: dict[str, str], goal: str,
             indicators: list[Indicator]) -> PublishedProject:
    amounts = {key: getattr(issued, key) for key in FUNDING_KEYS}
    return PublishedProject(issued.project_code, issued.project_name,
                            {"project_name": issued.project_name, **header}, amounts, goal,
                            tuple(indicators))


# -- what is missing -----------------------------------------------------------------------


def _missing(store: Store, year: int | None, departments: Sequence[str],
             published: tuple[PublishedDepartment, ...],
             withheld: dict[tuple[str, str], str]) -> list[MissingProject]:
    """Projects of each department's latest template (this year) that are not published
    (WITHHELD: the reason of those the office's review keeps out)."""
    wanted = set(departments)
    latest = in_force(t for t in store.templates()
                      if t.year == year and (not wanted or t.department_code in wanted))
    done = {d.code: {p.code for p in d.projects} for d in published}
    last_status = _last_status(store.received_files(), year)
    missing = []
    for code, template in sorted(latest.items()):
        reason = _REASONS.get(last_status.get(code, ""), PUBLISH_NOT_RETURNED)
        missing += [MissingProject(code, template.department, p.project_code, p.project_name,
                                   withheld.get((code, p.project_code), reason.code))
                    for p in store.template_projects(template.template_id)
                    if p.project_code not in done.get(code, set())]
    missing += [MissingProject(code, "", "", "", PUBLISH_NOT_ISSUED.code)
                for code in dict.fromkeys(departments) if code not in latest and code not in done]
    return missing


_REASONS: dict[str, Reason] = {Status.REJECTED: PUBLISH_REJECTED, Status.STALE: PUBLISH_STALE}


def _last_status(received: list[ReceivedFile], year: int | None) -> dict[str, str]:
    """Per department, the status of the last file it sent for the year (files come in the
    order the office received them; the issued template come back is not one it sent)."""
    return {r.department_code: r.status for r in received
            if r.year == year and r.department_code and r.status != Status.UNCHANGED}


__all__ = ["Edition", "MissingProject", "NothingToPublish", "PublishedDepartment",
           "PublishedProject", "StaleProject", "StoreIncomplete", "gather", "is_public"]
