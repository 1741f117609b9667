"""Formats and the few ways the publication writes a cell.

Every text — ledger names, department goals, indicator values — is data and is
written with `write_string`. A text that begins with `=`, `+`, `-` or `@` also
gets Excel's quote prefix, so that editing the cell later (F2, Enter) keeps it
text instead of turning it into a formula. Amounts are numbers in the one amount
format of every workbook (`xltool.money.AMOUNT_FORMAT`); weights, scores rather than
money, show as many decimals as they have (at most 2).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from xltool.money import AMOUNT_FORMAT
from xltool.tables import FONT, MAX_ROW_HEIGHT
from xltool.xlsxout import check

RISKY_STARTS = ("=", "+", "-", "@")
LINE_HEIGHT = 15.0  # a printed line of the disclosure; `height_for` adds 6 points of air
WEIGHT_FORMATS = ("0", "0.0", "0.00")

_BORDER = {"border": 1, "valign": "vcenter", "text_wrap": True}
STYLES: dict[str, dict[str, Any]] = {
    "title": {"bold": True, "font_size": 16, "align": "center", "valign": "vcenter",
              "text_wrap": True},
    "cover_title": {"bold": True, "font_size": 20, "align": "center", "valign": "vcenter",
                    "text_wrap": True},
    "cover_text": {"font_size": 14, "valign": "top", "text_wrap": True},
    "cover_right": {"font_size": 14, "align": "right", "valign": "vcenter"},
    "banner": {"bold": True, "valign": "vcenter"},
    "note": {"font_size": 10, "valign": "vcenter"},
    "note_right": {"font_size": 10, "align": "right", "valign": "vcenter"},
    "label": {**_BORDER, "align": "center"},
    "head": {**_BORDER, "align": "center", "bold": True},
    "text": {**_BORDER, "align": "left"},
    "value": {**_BORDER, "align": "center"},
    "goal": {**_BORDER, "align": "left"},
    "amount": {**_BORDER, "align": "left"},
    "number": {**_BORDER, "align": "center"},
    "link": {**_BORDER, "align": "left", "font_color": "#0563C1", "underline": 1},
    "strong": {**_BORDER, "align": "left", "bold": True},
    "strong_amount": {**_BORDER, "align": "right", "bold": True},
    "right_amount": {**_BORDER, "align": "right"},
    "data_head": {"bold": True, "border": 1, "bg_color": "#DDEBF7", "valign": "vcenter"},
    "data": {"valign": "top"},
}


class Styles:
    """Formats made once per workbook, on first use, in a fixed order (so files are identical)."""

    def __init__(self, workbook: Any) -> None:
        self._workbook = workbook
        self._made: dict[tuple[str, bool, str | None], Any] = {}

    def get(self, name: str, *, quoted: bool = False, number: str | None = None) -> Any:
        """Style NAME, with Excel's quote prefix if QUOTED, showing numbers as NUMBER."""
        key = (name, quoted, number)
        if key not in self._made:
            spec: dict[str, Any] = {"font_name": FONT, **STYLES[name]}
            if quoted:
                spec["quote_prefix"] = True
            if number is not None:
                spec["num_format"] = number
            self._made[key] = self._workbook.add_format(spec)
        return self._made[key]


def is_risky(text: str) -> bool:
    return text.startswith(RISKY_STARTS)


def text(sheet: Any, styles: Styles, row: int, col: int, value: str, style: str) -> None:
    fmt = styles.get(style, quoted=is_risky(value))
    if value:
        check(sheet.write_string(row, col, value, fmt), "text")
    else:
        check(sheet.write_blank(row, col, None, fmt), "blank")


def merged(sheet: Any, styles: Styles, area: tuple[int, int, int, int], value: str,
           style: str) -> None:
    """Text over a merged range (a single cell when the range is one cell)."""
    first_row, first_col, last_row, last_col = area
    if (first_row, first_col) != (last_row, last_col):
        fmt = styles.get(style, quoted=is_risky(value))
        check(sheet.merge_range(first_row, first_col, last_row, last_col, "", fmt), "merge")
    text(sheet, styles, first_row, first_col, value, style)


def weight_format(weight: Decimal) -> str:
    """A weight with as many decimals as it has, at most 2: 10, 12.5."""
    exponent = weight.normalize().as_tuple().exponent
    return WEIGHT_FORMATS[min(2, max(0, -exponent)) if isinstance(exponent, int) else 2]


def weight(sheet: Any, styles: Styles, row: int, col: int, value: Decimal | None) -> None:
    """An indicator's weight (blank when none)."""
    if value is None:
        check(sheet.write_blank(row, col, None, styles.get("number")), "blank weight")
    else:
        check(sheet.write_number(row, col, float(value),
                                 styles.get("number", number=weight_format(value))), "weight")


def amount(sheet: Any, styles: Styles, row: int, col: int, value: Decimal | None,
           style: str = "amount", *, to_col: int | None = None) -> None:
    """An amount in 万元 (blank when unknown), optionally over a merged range of one row."""
    fmt = styles.get(style, number=AMOUNT_FORMAT)
    if to_col is not None and to_col != col:
        check(sheet.merge_range(row, col, row, to_col, "", fmt), "merge amount")
    if value is None:
        check(sheet.write_blank(row, col, None, fmt), "blank amount")
    else:
        check(sheet.write_number(row, col, float(value), fmt), "amount")


def height_for(lines: int, minimum: float = 20.0) -> float:
    return min(MAX_ROW_HEIGHT, max(minimum, LINE_HEIGHT * lines + 6))
