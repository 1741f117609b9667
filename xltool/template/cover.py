"""The cover sheet (填报说明): who and when, the project list with a live status, instructions.

The status column holds formulas that name what collect would still find
unfilled in each project's form, so a department sees at a glance what is left
(`xltool.template.status`: the formulas, their helper cells in hidden columns
right of the list, and their cached results for a reader that does not
recalculate).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from xlsxwriter.utility import quote_sheetname

from xltool.tables import (
    LINE_HEIGHT,
    Page,
    is_landscape,
    lines_needed,
    page_breaks,
    page_room,
    print_page,
)
from xltool.template.plan import COVER_SHEET, DepartmentPlan
from xltool.template.status import longest_status, project_status
from xltool.xlsxout import check

WIDTHS = (6.0, 18.0, 32.0, 16.0, 56.0)
STATUS_COL = 4
HELPER_COL = len(WIDTHS)  # the status's helper cells, in hidden columns from here
STATUS_LINE = 14.0  # points per wrapped line of the status text

VALUE_RULES = (
    "指标值写法：比较符号 + 数字 + 单位，例如 ≥95%、≤20万元、100次、≥1次/月、2小时内、97%以上。",
    "数量、成本、满意度指标必须写出数字；质量、效益等可写定性目标，例如 明显、有所提升、逐步完善。",
    "成本指标以万元为单位，各项成本合计不应超过年度资金总额；满意度指标为 0–100% 的百分比。",
    "不要保留“指标1：”之类的占位文字；不适用的选填指标留空即可。",
)


@dataclass(frozen=True)
class CoverCell:
    """One cell of the cover. A `link` value jumps to that sheet; a `cached` value
    makes the text a formula with that result; `merge_to` spans to that column."""

    row: int
    col: int
    value: str | float
    style: str
    merge_to: int | None = None
    link: str | None = None
    cached: str | float | None = None


@dataclass(frozen=True)
class CoverLayout:
    cells: tuple[CoverCell, ...]
    row_heights: dict[int, float]
    project_rows: tuple[int, int] = (0, 0)  # the project list: its header row, its last row
    # rows printed on one page where they fit: the heading, the list's header with its first
    # project, the instructions, the table of categories
    keep: tuple[tuple[int, int], ...] = ()


def cover_layout(plan: DepartmentPlan) -> CoverLayout:
    """Every cell of the cover, in the order written."""
    cells: list[CoverCell] = []
    heights: dict[int, float] = {}
    row = _heading(cells, heights, plan)
    heading, projects = (0, row - 1), row + 1
    row = _project_list(cells, heights, plan, projects)
    instructions = row + 1
    row = _instructions(cells, heights, plan, instructions)
    _categories(cells, heights, plan, row + 1)
    keep = (heading, (projects, projects + 1), (instructions, row - 1),
            (row + 1, row + 1 + len(plan.profile.categories)))
    return CoverLayout(tuple(cells), heights, (projects, instructions - 2), keep)


def write_cover(workbook: Any, plan: DepartmentPlan, formats: dict[str, Any],
                password: str) -> None:
    sheet = workbook.add_worksheet(COVER_SHEET)
    for col, width in enumerate(WIDTHS):
        check(sheet.set_column(col, col, width), "cover width")
    layout = cover_layout(plan)
    helpers = max(cell.col for cell in layout.cells)
    if helpers >= HELPER_COL:
        check(sheet.set_column(HELPER_COL, helpers, None, None, {"hidden": True}),
              "cover helpers")
    for cell in layout.cells:
        _write(sheet, cell, formats[cell.style])
    heights = _fitted_heights(layout)
    for row, height in sorted(heights.items()):
        check(sheet.set_row(row, height), "cover row")
    print_page(sheet, _cover_page(plan, layout, heights))
    sheet.activate()
    sheet.protect(password, {"select_locked_cells": True, "select_unlocked_cells": True})


ROW_HEIGHT = 15.0  # xlsxwriter's default: a row the layout gives no height


def _fitted_heights(layout: CoverLayout) -> dict[int, float]:
    """Every row as tall as the layout says, or as its text wraps to if that is more (a
    status formula's row is already as tall as its longest result; cells right of the
    printed columns are not shown)."""
    heights = dict.fromkeys(range(max(cell.row for cell in layout.cells) + 1), ROW_HEIGHT)
    heights.update(layout.row_heights)
    for cell in layout.cells:
        if isinstance(cell.value, str) and cell.cached is None and cell.col < len(WIDTHS):
            width = sum(WIDTHS[cell.col:(cell.merge_to or cell.col) + 1])
            lines = lines_needed(cell.value, width)
            if lines > 1:
                heights[cell.row] = max(heights[cell.row], LINE_HEIGHT * lines + 4)
    return heights


def _cover_page(plan: DepartmentPlan, layout: CoverLayout, heights: dict[int, float]) -> Page:
    """Landscape (the cover is wide); the list's header repeated if the list runs over."""
    page = Page(plan.title, WIDTHS, f"{plan.department}（{plan.department_code}）")
    landscape = is_landscape(page)
    rows = [heights[row] for row in range(len(heights))]
    room = page_room(WIDTHS, landscape)
    breaks = page_breaks(rows, layout.keep, room)
    header, last = layout.project_rows
    if any(header < row <= last for row in breaks):
        breaks = page_breaks(rows, layout.keep, room, (header, header))
        return replace(page, landscape=landscape, breaks=breaks, repeat=(header, header))
    return replace(page, landscape=landscape, breaks=breaks)


