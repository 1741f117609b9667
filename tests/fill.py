"""Fill an issued template the way a department does, to make returns for the collect tests.

Two routes, both addressing input cells by their workbook-level defined names
(`XT_P01_GOAL`, `XT_P01_C01_R01_VALUE`, …):

- `fill_with_openpyxl`: what a script or a department's own system does. openpyxl keeps
  everything it can read and ignores sheet protection, so the same module offers the
  tampering edits (`set_cell`, `delete_sheet`, `insert_row`, `rename_sheet`,
  `unprotect_sheet`) that a return must be checked against.
- `fill_with_libreoffice`: a real client. A headless soffice (private user profile, unique
  pipe) is driven over UNO by `tests/lo_fill.py`, run with the interpreter that has
  LibreOffice's `uno` module (Debian's /usr/bin/python3 with python3-uno, or the python
  bundled in LibreOffice's program folder). Values are typed into the unlocked input cells
  and the workbook is saved as xlsx ("Calc MS Excel 2007 XML"). The UNO API itself writes
  locked cells of protected sheets too, so the script refuses them: a user cannot type there.

In both, an int, float or Decimal is entered as a number, a str as text (also "=1+1":
text, never a formula), None clears the cell.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import uuid
import zipfile
from collections.abc import Callable, Mapping
from decimal import Decimal
from pathlib import Path

import pytest
from defusedxml import ElementTree
from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import Cell
from openpyxl.utils import quote_sheetname
from openpyxl.worksheet.protection import SheetProtection

from tests.libreoffice import require_soffice

Value = str | int | float | Decimal | None

LO_SCRIPT = Path(__file__).resolve().parent / "lo_fill.py"
LO_TIMEOUT = 120.0
UNO_PYTHON_ENV = "XLTOOL_UNO_PYTHON"  # overrides the search for a Python with `uno`
_MAIN_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


# -- values --------------------------------------------------------------------------------


def _plain(value: object) -> str | int | float | None:
    """A Decimal becomes an int when whole, else a float; other kinds are refused."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if value is None or isinstance(value, str | float) or (
            isinstance(value, int) and not isinstance(value, bool)):
        return value
    raise TypeError(f"cannot enter {value!r} ({type(value).__name__}) into a cell")


def _write(cell: Cell, value: object) -> None:
    plain = _plain(value)
    cell.value = plain
    if isinstance(plain, str) and plain.startswith("="):
        cell.data_type = "s"  # openpyxl would store it as a formula


# -- openpyxl ------------------------------------------------------------------------------


def _named_cell(workbook: Workbook, name: str) -> Cell:
    if name not in workbook.defined_names:
        raise KeyError(name)
    sheet, ref = next(iter(workbook.defined_names[name].destinations))
    cell: Cell = workbook[sheet][ref.split(":")[0].replace("$", "")]
    return cell


def _edit(template: Path, out: Path, change: Callable[[Workbook], object], *,
          keep_vba: bool = False) -> Path:
    workbook = load_workbook(template, keep_vba=keep_vba)
    change(workbook)
    out.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(out)
    return out


def fill_with_openpyxl(template: Path, values: Mapping[str, object], out: Path, *,
                       keep_vba: bool = False) -> Path:
    """Write each value into the cell its defined name points at; KeyError for an unknown name."""
    def change(workbook: Workbook) -> None:
        for name, value in values.items():
            _write(_named_cell(workbook, name), value)
    return _edit(template, out, change, keep_vba=keep_vba)


def set_cell(template: Path, sheet: str, cell: str, value: object, out: Path) -> Path:
    """Write any cell, locked or not: openpyxl does not enforce sheet protection."""
    return _edit(template, out, lambda workbook: _write(workbook[sheet][cell], value))


def delete_sheet(template: Path, sheet: str, out: Path) -> Path:
    """Remove a sheet; defined names and formulas that refer to it are left dangling."""
    return _edit(template, out, lambda workbook: workbook.remove(workbook[sheet]))


def insert_row(template: Path, sheet: str, row: int, out: Path, amount: int = 1) -> Path:
    """Insert rows before ROW (1-based). openpyxl moves only cell values and styles: defined
    names, merged ranges, validations, conditional formats and formulas are not shifted, so
    the names keep pointing at the old addresses (Excel would shift them)."""
    return _edit(template, out, lambda workbook: workbook[sheet].insert_rows(row, amount))


