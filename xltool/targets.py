"""The targets workbook: xltool's interchange format for performance targets.

Two sheets, one header row each, one row per record:

- `总体目标`: 项目编码, 年度总体目标 — one row per project;
- `绩效指标`: 项目编码, 一级指标, 二级指标, 三级指标, 指标值, 权重 — one row per
  indicator, in printed order (the order of rows is the order on the form).

Text is kept exactly as written (a target value `不少于 50 次` stays so); codes
are text; weights are `Decimal` or empty. `publish --targets-out` writes it and
`template --prefill` reads it, so a year's accepted targets seed the next year.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xltool.codes import (
    TARGETS_BAD_WEIGHT,
    TARGETS_DUPLICATE_GOAL,
    TARGETS_MISSING_CODE,
    Problem,
)
from xltool.errors import TargetsUnreadable
from xltool.findings import Finding
from xltool.text import cell_text, code_text, normalise_key, normalise_text
from xltool.values import TargetValue, parse_value

if TYPE_CHECKING:
    import pandas as pd

# pandas, openpyxl and xlsxwriter are imported by the functions that use them: the store
# needs the records below, and the command line must start without those libraries.

GOALS_SHEET = "总体目标"
INDICATORS_SHEET = "绩效指标"
GOAL_COLUMNS = ("项目编码", "年度总体目标")
INDICATOR_COLUMNS = ("项目编码", "一级指标", "二级指标", "三级指标", "指标值", "权重")


@dataclass(frozen=True)
class Indicator:
    """One 三级指标 of one project, as written."""

    project_code: str
    level1: str
    level2: str
    name: str
    value: str = ""
    weight: Decimal | None = None
    raw: str | None = field(default=None, compare=False)
    """What the value's cell held when it held no text (`0.95` shown as `95%`): kept beside
    the value for the record, never compared (the target is the value as shown)."""

    @cached_property
    def parsed(self) -> TargetValue:
        return parse_value(self.value)


def new_indicator(project_code: str, level1: str, level2: str, name: str, value: str = "",
                  weight: Decimal | None = None, raw: str | None = None) -> Indicator:
    """`Indicator(...)` as its constructor makes it, at half the cost: a frozen dataclass
    sets each field through `object.__setattr__`, and collect makes dozens per return."""
    indicator = object.__new__(Indicator)
    held = indicator.__dict__
    held["project_code"] = project_code
    held["level1"] = level1
    held["level2"] = level2
    held["name"] = name
    held["value"] = value
    held["weight"] = weight
    held["raw"] = raw
    return indicator


@dataclass(frozen=True)
class Targets:
    """Every project's goal and indicators; `problems` holds what could not be read cleanly."""

    goals: dict[str, str] = field(default_factory=dict)
    indicators: tuple[Indicator, ...] = ()
    problems: tuple[Finding, ...] = ()

    @property
    def project_codes(self) -> list[str]:
        return list(dict.fromkeys([*self.goals, *(i.project_code for i in self.indicators)]))

    def for_project(self, code: str) -> tuple[Indicator, ...]:
        return tuple(i for i in self.indicators if i.project_code == code)

    def frame(self) -> pd.DataFrame:
        import pandas as pd

        rows = [
            {
                "项目编码": i.project_code,
                "一级指标": i.level1,
                "二级指标": i.level2,
                "三级指标": i.name,
                "指标值": i.value,
                "权重": i.weight,
            }
            for i in self.indicators
        ]
        return pd.DataFrame(rows, columns=list(INDICATOR_COLUMNS))


# -- writing -------------------------------------------------------------------------------


def write_targets(targets: Targets, path: Path | str) -> Path:
    """Write the targets workbook; every text as a string, never a formula. Each sheet
    prints on A4 with its header row on every page and each row as tall as its text."""
    from xltool.names import Output
    from xltool.xlsxout import new_workbook

    path = Path(path)
    workbook = new_workbook(path, output=Output.TARGETS, title="绩效目标")
    bold = workbook.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    text = workbook.add_format({"text_wrap": True, "valign": "top"})
    _write_rows(workbook.add_worksheet(GOALS_SHEET), GOAL_COLUMNS, GOAL_WIDTHS,
                ([c, g] for c, g in targets.goals.items()), (bold, text))
    rows = ([i.project_code, i.level1, i.level2, i.name, i.value, i.weight]
            for i in targets.indicators)
    _write_rows(workbook.add_worksheet(INDICATORS_SHEET), INDICATOR_COLUMNS, INDICATOR_WIDTHS,
                rows, (bold, text))
    workbook.close()
    return path


GOAL_WIDTHS = (18.0, 90.0)
INDICATOR_WIDTHS = (18.0, 12.0, 18.0, 50.0, 20.0, 8.0)


