"""Worksheets of one shape, rendered once by xlsxwriter and stamped for every sheet.

A department's workbook holds one form per project, and a thousand departments
hold thousands of forms that differ only in their values: the columns, merged
ranges, validations with their input messages, conditional formats and print
setup are the same wherever the layout is. Rendering all of that through
xlsxwriter's API for every sheet costs several times what the values cost.

So a *prototype* sheet is written the ordinary way, through the API, and
xlsxwriter renders it; `frame_of` cuts that XML where sheets of the same shape
differ — the cells, the row heights, the protection (its password hash) and the
header/footer — and keeps the rest as text. A `StampedSheet` takes a frame and
its own values, registers its strings in the workbook's shared string table
in the order the API would have, and at close writes the frame around its own
cells, letting xlsxwriter write its protection, header/footer and row tags.

The result is byte for byte what the API path writes (`tests/test_stamp.py`
holds the two to that), so everything the API checks for a value is checked
here too: strings longer than Excel's limit and numbers that are not finite
are refused, formulas other than classic ones are not stamped.

This module leans on xlsxwriter internals (the shared string table, format
indices, the worksheet's section writers). It stamps only under the xlsxwriter
releases it was verified against (`VERIFIED_XLSXWRITER`, which pyproject.toml's
range for xlsxwriter repeats and a test holds to it); under any other release,
as for a frame that cannot be made or a sheet it does not fit, it raises
`FrameMismatch` and the caller writes that sheet through the API instead:
slower, never different.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from io import StringIO
from typing import Any

import xlsxwriter
from xlsxwriter.utility import xl_rowcol_to_cell

from xltool.errors import FrameMismatch, XlsxWriteError
from xltool.text import excel_length
from xltool.xlsxout import _Worksheet, check, is_classic

# Excel's cell text limit, in its units (UTF-16); xlsxwriter warns and cuts longer strings.
STRING_LIMIT = 32767


# From 3.3 (the row records stamping reads) up to, not including, the next minor release,
# whose internals nobody has compared yet.
VERIFIED_XLSXWRITER = ((3, 3), (3, 4))


def verified(version: str) -> bool:
    """Whether xlsxwriter VERSION is one this module stamps under."""
    release = tuple(int(part) for part in version.split(".")[:2] if part.isdigit())
    lowest, beyond = VERIFIED_XLSXWRITER
    return lowest <= release < beyond


STAMPING = verified(xlsxwriter.__version__)


@dataclass(frozen=True)
class FrameCell:
    col: int
    opening: str  # '<c r="B3" s="' — the format index follows, then the value
    style: str


@dataclass(frozen=True)
class FrameRow:
    row: int
    spans: str | None
    cells: tuple[FrameCell, ...]


@dataclass(frozen=True)
class SheetFrame:
    """A prototype sheet's XML, cut where sheets of its shape differ."""

    head: str  # up to and including <sheetData>
    after_data: str  # from </sheetData> to the protection
    after_protection: str  # merged ranges, conditional formats, validations, print setup
    tail: str  # after the header/footer
    rows: tuple[FrameRow, ...]
    dxf: tuple[tuple[str, int], ...]  # conditional formats' styles and their indices
    positions: frozenset[tuple[int, int]]


@dataclass(frozen=True)
class Formula:
    """A cell value that is a formula (written with a cached result of 0, as the API does)."""

    text: str


CellValue = str | Decimal | float | int | Formula | None

# <row> start tags by row, spans, height and the sheet's defaults: the same everywhere.
_ROW_TAGS: dict[tuple[Any, ...], str] = {}


def frame_of(prototype: Any, styles: Mapping[str, Any]) -> SheetFrame:
    """Render PROTOTYPE (written through the API, protected, with a header/footer) and cut it.

    STYLES names the formats its cells use; a cell in any other format, or none,
    cannot be framed.
    """
    names = {id(fmt): name for name, fmt in styles.items()}
    buffer = StringIO()
    prototype._set_xml_writer(buffer)
    prototype._assemble_xml_file()
    xml = buffer.getvalue()
    try:
        data = xml.index("<sheetData>") + len("<sheetData>")
        data_end = xml.index("</sheetData>", data)
        protection = xml.index("<sheetProtection ", data_end)
        protection_end = xml.index("/>", protection) + 2
        header = xml.index("<headerFooter", protection_end)
        header_end = xml.index("</headerFooter>", header) + len("</headerFooter>")
    except ValueError as missing:
        raise FrameMismatch("prototype sheet lacks data, protection or header/footer") \
            from missing
    rows = tuple(_frame_row(prototype, row, names) for row in sorted(prototype.table)
                 if prototype.table[row])
    dxf = tuple((name, fmt.dxf_index) for name, fmt in styles.items()
                if fmt.dxf_index is not None)
    positions = frozenset((r.row, c.col) for r in rows for c in r.cells)
    return SheetFrame(xml[:data], xml[data_end:protection], xml[protection_end:header],
                      xml[header_end:], rows, dxf, positions)


