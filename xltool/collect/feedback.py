"""Feedback workbooks: what each department must fix, and where the office stands.

After a `collect` run the office sends every department that returned files
its 反馈表 (`{年度}年_{主管部门编码}_{主管部门}_反馈表.xlsx`): the verdict on
the files of this run, what became of each file, and every finding it can act
on with the sheet, the cell, what was entered, what is wrong and how to fix it,
in the order it will fix them (file, sheet as the workbook has them, row,
column). The office keeps one 收取情况汇总 (`收取情况汇总.xlsx`) for itself:
every department, issued project and received file with its state, read from
the store, so it covers every run so far, and on 待核实 what only the office
can act on, each with its file and department named.

Who reads a finding is its code's `reader` (`xltool.codes.Reader`), declared
once: the issued template come back untouched, a template of another store, a
file that could not be opened, and a copy of a file received before are the
office's, and never reach a department.

Both are print-ready (A4 landscape, one page wide, a title above each table, header
row repeated, every row as tall as its text). A finding names its file by the number
the 反馈表's table of files gives it: the file's long name once, not on every row. Every
text that came from a return or the ledger is written with `write_string`, so
a value such as `=HYPERLINK(...)` stays text. A 反馈表 holds nothing that
changes between runs (no times, no hashes): the same returns give a
byte-identical file.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

from xlsxwriter.utility import xl_cell_to_rowcol, xl_rowcol_to_cell

from xltool.atomic import written_whole
from xltool.codes import FILE_DUPLICATE, Reader, reader_of
from xltool.collect.outcome import FileOutcome
from xltool.findings import Finding, Severity
from xltool.money import AMOUNT_FORMAT
from xltool.names import Output
from xltool.outputs import refuse_clobbering
from xltool.states import (
    ACCEPTED,
    DEPARTMENT_STATES,
    NOT_RETURNED,
    REVIEW_RETURNED,
    TO_FIX,
    department_state,
)
from xltool.store import IssuedProject, IssuedTemplate, ReceivedFile, Status, Store, in_force
from xltool.store.reviews import Waiver, waiver_of
from xltool.tables import (
    FONT,
    Column,
    Look,
    Page,
    Value,
    fit_row,
    lines_needed,
    print_page,
    put,
    report_height,
    snug_height,
    styled,
    write_table,
)
from xltool.xlsxout import check, new_workbook

SUMMARY_NAME = "收取情况汇总.xlsx"
FEEDBACK_SHEET = "反馈"
DEPARTMENTS_SHEET, PROJECTS_SHEET, FILES_SHEET = "部门", "项目", "文件"
OFFICE_SHEET = "待核实"
UNKNOWN_DEPARTMENT = "（未能识别）"

SEVERITY_LABELS = {Severity.ERROR: "错误", Severity.WARNING: "提醒"}
ACCEPTED_VERDICT, REDO_VERDICT = "已接受", "需修改后重新报送"
REVIEW_VERDICT = REVIEW_RETURNED
NOTHING_TO_FIX = "本次报送的文件均已接受，无需修改。"
NOTHING_FOUND = "本次报送的文件未发现问题；请按上方审核意见修改。"
PROJECT_STATES = (ACCEPTED, TO_FIX, NOT_RETURNED)
"""A project's state: its department's, as far as the return in force covers it."""

_ADVICE = {
    REDO_VERDICT: "请按下方问题清单逐项修改：“错误”必须修改，“提醒”请核对。"
                  "在报送的文件中修改、保存后重新报送，不要新建或复制工作簿。",
    ACCEPTED_VERDICT: "文件已接受。下方“提醒”不影响接受，请核对；如需修改，改后可重新报送。",
    REVIEW_VERDICT: "财政部门审核后退回修改：请按上方审核意见修改，在报送的文件中修改、保存后"
                    "重新报送。",
}
_FILE_NOTES = {
    Status.ACCEPTED: "已接受",
    Status.REJECTED: "请按问题清单修改后重新报送",
    Status.SUPERSEDED: "已接受，但另有更晚收到的报送文件有效",
    Status.STALE: "所用模板已重新下发，请用新模板重新填写后报送",
}
_REDO = (Status.REJECTED, Status.STALE)
"""What the department must send again: a file with errors, or one of an outdated template."""

LABEL_FILL = "#EEF3F8"
NAME_LIMIT = 40        # characters of a department name or code in a file name

_STYLES: dict[str, dict[str, Any]] = {
    "title": {"bold": True, "font_size": 16, "align": "center", "valign": "vcenter"},
    "label": {"bold": True, "border": 1, "valign": "vcenter", "text_wrap": True,
              "bg_color": LABEL_FILL},
    "header": {"bold": True, "border": 1, "align": "center", "valign": "vcenter",
               "text_wrap": True, "bg_color": LABEL_FILL},
    "text": {"border": 1, "valign": "top", "text_wrap": True},
    "center": {"border": 1, "align": "center", "valign": "top", "text_wrap": True},
    "count": {"border": 1, "align": "center", "valign": "top", "num_format": "0"},
    "amount": {"border": 1, "valign": "top", "num_format": AMOUNT_FORMAT},
    "when": {"border": 1, "align": "center", "valign": "top", "num_format": "yyyy-mm-dd hh:mm"},
    "note": {"border": 1, "valign": "vcenter", "text_wrap": True},
    "section": {"bold": True, "valign": "vcenter"},
    "total": {"bold": True, "border": 1, "valign": "top", "text_wrap": True,
              "bg_color": LABEL_FILL},
    "total_count": {"bold": True, "border": 1, "align": "center", "valign": "top",
                    "num_format": "0", "bg_color": LABEL_FILL},
    "accepted": {"bold": True, "border": 1, "valign": "vcenter", "font_color": "#006100",
                 "bg_color": "#C6EFCE"},
    "redo": {"bold": True, "border": 1, "valign": "vcenter", "font_color": "#9C0006",
             "bg_color": "#FFC7CE"},
    "error": {"font_color": "#9C0006", "bg_color": "#FFC7CE"},
    "missing": {"font_color": "#9C5700", "bg_color": "#FFEB9C"},
}


# A finding names its file by the files table's 序号: a file name repeated on every row
# wrapped each to four lines.
FINDING_TABLE = (
    Column("序号", 6, "center"), Column("文件\n序号", 6, "center"), Column("项目编码", 18),
    Column("工作表", 20), Column("单元格", 10, "center"), Column("填写内容", 20),
    Column("问题", 34), Column("修改方法", 28), Column("级别", 6, "center"),
)


@dataclass(frozen=True)
class Span:
    """A column of the files table over the findings table's columns FIRST to LAST."""

    header: str
    first: int
    last: int
    style: str