def rename_sheet(template: Path, sheet: str, new_name: str, out: Path) -> Path:
    """Rename a sheet and, as Excel does, the workbook-level defined names that refer to it;
    formulas in cells (the cover's status and links) are not rewritten."""
    old = re.compile(rf"(?<![^\s,(=:])(?:{re.escape(quote_sheetname(sheet))}|"
                     rf"{re.escape(sheet)})!")
    new = quote_sheetname(new_name) + "!"

    def change(workbook: Workbook) -> None:
        workbook[sheet].title = new_name
        for defined in workbook.defined_names.values():
            if defined.attr_text:
                defined.attr_text = old.sub(lambda _: new, defined.attr_text)
    return _edit(template, out, change)


def unprotect_sheet(template: Path, sheet: str, out: Path) -> Path:
    """Drop a sheet's protection and its password."""
    def change(workbook: Workbook) -> None:
        workbook[sheet].protection = SheetProtection()
    return _edit(template, out, change)


# -- LibreOffice ---------------------------------------------------------------------------


def defined_names(workbook: Path) -> set[str]:
    """The workbook-level defined names, read from workbook.xml without loading the sheets."""
    with zipfile.ZipFile(workbook) as archive:
        root = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    return {d.get("name", "") for d in root.iter(f"{_MAIN_NS}definedName")
            if d.get("localSheetId") is None}


@functools.cache
def uno_python() -> str | None:
    """An interpreter that can `import uno`: $XLTOOL_UNO_PYTHON, Debian's, LibreOffice's own."""
    candidates = [os.environ.get(UNO_PYTHON_ENV, ""), "/usr/bin/python3"]
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice:
        candidates.append(str(Path(soffice).resolve().parent / "python"))
    for candidate in filter(None, candidates):
        if not Path(candidate).is_file():
            continue
        try:
            done = subprocess.run([candidate, "-c", "import uno"], capture_output=True,
                                  timeout=30, check=False)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if done.returncode == 0:
            return candidate
    return None


def require_uno_python() -> str:
    """Like `require_soffice`: missing in CI is a failure (.ci/run installs python3-uno)."""
    python = uno_python()
    if python is None:
        if os.environ.get("CI"):
            pytest.fail("no Python with LibreOffice's uno module: .ci/run must install python3-uno")
        pytest.skip("no Python with LibreOffice's uno module (python3-uno)")
    return python


def _stop(office: subprocess.Popen[bytes], grace: float) -> None:
    """soffice exits when the script terminates the desktop; after GRACE seconds end its group."""
    try:
        office.wait(timeout=grace)
        return
    except subprocess.TimeoutExpired:
        pass
    for sig, wait in ((signal.SIGTERM, 5), (signal.SIGKILL, 10)):
        try:
            os.killpg(office.pid, sig)
            office.wait(timeout=wait)
            return
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            continue


def fill_with_libreoffice(template: Path, values: Mapping[str, object], out: Path, *,
                          timeout: float = LO_TIMEOUT) -> Path:
    """Type the values into the named cells in headless LibreOffice and save as xlsx.

    One soffice per call, with its own profile and pipe, so calls can run side by side.
    KeyError for an unknown name (checked before soffice starts); RuntimeError when
    LibreOffice fails or refuses (a locked cell), or the call exceeds TIMEOUT seconds.
    """
    entries = [[name, _plain(value)] for name, value in values.items()]
    known = defined_names(template)
    for name, _ in entries:
        if name not in known:
            raise KeyError(name)
    soffice = require_soffice()
    python = require_uno_python()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="xltool-lo-", ignore_cleanup_errors=True) as tmp:
        folder = Path(tmp)
        pipe = f"xltool_fill_{uuid.uuid4().hex}"
        # a private copy: LibreOffice's lock file would stop another call opening the template
        copy = shutil.copyfile(template, folder / template.name)
        request = folder / "request.json"
        request.write_text(json.dumps({
            "template": str(copy), "out": str(out.resolve()),
            "values": entries, "timeout": timeout / 2,
        }, ensure_ascii=False), encoding="utf-8")
        office = subprocess.Popen(
            [soffice, f"-env:UserInstallation={(folder / 'profile').as_uri()}", "--headless",
             "--invisible", "--norestore", "--nologo", "--nodefault", "--nolockcheck",
             f"--accept=pipe,name={pipe};urp;StarOffice.ComponentContext"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        grace = 0.0
        try:
            done = subprocess.run([python, str(LO_SCRIPT), pipe, str(request)],
                                  capture_output=True, text=True, timeout=timeout, check=False)
            grace = 10.0 if done.returncode in (0, 2) else 0.0  # 0 and 2: desktop terminated
        except subprocess.TimeoutExpired as error:
            raise RuntimeError(f"LibreOffice fill of {template.name} timed out") from error
        finally:
            _stop(office, grace)
    if done.returncode != 0 or not out.is_file():
        raise RuntimeError(f"LibreOffice fill of {template.name} failed "
                           f"({done.returncode}): {done.stderr.strip()}")
    return out
