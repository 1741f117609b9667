"""Cell addresses as positions: `C12` is (11, 2). (A cell's value as text is
`xltool.text.cell_text`, which every reader shares.)"""

from __future__ import annotations

import functools

from xlsxwriter.utility import xl_cell_to_rowcol


@functools.lru_cache(maxsize=65536)
def rowcol(ref: str) -> tuple[int, int]:
    """`C12` as (row, column) from 0: cached, for every return asks for the same cells."""
    row, col = xl_cell_to_rowcol(ref)
    return int(row), int(col)