FILE_TABLE = (
    Span("序号", 0, 0, "count"), Span("文件", 1, 3, "text"), Span("收取结果", 4, 4, "center"),
    Span("错误数", 5, 5, "count"), Span("提醒数", 6, 6, "count"), Span("说明", 7, 8, "note"),
)
DEPARTMENT_TABLE = (
    Column("主管部门编码", 14), Column("主管部门", 30), Column("项目数", 8, "count"),
    Column("已收到文件数", 12, "count"), Column("已接受", 8, "count"),
    Column("退回修改", 10, "count"), Column("状态", 14, "center"),
    Column("最近收到时间", 18, "when"),
)
PROJECT_TABLE = (
    Column("主管部门编码", 14), Column("主管部门", 30), Column("项目编码", 18),
    Column("项目名称", 42), Column("年度资金总额（万元）", 16, "amount"),
    Column("状态", 14, "center"),
)
RECEIVED_TABLE = (
    Column("收到时间", 18, "when"), Column("原文件名", 30), Column("主管部门编码", 14),
    Column("结果", 14, "center"), Column("错误数", 8, "count"), Column("提醒数", 8, "count"),
    Column("SHA-256", 16), Column("存档位置", 40),
)
OFFICE_TABLE = (
    Column("收到时间", 18, "when"), Column("原文件名", 30), Column("主管部门编码", 14),
    Column("主管部门", 24), Column("问题", 44), Column("处理办法", 36),
    Column("级别", 6, "center"),
)
THIS_RUN = "本次收取"
_LAST = len(FINDING_TABLE) - 1
_LEVEL = len(FINDING_TABLE) - 1


