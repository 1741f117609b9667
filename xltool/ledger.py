"""The master ledger (总账 / 预算台账): the finance office's list of projects and amounts.

Everything downstream (templates, reconciliation, disclosure) trusts these figures,
so the reader never guesses: codes stay text, names and other text stay as written
(trimmed; NFKC folding only where keys are compared), amounts are `Decimal` in 万元,
and every doubtful cell becomes a `Finding` for the clerk instead of an exception.
Only a file that cannot be opened at all raises (`LedgerUnreadable`).

Two declarative tables drive everything here: `LEDGER_COLUMNS` (what a ledger
holds and how each column is spelled and read) and the `ledger.*` problems of the
catalogue of codes (`xltool.codes.LEDGER_PROBLEMS`: what can be wrong with it, with
the message and the fix shown to the clerk).
"""

from __future__ import annotations

import csv
import io
import math
import re
import warnings
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

if TYPE_CHECKING:
    import pandas as pd

from xltool.codes import (
    LEDGER_AMOUNT_UNIT,
    LEDGER_BAD_AMOUNT,
    LEDGER_BAD_EMAIL,
    LEDGER_BAD_YEAR,
    LEDGER_CODE_AS_NUMBER,
    LEDGER_DEPARTMENT_CODE_CONFLICT,
    LEDGER_DEPARTMENT_NAME_CONFLICT,
    LEDGER_DUPLICATE_CODE,
    LEDGER_DUPLICATE_COLUMN,
    LEDGER_EMPTY,
    LEDGER_EMPTY_CODE,
    LEDGER_EMPTY_DEPARTMENT,
    LEDGER_EMPTY_DEPARTMENT_CODE,
    LEDGER_EMPTY_NAME,
    LEDGER_MISSING_AMOUNT,
    LEDGER_MISSING_COLUMN,
    LEDGER_MISSING_YEAR,
    LEDGER_MIXED_YEARS,
    LEDGER_NEGATIVE_AMOUNT,
    LEDGER_ROW_WITHOUT_PROJECT,
    LEDGER_TOTAL_MISMATCH,
    Problem,
)
from xltool.errors import LedgerHasErrors, LedgerUnreadable
from xltool.findings import Finding
from xltool.money import TOLERANCE
from xltool.text import cell_text, code_text, normalise_key, normalise_text

AmountUnit = Literal["万元", "元"]
_T = TypeVar("_T")

AMOUNT_TOLERANCE = TOLERANCE
"""万元. Ledgers print amounts rounded to 0.01 万元; differences below half of that are rounding."""

HEADER_SEARCH_ROWS = 10
"""The header row is looked for in this many rows at the top: titles and notes come first."""

YUAN_PER_WAN = Decimal(10000)

_EXCEL_DIGITS = 15
"""Excel keeps 15 significant digits: a longer code saved as a number is already damaged."""

# ---------------------------------------------------------------------------
# The columns
# ---------------------------------------------------------------------------


class ColumnKind(StrEnum):
    TEXT = "text"
    CODE = "code"
    AMOUNT = "amount"
    YEAR = "year"


@dataclass(frozen=True, kw_only=True)
class LedgerColumn:
    """One ledger column: how it is spelled, whether it must be there, and how it is read."""

    key: str
    """English name; also accepted as a header (case, spaces and underscores ignored)."""
    header: str
    """The canonical Chinese header."""
    attr: str
    """The `LedgerProject` field it fills."""
    kind: ColumnKind
    required: bool = False
    aliases: tuple[str, ...] = ()
    meaning: str = ""

    @property
    def spellings(self) -> tuple[str, ...]:
        return (self.header, *self.aliases, self.key)


