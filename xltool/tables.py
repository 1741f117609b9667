"""Tables for people: how xltool writes a table, a cell of a report, and sizes its rows.

The feedback workbooks, the reconciliation report and the disclosure share one
font, one way to write a value (text always as text, never a formula or a link),
one cut for over-long text and one estimate of how many lines a text wraps to:
Excel, WPS and LibreOffice do not grow a row to wrapped text when a file is
opened, so the writer sizes each row itself.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from xltool.text import excel_cut
from xltool.xlsxout import check

FONT = "宋体"
LINE_HEIGHT = 16.0      # points per line of wrapped 11-point text
MAX_ROW_HEIGHT = 409.0  # Excel's limit
MAX_TEXT = 1000         # characters of one text a report shows; a longer one is cut, with a note

Value = str | int | float | Decimal | datetime | None

# The wide (East Asian W and F) ranges that occur in these forms, the rarer ideographs of
# the supplementary planes included: one regex pass instead of a Unicode lookup per character.
_WIDE = re.compile("[\u1100-\u115f\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff"
                   "\ua000-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60"
                   "\uffe0-\uffe6\U00020000-\U0003fffd]")


def shown(text: str) -> str:
    """TEXT as a report shows it: whole, or cut at MAX_TEXT characters with a note."""
    if len(text) <= MAX_TEXT:
        return text
    return f"{text[:MAX_TEXT]}…（共 {len(text)} 字，以下从略）"


def display_width(text: str) -> int:
    """Columns a text needs: wide (CJK, full-width) characters count two."""
    return len(text) + len(_WIDE.findall(text))


def lines_needed(value: Value, width: float) -> int:
    """Lines VALUE wraps to in a column WIDTH characters wide; a number takes one."""
    if not isinstance(value, str):
        return 1
    usable = max(width - 2, 1)  # cell padding, and lines break short of the edge
    return sum(max(1, math.ceil(display_width(part) / usable))
               for part in shown(value).split("\n"))


def report_height(lines: int) -> float | None:
    """A report row's height for LINES of text: Excel's own for one line, more for more."""
    return min(lines * LINE_HEIGHT, MAX_ROW_HEIGHT) if lines > 1 else None


def fit_row(sheet: Any, row: int, cells: Iterable[tuple[Value, float]],
            height: Callable[[int], float | None] = report_height) -> None:
    """Give ROW the height its tallest cell's text needs (cells: value and column width)."""
    points = height(max((lines_needed(value, width) for value, width in cells), default=1))
    if points is not None:
        check(sheet.set_row(row, points), "row height")


def put(sheet: Any, row: int, col: int, value: Value, fmt: Any) -> None:
    """Text always as text (never a formula or a link), numbers and times as such."""
    if value is None or value == "":
        check(sheet.write_blank(row, col, None, fmt), "blank")
    elif isinstance(value, str):
        check(sheet.write_string(row, col, shown(value), fmt), "text")
    elif isinstance(value, datetime):
        check(sheet.write_datetime(row, col, value, fmt), "time")
    else:
        check(sheet.write_number(row, col, float(value), fmt), "number")


@dataclass(frozen=True)
class Column:
    """A column of a table: its header, its width in characters, and the style of its cells
    (a name in the writer's formats: `text`, `count`, `amount`, …)."""

    header: str
    width: float
    style: str = "text"


MAX_FROZEN_ROWS = 12  # a taller heading is not frozen: it would fill the screen


@dataclass(frozen=True)
class Look:
    """How a table looks: its header cells' format, each value's format in its column, a
    filter or none (a report has one; a printed document does not), and its rows' height
    for so many lines of text."""

    header: Any
    cell: Callable[[Column, Value], Any]
    filtered: bool = True
    header_height: float | None = None
    height: Callable[[int], float | None] = report_height


def styled(formats: dict[str, Any]) -> Look:
    """A report's look: the header in `header`, each cell in its column's style."""
    return Look(header=formats["header"], cell=lambda column, _value: formats[column.style])