def write_feedback(outcomes: Sequence[FileOutcome], store: Store, outdir: Path) -> list[Path]:
    """A 反馈表 per department among OUTCOMES (in code order), then the 收取情况汇总."""
    outdir.mkdir(parents=True, exist_ok=True)
    latest = in_force(store.templates())
    written: list[Path] = []
    for department in _departments(outcomes, store, latest):
        path = outdir / _unique(feedback_name(department.code, department.name, department.year),
                                written)
        written.append(_save(path, partial(_write_department, department=department),
                             output=Output.FEEDBACK,
                             title=f"{department.code} {department.name} 反馈表",
                             subject="项目支出预算绩效目标审核反馈"))
    written.append(_save(outdir / SUMMARY_NAME,
                         lambda wb: _write_summary(wb, store, latest, outcomes),
                         output=Output.SUMMARY, title="收取情况汇总",
                         subject="项目支出预算绩效目标收取情况"))
    return written


def refuse_clobbering_inputs(outdir: Path, returns: Sequence[Path], store: Path) -> None:
    """Before any work: OUTDIR may not be in the store's copies folder, and no workbook
    `write_feedback` could write there may be a return read or one of the store's files.

    Which departments get a 反馈表 is known only once the returns are read, so every file
    already in OUTDIR under a name `write_feedback` gives (`FEEDBACK_NAME`) counts.
    """
    candidates = [outdir / SUMMARY_NAME]
    if outdir.is_dir():
        candidates += [p for p in outdir.iterdir() if FEEDBACK_NAME.fullmatch(p.name)]
    refuse_clobbering(files=[(p, "反馈文件") for p in candidates],
                      folders=[(outdir, "反馈文件夹")],
                      reads=[(p, "收到的文件") for p in returns], store=store)


# -- file names and saving -----------------------------------------------------------------

_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]')
# Every name `feedback_name` and `_unique` give; any case, as Windows reads names.
FEEDBACK_NAME = re.compile(r".*反馈表(_[0-9]+)?\.xlsx", re.IGNORECASE)


def safe_name(text: str, limit: int = NAME_LIMIT) -> str:
    """TEXT usable in a file name on Windows, macOS and Linux."""
    return _UNSAFE.sub("_", text).strip(" .")[:limit].strip(" .")


def feedback_name(code: str, department: str, year: int | None) -> str:
    parts = [f"{year}年" if year is not None else "", safe_name(code), safe_name(department)]
    return "_".join([*filter(None, parts), "反馈表"]) + ".xlsx"


def _unique(name: str, taken: list[Path]) -> str:
    """Two codes may sanitise alike: the later file gets a number."""
    names = {p.name for p in taken}
    stem, number = name.removesuffix(".xlsx"), 2
    while name in names:
        name, number = f"{stem}_{number}.xlsx", number + 1
    return name


def _save(path: Path, build: Callable[[Any], None], **properties: Any) -> Path:
    """A workbook BUILD fills, at PATH complete or not at all."""
    def write(draft: Path) -> Path:
        workbook = new_workbook(draft, **properties)
        build(workbook)
        workbook.close()
        return path

    return written_whole(path, write)


# -- what each department is told -----------------------------------------------------------


def acts_on(outcome: FileOutcome) -> bool:
    """Whether the department that sent OUTCOME's file can act on it, so its 反馈表 lists it.

    Not a copy of bytes received before (the first copy was reported; that it came again is
    the office's bookkeeping), not a file the office alone reads about: every finding of the
    issued template come back, or of a template of another store, is the office's
    (`xltool.codes.Reader`)."""
    if not outcome.department or outcome.status == Status.DUPLICATE:
        return False
    return not outcome.findings or any(map(_for_department, outcome.findings))


