"""Reading a returned file: what it holds, within firm limits.

`open_xlsx` has the zip checked before any real work (`archive`, the zip guard),
then inflates only the parts that are read, each once, within the limits, and
counts their cells and strings (`scans`). At opening, these are the parts every
reading needs: the workbook and its relationships (the sheet list, the defined
names), the custom properties (the identity) and the parts python-calamine opens
any workbook with (the package relationships, shared strings, styles). A sheet's
part is inflated only when that sheet is asked for — `XlsxContent.prepare`, or
its values, protection or formula cells — and a part nobody reads (a cover sheet,
a hidden list, the document properties, the theme) is never inflated at all: a
bomb there costs nothing.

The cell values are left to python-calamine, a Rust reader some hundred times
faster than openpyxl. It is handed the parts as inflated and checked here —
those it opens a workbook with, and the prepared sheets — repacked without
compression: it reads exactly what was bounded, inflates nothing again, and
finds no other part. It is not handed the styles: with them it turns a number
it takes for a date into a date, losing the number (59 and 60 both become
1900-02-28, 0.95 a time of day) and failing on one past its calendar. So every
number comes back as the number the cell holds, and `shown` gives the text its
number format makes of it (`xltool.numfmt`), from the styles read here.

Problems are returned as `Unreadable` with a code and a Chinese message; this
module never lets a malformed file raise past it.
"""

from __future__ import annotations

import functools
import io
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import python_calamine

from xltool.codes import (
    FILE_CORRUPT,
    FILE_CORRUPT_SHEETS,
    FILE_NOT_WORKBOOK_PARTS,
    FILE_TOO_LARGE_INFLATED,
    FILE_TOO_LARGE_MB,
)
from xltool.collect.archive import BROKEN, checked_parts, read_part, stored_zip, without
from xltool.collect.cells import rowcol
from xltool.collect.scans import (
    Counted,
    attributes,
    cell_formats,
    cell_styles,
    custom_properties,
    defined_names,
    error_cells,
    formula_cells_in,
    is_protected,
    relation_targets,
    sheet_elements,
    uses_1904,
)
from xltool.errors import Unreadable
from xltool.limits import DEFAULT_LIMITS, MB, Limits
from xltool.numfmt import builtin_format, render
from xltool.text import cell_text

WORKBOOK, WORKBOOK_RELS, CUSTOM = "xl/workbook.xml", "xl/_rels/workbook.xml.rels", \
    "docProps/custom.xml"


# The parts python-calamine opens any workbook with, found whatever their case as it finds
# them: it looks for no other until a sheet is asked for. All are read at opening; the
# styles are kept from it, and read here (see the module's docstring).
_STYLES = "xl/styles.xml"
_VALUE_READER_PARTS = frozenset({"_rels/.rels", WORKBOOK, WORKBOOK_RELS, "xl/sharedstrings.xml",
                                 _STYLES})


@dataclass(frozen=True)
class SheetInfo:
    """A sheet the workbook lists. Its part is inflated and checked the first time a
    question needs it, so `xml`, `protected` and `formula_cells` may raise `Unreadable`."""

    name: str
    part: str
    state: str
    _package: _Package = field(repr=False, compare=False)

    @property
    def xml(self) -> bytes:
        """The sheet's part, inflated and checked: kept while the file is open."""
        return self._package.part(self.part, self.name)

    @functools.cached_property
    def protected(self) -> bool:
        return is_protected(self.xml)

    @functools.cached_property
    def formula_cells(self) -> frozenset[str]:
        return frozenset(formula_cells_in(self.xml))

    @functools.cached_property
    def error_cells(self) -> dict[str, str]:
        """Each cell holding an error value, and the error (`#N/A`): the value reader gives
        such a cell as empty."""
        return error_cells(self.xml)


