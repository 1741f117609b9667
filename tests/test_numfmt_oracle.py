"""LibreOffice as the oracle: a return's numbers are read as LibreOffice shows them.

A department's returns are filled with numbers under a spread of number formats (FORMATS ×
VALUES, one pair a cell, every input cell of every project), LibreOffice exports each sheet
as CSV with its cells as shown (in its Chinese locale, the departments' own), and xltool's
reading of every input cell is held to that text, cell by cell.

Where Excel and LibreOffice differ, xltool follows Excel, the departments' usual program;
each such difference is declared in DIVERGENCES with what LibreOffice shows instead, and
every cell that differs must be one of them (and every one declared must occur). The test
prints the count: `N formats × M values, agreement K/N·M`.
"""

from __future__ import annotations

import csv
import math
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from openpyxl import load_workbook

from tests.conftest import ledger_row, write_ledger
from tests.corpus import rezip
from tests.libreoffice import require_soffice
from xltool.collect.reader import open_xlsx
from xltool.collect.returns import identify_form, read_return
from xltool.numfmt import builtin_format, general, render
from xltool.store import open_store
from xltool.template import issue_templates
from xltool.text import cell_text

pytestmark = pytest.mark.libreoffice


@dataclass(frozen=True)
class Builtin:
    """A built-in format id, written into the styles without a format code, as Excel
    writes its own (Chinese Excel's dates are ids 27–36 and 50–58)."""

    number: int

    @property
    def code(self) -> str:
        return builtin_format(self.number)


Format = str | Builtin

FORMATS: tuple[Format, ...] = (
    # the issue's own
    "0%", 'yyyy"年"m"月"d"日前"', '"≥"0"次"', "0.00%", "#,##0.00", '[$-804]yyyy"年"m"月"',
    "m/d/yyyy", '0.0"万元"',
    # numbers
    "General", "0", "0.00", "#,##0", "0.000", "#.##", "0.0#", "000", "0,000", "#,###",
    "0.0%", "0.00E+00", "##0.0E+0", "# ?/?", "# ??/??", "# ?/8", "?/?",
    '0.0,"千"', '"合计："#,##0.00"元"', 'General"元"', '"≥"General', "0_ ", "*-0",
    # sections, colours, conditions
    "#,##0_);[Red](#,##0)", '0;-0;"零"', "0.00;[Red]-0.00;0", '[>=100]"大";"小"',
    "[<=10]0.0;0", "[Red][<=-1]0;[Blue][>=1]0;0.00", '#,##0.00"万元";[Red]-#,##0.00"万元"',
    "¥#,##0.00", "[$¥-804]#,##0.00",
    # dates and times
    "yyyy-mm-dd", "yyyy-mm-dd hh:mm:ss", "yy.mm.dd", "mmm", "mmmm", "ddd", "dddd", "aaa",
    "aaaa", "[$-409]mmmm", "[$-409]dddd", "h:mm", "h:mm:ss", "hh\"点\"mm\"分\"", "[h]:mm:ss",
    "[mm]:ss", "mm:ss.000", "AM/PM h:mm", "h:mm AM/PM", "[$-409]h:mm AM/PM",
    '上午/下午h"时"mm"分"', '[DBNum1][$-804]yyyy"年"m"月"d"日"',
    '[DBNum2][$-804]yyyy"年"m"月"d"日"', "[DBNum1]0", "[DBNum2]0", "[DBNum1]0.00",
    # the ids Chinese Excel writes for its date and time formats, and the system's dates
    Builtin(14), Builtin(22), Builtin(27), Builtin(28), Builtin(30), Builtin(31),
    Builtin(32), Builtin(33), Builtin(34), Builtin(35), Builtin(36), Builtin(57),
    Builtin(58),
)

VALUES: tuple[float, ...] = (
    0.95, 1.2, 1, 5, 0, -5, -0.5, 2.5, 100, 45657, 45657.75, 0.001234, 1234567.891,
    123456789012, -1234.5678, 0.3333333333333333,
)


def _code(given: Format) -> str:
    return given.code if isinstance(given, Builtin) else given


def _truncated(value: float) -> float:
    """VALUE with its time cut to the whole second, as LibreOffice 7 shows a clock time."""
    return math.floor(value * 86400) / 86400


