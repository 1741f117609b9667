"""`review`: the office's decision (审核意见) on a department's return, and its waivers.

Collect decides mechanically; the office decides as an office. A review grades each project
of the department's return under review (优 and 良 approve, 中 and 差 send it back for
revision: 财预〔2015〕88号), with an opinion, a reviewer and a time; every decision is kept
(`xltool.store.reviews`). What the decisions change is the submission chain's business
(`xltool.store.chain`: an approval pins the approved targets for publishing).

The return under review is the department's return in force; or, when the department sent
a return after it that was rejected, that one (its latest word). A waiver (`--waive
CODE[@CELL]`) accepts a finding as written: when the waivers standing then cover every
error of a rejected return, it is to be examined again (`examine_again`: the command line
runs `collect --recheck`, which reads the kept copy and, finding only waived errors,
accepts it). Reading a return is collect's work; this stage only reads and writes the store.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xltool.codes import PROBLEMS
from xltool.defaults import DEFAULT_STORE
from xltool.errors import UnknownDepartment, XltoolError
from xltool.findings import Finding
from xltool.store import ChainEntry, IssuedTemplate, Status, Store, exclusive, open_store
from xltool.store.chain import now
from xltool.store.reviews import (
    APPROVING,
    GRADES,
    ReviewRecord,
    Waiver,
    only_waived_errors,
    waiver_of,
)
from xltool.text import normalise_key


class CannotReview(XltoolError):
    """The review asked for cannot be recorded: a grade or opinion missing, no return to
    review, a project or a waiver that does not fit the return."""


_READ = (Status.ACCEPTED, Status.SUPERSEDED, Status.REJECTED)


@dataclass(frozen=True)
class Review:
    """What a review recorded, and what follows from it."""

    department_code: str
    department: str
    sha256: str
    original_name: str
    status: str
    """The reviewed return's status when reviewed (`accepted`, `rejected`, …)."""
    decisions: tuple[ReviewRecord, ...]
    granted: tuple[Waiver, ...]
    revoked: tuple[Waiver, ...]
    waived: tuple[Finding, ...]
    """The return's findings the waivers standing now cover (still findings: marked)."""
    examine_again: bool
    """A rejected return whose every error is now waived: collect is to read it again."""

    @property
    def approved(self) -> bool:
        return self.decisions[0].approves

    def to_dict(self) -> dict[str, Any]:
        return {"department_code": self.department_code, "department": self.department,
                "sha256": self.sha256, "original_name": self.original_name,
                "status": self.status, "approved": self.approved,
                "decisions": [d.to_dict() for d in self.decisions],
                "granted": [w.to_dict() for w in self.granted],
                "revoked": [w.to_dict() for w in self.revoked],
                "waived": [f.to_dict() for f in self.waived],
                "examine_again": self.examine_again}


def review(department: str, *, grade: str, opinion: str, project: str | None = None,
           waive: tuple[str, ...] = (), revoke: tuple[str, ...] = (),
           reviewer: str | None = None, store: Path | str = DEFAULT_STORE) -> Review:
    """Record the office's GRADE and OPINION on DEPARTMENT's return under review (its code or
    its name), for PROJECT or every project of it; WAIVE and REVOKE name findings the office
    accepts as written, or no longer does (`CODE`, `CODE@C19`, `CODE@项目1!C19`)."""
    grade, opinion = grade.strip(), opinion.strip()
    if grade not in GRADES:
        raise CannotReview(f"审核等级“{grade}”无效：只能是 {'、'.join(GRADES)}")
    if not opinion:
        raise CannotReview("请用 --opinion 写明审核意见（将记入审核记录，并写入部门的反馈表）")
    with exclusive(store), open_store(store, create=False) as opened:
        template = _department(opened, department)
        entry = _under_review(opened, template)
        codes = _projects(opened, template, project)
        granted = tuple(_waiver(w, template, project, opened) for w in waive)
        revoked = tuple(_waiver(w, template, project, opened) for w in revoke)
        findings = opened.findings(entry.file.sha256)
        standing = [*_without(opened.waivers(template.department_code), revoked), *granted]
        covered = only_waived_errors(findings, standing)
        if grade in APPROVING and entry.file.status == Status.REJECTED and not covered:
            raise CannotReview(
                f"{entry.file.original_name} 有错误未修改，不能评为“{grade}”：请评“中”退回修改，"
                "或用 --waive 豁免可以接受的问题")
        at, who = now(), reviewer.strip() if reviewer else _os_user()
        decisions = opened.record_review(
            [ReviewRecord(entry.file.sha256, entry.file.template_id, template.department_code,
                          template.year, code, grade, opinion, who, at) for code in codes],
            [_granted(w, opinion, who, at) for w in granted], revoked)
    return Review(template.department_code, template.department, entry.file.sha256,
                  entry.file.original_name, entry.file.status, tuple(decisions), granted,
                  revoked, tuple(f for f in findings if waiver_of(f, standing)),
                  entry.file.status == Status.REJECTED and covered)


