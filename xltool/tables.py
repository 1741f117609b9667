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


def fit_row(sheet: Any, row: int, cells: Iterable[tuple[Value, float]]) -> None:
    """Give ROW the height its tallest cell's text needs (cells: value and column width)."""
    lines = max((lines_needed(value, width) for value, width in cells), default=1)
    if lines > 1:
        check(sheet.set_row(row, min(lines * LINE_HEIGHT, MAX_ROW_HEIGHT)), "row height")


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


def write_table(sheet: Any, formats: dict[str, Any], columns: Sequence[Column],
                rows: Iterable[Sequence[Value]], *, top: int = 0,
                style_of: Callable[[Column, Value], str] | None = None) -> int:
    """COLUMNS' headers at row TOP, then a row per entry of ROWS, each as tall as its text,
    under a filter, the header frozen on screen and repeated on every printed page.

    FORMATS holds `header` and each column's style; STYLE_OF may pick another style for a
    value (a name in an amount column). Returns the last row written.
    """
    for col, column in enumerate(columns):
        check(sheet.set_column(col, col, column.width), "column width")
        put(sheet, top, col, column.header, formats["header"])
    last = top
    for last, values in enumerate(rows, start=top + 1):
        for col, (column, value) in enumerate(zip(columns, values, strict=True)):
            style = style_of(column, value) if style_of else column.style
            put(sheet, last, col, value, formats[style])
        fit_row(sheet, last, zip(values, (c.width for c in columns), strict=True))
    check(sheet.autofilter(top, 0, max(last, top + 1), len(columns) - 1), "autofilter")
    sheet.repeat_rows(top)
    if top < MAX_FROZEN_ROWS:
        check(sheet.freeze_panes(top + 1, 0), "freeze panes")
    return last
