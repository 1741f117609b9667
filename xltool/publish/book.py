"""The disclosure workbook: cover, contents, one sheet per department, summary, data.

Sheets, in order:

- `封面` — the publication note as the published sets print it: title, legal
  basis, "现将…予以公开", the annex line, issuer and date;
- `目录` — every department and its projects, each linked to its table, with
  the amounts in 万元 and the totals;
- one sheet per department (`011001 永宁县人民政府办公室`): a banner row
  repeated on every printed page, then each project's table (`form.py`), a
  page break before each next project;
- `汇总` — projects, indicators and funds per department and in total;
- `总体目标` and `绩效指标` — flat data, one row per project and per indicator.
  They carry the columns of the targets workbook (`xltool.targets`), so
  `read_targets` reads the publication itself and gets the published targets.
  They are for machines: hidden, so that printing the whole workbook gives the
  document's pages only, the same pages as `--pdf`.

Every sheet prints on A4 (`xltool.tables.print_page`) with the publication's
title (and the department) in the header and `第 N 页，共 M 页` in the footer.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from xlsxwriter.utility import quote_sheetname

from xltool.money import AMOUNT_FORMAT
from xltool.names import Output
from xltool.publish.cells import (
    Styles,
    amount,
    height_for,
    is_risky,
    merged,
    text,
)
from xltool.publish.form import LAST, PAGE_ROOM, WIDTHS, ProjectTable
from xltool.publish.gather import Edition, PublishedDepartment
from xltool.tables import Column, Look, Page, Value, lines_needed, print_page, write_table
from xltool.targets import GOALS_SHEET, INDICATORS_SHEET
from xltool.xlsxout import check, excel_sheet_name, new_workbook

COVER_SHEET, CONTENTS_SHEET, SUMMARY_SHEET = "封面", "目录", "汇总"
RESERVED = {COVER_SHEET, CONTENTS_SHEET, SUMMARY_SHEET, GOALS_SHEET, INDICATORS_SHEET}
MAX_PAGE_BREAKS = 1023  # Excel's limit per sheet; later projects of a huge department flow on
MAX_LINKS = 65_530  # Excel's limit per sheet; rows beyond it are listed without a link

FUNDING_COLUMNS = (("total", "年度资金总额"), ("fiscal", "其中：财政拨款"),
                   ("other", "其他资金"), ("carryover", "结余结转"))
GOAL_DATA_COLUMNS = ("主管部门编码", "主管部门", "项目编码", "项目名称", "年度资金总额（万元）",
                     "年度总体目标")
INDICATOR_DATA_COLUMNS = ("主管部门编码", "主管部门", "项目编码", "项目名称", "一级指标",
                          "二级指标", "三级指标", "指标值", "比较符", "数值", "数值2", "单位",
                          "权重", "审核说明")


@dataclass(frozen=True)
class Cover:
    """The publication note; every line is the caller's or a default from the edition."""

    title: str
    issuer: str
    date: str
    note: str
    annex: str


def write_publication(edition: Edition, cover: Cover, path: Path, *,
                      data_sheets: bool = True) -> dict[str, str]:
    """Write the workbook to PATH; returns each department code's sheet name."""
    # The XML parts go through temporary files instead of memory beside the cells: for
    # 10,000 projects that is half the peak, and the file stays byte-identical.
    workbook = new_workbook(path, in_memory=False, output=Output.DISCLOSURE, title=cover.title,
                            subject="预算绩效目标公开", author=cover.issuer, company=cover.issuer)
    styles = Styles(workbook)
    names = department_sheets(edition)
    cover_sheet = workbook.add_worksheet(COVER_SHEET)
    contents = workbook.add_worksheet(CONTENTS_SHEET)
    anchors: dict[tuple[str, str], int] = {}
    title = cover.title
    for department in edition.departments:
        sheet = workbook.add_worksheet(names[department.code])
        anchors.update(write_department(sheet, styles, department, edition.year, title))
    write_cover(cover_sheet, styles, cover)
    write_contents(contents, styles, edition, names, anchors, title)
    write_summary(workbook.add_worksheet(SUMMARY_SHEET), styles, edition, title)
    if data_sheets:
        write_goal_data(workbook.add_worksheet(GOALS_SHEET), styles, edition, title)
        write_indicator_data(workbook.add_worksheet(INDICATORS_SHEET), styles, edition, title)
    workbook.close()
    return names


