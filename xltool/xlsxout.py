"""The one way xltool opens an xlsxwriter workbook, and names a sheet by Excel's rules.

xlsxwriter reports bad parameters with warnings and negative return codes and
then writes a file without the part that failed (a dropdown silently gone).
Every call that returns a code goes through `check`, which raises instead.
Workbooks are made deterministic (fixed creation date) and never turn text
into formulas, numbers or links: ledger and department text is data.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.exceptions import FileCreateError
from xlsxwriter.worksheet import Worksheet

from xltool.atomic import shown_name
from xltool.errors import WorkbookNotSaved, XlsxWriteError
from xltool.names import OUTPUT_PROPERTY, Output
from xltool.text import excel_cut

# A fixed timestamp: the same input must give a byte-identical file.
FIXED_CREATED = datetime(2000, 1, 1)


# Functions every Excel version knows: a formula made only of these needs none of the
# `_xlfn.` prefixes xlsxwriter looks for with a hundred regular expressions per formula.
CLASSIC_FUNCTIONS = frozenset({"AND", "CHOOSE", "CLEAN", "COUNTA", "COUNTIF", "FIND", "IF",
                               "ISNUMBER", "LEFT", "LEN", "MID", "OR", "RIGHT", "SUM",
                               "SUMPRODUCT", "TRIM", "SUBSTITUTE"})
_FUNCTION_CALL = re.compile(r"([A-Za-z_][A-Za-z0-9_.]*)\(")


def is_classic(formula: str) -> bool:
    """A plain formula made only of classic functions: no prefixes, no array braces."""
    return set(_FUNCTION_CALL.findall(formula)) <= CLASSIC_FUNCTIONS \
        and not formula.startswith("{") and not formula.endswith("}")


class _Worksheet(Worksheet):  # type: ignore[misc]
    """xlsxwriter's worksheet, with the formula preparation short-cut for classic formulas.

    When the formula uses anything else, or xlsxwriter changes the method, its own
    code runs: the result is the same either way, only the time differs.
    """

    def _prepare_formula(self, formula: str, expand_future_functions: bool = False) -> str:
        if is_classic(formula):
            return formula.removeprefix("=")
        result: str = super()._prepare_formula(formula, expand_future_functions)
        return result


# A name of capitals, digits and underscores with an underscore in it can neither hold a
# character Excel refuses nor look like a cell (A1, XFD1) or an R1C1 reference.
_PLAIN_NAME = re.compile(r"[A-Z][A-Z0-9]*_[A-Z0-9_]{0,250}")
# Text that xlsxwriter's XML writer would change in an element's data (it leaves quotes
# alone there): escapes, control characters, _xHHHH_.
_NOT_PLAIN_DATA = re.compile("[&<>\x00-\x08\x0b-\x1f\ufffe\uffff]|_x[0-9a-fA-F]{4}_")


class _Workbook(xlsxwriter.Workbook):  # type: ignore[misc]
    """xlsxwriter's workbook, writing plain workbook-level names without per-name escaping.

    A workbook with hundreds of input-cell names spends more on their XML than on
    its cells. Names and references that need no escaping are written by one
    join, others by xlsxwriter: the output is the same either way.
    """

    worksheet_class = _Worksheet

    def close(self) -> None:
        try:
            super().close()
        except FileCreateError as error:  # a file open in Excel, a read-only or full disk
            cause = error.args[0] if error.args else error
            reason = getattr(cause, "strerror", None) or str(cause)
            raise WorkbookNotSaved(
                f"无法写入“{shown_name(Path(self.filename))}”：{reason}。"
                f"如果同名文件正在 Excel 或 WPS 中打开，请先关闭；也请检查磁盘空间和写入权限。"
            ) from error

    def _write_defined_names(self) -> None:
        names = self.defined_names
        if not names or any(index != -1 or hidden or not _PLAIN_NAME.fullmatch(name)
                            for name, index, _, hidden in names) \
                or _NOT_PLAIN_DATA.search("".join(ref for _, _, ref, _ in names)):
            super()._write_defined_names()
            return
        self.fh.write("<definedNames>" + "".join(
            f'<definedName name="{name}">{ref}</definedName>' for name, _, ref, _ in names)
            + "</definedNames>")


    def _extract_named_ranges(self, defined_names: list[list[Any]]) -> list[str]:
        """The names listed in docProps/app.xml: print areas and titles only. xlsxwriter
        lists every name there too; the list is a summary for file browsers, which Excel
        rewrites on saving, and hundreds of input-cell names made it a third of the
        workbook's XML to write."""
        ranges: list[str] = super()._extract_named_ranges(
            [name for name in defined_names if name[0].startswith("_xlnm.") or name[1] != -1])
        return ranges


SHEET_NAME_LIMIT = 31
"""Excel's longest sheet name, counted as Excel counts (`excel_length`: UTF-16 units)."""
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
_LINE_BREAKS = re.compile(r"\s*[\x00-\x1f\x7f][\s\x00-\x1f\x7f]*")  # and other controls
_RESERVED_SHEETS = frozenset({"history"})  # Excel keeps it for its change history


def excel_sheet_name(text: str, used: set[str], *, fallback: str) -> str:
    """TEXT as the name of a new sheet, by Excel's rules, added to USED (names in lower case).

    The characters Excel refuses (`[]:*?/\\`) become `_`, a line break (with the spaces
    around it) one space, and the rest stays as written. The name is cut to 31 of Excel's
    units without splitting a character, never begins or ends with a quote, is FALLBACK
    when nothing is left, and differs from every name in USED ignoring case, as Excel
    compares them (`~2`, `~3`, … at the end tell twins apart).
    """
    clean = _LINE_BREAKS.sub(" ", _SHEET_FORBIDDEN.sub("_", text))
    base = _trimmed(excel_cut(_trimmed(clean), SHEET_NAME_LIMIT)) or fallback
    name, suffix = base, 2
    while name.lower() in used or name.lower() in _RESERVED_SHEETS:
        tail = f"~{suffix}"
        name = _trimmed(excel_cut(base, SHEET_NAME_LIMIT - len(tail))) + tail
        suffix += 1
    used.add(name.lower())
    return name


def _trimmed(name: str) -> str:
    """Without spaces or quotes at either end (Excel refuses a quote there)."""
    return name.strip(" '")


def define_names(workbook: xlsxwriter.Workbook, names: Iterable[tuple[str, str]]) -> None:
    """Workbook-level names, as `define_name` adds them; plain names skip its checks."""
    for name, formula in names:
        if _PLAIN_NAME.fullmatch(name):
            workbook.defined_names.append([name, -1, formula.lstrip("="), False])
        else:
            check(workbook.define_name(name, formula), f"name {name}")


def new_workbook(path: Path | str, *, in_memory: bool = True, output: Output | None = None,
                 **properties: Any) -> xlsxwriter.Workbook:
    """`in_memory=False` assembles large workbooks through temporary files: less memory.

    OUTPUT marks what xltool writes for people (`xltool.output` in the custom properties):
    left in an inbox, it is known and skipped by collect. A template is given none."""
    workbook = _Workbook(
        str(path),
        {
            "strings_to_formulas": False,
            "strings_to_numbers": False,
            "strings_to_urls": False,
            "in_memory": in_memory,
        },
    )
    workbook.set_properties({"created": FIXED_CREATED, **properties})
    if output is not None:
        check(workbook.set_custom_property(OUTPUT_PROPERTY, output.value), "output property")
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
