"""Filling an issued template by the names of its input cells.

Every input cell of a template has a workbook-level defined name
(`XT_P01_GOAL`, `XT_P01_C01_R01_VALUE`, … — see README), so a department's own
system can fill a template without knowing its layout. `fill_by_name` is that,
for Python: it writes only input cells, keeps text as text (a value starting
with `=` stays a string), and leaves everything else of the workbook as issued.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path

from openpyxl import load_workbook
from openpyxl.cell.cell import Cell
from openpyxl.workbook.workbook import Workbook

from xltool.errors import NotAnInputCell
from xltool.names import NAME_PREFIX, is_project_code

CellValue = str | int | float | Decimal | None


def fill_by_name(template: Path | str, values: Mapping[str, CellValue],
                 out: Path | str) -> Path:
    """Write VALUES (defined name → value) into a copy of TEMPLATE saved as OUT."""
    workbook = load_workbook(template)
    for name, value in values.items():
        _write(_input_cell(workbook, name), value)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(out)
    return out


def _input_cell(workbook: Workbook, name: str) -> Cell:
    defined = workbook.defined_names.get(name)
    if defined is None or not name.startswith(NAME_PREFIX) or is_project_code(name):
        raise NotAnInputCell(f"模板中没有名为“{name}”的填写单元格")
    sheet, reference = next(iter(defined.destinations))
    cell: Cell = workbook[sheet][reference.replace("$", "")]
    if cell.protection.locked:
        raise NotAnInputCell(f"“{name}”指向锁定单元格 {sheet}!{cell.coordinate}，不能填写")
    return cell


def _write(cell: Cell, value: CellValue) -> None:
    if isinstance(value, Decimal):
        value = int(value) if value == value.to_integral_value() else float(value)
    cell.value = value
    if isinstance(value, str) and value.startswith("="):
        cell.data_type = "s"  # text a department typed, never a formula
