"""The layout of one project's form, as data.

`project_form` turns a ledger project, a profile and the prefilled targets into
a list of `Cell`s: where each cell goes, what it holds, whether the department
may write it, and the defined name an input cell is known by. The writer
renders these cells; the store records them, so the return reader later knows
every input cell's address and every locked cell's issued value without
guessing positions.

The defined names follow the scheme `xltool.names` holds for both this writer
and the return reader.

The layout also decides where the printed pages of a form break: every row has a
height that fits its text, and a category block that would not fit on the rest of a
page starts the next one, so no page starts inside a label merged over its rows.
Where a break must fall inside a merged label (a 一级 category over several 二级
blocks, a block taller than a page), the label is merged on each page anew.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Literal, NamedTuple

from xltool.ledger import LedgerProject
from xltool.names import FIELD_NAME, FIELD_VALUE, FIELD_WEIGHT, indicator_prefix, project_prefix
from xltool.profile import Category, FormProfile, HeaderField
from xltool.tables import LINE_HEIGHT, lines_needed, page_breaks, page_room
from xltool.targets import Indicator

Role = Literal["label", "ledger", "input", "formula"]


class Cell(NamedTuple):
    """One cell of a form. `row`/`col` are 0-based; `merge_to` is the merged range's far corner.

    A named tuple rather than a dataclass: a thousand departments' forms make
    millions of cells, and a tuple is made several times faster.
    """

    row: int
    col: int
    value: str | Decimal | None
    role: Role
    style: str
    name: str = ""
    field: str = ""
    category: str = ""
    merge_to: tuple[int, int] | None = None
    validation: str = ""

    @property
    def locked(self) -> bool:
        return self.role != "input"


# A form has some seventy cells and a batch a thousand forms: made from a plain tuple, a
# cell skips the named tuple's own constructor, which takes most of the time.
_new_cell = tuple.__new__


@dataclass(frozen=True)
class CategoryBlock:
    """Where a category's input rows are: used by the cover's completeness formulas."""

    category: Category
    first_row: int
    last_row: int


@dataclass(frozen=True)
class ProjectForm:
    position: int
    project: LedgerProject
    sheet: str
    cells: tuple[Cell, ...]
    row_heights: dict[int, float]
    columns: tuple[float, ...]
    blocks: tuple[CategoryBlock, ...]
    goal_row: int
    name_col: int
    value_col: int | None
    weight_col: int | None
    indicator_row: int  # the indicator table's header, printed again atop every page after
    breaks: tuple[int, ...] = ()  # the rows printed pages start at

    @property
    def prefix(self) -> str:
        return project_prefix(self.position)


@dataclass
class _Grid:
    """Collects cells row by row; `last` is the rightmost column of the form."""

    last: int
    cells: list[Cell] = field(default_factory=list)
    heights: dict[int, float] = field(default_factory=dict)
    row: int = 0

    def put(self, col: int, value: str | Decimal | None, role: Role, style: str, *,
            to_col: int | None = None, to_row: int | None = None, name: str = "",
            field: str = "", category: str = "", validation: str = "") -> None:
        row = self.row
        merge = None
        if to_col is not None or to_row is not None:
            end = (row if to_row is None else to_row, col if to_col is None else to_col)
            merge = end if end != (row, col) else None
        self.cells.append(_new_cell(Cell, (row, col, value, role, style, name, field, category,
                                           merge, validation)))


def indicator_columns(profile: FormProfile) -> tuple[int, int | None, int | None, int]:
    """(name, value, weight, last) column indexes: 一级 and 二级 take columns 0 and 1."""
    value = 3 if profile.value_field else None
    weight = (4 if profile.value_field else 3) if profile.weights else None
    last = max(c for c in (2, value, weight) if c is not None)
    return 2, value, weight, last


def column_widths(profile: FormProfile) -> tuple[float, ...]:
    name_width = 44.0 if profile.value_field else 60.0
    widths = [10.0, 16.0, name_width]
    if profile.value_field:
        widths.append(22.0)
    if profile.weights:
        widths.append(10.0)
    return tuple(widths)


def header_value(field_spec: HeaderField, project: LedgerProject) -> str:
    return project.header_text(field_spec.key)


LANDSCAPE = False  # a form prints portrait, as the official forms are printed
ROW_HEIGHT = 20.0  # a row of one line: a printed form's rows are more than a line of text


def project_form(profile: FormProfile, project: LedgerProject, position: int, sheet: str,
                 indicators: Sequence[Indicator] = (), goal: str = "") -> ProjectForm:
    name_col, value_col, weight_col, last = indicator_columns(profile)
    grid = _Grid(last=last)
    prefix = project_prefix(position)
    _title(grid, profile, project)
    _header(grid, profile, project, prefix)
    funding_row = grid.row
    _funding(grid, profile, project)
    goal_row = _goal(grid, profile, goal, prefix)
    blocks = _indicators(grid, profile, indicators, prefix, (name_col, value_col, weight_col))
    if weight_col is not None:
        _weight_total(grid, blocks, weight_col)
    if profile.review_row:
        _review(grid, profile)
    widths = column_widths(profile)
    _fit_rows(grid, widths)
    indicator_row = goal_row + 1
    keep = [(funding_row, goal_row - 1), (indicator_row, blocks[0].last_row),
            *((block.first_row, block.last_row) for block in blocks[1:])]
    breaks = page_breaks([grid.heights[row] for row in range(grid.row)], keep,
                         _page_room(widths), (indicator_row, indicator_row))
    cells = _merged_per_page(grid.cells, breaks) if breaks else grid.cells
    return ProjectForm(position, project, sheet, tuple(cells), grid.heights, widths,
                       tuple(blocks), goal_row, name_col, value_col, weight_col,
                       indicator_row, breaks)


@lru_cache(maxsize=16)
def _page_room(widths: tuple[float, ...]) -> float:
    return page_room(widths, LANDSCAPE)


def _fit_rows(grid: _Grid, widths: tuple[float, ...]) -> None:
    """Every row a height: its own, or what the text of its cells wraps to."""
    lines = dict.fromkeys(range(grid.row), 1)
    for cell in grid.cells:
        if cell.row in grid.heights or not isinstance(cell.value, str):
            continue
        last_row, last_col = cell.merge_to or (cell.row, cell.col)
        if last_row == cell.row:  # a label merged down has its rows' room
            width = sum(widths[cell.col:last_col + 1])
            lines[cell.row] = max(lines[cell.row], lines_needed(cell.value, width))
    for row, count in lines.items():
        if row not in grid.heights:
            grid.heights[row] = max(ROW_HEIGHT, LINE_HEIGHT * count + 4)


def _merged_per_page(cells: list[Cell], breaks: tuple[int, ...]) -> list[Cell]:
    """CELLS with each range merged over a page break merged on each of its pages."""
    split: list[Cell] = []
    for cell in cells:
        last_row, last_col = cell.merge_to or (cell.row, cell.col)
        tops = [cell.row, *(row for row in breaks if cell.row < row <= last_row)]
        if len(tops) == 1:
            split.append(cell)
            continue
        bottoms = [row - 1 for row in tops[1:]] + [last_row]
        for top, bottom in zip(tops, bottoms, strict=True):
            end = (bottom, last_col)
            split.append(cell._replace(row=top, merge_to=end if end != (top, cell.col) else None))
    return split


def _title(grid: _Grid, profile: FormProfile, project: LedgerProject) -> None:
    grid.put(0, profile.title_for(project.year), "label", "title", to_col=grid.last)
    grid.heights[0] = 30
    grid.row = 1
    grid.put(0, f"项目编码：{project.code}", "ledger", "note", to_col=grid.last - 1,
             field="project_code")
    grid.put(grid.last, "单位：万元", "label", "note_right")
    grid.row = 2


def _header(grid: _Grid, profile: FormProfile, project: LedgerProject, prefix: str) -> None:
    for spec in profile.header:
        value = header_value(spec, project)
        grid.put(0, spec.label, "label", "label", to_col=1)
        if spec.source == "department" or (spec.choices and not value):
            grid.put(2, value, "input", "input_text", to_col=grid.last,
                     name=f"{prefix}{spec.key.upper()}", field=f"header.{spec.key}",
                     validation=f"header.{spec.key}")
        else:
            grid.put(2, value, "ledger", "ledger_text", to_col=grid.last,
                     field=f"header.{spec.key}")
        grid.row += 1


def _funding(grid: _Grid, profile: FormProfile, project: LedgerProject) -> None:
    first = grid.row
    grid.put(0, profile.funding_label, "label", "label_center",
             to_row=first + len(profile.funding) - 1)
    for row in profile.funding:
        grid.put(1, row.label, "label", "label")
        amount: Decimal | None = getattr(project, row.key)
        grid.put(2, amount, "ledger", "amount", to_col=grid.last, field=f"funding.{row.key}")
        grid.row += 1


def _goal(grid: _Grid, profile: FormProfile, goal: str, prefix: str) -> int:
    row = grid.row
    grid.put(0, profile.goal_label, "label", "label_center", to_col=1)
    grid.put(2, goal, "input", "input_text", to_col=grid.last, name=f"{prefix}GOAL",
             field="goal", validation="goal")
    # the goal's own lines, and one more for what the department adds
    lines = lines_needed(goal, sum(column_widths(profile)[2:])) + 1
    grid.heights[row] = max(96.0, min(409.0, LINE_HEIGHT * lines + 4))
    grid.row += 1
    return row


def _indicators(grid: _Grid, profile: FormProfile, indicators: Sequence[Indicator],
                prefix: str, columns: tuple[int, int | None, int | None]) -> list[CategoryBlock]:
    name_col, value_col, weight_col = columns
    grid.put(0, profile.level1_label, "label", "label_center")
    grid.put(1, profile.level2_label, "label", "label_center")
    grid.put(name_col, profile.name_label, "label", "label_center")
    if value_col is not None:
        grid.put(value_col, profile.value_label, "label", "label_center")
    if weight_col is not None and profile.weights:
        grid.put(weight_col, profile.weights.label, "label", "label_center")
    grid.row += 1
    blocks: list[CategoryBlock] = []
    for level1 in profile.level1_names:
        first = grid.row
        for number, category in enumerate(profile.categories, start=1):
            if category.level1 == level1:
                rows = [i for i in indicators if i.level2 == category.level2]
                blocks.append(_category(grid, profile, category, number, rows, prefix, columns))
        grid.cells.append(Cell(first, 0, level1, "label", "label_center",
                               merge_to=(grid.row - 1, 0) if grid.row - 1 > first else None))
    return blocks


def _category(grid: _Grid, profile: FormProfile, category: Category, number: int,
              rows: list[Indicator], prefix: str,
              columns: tuple[int, int | None, int | None]) -> CategoryBlock:
    name_col, value_col, weight_col = columns
    count = max(category.rows, len(rows), 1)
    first = grid.row
    label = category.label if profile.show_markers else category.level2
    grid.put(1, label, "label", "label_center", to_row=first + count - 1)
    kind = category.role or ("quantitative" if category.quantitative else "text")
    widths = column_widths(profile)
    for r in range(count):
        prefilled = rows[r] if r < len(rows) else None
        base = indicator_prefix(prefix, number, r + 1)
        name_text = prefilled.name if prefilled else ""
        if prefilled and value_col is None and prefilled.value:
            name_text = f"{prefilled.name}{prefilled.value}"
        grid.put(name_col, name_text, "input", "input_name", name=f"{base}NAME",
                 field=FIELD_NAME, category=category.level2, validation="indicator.name")
        if value_col is not None:
            grid.put(value_col, prefilled.value if prefilled else "", "input", "input_value",
                     name=f"{base}VALUE", field=FIELD_VALUE, category=category.level2,
                     validation=f"indicator.value.{kind}")
        if weight_col is not None:
            weight = prefilled.weight if prefilled else None
            grid.put(weight_col, weight, "input", "input_weight", name=f"{base}WEIGHT",
                     field=FIELD_WEIGHT, category=category.level2, validation="indicator.weight")
        value_text = prefilled.value if prefilled and value_col is not None else ""
        lines = max(lines_needed(name_text, widths[name_col]),
                    lines_needed(value_text, widths[value_col]) if value_col is not None else 1)
        grid.heights[grid.row] = _indicator_height(lines)
        grid.row += 1
    return CategoryBlock(category, first, grid.row - 1)


def _indicator_height(lines: int) -> float:
    """Two lines' room at least, for the department to write in; at most eight."""
    return max(30.0, min(120.0, 15.0 * lines + 6))


def _weight_total(grid: _Grid, blocks: list[CategoryBlock], weight_col: int) -> None:
    first, last = blocks[0].first_row, blocks[-1].last_row
    column = "ABCDEFGHIJ"[weight_col]
    grid.put(0, "合计", "label", "label_center", to_col=weight_col - 1)
    grid.put(weight_col, f"=SUM({column}{first + 1}:{column}{last + 1})", "formula", "total",
             field="weight.total")
    grid.row += 1


def _review(grid: _Grid, profile: FormProfile) -> None:
    options = "  ".join(f"{c} □" for c in profile.review_choices)
    grid.put(0, profile.review_label, "label", "label_center", to_col=1)
    grid.put(2, f"{options}（由财政部门审核填写）", "label", "note", to_col=grid.last,
             field="review")
    grid.row += 1