def department_sheets(edition: Edition) -> dict[str, str]:
    """`编码 主管部门`, the name as the ledger writes it, made a sheet name by Excel's rules
    (`excel_sheet_name`: cut to 31 of Excel's units, unique)."""
    used = {name.lower() for name in RESERVED}
    return {department.code: excel_sheet_name(f"{department.code} {department.name}", used,
                                              fallback="主管部门")
            for department in edition.departments}


def link(sheet_name: str, row: int) -> str:
    return f"internal:{quote_sheetname(sheet_name)}!A{row + 1}"


def print_setup(sheet: Any, page: Page) -> None:
    """The one print standard (`print_page`), centred between the margins."""
    print_page(sheet, page)
    sheet.center_horizontally()


def _widths(sheet: Any, widths: tuple[float, ...]) -> None:
    for col, width in enumerate(widths):
        check(sheet.set_column(col, col, width), "column width")


# -- the cover -----------------------------------------------------------------------------

COVER_WIDTH = 72.0  # LibreOffice does not shrink a one-column sheet to fit: keep it within A4


def write_cover(sheet: Any, styles: Styles, cover: Cover) -> None:
    _widths(sheet, (COVER_WIDTH,))
    rows: list[tuple[int, str, str, float]] = [
        (1, cover.title, "cover_title", 60.0),
        (3, cover.note, "cover_text", 0.0),
        (5, cover.annex, "cover_text", 0.0),
        (8, cover.issuer, "cover_right", 24.0),
        (9, cover.date, "cover_right", 24.0),
    ]
    for row, value, style, height in rows:
        text(sheet, styles, row, 0, value, style)
        # 14-point text is about 1.3 times as wide as the column unit assumes
        lines = lines_needed(value, COVER_WIDTH / 1.3)
        check(sheet.set_row(row, max(height, height_for(lines) * 1.3)), "cover row")
    sheet.hide_gridlines(2)
    print_setup(sheet, Page(cover.title, (COVER_WIDTH,), landscape=False))
    sheet.activate()


# -- a department's sheet ------------------------------------------------------------------


def write_department(sheet: Any, styles: Styles, department: PublishedDepartment,
                     year: int | None, title: str) -> dict[tuple[str, str], int]:
    """The banner and every project's table; returns each project's title row. Each
    project starts a page; one that runs over repeats its name and indicator header."""
    _widths(sheet, WIDTHS)
    merged(sheet, styles, (0, 0, 0, LAST - 1),
           f"主管部门：{department.name}（{department.code}）", "banner")
    text(sheet, styles, 0, LAST, f"共 {len(department.projects)} 个项目", "note_right")
    check(sheet.set_row(0, 22), "banner height")
    anchors, breaks, row = {}, [], 2
    for index, project in enumerate(department.projects):
        if index:
            breaks.append(row)
        anchors[department.code, project.code] = row
        # the first page also holds the blank row under the banner
        table = ProjectTable(sheet, styles, department.profile, year, row,
                             room=PAGE_ROOM - (0 if index else 15.0))
        row = table.write(project) + 1
        breaks.extend(table.breaks)
    check(sheet.set_h_pagebreaks(breaks[:MAX_PAGE_BREAKS]), "page breaks")
    sheet.hide_gridlines(2)
    print_setup(sheet, Page(title, WIDTHS, department=department.name, landscape=False,
                            repeat=(0, 0)))
    return anchors


# -- contents and summary ------------------------------------------------------------------

CONTENTS_WIDTHS = (8.0, 48.0, 18.0, 18.0)


def _heading(sheet: Any, styles: Styles, title: str, last: int, note: str = "") -> None:
    merged(sheet, styles, (0, 0, 0, last), title, "title")
    check(sheet.set_row(0, 30), "title height")
    merged(sheet, styles, (1, 0, 1, last - 1), note, "note")
    text(sheet, styles, 1, last, "单位：万元", "note_right")


