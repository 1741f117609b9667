"""Text shared by every reader: one definition of "the same text", and of a cell as text.

Departments type with Chinese input methods, so the same word arrives with
full-width letters, digits and spaces; keys must compare equal regardless.
"""

from __future__ import annotations

import math
import re
import unicodedata
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

_SPACE_RUN = re.compile(r"\s+")


def normalise_text(value: object) -> str:
    """NFKC-fold, turn every run of white space (full-width too) into one space, trim."""
    if value is None:
        return ""
    text = unicodedata.normalize("NFKC", str(value))
    return _SPACE_RUN.sub(" ", text).strip()


def normalise_key(value: object) -> str:
    """A code or name used to match records: normalised text without any spaces."""
    return normalise_text(value).replace(" ", "")


def code_text(value: object) -> str:
    """A code as text: spreadsheets turn `0812` into 812 and 812 into 812.0; undo the latter."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float | Decimal) and value == int(value):
        return str(int(value))
    return normalise_key(value)


def shown_number(value: float) -> str:
    """A number as Excel shows it: 812 not 812.0, 0.1 not 0.1000000000000000055, never with
    an exponent (a spreadsheet's 1E-05 is 0.00001 to the clerk)."""
    if not math.isfinite(value):
        return repr(value)
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return format(Decimal(repr(value)), "f")  # via the shortest repr: 0.1 stays 0.1


def cell_text(value: Any) -> str:
    """A cell value as a clerk sees it, trimmed: 100 not 100.0, dates as 2024-01-31."""
    if value.__class__ is str:  # most cells: asked first
        return "" if not value else value.strip().strip("\u3000").strip()
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return shown_number(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return value.isoformat(sep=" ") if value.time() != time() else value.date().isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value).strip().strip("\u3000").strip()