def _for_department(finding: Finding) -> bool:
    return reader_of(finding) is Reader.DEPARTMENT


@dataclass(frozen=True)
class FileReport:
    """One file the department sent in the run, with the findings it can act on; SHEETS are
    its template's project sheets in workbook order, PROJECTS their project codes."""

    name: str
    status: Status
    findings: tuple[Finding, ...]
    sheets: tuple[str, ...] = ()
    projects: tuple[str, ...] = ()

    @property
    def errors(self) -> int:
        return sum(f.is_error for f in self.findings)

    @property
    def warnings(self) -> int:
        return len(self.findings) - self.errors

    @property
    def note(self) -> str:
        return _FILE_NOTES.get(self.status, "")

    def place(self, finding: Finding) -> tuple[Any, ...]:
        """Where FINDING sits in the workbook, in the order a clerk goes through it: the file
        as a whole, then the project sheets as the workbook has them (项目2 before 项目10),
        then any other sheet by its name read naturally."""
        if finding.sheet in self.sheets:
            return (1, self.sheets.index(finding.sheet))
        if finding.sheet:
            return (2, natural_key(finding.sheet))
        if finding.project in self.projects:
            return (1, self.projects.index(finding.project))
        return (0,)


@dataclass(frozen=True)
class DepartmentReport:
    code: str
    name: str
    year: int | None
    files: tuple[FileReport, ...]
    opinions: tuple[str, ...] = ()
    """The office's review opinions that stand sending its projects back (`xltool review`)."""
    waivers: tuple[Waiver, ...] = ()
    """The findings the office accepts as written: still listed, marked as waived."""
    sent_back: bool = False
    """Whether the office's review sent back the very file the department sent last (its
    feedback is written again after the review: `mail feedback`)."""

    @property
    def verdict(self) -> str:
        """The department's last file of the run decides: it is what it sent last; an
        accepted one the office's review sent back is to be revised all the same."""
        if self.files[-1].status in _REDO:
            return REDO_VERDICT
        return REVIEW_VERDICT if self.sent_back else ACCEPTED_VERDICT


def _departments(outcomes: Sequence[FileOutcome], store: Store,
                 latest: dict[str, IssuedTemplate]) -> list[DepartmentReport]:
    by_code: dict[str, list[FileOutcome]] = {}
    for outcome in outcomes:
        if acts_on(outcome):
            by_code.setdefault(outcome.department, []).append(outcome)
    return [_department(code, by_code[code], store, latest.get(code)) for code in sorted(by_code)]


def _department(code: str, outcomes: list[FileOutcome], store: Store,
                template: IssuedTemplate | None) -> DepartmentReport:
    files = tuple(_file_report(outcome, store) for outcome in outcomes)
    year = template.year if template else None
    return DepartmentReport(code, template.department if template else "", year, files,
                            store.returned_opinions(code, year), tuple(store.waivers(code, year)),
                            _sent_back(store, code, year, outcomes[-1].sha256))


def _sent_back(store: Store, code: str, year: int | None, sha256: str) -> bool:
    """Whether a standing decision of the office (the latest per project) returns SHA256."""
    standing = {r.project_code: r for r in store.reviews(code) if r.year == year}
    return any(not r.approves and r.sha256 == sha256 for r in standing.values())


def _file_report(outcome: FileOutcome, store: Store) -> FileReport:
    projects = store.template_projects(outcome.template_id) if outcome.template_id else []
    return FileReport(outcome.name, outcome.status,
                      tuple(filter(_for_department, outcome.findings)),
                      tuple(p.sheet for p in projects), tuple(p.project_code for p in projects))


_CELL = re.compile(r"([A-Z]{1,3})(\d{1,7})")
_DIGITS = re.compile(r"(\d+)")