def _head_row(sheet: Any, styles: Styles, row: int, headers: tuple[str, ...]) -> None:
    for col, header in enumerate(headers):
        text(sheet, styles, row, col, header, "head")
    check(sheet.set_row(row, 30), "head height")


def write_contents(sheet: Any, styles: Styles, edition: Edition, names: dict[str, str],
                   anchors: dict[tuple[str, str], int], title: str) -> None:
    _widths(sheet, CONTENTS_WIDTHS)
    _heading(sheet, styles, CONTENTS_SHEET, 3, _count_note(edition))
    _head_row(sheet, styles, 2, ("序号", "主管部门 / 项目名称", "编码", "年度资金总额"))
    row = 3
    for number, department in enumerate(edition.departments, start=1):
        sheet_name = names[department.code]
        _contents_row(sheet, styles, row, (str(number), department.code),
                      (link(sheet_name, 0), department.name), department.amount("total"), True)
        for position, project in enumerate(department.projects, start=1):
            row += 1
            _contents_row(sheet, styles, row, (f"{number}.{position}", project.code),
                          (link(sheet_name, anchors[department.code, project.code]),
                           project.name),
                          project.amounts.get("total"), False)
        row += 1
    merged(sheet, styles, (row, 0, row, 2), "合计", "head")
    amount(sheet, styles, row, 3, edition.amount("total"), "strong_amount")
    check(sheet.freeze_panes(3, 0), "freeze")
    print_setup(sheet, Page(title, CONTENTS_WIDTHS, repeat=(2, 2)))


def _contents_row(sheet: Any, styles: Styles, row: int, numbers: tuple[str, str],
                  target: tuple[str, str], total: Decimal | None, strong: bool) -> None:
    text(sheet, styles, row, 0, numbers[0], "label")
    url, shown = target
    if row - 3 < MAX_LINKS:
        # The shown text is ledger text: write_url stores it as a string, never a formula.
        fmt = styles.get("link", quoted=is_risky(shown))
        check(sheet.write_url(row, 1, url, fmt, shown), "contents link")
    else:
        text(sheet, styles, row, 1, shown, "text")
    text(sheet, styles, row, 2, numbers[1], "strong" if strong else "text")
    amount(sheet, styles, row, 3, total, "strong_amount" if strong else "right_amount")
    check(sheet.set_row(row, height_for(lines_needed(shown, CONTENTS_WIDTHS[1]))), "row")


def _count_note(edition: Edition) -> str:
    projects = sum(len(d.projects) for d in edition.departments)
    return f"共 {len(edition.departments)} 个主管部门、{projects} 个项目"


SUMMARY_COLUMNS = (
    Column("序号", 6.0, "label"), Column("主管部门编码", 14.0), Column("主管部门", 34.0),
    Column("项目数", 8.0, "number"), Column("绩效指标数", 10.0, "number"),
    *(Column(label, width, "right_amount")
      for (_, label), width in zip(FUNDING_COLUMNS, (14.0, 14.0, 12.0, 12.0), strict=True)),
)


def document_look(styles: Styles) -> Look:
    """A table of the printed disclosure: no filter, text quoted where Excel would read a
    formula, amounts in the one amount format, rows as tall as the form's."""

    def cell(column: Column, value: Value) -> Any:
        if isinstance(value, Decimal):
            return styles.get(column.style, number=AMOUNT_FORMAT)
        return styles.get(column.style, quoted=isinstance(value, str) and is_risky(value))

    return Look(header=styles.get("head"), cell=cell, filtered=False, header_height=30,
                height=height_for)


