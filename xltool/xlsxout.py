"""The one way xltool opens an xlsxwriter workbook.

xlsxwriter reports bad parameters with warnings and negative return codes and
then writes a file without the part that failed (a dropdown silently gone).
Every call that returns a code goes through `check`, which raises instead.
Workbooks are made deterministic (fixed creation date) and never turn text
into formulas, numbers or links: ledger and department text is data.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.worksheet import Worksheet

from xltool.errors import XltoolError

# A fixed timestamp: the same input must give a byte-identical file.
FIXED_CREATED = datetime(2000, 1, 1)


class XlsxWriteError(XltoolError):
    """xlsxwriter refused a call: a bug in xltool or an input beyond Excel's limits."""


# Functions every Excel version knows: a formula made only of these needs none of the
# `_xlfn.` prefixes xlsxwriter looks for with a hundred regular expressions per formula.
CLASSIC_FUNCTIONS = frozenset({"AND", "COUNTA", "FIND", "IF", "ISNUMBER", "LEN", "OR", "SUM",
                               "SUMPRODUCT", "TRIM", "SUBSTITUTE"})
_FUNCTION_CALL = re.compile(r"([A-Za-z_][A-Za-z0-9_.]*)\(")


class _Worksheet(Worksheet):  # type: ignore[misc]
    """xlsxwriter's worksheet, with the formula preparation short-cut for classic formulas.

    When the formula uses anything else, or xlsxwriter changes the method, its own
    code runs: the result is the same either way, only the time differs.
    """

    def _prepare_formula(self, formula: str, expand_future_functions: bool = False) -> str:
        names = set(_FUNCTION_CALL.findall(formula))
        if names <= CLASSIC_FUNCTIONS and not formula.startswith("{") \
                and not formula.endswith("}"):
            return formula.removeprefix("=")
        result: str = super()._prepare_formula(formula, expand_future_functions)
        return result


def new_workbook(path: Path | str, *, in_memory: bool = True,
                 **properties: Any) -> xlsxwriter.Workbook:
    """`in_memory=False` assembles large workbooks through temporary files: less memory."""
    workbook = xlsxwriter.Workbook(
        str(path),
        {
            "strings_to_formulas": False,
            "strings_to_numbers": False,
            "strings_to_urls": False,
            "in_memory": in_memory,
        },
    )
    workbook.set_properties({"created": FIXED_CREATED, **properties})
    workbook.worksheet_class = _Worksheet
    return workbook


@contextmanager
def strict() -> Iterator[None]:
    """xlsxwriter's warnings (a string cut at 32,767 characters, a bad name) become errors."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            yield
        except Warning as warning:
            raise XlsxWriteError(f"xlsxwriter warned: {warning}") from warning


def check(code: object, what: str) -> None:
    """Raise if an xlsxwriter call returned a negative status code."""
    if isinstance(code, int) and code < 0:
        raise XlsxWriteError(f"xlsxwriter refused {what} (code {code})")