def cell_order(cell: str) -> tuple[int, int, int, str]:
    """No cell first, then by row and column (D9, B12, D12), then anything unparsable."""
    if not cell:
        return (0, 0, 0, "")
    match = _CELL.fullmatch(cell.split(":")[0].replace("$", "").upper())
    if match is None:
        return (2, 0, 0, cell)
    row, col = xl_cell_to_rowcol(match[0])
    return (1, row, col, cell)


def natural_key(name: str) -> tuple[tuple[int, int, str], ...]:
    """NAME's runs of digits read as numbers: 项目2 before 项目10."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part)
                 for part in _DIGITS.split(name) if part)


def finding_rows(department: DepartmentReport) -> list[list[Value]]:
    """The findings table in the order the department will fix them: by file (in the order
    received), sheet (in workbook order), row, column; errors first within a cell."""
    entries = [(index, file.place(finding), finding)
               for index, file in enumerate(department.files) for finding in file.findings]
    entries.sort(key=lambda e: (e[0], e[1], cell_order(e[2].cell), not e[2].is_error))
    return [[number, index + 1, f.project, f.sheet, f.cell, f.value, f.message, f.fix,
             _level(f, department.waivers)]
            for number, (index, _, f) in enumerate(entries, start=1)]


def _level(finding: Finding, waivers: Sequence[Waiver]) -> str:
    """The finding's severity, or that the office accepted it as written, by whom and why."""
    waiver = waiver_of(finding, waivers)
    return waiver.note if waiver else SEVERITY_LABELS[finding.severity]


def _write_department(workbook: Any, department: DepartmentReport) -> None:
    formats = _formats(workbook)
    sheet = workbook.add_worksheet(FEEDBACK_SHEET)
    _set_widths(sheet, FINDING_TABLE)
    top = _heading(sheet, formats, department)
    rows = finding_rows(department)
    if rows:
        last = write_table(sheet, _snug(formats, FINDING_TABLE), FINDING_TABLE, rows, top=top)
        _highlight(sheet, formats, top + 1, last, _LEVEL, _LAST, {"错误": "error"})
    else:
        _merged(sheet, top, 0, _LAST, NOTHING_FOUND if department.sent_back else NOTHING_TO_FIX,
                formats["redo" if department.sent_back else "accepted"])
    print_page(sheet, Page("项目支出预算绩效目标审核反馈", [c.width for c in FINDING_TABLE],
                           department=f"{department.code} {department.name}",
                           repeat=(top, top) if rows else None))


def heading_lines(department: DepartmentReport) -> list[tuple[str, str, str]]:
    """The lines under the title, each a label, its text and the text's style: who is told,
    the verdict, and what to do. A line added here (an opinion, a deadline) takes its row."""
    verdict = department.verdict
    opinions = [("审核意见", "\n".join(department.opinions), "redo")] if department.opinions else []
    return [*opinions, ("主管部门", f"{department.code} {department.name}".strip(), "note"),
            ("审核结论", verdict, "accepted" if verdict == ACCEPTED_VERDICT else "redo"),
            ("说明", _ADVICE[verdict], "note")]


def _heading(sheet: Any, formats: dict[str, Any], department: DepartmentReport) -> int:
    """Title, the heading lines and the files; returns the findings table's row."""
    year = f"{department.year}年" if department.year is not None else ""
    _merged(sheet, 0, 0, _LAST, f"{year}项目支出预算绩效目标表审核反馈", formats["title"])
    check(sheet.set_row(0, 30), "title height")
    text_width = sum(c.width for c in FINDING_TABLE[2:])
    row = 1
    for row, (label, text, style) in enumerate(heading_lines(department), start=1):
        _merged(sheet, row, 0, 1, label, formats["label"])
        _merged(sheet, row, 2, _LAST, text, formats[style])
        fit_row(sheet, row, [(text, text_width)])
    row = _files_block(sheet, formats, row + 2, department.files)
    _merged(sheet, row, 0, _LAST, _findings_line(department), formats["section"])
    return row + 1