def _write(sheet: Any, cell: CoverCell, fmt: Any) -> None:
    if cell.merge_to is not None:
        check(sheet.merge_range(cell.row, cell.col, cell.row, cell.merge_to, "", fmt),
              "cover merge")
    if isinstance(cell.value, float):
        check(sheet.write_number(cell.row, cell.col, cell.value, fmt), "cover number")
    elif cell.link is not None:
        link = f"internal:{quote_sheetname(cell.link)}!A1"
        check(sheet.write_url(cell.row, cell.col, link, fmt, cell.value), "cover link")
    elif cell.cached is not None:
        check(sheet.write_formula(cell.row, cell.col, cell.value, fmt, cell.cached),
              "cover formula")
    else:
        check(sheet.write_string(cell.row, cell.col, cell.value, fmt), "cover text")


def _line(cells: list[CoverCell], row: int, text: str, style: str) -> None:
    cells.append(CoverCell(row, 0, text, style, merge_to=len(WIDTHS) - 1))


def _heading(cells: list[CoverCell], heights: dict[int, float], plan: DepartmentPlan) -> int:
    _line(cells, 0, plan.title, "title")
    heights[0] = 32
    lines = [
        f"主管部门：{plan.department}（{plan.department_code}）",
        f"填报年度：{plan.year or ''}　　表式：{plan.profile.title_for(plan.year)}",
    ]
    if plan.cover.issuer:
        lines.append(f"下发单位：{plan.cover.issuer}")
    if plan.cover.deadline:
        lines.append(f"报送截止：{plan.cover.deadline}")
    if plan.cover.contact:
        lines.append(f"联系方式：{plan.cover.contact}")
    lines.append(f"模板编号：{plan.template_id}（请勿修改本工作簿的结构，黄色单元格为填写区域）")
    for row, text in enumerate(lines, start=1):
        _line(cells, row, text, "note")
    return len(lines) + 1


def _project_list(cells: list[CoverCell], heights: dict[int, float], plan: DepartmentPlan,
                  row: int) -> int:
    headers = ("序号", "项目编码", "项目名称", "年度资金总额（万元）", "填报状态")
    cells.extend(CoverCell(row, col, text, "label_center") for col, text in enumerate(headers))
    for form in plan.forms:
        row += 1
        project = form.project
        amount = float(project.total) if project.total is not None else 0.0
        status = project_status(form, plan.profile, row, HELPER_COL)
        # tall enough for the longest status the formula can show: a row keeps its height
        # when the formula recalculates, and wrapped text beyond it is cut or overlaps below
        heights[row] = _status_height(longest_status(form, plan.profile))
        cells.extend((
            CoverCell(row, 0, float(form.position), "label_center"),
            CoverCell(row, 1, project.code, "ledger_text"),
            CoverCell(row, 2, project.name, "ledger_text", link=form.sheet),
            CoverCell(row, 3, amount, "amount"),
            CoverCell(row, STATUS_COL, status.formula, "ledger_text", cached=status.cached),
            *(CoverCell(row, h.col, h.formula, "ledger_text", cached=h.cached)
              for h in status.helpers),
        ))
    return row + 1


def _status_height(text: str) -> float:
    return max(STATUS_LINE * 1.5, STATUS_LINE * lines_needed(text, WIDTHS[STATUS_COL]) + 4)


def _instructions(cells: list[CoverCell], heights: dict[int, float], plan: DepartmentPlan,
                  row: int) -> int:
    _line(cells, row, "填报说明", "label")
    steps = (
        "1. 每个项目一张工作表，点击上表中的项目名称可直接跳转；只需填写黄色单元格。",
        "2. 项目名称、编码、资金等来自预算台账，已锁定；如有错误请联系财政部门，不要自行修改。",
        f"3. {plan.profile.goal_label}：概括项目当年要完成的任务和效果，"
        "可分条写（目标1、目标2……）。",
        "4. 每个必填二级指标至少填写一条三级指标及其指标值；行数不够可联系财政部门增加。",
        *(f"{i + 5}. {text}" for i, text in enumerate(VALUE_RULES)),
    )
    if plan.profile.weights:
        w = plan.profile.weights
        steps = (*steps, f"{len(steps) + 1}. 每条指标填写{w.label}（{w.range_text}），"
                          f"一个项目合计{w.total}；"
                          f"不适用的二级指标写“{w.not_applicable}”，{w.label}填0或留空。")
    for text in steps:
        row += 1
        _line(cells, row, text, "note")
        heights[row] = 30
    return row + 1


def _categories(cells: list[CoverCell], heights: dict[int, float], plan: DepartmentPlan,
                row: int) -> None:
    headers = ("一级", "二级指标", "说明", "是否必填", "示例（摘自已公开的目标表）")
    cells.extend(CoverCell(row, col, text, "label_center") for col, text in enumerate(headers))
    for category in plan.profile.categories:
        row += 1
        values = (category.level1, category.level2, category.help,
                  "必填" if category.required else "选填", "、".join(category.examples))
        cells.extend(CoverCell(row, col, text, "ledger_text") for col, text in enumerate(values))
        heights[row] = 36
