"""The status board as a workbook (`status -o STATUS.xlsx`): the office's printed page.

Sheet `部门`: a department a row, most urgent first, the late in red; rows are one line
each (the full opinion is on the projects sheet), so that 40 departments print on one A4
landscape page, the header row repeated on each: a long department name shrinks to its
cell rather than being cut, and the return in force is named by what its file name adds to
the template's (`绩效目标表.xlsx`, not the year, code and department again). Sheet `项目`:
a project a row, with the office's latest opinion in full.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from xltool.atomic import written_whole
from xltool.errors import ReportUnwritable, WorkbookNotSaved
from xltool.names import Output
from xltool.review.status import DepartmentStanding, ProjectStanding, StatusBoard
from xltool.tables import FONT, Column, Look, Page, Value, print_page, write_table
from xltool.xlsxout import check, new_workbook

PER_PAGE = 40
"""Departments on one printed page."""

DEPARTMENT_SHEET, PROJECT_SHEET = "部门", "项目"

_DEPARTMENT_COLUMNS = (
    Column("主管部门编码", 12), Column("主管部门", 16, "shrunk"), Column("状态", 10),
    Column("剩余天数", 8), Column("下发日期（版次）", 17), Column("邮件发送", 10),
    Column("催报\n次数", 4, "count"), Column("收到\n份数", 4, "count"),
    Column("修改\n轮次", 4, "count"), Column("有效报送表", 14, "shrunk"), Column("审核\n等级", 4),
    Column("审核意见", 11), Column("审核后又报送", 12), Column("豁免\n问题", 4, "count"),
    Column("未改\n错误", 4, "count"), Column("目标\n下调", 4, "count"),
    Column("指标\n删除", 4, "count"))
ROW_POINTS = 13.0
"""A department's row: one line of 9-point text, so that PER_PAGE rows and the header fit
one A4 landscape page at the scale its width gives (about 88 % in Excel, 70 % in
LibreOffice, whose columns come out wider)."""

_PROJECT_COLUMNS = (
    Column("主管部门编码", 10), Column("主管部门", 12), Column("项目编码", 10),
    Column("项目名称", 16), Column("状态", 11), Column("审核\n等级", 4), Column("审核意见", 28),
    Column("审核人", 6), Column("审核时间", 10), Column("审核\n次数", 4, "count"),
    Column("审核后又报送", 12), Column("豁免\n问题", 4, "count"), Column("未改\n错误", 4, "count"),
    Column("目标\n下调", 4, "count"), Column("指标\n删除", 4, "count"))

_STYLES: dict[str, dict[str, Any]] = {
    "header": {"bold": True, "bg_color": "#D9E1F2", "border": 1, "text_wrap": True,
               "align": "center", "valign": "vcenter", "font_size": 10},
    "text": {"border": 1, "valign": "vcenter", "font_size": 9},
    "wrapped": {"border": 1, "valign": "vcenter", "text_wrap": True, "font_size": 9},
    "shrunk": {"border": 1, "valign": "vcenter", "shrink": True, "font_size": 9},
    # a zero is left blank: the counts that matter stand out
    "count": {"border": 1, "valign": "vcenter", "num_format": "0;-0;;@", "font_size": 9},
    "late": {"font_color": "#9C0006", "bg_color": "#FFC7CE", "bold": True},
}


def write_status(board: StatusBoard, path: Path | str) -> Path:
    """The board's two sheets; complete or absent, never half."""
    path = Path(path)

    def write(draft: Path) -> Path:
        workbook = new_workbook(draft, output=Output.STATUS, title=_title(board),
                                subject="各部门绩效目标报送、审核情况")
        formats = {name: workbook.add_format({"font_name": FONT, **spec})
                   for name, spec in _STYLES.items()}
        _departments(workbook.add_worksheet(DEPARTMENT_SHEET), formats, board)
        _projects(workbook.add_worksheet(PROJECT_SHEET), formats, board)
        workbook.close()
        return path

    try:
        return written_whole(path, write)
    except (WorkbookNotSaved, OSError) as error:
        raise ReportUnwritable(f"无法写出报送情况表 {path}：{error}") from error


def _title(board: StatusBoard) -> str:
    year = f"{board.year}年" if board.year is not None else ""
    deadlines = {d.deadline for d in board.departments if d.deadline}
    deadline = f"，截止：{deadlines.pop()}" if len(deadlines) == 1 else ""
    return f"{year}项目支出绩效目标报送与审核情况（{board.today.isoformat()}{deadline}）"


def _departments(sheet: Any, formats: dict[str, Any], board: StatusBoard) -> None:
    # one line a row: a row never grows, so PER_PAGE rows always fill one page
    look = Look(header=formats["header"], cell=lambda c, _v: formats[c.style],
                header_height=30, height=lambda _lines: ROW_POINTS)
    last = write_table(sheet, look, _DEPARTMENT_COLUMNS,
                       [_department_row(d) for d in board.departments])
    print_page(sheet, Page(_title(board), [c.width for c in _DEPARTMENT_COLUMNS],
                           landscape=True, repeat=(0, 0)))
    check(sheet.set_h_pagebreaks(list(range(PER_PAGE + 1, last + 1, PER_PAGE))), "page breaks")
    days = _DEPARTMENT_COLUMNS.index(next(c for c in _DEPARTMENT_COLUMNS
                                          if c.header == "剩余天数"))
    anchor = f"${chr(ord('A') + days)}2"
    check(sheet.conditional_format(1, 0, max(last, 1), len(_DEPARTMENT_COLUMNS) - 1, {
        "type": "formula", "criteria": f'=LEFT({anchor},2)="逾期"', "format": formats["late"]}),
          "late in red")


def _department_row(d: DepartmentStanding) -> Sequence[Value]:
    return (d.department_code, d.department, d.state, _days(d),
            f"{d.issued_at[:10]}（第{d.version}版）", d.sent_at[:10], d.reminders, d.returns,
            d.rounds, _return_shown(d), d.grade, d.opinion, d.received_after_approval, d.waived,
            d.errors, d.target_lowered, d.indicator_dropped)


def _return_shown(d: DepartmentStanding) -> str:
    """The return in force by what its name adds to the department's code and name, which
    a template's file name (and so a return's, mostly) holds after its year."""
    _, found, rest = d.in_force.partition(f"{d.department_code}_{d.department}_")
    return rest if found and rest else d.in_force


def _days(d: DepartmentStanding) -> str:
    if d.days_left is None:
        return ""
    if d.late:
        return f"逾期{-d.days_left}天"
    return f"剩余{d.days_left}天" if d.days_left >= 0 else ""


def _projects(sheet: Any, formats: dict[str, Any], board: StatusBoard) -> None:
    look = Look(header=formats["header"],
                cell=lambda c, _v: formats["wrapped" if c.style == "text" else c.style],
                header_height=30)
    write_table(sheet, look, _PROJECT_COLUMNS, [_project_row(p) for p in board.projects])
    print_page(sheet, Page(_title(board), [c.width for c in _PROJECT_COLUMNS], landscape=True,
                           repeat=(0, 0)))


def _project_row(p: ProjectStanding) -> Sequence[Value]:
    return (p.department_code, p.department, p.project_code, p.project_name, p.state, p.grade,
            p.opinion, p.reviewer, p.reviewed_at[:10], p.reviews, p.received_after_approval,
            p.waived, p.errors, p.target_lowered, p.indicator_dropped)