def _files_block(sheet: Any, formats: dict[str, Any], top: int,
                 files: tuple[FileReport, ...]) -> int:
    """The files of the run, one row each, numbered as the findings name them; returns the
    row after the block."""
    for span in FILE_TABLE:
        _spanned(sheet, top, span, span.header, formats["header"])
    for row, file in enumerate(files, start=top + 1):
        values: list[Value] = [row - top, file.name, Status(file.status).label,
                               file.errors, file.warnings, file.note]
        for span, value in zip(FILE_TABLE, values, strict=True):
            _spanned(sheet, row, span, value, formats[span.style])
        fit_row(sheet, row, [(value, _span_width(span))
                             for span, value in zip(FILE_TABLE, values, strict=True)])
    return top + len(files) + 1


def _span_width(span: Span) -> float:
    return sum(c.width for c in FINDING_TABLE[span.first:span.last + 1])


def _spanned(sheet: Any, row: int, span: Span, value: Value, fmt: Any) -> None:
    if span.first == span.last:
        put(sheet, row, span.first, value, fmt)
    else:
        _merged(sheet, row, span.first, span.last, value, fmt)


def _findings_line(department: DepartmentReport) -> str:
    listed = [f for file in department.files for f in file.findings]
    errors = sum(f.is_error for f in listed)
    if not listed:
        return "问题清单"
    return f"问题清单（共 {len(listed)} 条，其中错误 {errors} 条、提醒 {len(listed) - errors} 条）"


# -- the office's summary --------------------------------------------------------------------


@dataclass(frozen=True)
class Standing:
    """A department's latest template, its files (of that year, or undated) and the
    project codes its accepted return in force covers (None: no accepted return)."""

    template: IssuedTemplate
    projects: tuple[IssuedProject, ...]
    files: tuple[ReceivedFile, ...]
    covered: frozenset[str] | None

    @property
    def returns(self) -> tuple[ReceivedFile, ...]:
        """The files the department sent: not the issued template itself come back."""
        return tuple(f for f in self.files if f.status != Status.UNCHANGED)

    @property
    def state(self) -> str:
        return department_state(accepted=self.covered is not None,
                                statuses=(f.status for f in self.files))

    def project_state(self, code: str) -> str:
        if self.covered is not None and code in self.covered:
            return PROJECT_STATES[0]
        if self.returns and self.returns[-1].status in _REDO:
            return PROJECT_STATES[1]
        return PROJECT_STATES[2]

    def count(self, *statuses: str) -> int:
        return sum(f.status in statuses for f in self.files)


def standings(store: Store, latest: dict[str, IssuedTemplate]) -> list[Standing]:
    received = store.received_files()
    current = {(r.department_code, r.year): r for r in store.current_returns()}
    result = []
    for template in latest.values():
        files = tuple(r for r in received if r.department_code == template.department_code
                      and r.year in (template.year, None))
        accepted = current.get((template.department_code, template.year))
        covered = frozenset(store.accepted_targets(accepted.sha256).goals) if accepted else None
        result.append(Standing(template, tuple(store.template_projects(template.template_id)),
                               files, covered))
    return result


def _write_summary(workbook: Any, store: Store, latest: dict[str, IssuedTemplate],
                   outcomes: Sequence[FileOutcome]) -> None:
    formats = _formats(workbook, valign="vcenter")
    departments = standings(store, latest)
    year = next((d.template.year for d in departments if d.template.year is not None), None)
    _summary_sheet(workbook, formats, SummaryTitle(year, DEPARTMENTS_SHEET), DEPARTMENT_TABLE,
                   [_department_row(d) for d in departments],
                   {TO_FIX: "error", NOT_RETURNED: "missing"}, _totals(departments))
    _summary_sheet(workbook, formats, SummaryTitle(year, PROJECTS_SHEET), PROJECT_TABLE,
                   [_project_row(d, p) for d in departments for p in d.projects],
                   {TO_FIX: "error", NOT_RETURNED: "missing"})
    _summary_sheet(workbook, formats, SummaryTitle(year, FILES_SHEET), RECEIVED_TABLE,
                   [_received_row(store, r) for r in store.received_files()],
                   {Status.REJECTED.label: "error", Status.STALE.label: "error",
                    Status.UNCHANGED.label: "missing"})
    _summary_sheet(workbook, formats, SummaryTitle(year, OFFICE_SHEET), OFFICE_TABLE,
                   office_rows(store, latest, outcomes), {"错误": "error"})