@dataclass(frozen=True)
class Divergence:
    why: str
    applies: Callable[[Format, float, str, str], bool]
    """(format, value, what LibreOffice shows, what xltool reads): whether this is it."""


DIVERGENCES: tuple[Divergence, ...] = (
    Divergence("built-in 14 and 22 are the system's short date: Chinese Windows writes "
               "2024/12/31, LibreOffice's Chinese locale 2024-12-31",
               lambda f, v, lo, us: f in (Builtin(14), Builtin(22))
               and lo == us.replace("/", "-")),
    Divergence("a time is rounded to the second by Excel, cut by LibreOffice 7",
               lambda f, v, lo, us: lo == render(_truncated(v), _code(f))),
    Divergence("past the calendar (after 9999-12-31, or hours past LibreOffice's limit): "
               "Excel fills the cell with #, LibreOffice writes #FMT, xltool the number",
               lambda f, v, lo, us: lo == "#FMT"),
    Divergence("上午/下午 unquoted in a custom format is AM/PM to Excel; LibreOffice cannot "
               "read the format and shows the number as General",
               lambda f, v, lo, us: "上午/下午" in _code(f) and not isinstance(f, Builtin)
               and lo == general(v)),
    Divergence("ddd: Chinese Windows abbreviates 星期二 as 周二, LibreOffice as 二",
               lambda f, v, lo, us: _code(f) == "ddd" and us == "周" + lo),
)

CELLS_A_PROJECT = 32  # the name and value cells of a ningxia-2021 form


def _ledger(root: Path, projects: int) -> Path:
    return write_ledger(root / "ledger.csv", [
        ledger_row(f"001-{n:02d}", f"格式{n:02d}") for n in range(1, projects + 1)])


def _inputs(store: Path, template_id: str) -> list[tuple[str, str]]:
    """(sheet, cell) of every name and value input, in form order."""
    with open_store(store) as opened:
        issued = opened.issued_form(template_id)
    assert issued is not None
    return [(c.sheet, c.cell) for c in issued.cells()
            if not c.locked and c.field in ("name", "value")]


_PLACEHOLDER = re.compile(r'<numFmt numFmtId="(\d+)" formatCode="&quot;builtin(\d+)&quot;"\s*/>')


def _with_builtin_ids(path: Path, out: Path) -> Path:
    """PATH with each placeholder format `"builtinN"` replaced by the built-in id N, written
    as Excel writes a built-in: in the cell styles, with no format code of its own."""
    import zipfile

    with zipfile.ZipFile(path) as archive:
        styles = archive.read("xl/styles.xml").decode()
    ids = {found[1]: found[2] for found in _PLACEHOLDER.finditer(styles)}
    styles = _PLACEHOLDER.sub("", styles)
    assert "&quot;builtin" not in styles
    assert len(ids) == sum(isinstance(f, Builtin) for f in FORMATS)
    for custom, number in ids.items():
        styles = styles.replace(f'numFmtId="{custom}"', f'numFmtId="{number}"')
    return rezip(path, out, change={"xl/styles.xml": styles.encode()})


def _fill(template: Path, inputs: list[tuple[str, str]], pairs: list[tuple[Format, float]],
          out: Path) -> dict[tuple[str, str], tuple[Format, float]]:
    """Each pair's value in the next input cell, formatted; {(sheet, cell): pair}."""
    workbook = load_workbook(template)
    placed = {}
    for (sheet, cell), (given, value) in zip(inputs, pairs, strict=False):
        target = workbook[sheet][cell]
        target.value = value
        target.number_format = (f'"builtin{given.number}"' if isinstance(given, Builtin)
                                else given)
        placed[(sheet, cell)] = (given, value)
    workbook.save(out.with_suffix(".draft.xlsx"))
    _with_builtin_ids(out.with_suffix(".draft.xlsx"), out)
    return placed