def _frame_row(prototype: Any, row: int, names: Mapping[int, str]) -> FrameRow:
    cells = []
    for col, cell in sorted(prototype.table[row].items()):
        style = names.get(id(cell.format))
        if style is None:
            raise FrameMismatch(f"cell {xl_rowcol_to_cell(row, col)} has no named format")
        cells.append(FrameCell(col, f'<c r="{xl_rowcol_to_cell(row, col)}" s="', style))
    return FrameRow(row, prototype.row_spans.get(row // 16), tuple(cells))


class StampedSheet(_Worksheet):
    """A worksheet written from a frame and its own values; without a frame, an ordinary one."""

    frame: SheetFrame | None = None

    def stamp(self, frame: SheetFrame, formats: Mapping[str, Any],
              values: Iterable[tuple[int, int, CellValue]],
              heights: Mapping[int, float]) -> None:
        """Give the sheet its frame, values (in the order the API would write them) and heights.

        Protection and header/footer are set through the API as usual. Everything
        that could make the sheet not fit is checked before anything is registered.
        Row heights are not kept as the API keeps them: the row tags they give are.
        """
        if not STAMPING:
            raise FrameMismatch(f"xlsxwriter {xlsxwriter.__version__} is no verified release")
        cells = list(values)
        positions = frame.positions
        for row, col, value in cells:
            if (row, col) not in positions:
                raise FrameMismatch("a value lies outside the frame's cells")
            if isinstance(value, Formula) and not is_classic(value.text):
                raise FrameMismatch("a formula needs xlsxwriter's own preparation")
        if not heights.keys() <= {row.row for row in frame.rows}:
            raise FrameMismatch("a row height lies outside the frame's rows")
        for name, index in frame.dxf:
            if formats[name]._get_dxf_index() != index:
                raise FrameMismatch(f"conditional format {name} has another index here")
        self._row_tags = [self._row_tag(row, heights.get(row.row)) for row in frame.rows]
        self._bodies = {(row, col): self._body(value) for row, col, value in cells}
        self.frame, self._formats = frame, formats

    def _row_tag(self, row: FrameRow, height: float | None) -> str:
        """The <row> start tag xlsxwriter writes for ROW at HEIGHT, rendered once per kind."""
        key = (row.row, row.spans, height, self.default_row_height, self.original_row_height,
               self.excel_version)
        tag = _ROW_TAGS.get(key)
        if tag is None:
            scratch = _Worksheet()
            scratch.default_row_height = self.default_row_height
            scratch.original_row_height = self.original_row_height
            scratch.excel_version = self.excel_version
            if height is not None:
                check(scratch.set_row(row.row, height), "row height")
            scratch._set_filehandle(StringIO())
            scratch._write_row(row.row, row.spans, scratch.row_info.get(row.row))
            if len(_ROW_TAGS) > 65536:
                _ROW_TAGS.clear()
            tag = _ROW_TAGS[key] = scratch.fh.getvalue()
        return tag

    def _body(self, value: CellValue) -> str:
        """The cell element after its format index, as xlsxwriter writes it."""
        if value is None or value == "":
            return '"/>'
        if isinstance(value, str):
            if len(value) > STRING_LIMIT // 2 and excel_length(value) > STRING_LIMIT:
                raise XlsxWriteError(f"text longer than Excel's {STRING_LIMIT} characters")
            index = self.str_table._get_shared_string_index(value)
            return f'" t="s"><v>{index}</v></c>'
        if isinstance(value, Formula):
            return f'"><f>{self._escape_data(self._prepare_formula(value.text))}</f><v>0</v></c>'
        number = float(value)
        if not math.isfinite(number):
            raise XlsxWriteError(f"number {value} is not finite")
        return f'"><v>{number:.16G}</v></c>'

    def _assemble_xml_file(self) -> None:
        frame = self.frame
        if frame is None:
            super()._assemble_xml_file()
            return
        bodies, formats = self._bodies, self._formats
        indices: dict[str, str] = {}
        parts = [frame.head]
        for row, tag in zip(frame.rows, self._row_tags, strict=True):
            parts.append(tag)
            for cell in row.cells:
                index = indices.get(cell.style)
                if index is None:
                    index = indices[cell.style] = str(formats[cell.style]._get_xf_index())
                parts.append(cell.opening + index + bodies.get((row.row, cell.col), '"/>'))
            parts.append("</row>")
        write = self.fh.write
        write("".join(parts))
        write(frame.after_data)
        self._write_sheet_protection()
        write(frame.after_protection)
        self._write_header_footer()
        write(frame.tail)
        self._xml_close()