def write_summary(sheet: Any, styles: Styles, edition: Edition, title: str) -> None:
    last = len(SUMMARY_COLUMNS) - 1
    year = f"{edition.year}年" if edition.year is not None else ""
    _widths(sheet, tuple(c.width for c in SUMMARY_COLUMNS))
    _heading(sheet, styles, f"{year}项目支出预算绩效目标汇总表", last, _count_note(edition))
    rows: list[list[Value]] = [
        [str(number), d.code, d.name, len(d.projects), d.indicator_count,
         *(d.amount(key) for key, _ in FUNDING_COLUMNS)]
        for number, d in enumerate(edition.departments, start=1)]
    row = write_table(sheet, document_look(styles), SUMMARY_COLUMNS, rows, top=2) + 1
    merged(sheet, styles, (row, 0, row, 2), "合计", "head")
    _counts(sheet, styles, row, len(edition.projects),
            sum(d.indicator_count for d in edition.departments))
    for col, (key, _) in enumerate(FUNDING_COLUMNS, start=5):
        amount(sheet, styles, row, col, edition.amount(key), "strong_amount")
    print_setup(sheet, Page(title, [c.width for c in SUMMARY_COLUMNS], landscape=True,
                            repeat=(2, 2)))


def _counts(sheet: Any, styles: Styles, row: int, projects: int, indicators: int) -> None:
    check(sheet.write_number(row, 3, projects, styles.get("number")), "project count")
    check(sheet.write_number(row, 4, indicators, styles.get("number")), "indicator count")


# -- flat data -----------------------------------------------------------------------------


def _data_head(sheet: Any, styles: Styles, headers: tuple[str, ...],
               widths: tuple[float, ...], rows: int, title: str) -> None:
    """A data sheet for machines: hidden, out of a print of the whole workbook."""
    for col, header in enumerate(headers):
        text(sheet, styles, 0, col, header, "data_head")
    _widths(sheet, widths)
    check(sheet.freeze_panes(1, 0), "freeze")
    check(sheet.autofilter(0, 0, max(rows, 1), len(headers) - 1), "autofilter")
    print_setup(sheet, Page(f"{title}（{sheet.name}）", widths, landscape=True, repeat=(0, 0)))
    sheet.hide()


def write_goal_data(sheet: Any, styles: Styles, edition: Edition, title: str) -> None:
    _data_head(sheet, styles, GOAL_DATA_COLUMNS, (14.0, 30.0, 18.0, 36.0, 14.0, 90.0),
               len(edition.projects), title)
    for row, (department, project) in enumerate(edition.projects, start=1):
        values = (department.code, department.name, project.code, project.name,
                  project.amounts.get("total"), project.goal)
        _data_row(sheet, styles, row, values, amounts=_GOAL_DATA_AMOUNTS)


def write_indicator_data(sheet: Any, styles: Styles, edition: Edition, title: str) -> None:
    rows = [(d, p, i) for d, p in edition.projects for i in p.indicators]
    _data_head(sheet, styles, INDICATOR_DATA_COLUMNS,
               (14.0, 24.0, 18.0, 28.0, 12.0, 18.0, 50.0, 18.0, 8.0, 10.0, 10.0, 10.0, 8.0,
                30.0),
               len(rows), title)
    for row, (department, project, indicator) in enumerate(rows, start=1):
        parsed = indicator.parsed
        numbers = (*parsed.numbers, None, None)
        values = (department.code, department.name, project.code, project.name,
                  indicator.level1, indicator.level2, indicator.name, indicator.value,
                  parsed.comparator, numbers[0], numbers[1], parsed.unit, indicator.weight,
                  project.waiver_note(indicator) or None)
        _data_row(sheet, styles, row, values)


_GOAL_DATA_AMOUNTS = frozenset({GOAL_DATA_COLUMNS.index("年度资金总额（万元）")})


def _data_row(sheet: Any, styles: Styles, row: int, values: tuple[str | Decimal | None, ...],
              *, amounts: frozenset[int] = frozenset()) -> None:
    """Texts as strings, numbers exact, nothing for an empty cell; the columns AMOUNTS show
    their numbers as every amount is shown, the others (figures read from a target) as
    they are."""
    for col, value in enumerate(values):
        if isinstance(value, Decimal):
            number = AMOUNT_FORMAT if col in amounts else None
            check(sheet.write_number(row, col, float(value), styles.get("data", number=number)),
                  "number")
        elif value:
            text(sheet, styles, row, col, value, "data")
