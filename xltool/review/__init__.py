"""`review`: the office's decision (审核意见) on a department's return, and its waivers.

Collect decides mechanically; the office decides as an office. A review grades each project
of the department's return under review (优 and 良 approve, 中 and 差 send it back for
revision: 财预〔2015〕88号), with an opinion, a reviewer and a time; every decision is kept
(`xltool.store.reviews`). What the decisions change is the submission chain's business
(`xltool.store.chain`: an approval pins the approved targets for publishing).

The department's template reviewed is its template in force for the latest year it was
issued one (`xltool.store.chain`); the return under review is its return in force; or, when
the department sent a return after it that was rejected, that one (its latest word).

A waiver (`--waive CODE[@CELL]`) accepts a finding as written, for the department and that
year: a code alone covers the code in all its returns (of `--project` only, if given); a
cell covers that cell of one project sheet — the sheet named (`CODE@项目1!C19`), or that of
`--project`, or else each sheet where the return under review has the finding at that
cell. `--revoke` ends every standing waiver of the year it names (the code; the place and
project, where given), and is refused when it names none. When the waivers standing then
cover every error of a rejected return, it is to be examined again (`examine_again`: the
command line runs `xltool.collect.examine_again` on that return alone, which reads the kept
copy and, finding only waived errors, accepts it). Reading a return is collect's work; this
stage only reads and writes the store.
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
from xltool.review.standing import under_review
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

_ERRORS_SHOWN = 10  # errors a refused approval lists; `xltool history` lists them all


class CannotReview(XltoolError):
    """The review asked for cannot be recorded: a grade or opinion missing, no return to
    review, a project or a waiver that does not fit the return."""


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
        findings = opened.findings(entry.file.sha256)
        before = opened.waivers(template.department_code, template.year)
        sheets = {p.sheet: p.project_code for p in opened.template_projects(template.template_id)}
        # the same waiver asked twice (`--waive X --waive X`, `--revoke X --revoke X@…`)
        # is granted or ended once
        granted = tuple(dict.fromkeys(
            w for text in waive
            for w in _granting(_asked(text, sheets, project), template, findings)))
        revoked = tuple({w.waiver_id: w for text in revoke
                         for w in _revoking(_asked(text, sheets, project), template,
                                            before)}.values())
        standing = [*_without(before, revoked), *granted]
        covered = only_waived_errors(findings, standing)
        if grade in APPROVING and entry.file.status == Status.REJECTED and not covered:
            raise CannotReview(_not_approvable(entry.file.original_name, grade, findings,
                                               standing, project))
        at, who = now(), reviewer.strip() if reviewer else _os_user()
        decisions = opened.record_review(
            [ReviewRecord(entry.file.sha256, entry.file.template_id, template.department_code,
                          template.year, code, grade, opinion, who, at) for code in codes],
            [_granted(w, opinion, who, at) for w in granted], revoked)
    return Review(template.department_code, template.department, entry.file.sha256,
                  entry.file.original_name, entry.file.status, tuple(decisions), granted,
                  revoked, tuple(f for f in findings if waiver_of(f, standing)),
                  entry.file.status == Status.REJECTED and covered)


def _not_approvable(name: str, grade: str, findings: list[Finding], standing: list[Waiver],
                    project: str | None) -> str:
    """Why a rejected return cannot be approved: each error no waiver covers, and why a
    waiver of `--project` does not cover an error of no project (of the whole return)."""
    left = [f for f in findings if f.is_error and waiver_of(f, standing) is None]
    lines = [f"{name} 有错误未修改，不能评为“{grade}”：请评“中”退回修改，"
             f"或用 --waive 豁免可以接受的问题。未豁免的错误（{len(left)} 处）："]
    for finding in left[:_ERRORS_SHOWN]:
        lines.append(f"  {finding.where or '整个报送表'} {finding.code}：{finding.message}"
                     f"{_why_not_covered(finding, project)}")
    if len(left) > _ERRORS_SHOWN:
        lines.append(f"  ……其余 {len(left) - _ERRORS_SHOWN} 处见 xltool history")
    return "\n".join(lines)


def _why_not_covered(finding: Finding, project: str | None) -> str:
    """Why a waiver asked with `--project` leaves FINDING (of another project, or of none)."""
    if not project or finding.project == project.strip():
        return ""
    if not finding.project:
        return "（不属于任何项目：--project 指定的豁免不覆盖它，豁免它时请不用 --project）"
    return f"（属于项目 {finding.project}：--project {project.strip()} 指定的豁免不覆盖它）"


def _department(store: Store, wanted: str) -> IssuedTemplate:
    """The department's template in force for the latest year it was issued one, found by
    code or by name (as the submission chain decides it: on a tie, the one recorded last)."""
    wanted, key = wanted.strip(), normalise_key(wanted)
    templates = store.templates()
    for matches in ([t for t in templates if t.department_code == wanted],
                    [t for t in templates if normalise_key(t.department) == key]):
        if matches:
            latest = max(matches, key=lambda t: (t.year is not None, t.year or 0))
            chosen = store.template_in_force(latest.department_code, latest.year)
            # by an old name, the template in force may be one issued under a new name
            return next(t for t in templates if t.template_id == chosen)
    raise UnknownDepartment(f"存储中没有向“{wanted}”下发过模板（请用主管部门编码或全称）")


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


@dataclass(frozen=True)
class _Asked:
    """A `--waive` or `--revoke` as written: the code, and where (empty: not said)."""

    text: str
    code: str
    project: str
    sheet: str
    cell: str


def _asked(text: str, sheets: dict[str, str], project: str | None) -> _Asked:
    """`CODE`, `CODE@C19` or `CODE@项目1!C19`, of PROJECT or of the project whose sheet is
    named (SHEETS: the template's sheets and their projects)."""
    code, _, place = text.strip().partition("@")
    if code not in PROBLEMS or code.startswith("file."):
        raise CannotReview(f"“{code}”不是可以豁免的问题代码（见 xltool history 列出的问题）")
    sheet, _, cell = place.rpartition("!")
    sheet, project = sheet.strip("'"), (project or "").strip()
    if sheet and sheet not in sheets:
        raise CannotReview(f"现行模板中没有工作表“{sheet}”（有：{'、'.join(sheets)}）")
    if sheet and project and sheets[sheet] != project:
        raise CannotReview(f"工作表“{sheet}”是项目 {sheets[sheet]} 的，不是 --project {project}")
    if project and not sheet and cell:
        sheet = next(s for s, owner in sheets.items() if owner == project)
    return _Asked(text.strip(), code, sheets[sheet] if sheet else project, sheet,
                  cell.strip().upper())


def _granting(asked: _Asked, template: IssuedTemplate,
              findings: list[Finding]) -> list[Waiver]:
    """The waivers ASKED grants: a cell without its sheet, one per sheet where the return
    under review has the finding at that cell (never every project's same cell)."""
    def waiver(project: str, sheet: str) -> Waiver:
        return Waiver(template.department_code, template.year, asked.code, project, sheet,
                      asked.cell)

    if not asked.cell or asked.sheet:
        return [waiver(asked.project, asked.sheet)]
    places = sorted({(f.project, f.sheet) for f in findings
                     if f.code == asked.code and f.cell.upper() == asked.cell and f.sheet})
    if not places:
        raise CannotReview(f"审核的报送表在 {asked.cell} 没有“{asked.code}”问题：请写明工作表，"
                           f"如 {asked.code}@项目工作表名!{asked.cell}，或用 --project 指明项目")
    return [waiver(project, sheet) for project, sheet in places]


def _revoking(asked: _Asked, template: IssuedTemplate, standing: list[Waiver]) -> list[Waiver]:
    """The standing waivers of the year ASKED names: of its code, and of its project, sheet
    and cell where it says them."""
    ended = [w for w in standing if w.code == asked.code
             and asked.project in ("", w.project_code) and asked.sheet in ("", w.sheet)
             and asked.cell in ("", w.cell.upper())]
    if not ended:
        year = f"{template.year}年" if template.year is not None else "本年度"
        now_standing = "、".join(w.where for w in standing) or "无"
        raise CannotReview(f"没有可以撤销的豁免“{asked.text}”：{template.department}{year}"
                           f"现有的豁免：{now_standing}")
    return ended


def _granted(waiver: Waiver, opinion: str, reviewer: str, at: str) -> Waiver:
    return Waiver(waiver.department_code, waiver.year, waiver.code, waiver.project_code,
                  waiver.sheet, waiver.cell, opinion, reviewer, at)


def _without(waivers: list[Waiver], revoked: tuple[Waiver, ...]) -> list[Waiver]:
    gone = {w.waiver_id for w in revoked}
    return [w for w in waivers if w.waiver_id not in gone]


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this user id (a container, a service)
        return ""


__all__ = ["CannotReview", "Review", "review", "under_review"]