@dataclass(eq=False)
class XlsxContent:
    """An opened return: structure parsed, sheets read on demand.

    `prepare` the sheets to be read before their values: the value reader then opens the
    workbook once, with all of them. A sheet read unprepared is prepared then, and the
    workbook opened again.
    """

    sheets: dict[str, SheetInfo]
    defined_names: dict[str, str]
    properties: dict[str, str]
    _package: _Package = field(repr=False)
    _opened_with: frozenset[str] = field(default=frozenset(), repr=False)
    """The parts the value reader opens any workbook with, read at opening."""
    _names_at: slice | None = field(default=None, repr=False)
    _prepared: dict[str, None] = field(default_factory=dict, repr=False)
    _data: bytes | None = field(default=None, repr=False)
    _values: dict[str, list[list[Any]]] = field(default_factory=dict, repr=False)
    _book: Any = field(default=None, repr=False)

    def prepare(self, sheets: Iterable[str]) -> None:
        """Inflate and check the parts of SHEETS, counting their cells and strings, for the
        value reader; `Unreadable` when one cannot be read within the limits, KeyError for a
        sheet the workbook does not list."""
        parts = [(self.sheets[name].part, name) for name in sheets]
        added = False
        for part, name in parts:
            if part not in self._prepared:
                self._package.part(part, name)
                self._prepared[part] = None
                added = True
        if added and self._data is not None:  # the value reader has to be given them too
            self._data = None
            self.close()

    @property
    def data(self) -> bytes:
        """The workbook as the value reader is given it: the parts it opens any workbook
        with and the prepared sheets, as inflated and checked here, stored uncompressed."""
        if self._data is None:
            package = self._package
            given = [(info, package.read[name]) for name, info in package.parts.items()
                     if name in self._prepared or (name in self._opened_with and
                                                   name.lower() != _STYLES)]
            if self._names_at:
                given = without(given, WORKBOOK, self._names_at)
            stored = stored_zip(given)
            if stored is None:  # the file itself would let the reader inflate unchecked parts
                raise Unreadable(FILE_TOO_LARGE_INFLATED)
            self._data = stored
        return self._data

    def values(self, sheet: str) -> list[list[Any]]:
        """The sheet's values from A1 to its last cell; `Unreadable` when they cannot be read."""
        if sheet not in self._values:
            info = self.sheets.get(sheet)
            if info is not None and info.part not in self._prepared:
                self.prepare([sheet])
            self._values[sheet] = self._read(sheet)
        return self._values[sheet]

    def _read(self, sheet: str) -> list[list[Any]]:
        data = self.data
        try:
            if self._book is None:
                self._book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
            rows: list[list[Any]] = self._book.get_sheet_by_name(sheet).to_python(
                skip_empty_area=False)
        except python_calamine.CalamineError as error:
            raise Unreadable(FILE_CORRUPT, {"reason": error}, cut=200) from error
        except BaseException as error:  # a panic in the Rust reader is no Exception
            if type(error).__name__ != "PanicException":
                raise
            raise Unreadable(FILE_CORRUPT, {"reason": "读取器无法解析"}) from error
        return rows

    def cell(self, sheet: str, ref: str) -> Any:
        """The value at `ref` (cached value for a formula), None when empty."""
        row, col = rowcol(ref)
        rows = self.values(sheet)
        if row >= len(rows) or col >= len(rows[row]):
            return None
        value = rows[row][col]
        return None if value == "" else value

    def shown(self, sheet: str, values: dict[str, Any]) -> dict[str, str]:
        """The text each of VALUES (a number, date, time or boolean the sheet's cell holds,
        by cell: `C12`) shows, by the cell's number format; a value of a cell the sheet's
        XML does not place is shown as `cell_text` writes it."""
        styles = cell_styles(self.sheets[sheet].xml, values)
        date1904 = self._formats.date1904
        return {cell: render(value, self._formats.code(styles[cell]), date1904=date1904)
                if cell in styles else cell_text(value) for cell, value in values.items()}

    @functools.cached_property
    def _formats(self) -> _Formats:
        package = self._package
        styles = next((package.read[name] for name in self._opened_with
                       if name.lower() == _STYLES and name in package.read), b"")
        return _Formats(*cell_formats(styles), uses_1904(package.part(WORKBOOK)))

    def close(self) -> None:
        if self._book is not None:
            self._book.close()
            self._book = None


@dataclass(frozen=True)
class _Formats:
    """The styles part's number formats, and the workbook's date system."""

    style_formats: tuple[int, ...]
    """Each cell style's number format id, by the style's index (a cell's `s`)."""
    codes: dict[int, str]
    """The format codes the file defines, by id (164 on; a built-in id may be redefined)."""
    date1904: bool

    def code(self, style: int) -> str:
        """The format code of cell style STYLE; General for a style the part lacks."""
        number = self.style_formats[style] if 0 <= style < len(self.style_formats) else 0
        return self.codes.get(number) or builtin_format(number)