# LibreOffice's locale, set in its profile (through the environment, a locale the system
# lacks would also garble the names of the files it writes).
_CHINESE_LOCALE = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry">
<item oor:path="/org.openoffice.Setup/L10N"><prop oor:name="ooSetupSystemLocale" oor:op="fuse">\
<value>zh-CN</value></prop></item>
</oor:items>
"""


def _as_shown_by_libreoffice(path: Path, folder: Path) -> dict[str, list[list[str]]]:
    """Every sheet of PATH as LibreOffice's CSV export writes it (UTF-8, cells as shown),
    in its Chinese locale: {sheet file suffix: rows}."""
    soffice = require_soffice()
    profile = folder / "profile"
    (profile / "user").mkdir(parents=True, exist_ok=True)
    (profile / "user" / "registrymodifications.xcu").write_text(_CHINESE_LOCALE, "utf-8")
    # field separator, text delimiter, UTF-8, first line, (no column types), language,
    # quoted as text, detect special numbers, *save cell contents as shown*, no formulas,
    # no trimming, every sheet to a file of its own
    options = "44,34,76,1,,0,false,true,true,false,false,-1"
    done = subprocess.run(
        [soffice, f"-env:UserInstallation={profile.resolve().as_uri()}",
         "--headless", "--norestore", "--convert-to",
         f"csv:Text - txt - csv (StarCalc):{options}", "--outdir", str(folder), str(path)],
        capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    sheets = {}
    for exported in folder.glob(f"{path.stem}-*.csv"):
        with exported.open(encoding="utf-8", newline="") as handle:
            sheets[exported.stem[len(path.stem) + 1:]] = list(csv.reader(handle))
    return sheets


def _shown(sheets: dict[str, list[list[str]]], sheet: str, cell: str) -> str:
    from xltool.collect.cells import rowcol

    rows = sheets[sheet]
    row, col = rowcol(cell)
    return rows[row][col] if row < len(rows) and col < len(rows[row]) else ""


def _read_by_xltool(path: Path, store: Path) -> tuple[dict[tuple[str, str], str],
                                                      dict[tuple[str, str], str]]:
    """Every name and value input as xltool reads it, and the raw values kept beside."""
    content = open_xlsx(path.read_bytes())
    with open_store(store) as opened:
        form_map, profile, _ = identify_form(content, opened)
        read = read_return(content, form_map, profile)
    content.close()
    texts, raws = {}, {}
    for project in read.projects:
        for i in project.indicators:
            texts[(i.sheet, i.name_cell)] = i.name
            texts[(i.sheet, i.value_cell)] = i.value
        raws.update({(project.sheet, cell): raw for cell, raw in project.raw_values.items()})
    return texts, raws


def test_numbers_are_read_as_libreoffice_shows_them(tmp_path: Path) -> None:
    require_soffice()
    pairs = [(given, value) for given in FORMATS for value in VALUES]
    projects = -(-len(pairs) // CELLS_A_PROJECT)
    run = issue_templates(_ledger(tmp_path, projects), tmp_path / "templates",
                          store=tmp_path / "x.db")
    [workbook] = run.workbooks
    inputs = _inputs(tmp_path / "x.db", workbook.template_id)
    assert len(inputs) >= len(pairs)
    path = tmp_path / "return.xlsx"
    placed = _fill(workbook.path, inputs, pairs, path)
    assert len(placed) == len(pairs)

    shown = _as_shown_by_libreoffice(path, tmp_path / "csv")
    read, raws = _read_by_xltool(path, tmp_path / "x.db")

    agree, explained, unexplained = 0, dict.fromkeys(d.why for d in DIVERGENCES), []
    counts = dict.fromkeys(explained, 0)
    for (sheet, cell), (given, value) in placed.items():
        ours, theirs = read[(sheet, cell)], _shown(shown, sheet, cell).strip()
        assert raws[(sheet, cell)] == cell_text(float(value))  # the number, kept beside
        if ours == theirs:
            agree += 1
            continue
        why = next((d.why for d in DIVERGENCES if d.applies(given, value, theirs, ours)), None)
        if why is None:
            unexplained.append((_code(given), value, theirs, ours))
        else:
            counts[why] += 1
    total = len(pairs)
    print(f"\n{len(FORMATS)} formats × {len(VALUES)} values, agreement {agree}/{total}")
    for why, count in counts.items():
        print(f"  {count:4d} differ by design: {why}")
    for found in unexplained:
        print(found)
    assert unexplained == [], "cells read otherwise than LibreOffice shows them"
    assert all(counts.values()), "a declared divergence that no longer occurs"
    assert agree >= total * 0.9
