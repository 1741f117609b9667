"""The cover sheet (填报说明): who and when, the project list with a live status, instructions.

The status column holds formulas that name the required categories still
empty in each project's form, so a department sees at a glance what is left.
Their cached results are computed here too, so a reader that does not
recalculate still shows the truth of the file as issued.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from xlsxwriter.utility import quote_sheetname, xl_range

from xltool.profile import FormProfile
from xltool.tables import lines_needed
from xltool.template.layout import ProjectForm
from xltool.template.plan import COVER_SHEET, DepartmentPlan
from xltool.xlsxout import check

COMPLETE = "已填齐必填项"
PENDING = "待填："
WIDTHS = (6.0, 18.0, 32.0, 16.0, 56.0)
STATUS_COL = 4
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
    cached: str | None = None


@dataclass(frozen=True)
class CoverLayout:
    cells: tuple[CoverCell, ...]
    row_heights: dict[int, float]


def cover_layout(plan: DepartmentPlan) -> CoverLayout:
    """Every cell of the cover, in the order written."""
    cells: list[CoverCell] = []
    heights: dict[int, float] = {}
    row = _heading(cells, heights, plan)
    row = _project_list(cells, heights, plan, row + 1)
    row = _instructions(cells, heights, plan, row + 1)
    _categories(cells, heights, plan, row + 1)
    return CoverLayout(tuple(cells), heights)


def write_cover(workbook: Any, plan: DepartmentPlan, formats: dict[str, Any],
                password: str) -> None:
    sheet = workbook.add_worksheet(COVER_SHEET)
    for col, width in enumerate(WIDTHS):
        check(sheet.set_column(col, col, width), "cover width")
    layout = cover_layout(plan)
    for cell in layout.cells:
        _write(sheet, cell, formats[cell.style])
    for row, height in layout.row_heights.items():
        check(sheet.set_row(row, height), "cover row")
    sheet.set_paper(9)
    sheet.fit_to_pages(1, 0)
    sheet.activate()
    sheet.protect(password, {"select_locked_cells": True, "select_unlocked_cells": True})


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
        formula, cached = status_formula(form, plan.profile)
        # tall enough for the longest status the formula can show: a row keeps its height
        # when the formula recalculates, and wrapped text beyond it is cut or overlaps below
        heights[row] = _status_height(longest_status(form, plan.profile))
        cells.extend((
            CoverCell(row, 0, float(form.position), "label_center"),
            CoverCell(row, 1, project.code, "ledger_text"),
            CoverCell(row, 2, project.name, "ledger_text", link=form.sheet),
            CoverCell(row, 3, amount, "amount"),
            CoverCell(row, STATUS_COL, formula, "ledger_text", cached=cached),
        ))
    return row + 1


def _status_height(text: str) -> float:
    return max(STATUS_LINE * 1.5, STATUS_LINE * lines_needed(text, WIDTHS[STATUS_COL]) + 4)


def status_formula(form: ProjectForm, profile: FormProfile) -> tuple[str, str]:
    """A formula naming what collect would still find unfilled, and its current value.

    The same checks as collect's rules on filling (`goal_filled`, `required_categories`,
    `names_and_values`): the goal and each required category all empty, and, where the
    form has a value column, a category with a row whose name is filled and value not
    (`数量指标（缺指标值）`) or the reverse (`（缺三级指标）`). A cell holding only spaces
    counts as empty, as collect reads it.
    """
    cells = {(c.row, c.col): str(c.value) for c in form.cells if c.role == "input" and c.value}
    parts, missing = [], []
    for entry in _entries(form, profile):
        parts.append(entry.formula(form.sheet))
        missing.append(entry.shown(cells))
    joined = "&".join(parts)
    formula = f'=IF({joined}="","{COMPLETE}","{PENDING}"&TRIM({joined}))'
    shown = " ".join(text for text in missing if text)
    return formula, (PENDING + shown if shown else COMPLETE)


def longest_status(form: ProjectForm, profile: FormProfile) -> str:
    """The longest text the status formula can show: each entry at its longest."""
    return PENDING + " ".join(entry.longest for entry in _entries(form, profile))


@dataclass(frozen=True)
class _Entry:
    """What the status says of one part of the form: LABEL when the rows FIRST..LAST are
    all empty (if `required`), else, with a value column, which half of a row is missing."""

    label: str
    first: int
    last: int
    columns: tuple[int, int | None]  # name, value
    required: bool
    name_label: str
    value_label: str

    @property
    def longest(self) -> str:
        if self.columns[1] is None:
            return self.label
        return f"{self.label}（缺{self.name_label}、{self.value_label}）"

    def formula(self, sheet: str) -> str:
        name_col, value_col = self.columns
        names = _range(sheet, self.first, name_col, self.last, name_col)
        if value_col is None:
            return f'IF(SUMPRODUCT(LEN(TRIM({names})))=0,"{self.label} ","")'
        values = _range(sheet, self.first, value_col, self.last, value_col)
        lacks_value = f"SUMPRODUCT((LEN(TRIM({names}))>0)*(LEN(TRIM({values}))=0))>0"
        lacks_name = f"SUMPRODUCT((LEN(TRIM({values}))>0)*(LEN(TRIM({names}))=0))>0"
        half = (f'IF(OR({lacks_name},{lacks_value}),"{self.label}（缺"'
                f'&IF({lacks_name},"{self.name_label}","")'
                f'&IF(AND({lacks_name},{lacks_value}),"、","")'
                f'&IF({lacks_value},"{self.value_label}","")&"） ","")')
        if not self.required:
            return half
        both = _range(sheet, self.first, name_col, self.last, value_col)
        return f'IF(SUMPRODUCT(LEN(TRIM({both})))=0,"{self.label} ",{half})'

    def shown(self, cells: dict[tuple[int, int], str]) -> str:
        """The entry's text for these (row, col) → text cells: what the formula computes."""
        name_col, value_col = self.columns
        rows = [(cells.get((r, name_col), "").strip(),
                 cells.get((r, value_col), "").strip() if value_col is not None else "")
                for r in range(self.first, self.last + 1)]
        if self.required and not any(name or value for name, value in rows):
            return self.label
        lacks = [label for label, lacking in (
            (self.name_label, any(value and not name for name, value in rows)),
            (self.value_label, any(name and not value for name, value in rows)))
            if lacking and value_col is not None]
        return f"{self.label}（缺{'、'.join(lacks)}）" if lacks else ""


def _range(sheet: str, first_row: int, first_col: int, last_row: int, last_col: int) -> str:
    return f"{quote_sheetname(sheet)}!{xl_range(first_row, first_col, last_row, last_col)}"


def _entries(form: ProjectForm, profile: FormProfile) -> list[_Entry]:
    labels = (profile.name_label, profile.value_label)
    goal = _Entry(profile.goal_label, form.goal_row, form.goal_row, (form.name_col, None),
                  True, *labels)
    return [goal] + [
        _Entry(b.category.level2, b.first_row, b.last_row, (form.name_col, form.value_col),
               b.category.required, *labels)
        for b in form.blocks if b.category.required or form.value_col is not None]


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