@dataclass(frozen=True)
class SummaryTitle:
    """A summary sheet's title, on its first row and in its print header."""

    year: int | None
    sheet: str

    def __str__(self) -> str:
        year = f"{self.year}年" if self.year is not None else ""
        return f"{year}项目支出预算绩效目标收取情况汇总（{self.sheet}）"


_SUMMARY_HEADER = 1  # the title above it


def _summary_sheet(workbook: Any, formats: dict[str, Any], title: SummaryTitle,
                   columns: tuple[Column, ...], rows: list[list[Value]], marks: dict[str, str],
                   totals: list[Value] | None = None) -> None:
    sheet = workbook.add_worksheet(title.sheet)
    _set_widths(sheet, columns)
    _merged(sheet, 0, 0, len(columns) - 1, str(title), formats["title"])
    check(sheet.set_row(0, 30), "title height")
    last = write_table(sheet, _snug(formats, columns), columns, rows, top=_SUMMARY_HEADER)
    state = next(i for i, c in enumerate(columns) if c.header in ("状态", "结果", "级别"))
    _highlight(sheet, formats, _SUMMARY_HEADER + 1, last, state, len(columns) - 1, marks)
    if totals is not None:
        _totals_row(sheet, formats, last + 1, columns, totals)
    print_page(sheet, Page(str(title), [c.width for c in columns],
                           repeat=(_SUMMARY_HEADER, _SUMMARY_HEADER)))


def _totals_row(sheet: Any, formats: dict[str, Any], row: int, columns: tuple[Column, ...],
                totals: list[Value]) -> None:
    """TOTALS at ROW; a text total followed by blanks spans them (the count of each state
    takes the room of the time no total has)."""
    widths: list[tuple[Value, float]] = []
    col = 0
    while col < len(columns):
        value, end = totals[col], col
        while isinstance(value, str) and end + 1 < len(columns) and totals[end + 1] is None:
            end += 1
        style = "total_count" if columns[col].style == "count" else "total"
        if end > col:
            _merged(sheet, row, col, end, value, formats[style])
        else:
            put(sheet, row, col, value, formats[style])
        widths.append((value, sum(c.width for c in columns[col:end + 1])))
        col = end + 1
    fit_row(sheet, row, widths, snug_height)


def _department_row(standing: Standing) -> list[Value]:
    template = standing.template
    latest = max((f.received for f in standing.returns), default="")
    return [template.department_code, template.department, len(standing.projects),
            len(standing.returns), standing.count(Status.ACCEPTED, Status.SUPERSEDED),
            standing.count(*_REDO), standing.state, _when(latest)]


def _totals(departments: list[Standing]) -> list[Value]:
    states = "，".join(f"{s} {sum(d.state == s for d in departments)}" for s in DEPARTMENT_STATES)
    return ["合计", f"{len(departments)} 个部门", sum(len(d.projects) for d in departments),
            sum(len(d.returns) for d in departments),
            sum(d.count(Status.ACCEPTED, Status.SUPERSEDED) for d in departments),
            sum(d.count(*_REDO) for d in departments), states, None]


def _project_row(standing: Standing, project: IssuedProject) -> list[Value]:
    template = standing.template
    return [template.department_code, template.department, project.project_code,
            project.project_name, project.total, standing.project_state(project.project_code)]