LEDGER_COLUMNS: tuple[LedgerColumn, ...] = (
    LedgerColumn(key="year", header="年度", attr="year", kind=ColumnKind.YEAR, required=True,
                 aliases=("预算年度",), meaning="预算年度，四位数字，如 2024"),
    LedgerColumn(key="department_code", header="主管部门编码", attr="department_code",
                 kind=ColumnKind.CODE, required=True,
                 aliases=("主管部门代码", "部门编码", "部门代码"),
                 meaning="主管部门的编码，按文本保存（保留开头的 0）"),
    LedgerColumn(key="department", header="主管部门", attr="department", kind=ColumnKind.TEXT,
                 required=True, aliases=("主管部门名称", "部门名称"), meaning="主管部门名称"),
    LedgerColumn(key="unit", header="实施单位", attr="unit", kind=ColumnKind.TEXT,
                 aliases=("项目实施单位",), meaning="实施单位，可与主管部门不同"),
    LedgerColumn(key="project_code", header="项目编码", attr="code", kind=ColumnKind.CODE,
                 required=True, aliases=("项目代码",), meaning="项目编码，按文本保存，不得重复"),
    LedgerColumn(key="project_name", header="项目名称", attr="name", kind=ColumnKind.TEXT,
                 required=True, meaning="项目名称"),
    LedgerColumn(key="attribute", header="项目属性", attr="attribute", kind=ColumnKind.TEXT,
                 meaning="一次性项目、经常性项目、延续性项目……"),
    LedgerColumn(key="period", header="项目期", attr="period", kind=ColumnKind.TEXT,
                 aliases=("项目期限",), meaning="如 1年、2024-2026"),
    LedgerColumn(key="total", header="年度资金总额", attr="total", kind=ColumnKind.AMOUNT,
                 required=True, aliases=("年度资金总额（万元）",),
                 meaning="万元；= 财政拨款 + 其他资金 + 结余结转"),
    LedgerColumn(key="fiscal", header="财政拨款", attr="fiscal", kind=ColumnKind.AMOUNT,
                 required=True, aliases=("其中：财政拨款",), meaning="万元"),
    LedgerColumn(key="other", header="其他资金", attr="other", kind=ColumnKind.AMOUNT,
                 meaning="万元；空着按 0 计"),
    LedgerColumn(key="carryover", header="结余结转", attr="carryover", kind=ColumnKind.AMOUNT,
                 aliases=("结转结余",), meaning="万元；空着按 0 计"),
    LedgerColumn(key="supervisor", header="项目主管处室", attr="supervisor",
                 kind=ColumnKind.TEXT, aliases=("主管处室",), meaning="财政局负责该项目的处室"),
    LedgerColumn(key="email", header="联系邮箱", attr="email", kind=ColumnKind.TEXT,
                 aliases=("电子邮箱", "邮箱"), meaning="部门联系人的邮箱，多个用分号隔开"),
)

COLUMNS_BY_KEY: Mapping[str, LedgerColumn] = {column.key: column for column in LEDGER_COLUMNS}
AMOUNT_PARTS = ("fiscal", "other", "carryover")
"""The parts that add up to `total`."""

# Headers say which column by wording, not by place; decorations people add
# around the wording (a `*` for required, `其中：`, a unit) do not change the column.
_UNIT_SUFFIX = re.compile(r"\((万元|元)\)$")
_HEADER_PREFIXES = ("其中:",)


def _header_parts(value: object) -> tuple[str, str | None]:
    """The matching key of a header cell and the unit it states, if any."""
    key = normalise_key(value).casefold().replace("_", "").strip("*")
    for prefix in _HEADER_PREFIXES:
        key = key.removeprefix(prefix)
    unit = _UNIT_SUFFIX.search(key)
    if unit is None:
        return key, None
    return key[: unit.start()], unit.group(1)


def _header_index() -> dict[str, LedgerColumn]:
    index: dict[str, LedgerColumn] = {}
    for column in LEDGER_COLUMNS:
        for spelling in column.spellings:
            key, _ = _header_parts(spelling)
            # Two columns sharing a spelling would make reading depend on column order.
            assert index.setdefault(key, column) is column, f"spelling {spelling!r} is ambiguous"
    return index


_HEADER_INDEX = _header_index()


def match_header(value: object) -> LedgerColumn | None:
    """The ledger column a header cell names, or None for a column the ledger does not use."""
    return _HEADER_INDEX.get(_header_parts(value)[0])


