"""The cover sheet (填报说明): who and when, the project list with a live status, instructions.

The status column holds formulas that name what collect would still find
unfilled in each project's form, so a department sees at a glance what is left
(`xltool.template.status`: the formulas, their helper cells in hidden columns
right of the list, and their cached results for a reader that does not
recalculate).

Printed, the cover is a landscape page or two: the list right under the heading
when the two fit on the first page, the instructions and the table of categories on
a page of their own after it. A list too long for the first page goes last, after
the instructions, so that its header, repeated on every page it continues on, is
never printed above the instructions.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from xlsxwriter.utility import quote_sheetname

from xltool.tables import (
    FONT,
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

# The status takes what landscape A4 leaves at 100 % (959 pixels): its longest text then
# wraps to three lines of STATUS_FONT, and a department's list of seven fits one page.
WIDTHS = (4.0, 18.0, 19.0, 10.0, 81.0)
STATUS_COL = 4
HELPER_COL = len(WIDTHS)  # the status's helper cells, in hidden columns from here
STATUS_FONT = 8.0  # points: a status names up to every category of the form
STATUS_LINE = 12.0  # points per wrapped line of STATUS_FONT text
TEXT_FONT = 11.0  # the size `lines_needed` counts a column's width in
NOTE_HEIGHT = 18.0  # a one-line instruction
CATEGORY_HEIGHT = 20.0  # a one-line row of the table of categories

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
    turn: int | None = None  # the row that starts a page whatever room is left above it


def cover_layout(plan: DepartmentPlan, *, list_first: bool = True) -> CoverLayout:
    """Every cell of the cover, in the order written: the heading, then the project list
    and the instructions with the table of categories — in that order if LIST_FIRST (for
    a list that fits the heading's page), else the list last."""
    cells: list[CoverCell] = []
    heights: dict[int, float] = {}
    row = _heading(cells, heights, plan)
    keep = [(0, row - 1)]

    def guidance(row: int) -> int:
        after = _instructions(cells, heights, plan, row)
        end = _categories(cells, heights, plan, after + 1)
        keep.extend(((row, after - 1), (after + 1, end - 1)))
        return end

    turn = None
    if list_first:
        projects = row + 1
        turn = _project_list(cells, heights, plan, projects) + 1
        guidance(turn)
    else:
        projects = guidance(row + 1) + 1
        _project_list(cells, heights, plan, projects)
    keep.append((projects, projects + 1))
    return CoverLayout(tuple(cells), heights, (projects, projects + len(plan.forms)),
                       tuple(keep), turn)


def write_cover(workbook: Any, plan: DepartmentPlan, formats: dict[str, Any],
                password: str) -> None:
    sheet = workbook.add_worksheet(COVER_SHEET)
    for col, width in enumerate(WIDTHS):
        check(sheet.set_column(col, col, width), "cover width")
    formats = {**formats, STATUS_STYLE: workbook.add_format(
        {"font_name": FONT, "font_size": STATUS_FONT, **STATUS_FORMAT})}
    layout = cover_layout(plan)
    if _list_runs_over(plan, layout):
        layout = cover_layout(plan, list_first=False)
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


STATUS_STYLE = "status"
STATUS_FORMAT = {"border": 1, "valign": "vcenter", "text_wrap": True}  # as `ledger_text`


def _list_runs_over(plan: DepartmentPlan, layout: CoverLayout) -> bool:
    """Whether the list, printed right under the heading, runs past the first page."""
    heights = _fitted_heights(layout)
    _, last = layout.project_rows
    room = page_room(WIDTHS, is_landscape(Page(plan.title, WIDTHS)))
    return sum(heights[row] for row in range(last + 1)) > room


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
    """Landscape (the cover is wide). With the list first, the instructions start a page
    of their own; with the list last, its header repeats on the pages it continues on
    (title rows print from their own page on: LibreOffice prints none above the
    instructions)."""
    page = Page(plan.title, WIDTHS, f"{plan.department}（{plan.department_code}）")
    landscape = is_landscape(page)
    rows = [heights[row] for row in range(len(heights))]
    room = page_room(WIDTHS, landscape)
    header, _ = layout.project_rows
    turn = layout.turn
    if turn is None:  # the list last: it runs over, and its header repeats on later pages
        repeat = (header, header)
        return replace(page, landscape=landscape, repeat=repeat,
                       breaks=page_breaks(rows, layout.keep, room, repeat))
    first = page_breaks(rows[:turn], [k for k in layout.keep if k[0] < turn], room)
    rest = page_breaks(rows[turn:], [(a - turn, b - turn) for a, b in layout.keep if a >= turn],
                       room)
    return replace(page, landscape=landscape, breaks=(*first, turn, *(r + turn for r in rest)))


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
    issued = "　　".join(f"{label}：{text}" for label, text in (
        ("下发单位", plan.cover.issuer), ("报送截止", plan.cover.deadline),
        ("联系方式", plan.cover.contact)) if text)
    if issued:  # one line: the landscape page is wide, and its room is for the list
        lines.append(issued)
    lines.append(f"模板编号：{plan.template_id}（请勿修改本工作簿的结构，黄色单元格为填写区域）")
    for row, text in enumerate(lines, start=1):
        _line(cells, row, text, "note")
    return len(lines) + 1


def _project_list(cells: list[CoverCell], heights: dict[int, float], plan: DepartmentPlan,
                  row: int) -> int:
    headers = ("序号", "项目编码", "项目名称", "年度资金\n总额\n（万元）", "填报状态")
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
            CoverCell(row, STATUS_COL, status.formula, STATUS_STYLE, cached=status.cached),
            *(CoverCell(row, h.col, h.formula, "ledger_text", cached=h.cached)
              for h in status.helpers),
        ))
    return row + 1


