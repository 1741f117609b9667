"""`issue_templates`: one locked, guided workbook per department, recorded in the store.

The steps: load and check the ledger, match the prefill targets, plan each
department's forms (`plan.py`, `layout.py`), write the workbooks
(`writer.py`, in parallel with `jobs`), then record every issued template and
every cell of its forms in the store, one transaction per template.
"""

from __future__ import annotations

import hashlib
import operator
import secrets
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from itertools import repeat
from pathlib import Path
from typing import Literal

from xlsxwriter.utility import xl_rowcol_to_cell

from xltool.atomic import remove_stale_drafts
from xltool.batch import few_collections, few_collections_for_life
from xltool.defaults import DEFAULT_PROFILE, DEFAULT_STORE
from xltool.errors import UnknownDepartment
from xltool.findings import Finding
from xltool.ledger import Ledger, LedgerProject, email_addresses, load_ledger
from xltool.outputs import Named, refuse_clobbering
from xltool.profile import FormProfile, read_profile
from xltool.store import (
    CellColumns,
    FormMapRecord,
    IssuedProject,
    IssuedTemplate,
    Mailing,
    exclusive,
    form_map_record,
    open_store,
)
from xltool.targets import read_targets
from xltool.template.plan import CoverInfo, DepartmentPlan, plan_department, workbook_name
from xltool.template.prefill import Prefill, match_prefill
from xltool.template.writer import write_workbook

__all__ = ["IssuedWorkbook", "TemplateRun", "issue_templates"]

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class IssuedWorkbook:
    path: Path
    template_id: str
    department_code: str
    department: str
    projects: int
    sheets: tuple[str, ...]
    sha256: str


@dataclass(frozen=True)
class TemplateRun:
    workbooks: tuple[IssuedWorkbook, ...]
    findings: tuple[Finding, ...]
    store: Path
    profile: str


def issue_templates(
    ledger: Path | str,
    outdir: Path | str,
    *,
    profile: str | Path = DEFAULT_PROFILE,
    store: Path | str = DEFAULT_STORE,
    prefill: Path | str | None = None,
    departments: Sequence[str] = (),
    password: str | None = None,
    jobs: int = 1,
    issuer: str = "",
    deadline: str = "",
    contact: str = "",
    amounts_in: Literal["万元", "元"] = "万元",
    progress: Progress | None = None,
) -> TemplateRun:
    """Write one template per department of LEDGER into OUTDIR and record each in the store."""
    form_profile, profile_text = read_profile(profile)
    book = load_ledger(ledger, amounts_in=amounts_in).without_errors("未生成模板")
    groups = _departments(book, departments)
    out = Path(outdir)
    _refuse_clobbering(out, groups, store=store,
                       reads=[(ledger, "预算台账"), *([(prefill, "预填文件")] if prefill else [])])
    matched = _prefill(prefill, book, form_profile)
    cover = CoverInfo(issuer=issuer, deadline=deadline, contact=contact)
    out.mkdir(parents=True, exist_ok=True)
    remove_stale_drafts(out)  # a killed run's half-written workbooks
    jobs_list = [
        _Job(form_profile, projects, _subset(matched, projects), cover, out,
             password or _new_password(), Path(ledger).name)
        for projects in groups
    ]
    mailings = {group[0].department_code: _mailing(group, cover, out) for group in groups}
    workbooks = []
    with exclusive(store), open_store(store) as opened, few_collections():
        for issued, (template, projects, cells) in _issue_all(jobs_list, jobs, progress):
            opened.record_template(template, projects, cells, profile=profile_text,
                                   mailing=mailings[template.department_code])
            workbooks.append(issued)
    return TemplateRun(tuple(workbooks), matched.findings, Path(store), form_profile.name)



def _refuse_clobbering(out: Path, groups: Sequence[Sequence[LedgerProject]], *,
                       store: Path | str, reads: Sequence[Named]) -> None:
    """Before any work: no workbook may replace the store, one of its files or an input, and
    OUT may not be the store's copies folder."""
    workbooks: list[Named] = [
        (out / workbook_name(first.year, first.department_code, first.department), "模板")
        for first, *_ in groups]
    refuse_clobbering(files=workbooks, folders=[(out, "模板文件夹")], reads=reads, store=store)


def _departments(book: Ledger, wanted: Sequence[str]) -> list[tuple[LedgerProject, ...]]:
    groups = book.by_department()
    unknown = [code for code in wanted if code not in groups]
    if unknown:
        raise UnknownDepartment(f"预算台账中没有主管部门编码：{'、'.join(unknown)}")
    codes = list(wanted) if wanted else list(groups)
    return [groups[code] for code in codes]