def _write_rows(sheet: Any, headers: tuple[str, ...], widths: tuple[float, ...],
                rows: Iterable[list[Any]], formats: tuple[Any, Any]) -> None:
    from xltool.tables import Page, fit_row, print_page
    from xltool.xlsxout import check

    header_format, text_format = formats
    for col, (header, width) in enumerate(zip(headers, widths, strict=True)):
        check(sheet.write_string(0, col, header, header_format), "header")
        check(sheet.set_column(col, col, width), "column width")
    last_row = 0
    for last_row, row in enumerate(rows, start=1):
        for col, value in enumerate(row):
            _write_cell(sheet, last_row, col, value, text_format)
        fit_row(sheet, last_row, zip(row, widths, strict=True))
    check(sheet.freeze_panes(1, 0), "freeze panes")
    check(sheet.autofilter(0, 0, max(last_row, 1), len(headers) - 1), "autofilter")
    print_page(sheet, Page(f"绩效目标（{sheet.name}）", widths, repeat=(0, 0)))


def _write_cell(sheet: Any, row: int, col: int, value: Any, text_format: Any) -> None:
    from xltool.xlsxout import check

    if value is None or value == "":
        return
    if isinstance(value, Decimal):
        check(sheet.write_number(row, col, float(value)), "weight")
        return
    check(sheet.write_string(row, col, str(value), text_format), "text")


# -- reading -------------------------------------------------------------------------------


def read_targets(path: Path | str) -> Targets:
    """Read a targets workbook; rows it cannot use become problems, not exceptions."""
    from openpyxl import load_workbook

    path = Path(path)
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds for a bad file
        raise TargetsUnreadable(f"{path.name}: 不是可读取的绩效目标工作簿（{error}）") from error
    try:
        missing = [s for s in (GOALS_SHEET, INDICATORS_SHEET) if s not in workbook.sheetnames]
        if missing:
            raise TargetsUnreadable(f"{path.name}: 缺少工作表 {'、'.join(missing)}")
        goal_rows = list(_records(workbook[GOALS_SHEET], GOAL_COLUMNS, path))
        indicator_rows = list(_records(workbook[INDICATORS_SHEET], INDICATOR_COLUMNS, path))
    finally:
        workbook.close()
    problems: list[Finding] = []
    goals = _goals(goal_rows, path, problems)
    indicators = tuple(_indicator(row, number, path, problems) for number, row in indicator_rows)
    return Targets(goals=goals, indicators=tuple(i for i in indicators if i is not None),
                   problems=tuple(problems))


def _records(sheet: Any, columns: tuple[str, ...], path: Path
             ) -> Iterator[tuple[int, dict[str, Any]]]:
    rows = sheet.iter_rows(values_only=True)
    header = [normalise_key(h) for h in next(rows, ())]
    positions = {}
    for column in columns:
        if column not in header:
            raise TargetsUnreadable(f"{path.name}: 工作表“{sheet.title}”缺少列“{column}”")
        positions[column] = header.index(column)
    for number, row in enumerate(rows, start=2):
        record = {c: row[i] if i < len(row) else None for c, i in positions.items()}
        if any(v not in (None, "") for v in record.values()):
            yield number, record


def _goals(rows: list[tuple[int, dict[str, Any]]], path: Path,
           problems: list[Finding]) -> dict[str, str]:
    goals: dict[str, str] = {}
    for number, row in rows:
        code = code_text(row["项目编码"])
        if not code:
            problems.append(_problem(TARGETS_MISSING_CODE, path, GOALS_SHEET, number))
        elif code in goals:
            problems.append(_problem(TARGETS_DUPLICATE_GOAL, path, GOALS_SHEET, number, code))
        else:
            goals[code] = _as_written(row["年度总体目标"])
    return goals


def _indicator(row: dict[str, Any], number: int, path: Path,
               problems: list[Finding]) -> Indicator | None:
    code = code_text(row["项目编码"])
    if not code:
        problems.append(_problem(TARGETS_MISSING_CODE, path, INDICATORS_SHEET, number))
        return None
    weight = _weight(row["权重"])
    if weight is None and row["权重"] not in (None, ""):
        problems.append(_problem(TARGETS_BAD_WEIGHT, path, INDICATORS_SHEET, number, code,
                                 value=str(row["权重"])))
    return Indicator(
        project_code=code,
        level1=normalise_key(row["一级指标"]),
        level2=normalise_key(row["二级指标"]),
        name=_as_written(row["三级指标"]),
        value=_as_written(row["指标值"]),
        weight=weight,
    )


def _as_written(value: Any) -> str:
    """Text exactly as written; a typed number as Excel shows it (100, not 100.0)."""
    return value if isinstance(value, str) else cell_text(value)


def _weight(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        weight = Decimal(normalise_text(value))
    except InvalidOperation:
        return None
    return weight if weight.is_finite() else None


def _problem(problem: Problem, path: Path, sheet: str, row: int, project: str = "",
             *, value: str = "") -> Finding:
    return problem.finding(file=path.name, sheet=sheet, row=row, project=project, value=value)