def column_reference() -> str:
    """The accepted columns, one a line, for `--help` and the README."""
    lines = []
    for column in LEDGER_COLUMNS:
        need = "必填" if column.required else "选填"
        spellings = " / ".join(column.spellings[1:])
        lines.append(f"{column.header}（{need}）：{column.meaning}。也可写作 {spellings}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# The records
# ---------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class LedgerProject:
    """One project row. Amounts in 万元; None where the cell was empty or unreadable."""

    year: int | None = None
    department_code: str = ""
    department: str = ""
    unit: str = ""
    code: str = ""
    name: str = ""
    attribute: str = ""
    period: str = ""
    total: Decimal | None = None
    fiscal: Decimal | None = None
    other: Decimal | None = None
    carryover: Decimal | None = None
    supervisor: str = ""
    email: str = ""
    row: int
    """1-based row number in the file, header included: what Excel shows."""

    def header_text(self, key: str) -> str:
        """What a form's header field KEY (a profile's `HeaderKey`: `unit`, `period` …) shows
        for this project: the templates print it, and `publish --ledger` prints it now."""
        if key == "department_with_code":
            return f"{self.department}（{self.department_code}）"
        attribute = {"project_name": "name", "project_code": "code"}.get(key, key)
        return str(getattr(self, attribute) or "")


@dataclass(frozen=True)
class DepartmentTotals:
    code: str
    name: str
    projects: int
    total: Decimal
    fiscal: Decimal
    other: Decimal
    carryover: Decimal


_SUMMARY_COLUMNS = ("主管部门编码", "主管部门", "项目数", "年度资金总额", "财政拨款", "其他资金",
                    "结余结转")
_FRAME_DTYPES = {ColumnKind.TEXT: "str", ColumnKind.CODE: "str", ColumnKind.AMOUNT: "object",
                 ColumnKind.YEAR: "Int64"}


def _amount(value: Decimal | None) -> Decimal:
    return Decimal(0) if value is None else value


@dataclass(frozen=True)
class Ledger:
    """The projects of a ledger file and everything found wrong with it."""

    path: Path
    projects: tuple[LedgerProject, ...]
    problems: tuple[Finding, ...]

    @property
    def has_errors(self) -> bool:
        return any(problem.is_error for problem in self.problems)

    @property
    def error_count(self) -> int:
        return sum(problem.is_error for problem in self.problems)

    @property
    def warning_count(self) -> int:
        return len(self.problems) - self.error_count

    def without_errors(self, refused: str) -> Ledger:
        """The ledger, once it has no error; else LedgerHasErrors naming the first few and
        saying what was REFUSED (未生成模板): a ledger with errors would carry wrong amounts."""
        if not self.has_errors:
            return self
        first = [f"{p.where}: {p.message}" for p in self.problems if p.is_error][:5]
        raise LedgerHasErrors(
            f"预算台账 {self.path.name} 有 {self.error_count} 处错误，{refused}。"
            f"请先用 `xltool ledger` 查看并改正：\n  " + "\n  ".join(first))

    @property
    def year(self) -> int | None:
        """The year of the ledger, or None when no year or several years are given."""
        years = {project.year for project in self.projects if project.year is not None}
        return years.pop() if len(years) == 1 else None

    @property
    def departments(self) -> tuple[tuple[str, str], ...]:
        """(code, name) per department code, in ledger order; the first name seen wins."""
        return tuple((code, group[0].department) for code, group in self.by_department().items())

    def by_department(self) -> dict[str, tuple[LedgerProject, ...]]:
        groups: dict[str, list[LedgerProject]] = {}
        for project in self.projects:
            groups.setdefault(project.department_code, []).append(project)
        return {code: tuple(group) for code, group in groups.items()}

    @cached_property
    def _by_code(self) -> dict[str, LedgerProject]:
        index: dict[str, LedgerProject] = {}
        for project in self.projects:
            index.setdefault(project.code, project)
        return index

    def project(self, code: object) -> LedgerProject | None:
        """The (first) project with this code; the code is compared as text (812 == "812")."""
        return self._by_code.get(code_text(code))

    def department_totals(self) -> tuple[DepartmentTotals, ...]:
        return tuple(_totals(code, group) for code, group in self.by_department().items())

    def frame(self) -> pd.DataFrame:
        """One row per project, Chinese headers; codes as text, amounts as `Decimal`."""
        import pandas as pd  # loaded by the call that needs it: `xltool ledger` shows no frame

        data: dict[str, pd.Series[Any]] = {
            "行号": pd.Series([p.row for p in self.projects], dtype="int64")}
        for column in LEDGER_COLUMNS:
            values = [getattr(p, column.attr) for p in self.projects]
            data[column.header] = pd.Series(values, dtype=_FRAME_DTYPES[column.kind])
        return pd.DataFrame(data)

    def summary(self) -> pd.DataFrame:
        """Per department, in ledger order: project count and amount sums (`Decimal`)."""
        import pandas as pd

        rows = [(t.code, t.name, t.projects, t.total, t.fiscal, t.other, t.carryover)
                for t in self.department_totals()]
        return pd.DataFrame(rows, columns=list(_SUMMARY_COLUMNS)).astype(
            {"项目数": "int64", "年度资金总额": "object", "财政拨款": "object",
             "其他资金": "object", "结余结转": "object"})

    def to_dict(self) -> dict[str, Any]:
        """The ledger in brief, for `--json` (amounts stay `Decimal`: the encoder writes text)."""
        totals = self.department_totals()
        return {
            "file": self.path.name,
            "year": self.year,
            "departments": [
                {"code": t.code, "name": t.name, "projects": t.projects, "total": t.total,
                 "fiscal": t.fiscal, "other": t.other, "carryover": t.carryover}
                for t in totals],
            "problems": [problem.to_dict() for problem in self.problems],
            "summary": {"projects": len(self.projects), "departments": len(totals),
                        "total": sum((t.total for t in totals), Decimal(0)),
                        "errors": self.error_count, "warnings": self.warning_count},
        }


def _totals(code: str, group: Sequence[LedgerProject]) -> DepartmentTotals:
    def total(attr: str) -> Decimal:
        return sum((_amount(getattr(p, attr)) for p in group), Decimal(0))

    return DepartmentTotals(code, group[0].department, len(group), total("total"),
                            total("fiscal"), total("other"), total("carryover"))


# ---------------------------------------------------------------------------
# Reading the file into rows of cells
# ---------------------------------------------------------------------------

_Rows = Sequence[Sequence[object]]
"""Cells by row; rows[0] is row 1 of the file."""

_XLSX_SUFFIXES = (".xlsx", ".xlsm")
_CSV_DELIMITERS = (",", "\t")


def _unreadable(path: Path, reason: str) -> LedgerUnreadable:
    return LedgerUnreadable(f"无法读取总账 {path.name}：{reason}")


def _read_rows(path: Path, encoding: str | None) -> _Rows:
    if not path.is_file():
        raise _unreadable(path, "文件不存在")
    suffix = path.suffix.lower()
    if suffix in _XLSX_SUFFIXES:
        return _read_xlsx(path)
    if suffix == ".csv":
        return _read_csv(path, encoding)
    if suffix == ".xls":
        raise _unreadable(path, "旧版 .xls 格式不支持，请在 Excel 中另存为 .xlsx")
    raise _unreadable(path, f"不支持“{path.suffix or '无扩展名'}”文件，总账须为 .xlsx 或 .csv")


def _read_xlsx(path: Path) -> _Rows:
    import openpyxl  # a CSV ledger, and the command line's help, do without it

    workbook = _guard_xlsx(path, lambda: openpyxl.load_workbook(
        path, read_only=True, data_only=True))
    try:
        heads = [_sheet_rows(path, sheet, HEADER_SEARCH_ROWS) for sheet in workbook.worksheets]
        if not heads:
            return []
        chosen = _best_of([_find_layout(head) for head in heads])
        return _sheet_rows(path, workbook.worksheets[chosen], None)
    finally:
        workbook.close()


def _sheet_rows(path: Path, sheet: Any, limit: int | None) -> list[tuple[object, ...]]:
    # Files written by some programs carry a wrong <dimension>; read_only mode
    # would trust it and cut the sheet short.
    sheet.reset_dimensions()
    return _guard_xlsx(path, lambda: list(sheet.iter_rows(max_row=limit, values_only=True)))


def _guard_xlsx(path: Path, read: Callable[[], _T]) -> _T:
    """Run an openpyxl call; any failure means the file is damaged, not that xltool is."""
    try:
        with warnings.catch_warnings():
            # openpyxl warns about styles and extensions it drops; only values are read here.
            warnings.simplefilter("ignore", UserWarning)
            return read()
    except Exception as error:  # openpyxl's failures on a damaged file are not enumerable
        raise _unreadable(path, f"不是有效的 .xlsx 文件（{type(error).__name__}: {error}）") \
            from error


def _read_csv(path: Path, encoding: str | None) -> _Rows:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise _unreadable(path, f"无法打开（{error.strerror}）") from error
    text = _decode(path, data, encoding)
    try:
        tables = [list(csv.reader(io.StringIO(text, newline=""), delimiter=d))
                  for d in _CSV_DELIMITERS]
    except csv.Error as error:
        raise _unreadable(path, f"CSV 格式错误（{error}）") from error
    # Tab-separated text saved as .csv is common; the delimiter that yields the header wins.
    return tables[_best_of([_find_layout(table[:HEADER_SEARCH_ROWS]) for table in tables])]


def _decode(path: Path, data: bytes, encoding: str | None) -> str:
    for name in (encoding,) if encoding else ("utf-8-sig", "gb18030"):
        try:
            return data.decode(name).removeprefix("\ufeff")
        except LookupError as error:
            raise _unreadable(path, f"不认识的编码“{name}”") from error
        except UnicodeDecodeError:
            continue
    tried = encoding or "UTF-8 和 GB18030"
    raise _unreadable(path, f"无法按 {tried} 解码，请另存为 UTF-8 编码的 CSV")


# ---------------------------------------------------------------------------
# Finding the header
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Layout:
    """Where the header is and which column sits where."""

    header_row: int
    data_start: int
    columns: Mapping[str, tuple[int, str]] = field(default_factory=dict)
    """key -> (0-based index, the header as the file spells it)"""
    duplicates: tuple[tuple[str, int, int], ...] = ()
    """(key, first index, repeated index)"""
    units: Mapping[str, str] = field(default_factory=dict)
    """key -> unit stated in the header, e.g. 年度资金总额（元）"""

    @property
    def complete(self) -> bool:
        return all(c.key in self.columns for c in LEDGER_COLUMNS if c.required)

    @property
    def score(self) -> int:
        return len(self.columns)


def _layout_of(cells: Sequence[object], header_row: int, data_start: int) -> _Layout:
    columns: dict[str, tuple[int, str]] = {}
    duplicates: list[tuple[str, int, int]] = []
    units: dict[str, str] = {}
    for index, cell in enumerate(cells):
        column = match_header(cell)
        if column is None:
            continue
        if column.key in columns:
            duplicates.append((column.key, columns[column.key][0], index))
            continue
        # As spelled (full-width brackets included): the clerk searches the sheet for it.
        columns[column.key] = (index, " ".join(str(cell).split()))
        if (unit := _header_parts(cell)[1]) is not None:
            units[column.key] = unit
    return _Layout(header_row, data_start, columns, tuple(duplicates), units)


def _two_row_header(top: Sequence[object], bottom: Sequence[object]) -> list[object]:
    """A header whose amounts sit under a merged 项目资金（万元） cell spans two rows."""
    width = max(len(top), len(bottom))
    cells = []
    for index in range(width):
        lower = bottom[index] if index < len(bottom) else None
        upper = top[index] if index < len(top) else None
        cells.append(lower if match_header(lower) is not None else upper)
    return cells


def _candidates(rows: _Rows) -> Iterator[_Layout]:
    for index, cells in enumerate(rows[:HEADER_SEARCH_ROWS]):
        single = _layout_of(cells, index + 1, index + 2)
        yield single
        if index + 1 < len(rows):
            below = _layout_of(rows[index + 1], index + 2, index + 3)
            merged = _layout_of(_two_row_header(cells, rows[index + 1]), index + 1, index + 3)
            # Two rows are one header only if each adds columns the other lacks; otherwise a
            # title above the header (or the first data row below it) would pass for half of one.
            if merged.score > max(single.score, below.score):
                yield merged


def _find_layout(rows: _Rows) -> _Layout:
    """The first complete header in the top rows, else the one that names most columns."""
    best = _Layout(header_row=1, data_start=2)
    for layout in _candidates(rows):
        if layout.complete:
            return layout
        if layout.score > best.score:
            best = layout
    return best


def _best_of(layouts: Sequence[_Layout]) -> int:
    """Index of the first complete layout, else of the highest-scoring one (first on ties)."""
    for index, layout in enumerate(layouts):
        if layout.complete:
            return index
    return max(range(len(layouts)), key=lambda i: (layouts[i].score, -i))


# ---------------------------------------------------------------------------
# Reading cells
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Cell:
    value: object
    problem: Problem | None = None


_Parser = Callable[[object, AmountUnit], _Cell]
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_NIL = frozenset({"", "-", "--", "—", "——"})
"""Ledgers print a dash for "none"; it is an empty cell, not a bad number."""
_SCIENTIFIC = re.compile(r"[0-9](?:\.[0-9]+)?e[+-]?[0-9]+", re.IGNORECASE)
_YEAR = re.compile(r"([0-9]{4})(?:年度?)?")
_YEARS = range(1900, 2101)


def _is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _display(value: object) -> str:
    """A cell value as the clerk sees it (0.1 not 0.1000000000000000055, 812 not 812.0)."""
    return cell_text(value)


def _parse_text(raw: object, unit: AmountUnit) -> _Cell:
    """Text as the ledger writes it, trimmed: `办公经费（含会议、培训）` reaches the templates
    and the disclosure with its own brackets. Only keys are folded, where they are compared."""
    return _Cell(_display(raw))


def _parse_code(raw: object, unit: AmountUnit) -> _Cell:
    if isinstance(raw, float) and not math.isfinite(raw):
        return _Cell(_display(raw), LEDGER_CODE_AS_NUMBER)
    if isinstance(raw, float) and abs(raw) >= 10**_EXCEL_DIGITS:
        return _Cell(_display(raw), LEDGER_CODE_AS_NUMBER)
    text = code_text(raw)
    if isinstance(raw, str) and _SCIENTIFIC.fullmatch(text):
        return _Cell(text, LEDGER_CODE_AS_NUMBER)
    return _Cell(text)


def _number(raw: object) -> Decimal | None:
    """The number in a cell, exactly as written; None when it is not a number."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int | Decimal):
        number = Decimal(raw)
    elif isinstance(raw, float):
        number = Decimal(str(raw))  # str() gives the shortest repr: 0.1, not its binary artefact
    elif isinstance(raw, str):
        text = normalise_key(raw).replace(",", "").replace("\u2212", "-")
        if not _NUMBER.fullmatch(text):
            return None
        number = Decimal(text)
    else:
        return None
    return number if number.is_finite() else None


def _parse_amount(raw: object, unit: AmountUnit) -> _Cell:
    if _is_blank(raw) or (isinstance(raw, str) and normalise_key(raw) in _NIL):
        return _Cell(None)
    number = _number(raw)
    if number is None:
        return _Cell(None, LEDGER_BAD_AMOUNT)
    return _Cell(number / YUAN_PER_WAN if unit == "元" else number)


def _parse_year(raw: object, unit: AmountUnit) -> _Cell:
    if _is_blank(raw):
        return _Cell(None)
    number = _number(raw)
    # The range test comes first: a thousand-digit "year" must not reach int().
    if number is not None and abs(number) < 10000 and number == number.to_integral_value():
        text = str(int(number))
    else:
        text = normalise_key(raw)
    match = _YEAR.fullmatch(text)
    if match is None or int(match.group(1)) not in _YEARS:
        return _Cell(None, LEDGER_BAD_YEAR)
    return _Cell(int(match.group(1)))


_PARSERS: Mapping[ColumnKind, _Parser] = {
    ColumnKind.TEXT: _parse_text,
    ColumnKind.CODE: _parse_code,
    ColumnKind.AMOUNT: _parse_amount,
    ColumnKind.YEAR: _parse_year,
}


# ---------------------------------------------------------------------------
# Rows
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Context:
    """What every check needs to word a finding."""

    file: str
    layout: _Layout
    unit: AmountUnit

    def has(self, key: str) -> bool:
        return key in self.layout.columns

    def header(self, key: str) -> str:
        """The column as the file spells it, else its canonical Chinese header."""
        spelled = self.layout.columns.get(key)
        return spelled[1] if spelled else COLUMNS_BY_KEY[key].header

    def finding(self, problem: Problem, *, row: int | None, key: str = "",
                value: object = "", project: LedgerProject | None = None,
                **facts: object) -> Finding:
        column = self.header(key) if key else ""
        shown = _display(value)
        return problem.finding(
            {"column": column, "value": shown, "unit": self.unit,
             "project": _project_label(project), **facts},
            file=self.file, row=row, column=column, value=shown,
            department=_department_label(project),
            project="" if project is None else project.code or project.name)


def _project_label(project: LedgerProject | None) -> str:
    """How a message names the project: by name, which the clerk recognises."""
    return "" if project is None else project.name or project.code


def _department_label(project: LedgerProject | None) -> str:
    return "" if project is None else project.department or project.department_code


@dataclass(frozen=True)
class _Row:
    """A project row with the problems found while reading its cells."""

    project: LedgerProject
    raw: Mapping[str, object]
    invalid: frozenset[str]
    """Keys whose cell held something unreadable (already reported; checks skip them)."""
    cell_problems: tuple[tuple[str, Problem], ...]


_TOTAL_LABEL = re.compile(r"(合计|总计|小计)\W*")
_HEADER_KEYS = ("project_code", "project_name")


def _raw_cells(cells: Sequence[object], layout: _Layout) -> dict[str, object]:
    return {key: cells[index] if index < len(cells) else None
            for key, (index, _) in layout.columns.items()}


def _is_total_row(raw: Mapping[str, object]) -> bool:
    return any(isinstance(v, str) and _TOTAL_LABEL.fullmatch(normalise_key(v))
               for v in raw.values())


def _is_repeated_header(raw: Mapping[str, object]) -> bool:
    return any(match_header(raw.get(key)) is COLUMNS_BY_KEY[key] for key in _HEADER_KEYS)


def _parse_row(raw: Mapping[str, object], row: int, unit: AmountUnit) -> _Row:
    values: dict[str, Any] = {}
    problems: list[tuple[str, Problem]] = []
    for key, cell in raw.items():
        column = COLUMNS_BY_KEY[key]
        parsed = _PARSERS[column.kind](cell, unit)
        values[column.attr] = parsed.value
        if parsed.problem is not None:
            problems.append((key, parsed.problem))
    invalid = frozenset(key for key, problem in problems if problem is not LEDGER_CODE_AS_NUMBER)
    return _Row(LedgerProject(row=row, **values), raw, invalid, tuple(problems))


def _read_projects(rows: _Rows, ctx: _Context) -> tuple[list[_Row], list[Finding]]:
    """Project rows, and findings about rows that look like data but hold no project."""
    projects: list[_Row] = []
    skipped: list[Finding] = []
    for number in range(ctx.layout.data_start, len(rows) + 1):
        raw = _raw_cells(rows[number - 1], ctx.layout)
        if all(_is_blank(v) for v in raw.values()) or _is_repeated_header(raw):
            continue
        parsed = _parse_row(raw, number, ctx.unit)
        if parsed.project.code or parsed.project.name:
            projects.append(parsed)
        elif _identifiable(ctx) and not _is_total_row(raw) and _has_amount(raw):
            skipped.append(ctx.finding(LEDGER_ROW_WITHOUT_PROJECT, row=number))
    return projects, skipped


def _identifiable(ctx: _Context) -> bool:
    """Whether the file could name a project at all; if not, missing_column covers every row."""
    return ctx.has("project_code") or ctx.has("project_name")


def _has_amount(raw: Mapping[str, object]) -> bool:
    return any(not _is_blank(v) for k, v in raw.items()
               if COLUMNS_BY_KEY[k].kind is ColumnKind.AMOUNT)


# ---------------------------------------------------------------------------
# Checks: each a small function; they only look at columns the file has
# ---------------------------------------------------------------------------


def _check_layout(ctx: _Context) -> Iterator[Finding]:
    layout = ctx.layout
    for column in LEDGER_COLUMNS:
        if column.required and not ctx.has(column.key):
            yield ctx.finding(LEDGER_MISSING_COLUMN, row=layout.header_row, key=column.key,
                              spellings="、".join(column.spellings))
    for key, first, again in layout.duplicates:
        from openpyxl.utils import get_column_letter  # only a faulty header pays for it

        yield ctx.finding(LEDGER_DUPLICATE_COLUMN, row=layout.header_row, key=key,
                          first=get_column_letter(first + 1), again=get_column_letter(again + 1))
    for key, stated in layout.units.items():
        if COLUMNS_BY_KEY[key].kind is ColumnKind.AMOUNT and stated != ctx.unit:
            yield ctx.finding(LEDGER_AMOUNT_UNIT, row=layout.header_row, key=key, stated=stated)


def _check_cells(row: _Row, ctx: _Context) -> Iterator[Finding]:
    for key, problem in row.cell_problems:
        yield ctx.finding(problem, row=row.project.row, key=key, value=row.raw[key],
                          project=row.project)


_REQUIRED_TEXT = (
    ("project_code", LEDGER_EMPTY_CODE),
    ("project_name", LEDGER_EMPTY_NAME),
    ("department_code", LEDGER_EMPTY_DEPARTMENT_CODE),
    ("department", LEDGER_EMPTY_DEPARTMENT),
)


def _check_required_text(row: _Row, ctx: _Context) -> Iterator[Finding]:
    for key, problem in _REQUIRED_TEXT:
        if ctx.has(key) and not getattr(row.project, COLUMNS_BY_KEY[key].attr):
            yield ctx.finding(problem, row=row.project.row, key=key, project=row.project)


def _check_year(row: _Row, ctx: _Context) -> Iterator[Finding]:
    if ctx.has("year") and row.project.year is None and "year" not in row.invalid:
        yield ctx.finding(LEDGER_MISSING_YEAR, row=row.project.row, key="year", project=row.project)


def _check_required_amounts(row: _Row, ctx: _Context) -> Iterator[Finding]:
    for key in ("total", "fiscal"):
        if ctx.has(key) and getattr(row.project, key) is None and key not in row.invalid:
            yield ctx.finding(LEDGER_MISSING_AMOUNT, row=row.project.row, key=key,
                              project=row.project)


def _check_negative(row: _Row, ctx: _Context) -> Iterator[Finding]:
    for key in ("total", *AMOUNT_PARTS):
        amount = getattr(row.project, key)
        if amount is not None and amount < 0:
            yield ctx.finding(LEDGER_NEGATIVE_AMOUNT, row=row.project.row, key=key, value=amount,
                              project=row.project)


def _check_total(row: _Row, ctx: _Context) -> Iterator[Finding]:
    project = row.project
    # Missing or unreadable figures are reported on their own; a sum over them is noise.
    if project.total is None or project.fiscal is None or row.invalid & {"total", *AMOUNT_PARTS}:
        return
    parts = {key: _amount(getattr(project, key)) for key in AMOUNT_PARTS}
    difference = project.total - sum(parts.values(), Decimal(0))
    if abs(difference) > AMOUNT_TOLERANCE:
        yield ctx.finding(
            LEDGER_TOTAL_MISMATCH, row=project.row, key="total", value=project.total,
            project=project,
            total=_display(project.total), parts=_display(project.total - difference),
            difference=_display(difference), **{k: _display(v) for k, v in parts.items()})


_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
_EMAIL_SEPARATORS = re.compile(r"[;,；，、\s]+")


def email_addresses(text: str) -> list[str]:
    """The addresses of a 联系邮箱 cell, NFKC-folded: an address typed with a Chinese input
    method (＠, full-width letters) is one; separated by any of ; , ； ， 、 or spaces."""
    return [a for a in _EMAIL_SEPARATORS.split(normalise_text(text)) if a]


def _check_email(row: _Row, ctx: _Context) -> Iterator[Finding]:
    addresses = email_addresses(row.project.email)
    if any(not (_EMAIL.fullmatch(a) and a.isascii()) for a in addresses):
        yield ctx.finding(LEDGER_BAD_EMAIL, row=row.project.row, key="email",
                          value=row.project.email, project=row.project)


def _check_empty(rows: Sequence[_Row], ctx: _Context) -> Iterator[Finding]:
    # Without either identifying column, missing_column has said all there is to say.
    if not rows and _identifiable(ctx):
        yield ctx.finding(LEDGER_EMPTY, row=None)


def _check_duplicate_codes(rows: Sequence[_Row], ctx: _Context) -> Iterator[Finding]:
    first: dict[str, int] = {}
    for row in rows:
        code = row.project.code
        if not code:
            continue
        if code in first:
            yield ctx.finding(LEDGER_DUPLICATE_CODE, row=row.project.row, key="project_code",
                              value=code, project=row.project, first=first[code])
        else:
            first[code] = row.project.row


def _first_seen(rows: Sequence[_Row], key: Callable[[LedgerProject], str],
                other: Callable[[LedgerProject], str]) -> Iterator[tuple[_Row, _Row]]:
    """(row, first row) pairs where the same `key` comes with a different `other`."""
    first: dict[str, _Row] = {}
    for row in rows:
        k, o = key(row.project), other(row.project)
        if not k or not o:
            continue
        seen = first.setdefault(k, row)
        if normalise_key(other(seen.project)) != normalise_key(o):
            yield row, seen


def _check_department_names(rows: Sequence[_Row], ctx: _Context) -> Iterator[Finding]:
    pairs = _first_seen(rows, lambda p: p.department_code, lambda p: p.department)
    for row, seen in pairs:
        p = row.project
        yield ctx.finding(LEDGER_DEPARTMENT_NAME_CONFLICT, row=p.row, key="department",
                          value=p.department, project=p, code=p.department_code,
                          first=seen.project.row, first_name=seen.project.department,
                          name=p.department)


def _check_department_codes(rows: Sequence[_Row], ctx: _Context) -> Iterator[Finding]:
    pairs = _first_seen(rows, lambda p: normalise_key(p.department), lambda p: p.department_code)
    for row, seen in pairs:
        p = row.project
        yield ctx.finding(LEDGER_DEPARTMENT_CODE_CONFLICT, row=p.row, key="department_code",
                          value=p.department_code, project=p, name=p.department,
                          first=seen.project.row, first_code=seen.project.department_code,
                          code=p.department_code)


def _check_years(rows: Sequence[_Row], ctx: _Context) -> Iterator[Finding]:
    years = Counter(row.project.year for row in rows if row.project.year is not None)
    if len(years) < 2:
        return
    main = years.most_common(1)[0][0]  # ties go to the year seen first
    for row in rows:
        if row.project.year not in (None, main):
            yield ctx.finding(LEDGER_MIXED_YEARS, row=row.project.row, key="year",
                              value=row.project.year, project=row.project,
                              year=row.project.year, main=main)


_RowCheck = Callable[[_Row, _Context], Iterator[Finding]]
_TableCheck = Callable[[Sequence[_Row], _Context], Iterator[Finding]]

ROW_CHECKS: tuple[_RowCheck, ...] = (
    _check_cells, _check_required_text, _check_year, _check_required_amounts,
    _check_negative, _check_total, _check_email,
)
TABLE_CHECKS: tuple[_TableCheck, ...] = (
    _check_empty, _check_duplicate_codes, _check_department_names, _check_department_codes,
    _check_years,
)


def _validate(rows: Sequence[_Row], ctx: _Context) -> list[Finding]:
    found = [f for row in rows for check in ROW_CHECKS for f in check(row, ctx)]
    found += [f for check in TABLE_CHECKS for f in check(rows, ctx)]
    return found


def _by_row(finding: Finding) -> int:
    return -1 if finding.row is None else finding.row


# ---------------------------------------------------------------------------
# The entry point
# ---------------------------------------------------------------------------


def load_ledger(path: Path | str, *, amounts_in: AmountUnit = "万元",
                encoding: str | None = None) -> Ledger:
    """Read a ledger (.xlsx or .csv) and check it; problems are collected, never raised.

    Raises `LedgerUnreadable` only when the file cannot be opened or decoded at all.
    """
    path = Path(path)
    rows = _read_rows(path, encoding)
    ctx = _Context(path.name, _find_layout(rows), amounts_in)
    projects, skipped = _read_projects(rows, ctx)
    # File-level problems first, then row by row so the clerk can work down the sheet.
    problems = sorted([*_check_layout(ctx), *skipped, *_validate(projects, ctx)], key=_by_row)
    return Ledger(path, tuple(r.project for r in projects), tuple(problems))