def write_table(sheet: Any, look: Look, columns: Sequence[Column],
                rows: Iterable[Sequence[Value]], *, top: int = 0) -> int:
    """COLUMNS' headers at row TOP, then a row per entry of ROWS, each as tall as its text,
    the header frozen on screen and repeated on every printed page. Returns the last row."""
    for col, column in enumerate(columns):
        check(sheet.set_column(col, col, column.width), "column width")
        put(sheet, top, col, column.header, look.header)
    if look.header_height is not None:
        check(sheet.set_row(top, look.header_height), "header height")
    last = top
    for last, values in enumerate(rows, start=top + 1):
        for col, (column, value) in enumerate(zip(columns, values, strict=True)):
            put(sheet, last, col, value, look.cell(column, value))
        fit_row(sheet, last, zip(values, (c.width for c in columns), strict=True), look.height)
    if look.filtered:
        check(sheet.autofilter(top, 0, max(last, top + 1), len(columns) - 1), "autofilter")
    sheet.repeat_rows(top)
    if top < MAX_FROZEN_ROWS:
        check(sheet.freeze_panes(top + 1, 0), "freeze panes")
    return last


# -- printing ------------------------------------------------------------------------------

A4 = 9  # Excel's paper code
MIN_SCALE = 60  # percent: smaller print is not legible
FOOTER = "&C第 &P 页，共 &N 页"
# Inches. The left edge is bound (GB/T 9704 leaves 28 mm there); the header and footer sit
# in the top and bottom margins.
MARGINS = {"left": 1.1, "right": 0.6, "top": 0.9, "bottom": 0.8}
HEADER_MARGIN = FOOTER_MARGIN = 0.4
A4_INCHES = (8.27, 11.69)
PIXELS_PER_INCH = 96


@dataclass(frozen=True)
class Page:
    """How a sheet prints: the document's TITLE and DEPARTMENT (if any) in the header, the
    columns' WIDTHS (in characters: they decide portrait or landscape and the scale), and
    the rows (first, last) repeated at the top of every page."""

    title: str
    widths: Sequence[float]
    department: str = ""
    repeat: tuple[int, int] | None = None
    landscape: bool | None = None  # None: portrait when the columns fit across it


def column_pixels(widths: Iterable[float]) -> int:
    """The columns' width on screen and paper at 100 %, as Excel converts characters."""
    return sum(int(width * 7 + 0.5) + 5 for width in widths)


def printable_pixels(landscape: bool) -> float:
    paper = A4_INCHES[1] if landscape else A4_INCHES[0]
    return (paper - MARGINS["left"] - MARGINS["right"]) * PIXELS_PER_INCH


def print_page(sheet: Any, page: Page) -> None:
    """A4, bound margins, title and department in the header, page numbers in the footer,
    header rows repeated, and one page wide — but never smaller than MIN_SCALE percent."""
    check(sheet.set_paper(A4), "paper")
    needed = column_pixels(page.widths)
    landscape = page.landscape
    if landscape is None:
        landscape = needed > printable_pixels(False)
    if landscape:
        sheet.set_landscape()
    sheet.set_margins(**MARGINS)
    check(sheet.set_header(_header(page), {"margin": HEADER_MARGIN}), "print header")
    check(sheet.set_footer(FOOTER, {"margin": FOOTER_MARGIN}), "print footer")
    if needed * MIN_SCALE / 100 > printable_pixels(landscape):
        check(sheet.set_print_scale(MIN_SCALE), "print scale")
    else:
        sheet.fit_to_pages(1, 0)
    if page.repeat is not None:
        check(sheet.repeat_rows(*page.repeat), "print titles")


def _header(page: Page) -> str:
    """`&L` department, `&C` title, each a `header_text`."""
    left = f"&L{header_text(page.department)}" if page.department else ""
    return f"{left}&C{header_text(page.title)}"


HEADER_PART_LIMIT = 100
"""Excel's units for each side of a print header: both, with their codes, within its 255."""


def header_text(text: str) -> str:
    """TEXT for one side of a print header, on one line: each `&` doubled (alone it starts
    a code), cut to HEADER_PART_LIMIT units without leaving half of a doubled `&`."""
    cut = excel_cut(" ".join(text.split()).replace("&", "&&"), HEADER_PART_LIMIT)
    ampersands = len(cut) - len(cut.rstrip("&"))
    return cut[:-1] if ampersands % 2 else cut


def printable_points_high(landscape: bool) -> float:
    """The height a page gives its rows at 100 %, header and footer margins left out."""
    paper = A4_INCHES[0] if landscape else A4_INCHES[1]
    return (paper - MARGINS["top"] - MARGINS["bottom"]) * 72
