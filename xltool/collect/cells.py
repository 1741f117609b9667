"""Cell content: a cell's address as a position, and its value as a clerk sees it."""

from __future__ import annotations

import functools
from datetime import date, datetime, time
from typing import Any

from xlsxwriter.utility import xl_cell_to_rowcol


@functools.lru_cache(maxsize=65536)
def rowcol(ref: str) -> tuple[int, int]:
    """`C12` as (row, column) from 0: cached, for every return asks for the same cells."""
    row, col = xl_cell_to_rowcol(ref)
    return int(row), int(col)


def cell_text(value: Any) -> str:
    """A cell value as a clerk sees it: 100 not 100.0, dates as 2024-01-31, trimmed."""
    if value.__class__ is str:  # most cells: asked first
        return "" if not value else value.strip().strip("\u3000").strip()
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ") if value.time() != time() else value.date().isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value).strip().strip("\u3000").strip()