def open_xlsx(data: bytes, limits: Limits = DEFAULT_LIMITS,
              entries: list[zipfile.ZipInfo] | None = None) -> XlsxContent:
    """Check the package and read its structure; raise `Unreadable` with the reason.

    ENTRIES, when given, are the zip's entries as `sniff_entries` read them from DATA.
    """
    if len(data) > limits.max_file_bytes:
        raise Unreadable(FILE_TOO_LARGE_MB, {"mb": len(data) // MB})
    try:
        if not entries:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                entries = archive.infolist()
        parts = checked_parts(entries, limits)
        return _structure(parts, data, limits)
    except Unreadable:
        raise
    except BROKEN as error:
        raise _broken(error) from error


def custom_properties_alone(data: bytes, entries: list[zipfile.ZipInfo],
                            limits: Limits) -> dict[str, str]:
    """A workbook's custom properties, read within the limits without the rest of it (for
    a file `open_xlsx` refused: it may still say what it is); {} when they cannot be read."""
    try:
        parts = checked_parts(entries, limits)
        return custom_properties(read_part(data, parts[CUSTOM], limits)) if CUSTOM in parts \
            else {}
    except (Unreadable, *BROKEN):
        return {}


def _broken(error: BaseException) -> Unreadable:
    reason = "压缩数据损坏" if isinstance(error, zlib.error) else type(error).__name__
    return Unreadable(FILE_CORRUPT, {"reason": reason})


class _Package:
    """The file's parts, each inflated, checked and counted the first time it is read."""

    def __init__(self, data: bytes, parts: dict[str, zipfile.ZipInfo], limits: Limits) -> None:
        self.data = data
        self.parts = parts
        self.limits = limits
        self.counted = Counted(limits, sum(info.file_size for info in parts.values()))
        self.read: dict[str, bytes] = {}

    def part(self, name: str, where: str = "") -> bytes:
        """Part NAME, inflated and checked; `Unreadable` when it cannot be read within the
        limits. WHERE names it in a message: the sheet it holds, if any."""
        xml = self.read.get(name)
        if xml is None:
            try:
                xml = read_part(self.data, self.parts[name], self.limits)
                self.counted.add(xml, where or name)
            except BROKEN as error:  # asked for after opening, too: no caller to translate
                raise _broken(error) from error
            self.read[name] = xml
        return xml


def _structure(parts: dict[str, zipfile.ZipInfo], data: bytes, limits: Limits) -> XlsxContent:
    """The structure, read from the parts every reading needs, each inflated once within the
    limits and counted; a sheet's part waits until that sheet is asked for."""
    if WORKBOOK not in parts or WORKBOOK_RELS not in parts:
        raise Unreadable(FILE_NOT_WORKBOOK_PARTS)
    package = _Package(data, parts, limits)
    workbook = package.part(WORKBOOK)
    targets = relation_targets(package.part(WORKBOOK_RELS))
    listed = [attributes(m.group(1)) for m in sheet_elements(workbook)]
    _unique_sheet_names(listed)
    first_named: dict[str, str] = {}
    for found in listed:
        first_named.setdefault(targets.get(found.get("id"), ""), found.get("name", ""))
    opened_with = frozenset(name for name in parts
                            if name.isascii() and name.lower() in _VALUE_READER_PARTS)
    for name in parts:
        if name in opened_with:
            package.part(name, first_named.get(name, name))
    properties = custom_properties(package.part(CUSTOM)) if CUSTOM in parts else {}
    sheets = {}
    for found in listed:
        path = targets.get(found.get("id"), "")
        if path in parts:
            sheet = found.get("name", "")
            sheets[sheet] = SheetInfo(sheet, path, found.get("state", "visible"), package)
    names, names_at = defined_names(workbook)
    return XlsxContent(sheets, names, properties, package, opened_with, names_at)


def _unique_sheet_names(listed: list[dict[str, str]]) -> None:
    """Two sheets of one name: readers disagree on which one a name means."""
    seen: set[str] = set()
    for found in listed:
        name = found.get("name", "")
        if name.casefold() in seen:
            raise Unreadable(FILE_CORRUPT_SHEETS, {"sheet": name[:31]})
        seen.add(name.casefold())