def _status_height(text: str) -> float:
    """A row's height for TEXT in the status column, in STATUS_FONT: `lines_needed` counts
    a width in characters of TEXT_FONT, of which a smaller font fits more."""
    usable = (WIDTHS[STATUS_COL] - 2) * TEXT_FONT / STATUS_FONT
    return max(STATUS_LINE * 2, STATUS_LINE * lines_needed(text, usable + 2) + 4)


def _instructions(cells: list[CoverCell], heights: dict[int, float], plan: DepartmentPlan,
                  row: int) -> int:
    _line(cells, row, "填报说明", "label")
    steps = (
        "1. 每个项目一张工作表，点击项目清单中的项目名称可直接跳转；只需填写黄色单元格。",
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
        heights[row] = NOTE_HEIGHT
    return row + 1


def _categories(cells: list[CoverCell], heights: dict[int, float], plan: DepartmentPlan,
                row: int) -> int:
    """The table of categories from ROW in the list's columns: the first two make one for
    the 一级 label, the status column's width takes the help and its examples; returns the
    row after it."""
    headers = ("一级指标", "二级指标", "是否必填", "说明（示例摘自已公开的目标表）")
    cells.append(CoverCell(row, 0, headers[0], "label_center", merge_to=1))
    cells.extend(CoverCell(row, col, text, "label_center")
                 for col, text in enumerate(headers[1:], start=2))
    for category in plan.profile.categories:
        row += 1
        examples = "、".join(category.examples)
        help_text = f"{category.help}例：{examples}" if examples else category.help
        cells.append(CoverCell(row, 0, category.level1, "ledger_text", merge_to=1))
        cells.extend(CoverCell(row, col, text, "ledger_text") for col, text in enumerate(
            (category.level2, "必填" if category.required else "选填", help_text), start=2))
        # a Chinese font prints ≥ and ≤ full width, where `lines_needed` counts them narrow
        lines = lines_needed(help_text, WIDTHS[STATUS_COL] - 6)
        heights[row] = CATEGORY_HEIGHT if lines == 1 else LINE_HEIGHT * lines + 4
    return row + 1