def _mailing(projects: Sequence[LedgerProject], cover: CoverInfo, out: Path) -> Mailing:
    """What mail sends the department's template by: the 联系邮箱 of its projects, each
    address once, the cover's issuer, deadline and contact, and where the workbook is."""
    addresses = dict.fromkeys(a for p in projects for a in email_addresses(p.email))
    return Mailing(";".join(addresses), cover.issuer, cover.deadline, cover.contact,
                   str(out.resolve()))


def _prefill(path: Path | str | None, book: Ledger, profile: FormProfile) -> Prefill:
    if path is None:
        return Prefill()
    targets = read_targets(path)
    return match_prefill(targets, [p.code for p in book.projects], profile,
                         source=Path(path).name)


def _new_password() -> str:
    return secrets.token_urlsafe(12)


def _subset(prefill: Prefill, projects: Sequence[LedgerProject]) -> Prefill:
    """Only this department's targets travel to the worker that writes its workbook."""
    codes = {p.code for p in projects}
    return Prefill({c: g for c, g in prefill.goals.items() if c in codes},
                   {c: i for c, i in prefill.indicators.items() if c in codes})


@dataclass(frozen=True)
class _Job:
    profile: FormProfile
    projects: tuple[LedgerProject, ...]
    prefill: Prefill
    cover: CoverInfo
    outdir: Path
    password: str
    ledger_file: str


_Records = tuple[IssuedTemplate, list[IssuedProject], FormMapRecord]


def _issue_one(job: _Job) -> tuple[IssuedWorkbook, _Records]:
    """Plan, write and describe one department's workbook (runs in a worker with --jobs)."""
    plan = plan_department(job.profile, job.projects, job.prefill, job.cover)
    path = job.outdir / plan.file_name
    write_workbook(plan, path, job.password)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    issued = IssuedWorkbook(path, plan.template_id, plan.department_code, plan.department,
                            len(plan.forms), tuple(f.sheet for f in plan.forms), digest)
    return issued, _records(plan, path, job.password, digest, job.ledger_file)


def _issue_all(jobs: list[_Job], workers: int,
               progress: Progress | None) -> Iterator[tuple[IssuedWorkbook, _Records]]:
    """Results in ledger order, as they come: the store records while workers still write."""
    if workers <= 1 or len(jobs) <= 1:
        results: Iterable[tuple[IssuedWorkbook, _Records]] = map(_issue_one, jobs)
        yield from _counted(results, len(jobs), progress)
        return
    with ProcessPoolExecutor(max_workers=workers, initializer=few_collections_for_life) as pool:
        chunk = max(1, min(16, len(jobs) // (workers * 4)))
        yield from _counted(pool.map(_issue_one, jobs, chunksize=chunk), len(jobs), progress)


def _counted(results: Iterable[tuple[IssuedWorkbook, _Records]], total: int,
             progress: Progress | None) -> Iterator[tuple[IssuedWorkbook, _Records]]:
    for done, result in enumerate(results, start=1):
        if progress:
            progress(done, total)
        yield result


@lru_cache(maxsize=4096)
def _a1(row: int, col: int) -> str:
    return str(xl_rowcol_to_cell(row, col))


def _records(plan: DepartmentPlan, path: Path, password: str, digest: str,
             ledger_file: str) -> _Records:
    """What the store records of one template, prepared where the workbook was written."""
    template = IssuedTemplate(
        template_id=plan.template_id, year=plan.year, profile=plan.profile.name,
        profile_version=plan.profile.version, department_code=plan.department_code,
        department=plan.department, file_name=path.name, sha256=digest, password=password,
        ledger_file=ledger_file, issued_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    projects = [
        IssuedProject(plan.template_id, form.position, form.project.code, form.project.name,
                      form.sheet, form.project.total, form.project.fiscal, form.project.other,
                      form.project.carryover)
        for form in plan.forms
    ]
    return template, projects, form_map_record(projects, _cell_columns(plan))


def _cell_columns(plan: DepartmentPlan) -> CellColumns:
    """Every cell of the plan's forms as columns, each form's cells transposed at C speed."""
    sheet: list[str] = []
    cell: list[str] = []
    locked: list[bool] = []
    name: list[str] = []
    code: list[str] = []
    field: list[str] = []
    category: list[str] = []
    value: list[str] = []
    for form in plan.forms:
        if not form.cells:
            continue
        rows, cols, values, roles, _, names, fields, categories, _, _ = zip(*form.cells,
                                                                           strict=True)
        count = len(rows)
        sheet += repeat(form.sheet, count)
        cell += map(_a1, rows, cols)
        locked += map(operator.ne, roles, repeat("input", count))
        name += names
        code += repeat(form.project.code, count)
        field += fields
        category += categories
        value += map(_text, values)
    return CellColumns(tuple(sheet), tuple(cell), tuple(locked), tuple(name), tuple(code),
                       tuple(field), tuple(category), tuple(value))


def _text(value: object) -> str:
    return "" if value is None else str(value)
