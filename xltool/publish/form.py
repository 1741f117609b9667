"""One project's public table, laid out like the official form of its profile.

Five columns carry every profile. The indicator part uses them as
一级 | 二级 | 三级指标 (two columns) | 指标值 — or 绩效值 for a weighted profile,
whose target is written inside the indicator text — and the header part pairs
its fields two to a row (主管部门 | … | 实施单位 | …), as the published tables do.
Labels come from the profile; what a department does not see as a form field
(必填/选填 markers, the 综合评定等级 review row, empty optional categories,
`指标N：` placeholders) is not printed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from xltool.profile import FormProfile, HeaderField
from xltool.publish.cells import (
    Styles,
    amount,
    height_for,
    merged,
    text,
    weight,
    weight_format,
)
from xltool.publish.gather import PublishedProject
from xltool.tables import lines_needed, printable_points_high
from xltool.targets import Indicator
from xltool.xlsxout import check

WIDTHS = (10.0, 14.0, 30.0, 13.0, 18.0)
LAST = len(WIDTHS) - 1
UNIT_NOTE = "单位：万元"
DEFAULT_HEIGHT = 20.0  # a row the table gives no height of its own (counted generously)
# What a portrait page holds below the department's banner (repeated on every page, 22
# points), less some air for rows that grow after the break is placed.
PAGE_ROOM = printable_points_high(False) - 22.0 - 30.0


@dataclass(frozen=True)
class Columns:
    """Where the indicator part puts the 三级 text, the value and the weight."""

    name: tuple[int, int]
    value: int | None
    weight: int | None

    @classmethod
    def of(cls, profile: FormProfile) -> Columns:
        if profile.value_field and profile.weights:
            return cls((2, 2), 3, 4)
        if profile.value_field:
            return cls((2, 3), 4, None)
        if profile.weights:
            return cls((2, 3), None, 4)
        return cls((2, LAST), None, None)


def span_width(first: int, last: int) -> float:
    return sum(WIDTHS[first:last + 1])


@dataclass
class ProjectTable:
    """Writes one project's table from row `top` down; `row` is the next free row."""

    sheet: Any
    styles: Styles
    profile: FormProfile
    year: int | None
    top: int
    room: float = PAGE_ROOM  # what the page the table starts on has left
    row: int = 0
    heights: dict[int, float] = field(default_factory=dict)
    breaks: list[int] = field(default_factory=list)  # page breaks inside the table

    def __post_init__(self) -> None:
        self.row = self.page_top = self.top
        self.columns = Columns.of(self.profile)

    def write(self, project: PublishedProject) -> int:
        """The whole table; returns the row after it. Where the indicators run onto another
        page, that page starts with the project's name and the indicator header again."""
        self.project = project
        self._title(project)
        self._header(project)
        self._funding(project)
        self._goal(project.goal)
        self._indicators(project.indicators)
        if self.profile.weights is not None:
            self._on_this_page(20.0)
            self._weight_total(project.indicators)
        if project.note:
            self._on_this_page(height_for(lines_needed(project.note, span_width(2, LAST))))
            self._note(project.note)
        for row, height in self.heights.items():
            check(self.sheet.set_row(row, height), "row height")
        return self.row

    # -- rows ----------------------------------------------------------------------------

    def _need(self, row: int, height: float) -> None:
        self.heights[row] = max(self.heights.get(row, 20.0), height)

    # -- pages ---------------------------------------------------------------------------

    def _page_full(self, height: float) -> bool:
        """The next row (HEIGHT points) does not fit on this page (and this page has rows)."""
        used = sum(self.heights.get(r, DEFAULT_HEIGHT) for r in range(self.page_top, self.row))
        return used + height > self.room and self.row > self.page_top + 1

    def _on_this_page(self, height: float) -> None:
        if self._page_full(height):
            self._turn_page()

    def _turn_page(self) -> None:
        """A page break, then the project's name and the indicator header again."""
        self.breaks.append(self.row)
        self.page_top, self.room = self.row, PAGE_ROOM
        name = f"{self.project.name}（续）"
        merged(self.sheet, self.styles, (self.row, 0, self.row, LAST - 1), name, "banner")
        text(self.sheet, self.styles, self.row, LAST, f"项目编码：{self.project.code}",
             "note_right")
        self._fits(self.row, name, span_width(0, LAST - 1))
        self.row += 1
        self._indicator_head()

    def _fits(self, row: int, value: str, width: float) -> None:
        self._need(row, height_for(lines_needed(value, width)))

    def _fits_rows(self, first: int, last: int, value: str, width: float) -> None:
        """A label merged over rows FIRST..LAST: grow those rows evenly if it needs more."""
        need = height_for(lines_needed(value, width))
        rows = range(first, last + 1)
        have = sum(self.heights.get(r, 20.0) for r in rows)
        if have < need:
            extra = (need - have) / len(rows)
            for r in rows:
                self.heights[r] = self.heights.get(r, 20.0) + extra

    def _title(self, project: PublishedProject) -> None:
        merged(self.sheet, self.styles, (self.row, 0, self.row, LAST),
               self.profile.title_for(self.year), "title")
        self._need(self.row, 30.0)
        self.row += 1
        merged(self.sheet, self.styles, (self.row, 0, self.row, LAST - 1),
               f"项目编码：{project.code}", "note")
        text(self.sheet, self.styles, self.row, LAST, UNIT_NOTE, "note_right")
        self.row += 1

    def _header(self, project: PublishedProject) -> None:
        for fields in header_rows(self.profile.header):
            if len(fields) == 1:
                self._label_value(fields[0], project, 2, LAST)
            else:
                self._label_value(fields[0], project, 2, 2)
                self._pair(fields[1], project)
            self.row += 1

    def _label_value(self, spec: HeaderField, project: PublishedProject, first: int,
                     last: int) -> None:
        merged(self.sheet, self.styles, (self.row, 0, self.row, 1), spec.label, "label")
        value = project.header.get(spec.key, "")
        merged(self.sheet, self.styles, (self.row, first, self.row, last), value, "text")
        self._fits(self.row, value, span_width(first, last))

    def _pair(self, spec: HeaderField, project: PublishedProject) -> None:
        text(self.sheet, self.styles, self.row, 3, spec.label, "label")
        value = project.header.get(spec.key, "")
        text(self.sheet, self.styles, self.row, 4, value, "text")
        self._fits(self.row, spec.label, WIDTHS[3])
        self._fits(self.row, value, WIDTHS[4])

    def _funding(self, project: PublishedProject) -> None:
        first = self.row
        for spec in self.profile.funding:
            merged(self.sheet, self.styles, (self.row, 1, self.row, 2), spec.label, "label")
            amount(self.sheet, self.styles, self.row, 3, project.amounts.get(spec.key),
                   to_col=LAST)
            self.row += 1
        label = self.profile.funding_label
        merged(self.sheet, self.styles, (first, 0, self.row - 1, 0), label, "label")
        self._fits_rows(first, self.row - 1, label, WIDTHS[0])

    def _goal(self, goal: str) -> None:
        merged(self.sheet, self.styles, (self.row, 0, self.row, 1), self.profile.goal_label,
               "label")
        merged(self.sheet, self.styles, (self.row, 2, self.row, LAST), goal, "goal")
        self._fits(self.row, goal, span_width(2, LAST))
        self._need(self.row, 40.0)
        self.row += 1

    def _indicators(self, indicators: Sequence[Indicator]) -> None:
        """The indicator rows, 一级 and 二级 merged over their runs; a run that crosses a
        page is closed there and opened again under the repeated header."""
        self._indicator_head()
        level1: tuple[str, int] | None = None  # an open run: its label and first row
        level2: tuple[str, int] | None = None
        for indicator in indicators:
            if self._page_full(self._indicator_height(indicator)):
                self._close_runs(level2, level1)
                level1 = level2 = None
                self._turn_page()
            if level1 is None or level1[0] != indicator.level1:
                self._close_runs(level2, level1)
                level1, level2 = (indicator.level1, self.row), None
            if level2 is None or level2[0] != indicator.level2:
                self._close_runs(level2)
                level2 = (indicator.level2, self.row)
            self._indicator_row(indicator)
        self._close_runs(level2, level1)

    def _close_runs(self, level2: tuple[str, int] | None,
                    level1: tuple[str, int] | None = None) -> None:
        for run, col in ((level2, 1), (level1, 0)):
            if run is not None:
                label, first = run
                merged(self.sheet, self.styles, (first, col, self.row - 1, col), label, "label")
                self._fits_rows(first, self.row - 1, label, WIDTHS[col])

    def _indicator_height(self, indicator: Indicator) -> float:
        lines = lines_needed(indicator.name, span_width(*self.columns.name))
        if self.columns.value is not None:
            lines = max(lines, lines_needed(indicator.value, WIDTHS[self.columns.value]))
        return height_for(lines)

    def _indicator_head(self) -> None:
        profile, columns = self.profile, self.columns
        text(self.sheet, self.styles, self.row, 0, profile.level1_label, "head")
        text(self.sheet, self.styles, self.row, 1, profile.level2_label, "head")
        merged(self.sheet, self.styles, (self.row, columns.name[0], self.row, columns.name[1]),
               profile.name_label, "head")
        if columns.value is not None:
            text(self.sheet, self.styles, self.row, columns.value, profile.value_label, "head")
        if columns.weight is not None and profile.weights is not None:
            text(self.sheet, self.styles, self.row, columns.weight, profile.weights.label,
                 "head")
        self._fits(self.row, profile.name_label, span_width(*columns.name))
        self.row += 1

    def _indicator_row(self, indicator: Indicator) -> None:
        name_first, name_last = self.columns.name
        merged(self.sheet, self.styles, (self.row, name_first, self.row, name_last),
               indicator.name, "text")
        self._fits(self.row, indicator.name, span_width(name_first, name_last))
        if self.columns.value is not None:
            text(self.sheet, self.styles, self.row, self.columns.value, indicator.value,
                 "value")
            self._fits(self.row, indicator.value, WIDTHS[self.columns.value])
        if self.columns.weight is not None:
            weight(self.sheet, self.styles, self.row, self.columns.weight, indicator.weight)
        self.row += 1

    def _weight_total(self, indicators: Sequence[Indicator]) -> None:
        assert self.columns.weight is not None
        total = sum((i.weight or Decimal(0) for i in indicators), Decimal(0))
        merged(self.sheet, self.styles, (self.row, 0, self.row, self.columns.weight - 1),
               "合计", "head")
        check(self.sheet.write_number(self.row, self.columns.weight, float(total),
                                      self.styles.get("number", number=weight_format(total))),
              "weight total")
        self.row += 1


    def _note(self, note: str) -> None:
        """说明 under the table: why its amounts are not those issued (`--allow-stale`)."""
        merged(self.sheet, self.styles, (self.row, 0, self.row, 1), "说明", "label")
        merged(self.sheet, self.styles, (self.row, 2, self.row, LAST), note, "goal")
        self._fits(self.row, note, span_width(2, LAST))
        self.row += 1


def header_rows(fields: Sequence[HeaderField]) -> list[list[HeaderField]]:
    """项目名称 on a row of its own, the other fields two to a row, in the profile's order."""
    rows: list[list[HeaderField]] = []
    for spec in fields:
        pairable = spec.key != "project_name"
        if pairable and rows and len(rows[-1]) == 1 and rows[-1][0].key != "project_name":
            rows[-1].append(spec)
        else:
            rows.append([spec])
    return rows