def _department(store: Store, wanted: str) -> IssuedTemplate:
    """The department's template issued last, found by code or by name."""
    wanted, key = wanted.strip(), normalise_key(wanted)
    templates = store.templates()
    for matches in ([t for t in templates if t.department_code == wanted],
                    [t for t in templates if normalise_key(t.department) == key]):
        if matches:
            return max(matches, key=lambda t: t.issued_at)
    raise UnknownDepartment(f"存储中没有向“{wanted}”下发过模板（请用主管部门编码或全称）")


def under_review(chain: list[ChainEntry], template_id: str) -> ChainEntry | None:
    """Of a department's chain, the return the office reviews: the return in force, or a
    rejected return of the template in force received after it."""
    read = [e for e in chain if e.file.template_id == template_id and e.file.status in _READ]
    in_force = next((e for e in read if e.in_force), None)
    after = read[read.index(in_force) + 1:] if in_force else read
    rejected = [e for e in after if e.file.status == Status.REJECTED]
    return rejected[-1] if rejected else in_force


def _under_review(store: Store, template: IssuedTemplate) -> ChainEntry:
    entry = under_review(store.chain(template.department_code), template.template_id)
    if entry is None:
        raise CannotReview(f"{template.department}（{template.department_code}）还没有用现行模板"
                           "报送过可以审核的报送表（见 xltool history）")
    return entry


def _projects(store: Store, template: IssuedTemplate, project: str | None) -> list[str]:
    codes = [p.project_code for p in store.template_projects(template.template_id)]
    if project is None:
        return codes
    if project.strip() not in codes:
        raise CannotReview(f"{template.department} 的现行模板中没有项目“{project}”"
                           f"（有：{'、'.join(codes)}）")
    return [project.strip()]


def _waiver(text: str, template: IssuedTemplate, project: str | None, store: Store) -> Waiver:
    """`CODE`, `CODE@C19` or `CODE@项目1!C19` as a waiver of the department's findings (of
    PROJECT, or of the project whose sheet is named)."""
    code, _, place = text.strip().partition("@")
    if code not in PROBLEMS or code.startswith("file."):
        raise CannotReview(f"“{code}”不是可以豁免的问题代码（见 xltool history 列出的问题）")
    sheet, _, cell = place.rpartition("!")
    sheet = sheet.strip("'")
    sheets = {p.sheet: p.project_code for p in store.template_projects(template.template_id)}
    if sheet and sheet not in sheets:
        raise CannotReview(f"现行模板中没有工作表“{sheet}”（有：{'、'.join(sheets)}）")
    owner = sheets.get(sheet, "") if sheet else (project or "").strip()
    return Waiver(template.department_code, template.year, code, owner, sheet,
                  cell.strip().upper())


def _granted(waiver: Waiver, opinion: str, reviewer: str, at: str) -> Waiver:
    return Waiver(waiver.department_code, waiver.year, waiver.code, waiver.project_code,
                  waiver.sheet, waiver.cell, opinion, reviewer, at)


def _without(waivers: list[Waiver], revoked: tuple[Waiver, ...]) -> list[Waiver]:
    gone = {(w.code, w.project_code, w.sheet, w.cell) for w in revoked}
    return [w for w in waivers if (w.code, w.project_code, w.sheet, w.cell) not in gone]


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this user id (a container, a service)
        return ""


__all__ = ["CannotReview", "Review", "review", "under_review"]
