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


def snug_height(lines: int) -> float:
    """A printed row's height for LINES of text, one line too: a row left at the default
    height (15 points) holds an 11-point Chinese line only just, its text on the border."""
    return min(lines * LINE_HEIGHT + 2, MAX_ROW_HEIGHT)


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
    columns' WIDTHS (in characters: they decide portrait or landscape and the scale), the
    rows (first, last) repeated at the top of every page, and the rows pages start at."""

    title: str
    widths: Sequence[float]
    department: str = ""
    repeat: tuple[int, int] | None = None
    landscape: bool | None = None  # None: portrait when the columns fit across it
    detail: str = ""  # what this sheet is of (a form's project), at the header's right
    breaks: tuple[int, ...] = ()  # rows a page starts at (`page_breaks`)


def column_pixels(widths: Iterable[float]) -> int:
    """The columns' width on screen and paper at 100 %, as Excel converts characters."""
    return sum(int(width * 7 + 0.5) + 5 for width in widths)


def printable_pixels(landscape: bool) -> float:
    paper = A4_INCHES[1] if landscape else A4_INCHES[0]
    return (paper - MARGINS["left"] - MARGINS["right"]) * PIXELS_PER_INCH


def print_page(sheet: Any, page: Page) -> None:
    """A4, bound margins, title and department in the header, page numbers in the footer,
    header rows repeated, and one page wide — but never smaller than MIN_SCALE percent —
    with no number of pages tall, so that the page's own breaks are kept."""
    check(sheet.set_paper(A4), "paper")
    needed = column_pixels(page.widths)
    landscape = is_landscape(page)
    if landscape:
        sheet.set_landscape()
    sheet.set_margins(**MARGINS)
    check(sheet.set_header(_header(page), {"margin": HEADER_MARGIN}), "print header")
    check(sheet.set_footer(FOOTER, {"margin": FOOTER_MARGIN}), "print footer")
    if needed * MIN_SCALE / 100 > printable_pixels(landscape):
        check(sheet.set_print_scale(MIN_SCALE), "print scale")
    else:
        sheet.fit_to_pages(1, 0)
    if page.breaks:
        sheet.set_h_pagebreaks(list(page.breaks))
    if page.repeat is not None:
        check(sheet.repeat_rows(*page.repeat), "print titles")


def is_landscape(page: Page) -> bool:
    """As PAGE says, or landscape when its columns do not fit across a portrait page."""
    if page.landscape is None:
        return column_pixels(page.widths) > printable_pixels(False)
    return page.landscape


def print_scale(widths: Sequence[float], landscape: bool) -> int:
    """The largest whole percent, at most 100 and at least MIN_SCALE, at which columns of
    WIDTHS fit across the page."""
    fitting = int(printable_pixels(landscape) * 100 / max(column_pixels(widths), 1))
    return max(MIN_SCALE, min(100, fitting))


def _header(page: Page) -> str:
    """`&L` department, `&C` title, `&R` detail, each a `header_text`."""
    limit = HEADER_PART_LIMIT if not page.detail else HEADER_THIRD_LIMIT
    left = f"&L{header_text(page.department, limit)}" if page.department else ""
    right = f"&R{header_text(page.detail, limit)}" if page.detail else ""
    return f"{left}&C{header_text(page.title, limit)}{right}"


HEADER_PART_LIMIT = 100
"""Excel's units for each side of a print header: both, with their codes, within its 255."""
HEADER_THIRD_LIMIT = 80
"""The same for each of three parts."""


def header_text(text: str, limit: int = HEADER_PART_LIMIT) -> str:
    """TEXT for one side of a print header, on one line: each `&` doubled (alone it starts
    a code), cut to LIMIT units without leaving half of a doubled `&`."""
    cut = excel_cut(" ".join(text.split()).replace("&", "&&"), limit)
    ampersands = len(cut) - len(cut.rstrip("&"))
    return cut[:-1] if ampersands % 2 else cut


def printable_points_high(landscape: bool) -> float:
    """The height a page gives its rows at 100 %, header and footer margins left out."""
    paper = A4_INCHES[0] if landscape else A4_INCHES[1]
    return (paper - MARGINS["top"] - MARGINS["bottom"]) * 72


# Excel rounds a row's height to whole pixels and LibreOffice to its own units: a page of
# rows prints a little taller than their heights add up to.
PAGE_SLACK = 0.96


def page_room(widths: Sequence[float], landscape: bool) -> float:
    """The points of row height a page holds at `print_scale`, the scale Excel prints
    one page wide at. A program whose font makes the columns wider prints them smaller, so
    its pages hold more: the breaks placed for this room still come before its own."""
    return printable_points_high(landscape) * PAGE_SLACK * 100 / print_scale(widths, landscape)


def page_breaks(heights: Sequence[float], keep: Iterable[tuple[int, int]], room: float,
                repeat: tuple[int, int] | None = None) -> tuple[int, ...]:
    """The rows new pages start at, for rows of HEIGHTS on pages of ROOM points.

    Each KEEP range (first, last) — a label merged over its rows — stays on one page: when
    it does not fit in what the page has left, the next page starts with it; only one
    taller than a whole page is broken between its rows. REPEAT rows print again at the
    top of every page after them, and take their room there.
    """
    ends = dict(keep)
    repeated = sum(heights[repeat[0]:repeat[1] + 1]) if repeat else 0.0
    breaks: list[int] = []
    used, placed = 0.0, False  # placed: the page holds a row of its own

    def turn(row: int) -> float:
        breaks.append(row)
        return repeated if repeat and row > repeat[1] else 0.0

    row = 0
    while row < len(heights):
        last = max(ends.get(row, row), row)
        size = sum(heights[row:last + 1])
        if placed and used + size > room:
            used, placed = turn(row), False
        if used + size <= room or last == row:
            used, placed = used + size, True
        else:
            for inner in range(row, last + 1):
                if placed and used + heights[inner] > room:
                    used = turn(inner)
                used, placed = used + heights[inner], True
        row = last + 1
    return tuple(breaks)
