"""The one way xltool opens an xlsxwriter workbook.

xlsxwriter reports bad parameters with warnings and negative return codes and
then writes a file without the part that failed (a dropdown silently gone).
Every call that returns a code goes through `check`, which raises instead.
Workbooks are made deterministic (fixed creation date) and never turn text
into formulas, numbers or links: ledger and department text is data.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import xlsxwriter

from xltool.errors import XltoolError

# A fixed timestamp: the same input must give a byte-identical file.
FIXED_CREATED = datetime(2000, 1, 1)


class XlsxWriteError(XltoolError):
    """xlsxwriter refused a call: a bug in xltool or an input beyond Excel's limits."""


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
    return workbook


def check(code: object, what: str) -> None:
    """Raise if an xlsxwriter call returned a negative status code."""
    if isinstance(code, int) and code < 0:
        raise XlsxWriteError(f"xlsxwriter refused {what} (code {code})")