def _received_row(store: Store, received: ReceivedFile) -> list[Value]:
    findings = store.findings(received.sha256)
    errors = sum(f.is_error for f in findings)
    stored = "" if received.stored_path in ("", ".") else received.stored_path
    return [_when(received.received), received.original_name, received.department_code,
            Status(received.status).label, errors,
            len(findings) - errors, received.sha256[:12], stored]


def office_rows(store: Store, latest: dict[str, IssuedTemplate],
                outcomes: Sequence[FileOutcome]) -> list[list[Value]]:
    """What the office itself must look into, each with its file and department: every
    office finding of a file received so far, every finding of a file no department can be
    told of (not recognised as any department's), then this run's copies of files received
    before."""
    def named(code: str) -> str:
        return latest[code].department if code in latest else UNKNOWN_DEPARTMENT

    rows: list[list[Value]] = []
    for received in store.received_files():
        code = received.department_code
        findings = store.findings(received.sha256)
        for f in findings if not code else filter(_for_office, findings):
            rows.append([_when(received.received), received.original_name, code, named(code),
                         f.message, f.fix, SEVERITY_LABELS[f.severity]])
    for outcome in outcomes:
        for f in _unrecorded(outcome, store):
            rows.append([THIS_RUN, outcome.name, outcome.department,
                         named(outcome.department), f.message, f.fix,
                         SEVERITY_LABELS[f.severity]])
    return rows


def _unrecorded(outcome: FileOutcome, store: Store) -> tuple[Finding, ...]:
    """What the store holds no record of for OUTCOME: that the file is a copy of one received
    before, or, for a file that could not even be opened, its findings."""
    if not outcome.sha256:
        return outcome.findings
    first = store.received(outcome.sha256) if outcome.status == Status.DUPLICATE else None
    if first is None:
        return ()
    return (FILE_DUPLICATE.finding({"first": first.original_name,
                                    "first_received": _shown_when(first.received),
                                    "result": Status(first.status).label}),)


def _for_office(finding: Finding) -> bool:
    return reader_of(finding) is Reader.OFFICE


def _shown_when(text: str) -> str:
    when = _when(text)
    return when.strftime("%Y-%m-%d %H:%M") if isinstance(when, datetime) else str(when or "")


def _when(text: str) -> datetime | str | None:
    """A stored UTC timestamp as local time (Excel has no time zones); unparsable as given."""
    if not text:
        return None
    try:
        return datetime.fromisoformat(text).astimezone().replace(tzinfo=None)
    except ValueError:
        return text


# -- writing cells ---------------------------------------------------------------------------


def _formats(workbook: Any, **overrides: Any) -> dict[str, Any]:
    """The styles, each with OVERRIDES (`valign="vcenter"`: a table of one-line rows)."""
    return {name: workbook.add_format({"font_name": FONT, **spec, **overrides})
            for name, spec in _STYLES.items()}


def _snug(formats: dict[str, Any], columns: tuple[Column, ...]) -> Look:
    """The tables' look: every row, the header too, as tall as its text wraps to."""
    header_lines = max(lines_needed(column.header, column.width) for column in columns)
    return replace(styled(formats), height=snug_height,
                   header_height=report_height(header_lines))


def _set_widths(sheet: Any, columns: tuple[Column, ...]) -> None:
    for col, column in enumerate(columns):
        check(sheet.set_column(col, col, column.width), "column width")


def _highlight(sheet: Any, formats: dict[str, Any], first: int, last: int, col: int,
               last_col: int, marks: dict[str, str]) -> None:
    """Colour the rows whose column COL holds one of MARKS' texts."""
    if last < first:
        return
    ref = xl_rowcol_to_cell(first, col, col_abs=True)
    for text, style in marks.items():
        check(sheet.conditional_format(first, 0, last, last_col, {
            "type": "formula", "criteria": f'={ref}="{text}"', "format": formats[style]}),
            f"highlight {text}")


def _merged(sheet: Any, row: int, first: int, last: int, value: Value, fmt: Any) -> None:
    check(sheet.merge_range(row, first, row, last, "", fmt), "merge")
    put(sheet, row, first, value, fmt)


