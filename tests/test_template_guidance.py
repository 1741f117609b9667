"""A template's guidance behaves the same in Excel, WPS and LibreOffice.

A conditional format or a data validation holds a formula written for one cell, the anchor of
its range, and each cell of the range tests its own offset from it. Over several ranges
(`D21:D23 D14:D16 D29`) the programs disagree on the anchor — LibreOffice takes the top-left of
them all — and every cell tests another cell. So each rule the template writes covers one
contiguous range and its formula names that range's top-left cell: the XML is checked for
every profile, and LibreOffice's rendering of a filled form shows the red highlight exactly on
the values without a digit.
"""

from __future__ import annotations

import re
import subprocess
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pytest
from defusedxml import ElementTree
from openpyxl.utils import get_column_letter
from openpyxl.utils.cell import range_boundaries

from tests.conftest import SAMPLES
from tests.fill import fill_with_libreoffice
from tests.libreoffice import convert
from xltool.profile import load_profile
from xltool.store import open_store
from xltool.template import issue_templates
from xltool.template.writer import INPUT_FILL, WARNING_FILL

MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
RELS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
DOC_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
PROFILES = ("ningxia-2021", "ningxia-2023", "weighted", "national-2021")
NUMERIC_ROLES = ("cost", "satisfaction")

_STRING = re.compile(r'"(?:[^"]|"")*"')
_CELL = r"\$?[A-Z]{1,3}\$?\d+"
_SHEET_REF = re.compile(rf"(?:'(?:[^']|'')+'|[^\s'!=(),{{}}]+)!{_CELL}(?::{_CELL})?")
_REFERENCE = re.compile(r"(?<![A-Za-z_$])(\$?)([A-Z]{1,3})(\$?)(\d+)(?![\d(])")


@dataclass(frozen=True)
class Rule:
    """A conditional format or a data validation as the sheet's XML holds it."""

    sheet: str
    kind: str
    sqref: str
    formulas: tuple[str, ...]
    type: str


def sheet_parts(archive: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name → the part holding its XML, by the workbook's relationships."""
    workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    targets = {r.get("Id"): r.get("Target", "") for r in rels.iter(f"{RELS}Relationship")}
    return {s.get("name", ""): _part(targets[s.get(DOC_REL)])
            for s in workbook.iter(f"{MAIN}sheet")}


def _part(target: str) -> str:
    """A relationship's target as a part name: from the root when it starts with `/`."""
    return target[1:] if target.startswith("/") else str(PurePosixPath("xl") / target)


def rules(path: Path) -> Iterator[Rule]:
    with zipfile.ZipFile(path) as archive:
        for sheet, part in sheet_parts(archive).items():
            root = ElementTree.fromstring(archive.read(part))
            for block in root.iter(f"{MAIN}conditionalFormatting"):
                for rule in block.iter(f"{MAIN}cfRule"):
                    yield Rule(sheet, "conditionalFormatting", block.get("sqref", ""),
                               tuple(f.text or "" for f in rule.iter(f"{MAIN}formula")),
                               rule.get("type", ""))
            for validation in root.iter(f"{MAIN}dataValidation"):
                formulas = (*validation.iter(f"{MAIN}formula1"),
                            *validation.iter(f"{MAIN}formula2"))
                yield Rule(sheet, "dataValidation", validation.get("sqref", ""),
                           tuple(f.text or "" for f in formulas), validation.get("type", ""))


def relative_references(formula: str) -> set[str]:
    """The cells a formula names relatively on its own sheet: what moves with the anchor
    (strings, other sheets' ranges and absolute references do not)."""
    bare = _SHEET_REF.sub("", _STRING.sub('""', formula))
    return {f"{col}{row}" for col_abs, col, row_abs, row in _REFERENCE.findall(bare)
            if not col_abs and not row_abs}


def cells_of(sqref: str) -> set[str]:
    first_col, first_row, last_col, last_row = range_boundaries(sqref)
    return {f"{get_column_letter(col)}{row}" for col in range(first_col, last_col + 1)
            for row in range(first_row, last_row + 1)}


def numeric_value_cells(store: Path, template_id: str) -> set[tuple[str, str]]:
    """(sheet, cell) of every target value the profile wants a number in."""
    with open_store(store) as opened:
        issued = opened.issued_form(template_id)
    assert issued is not None and issued.profile is not None
    profile = issued.profile
    found = set()
    for cell in issued.cells():
        category = profile.category_by_level2(cell.category) if cell.category else None
        if cell.field == "value" and category is not None and (
                category.quantitative or category.role in NUMERIC_ROLES):
            found.add((cell.sheet, cell.cell))
    return found


@pytest.mark.parametrize("profile", PROFILES)
def test_every_rule_is_one_range_anchored_at_its_top_left_cell(tmp_path: Path,
                                                                profile: str) -> None:
    """Stamped forms are byte for byte the API's (tests/test_stamp.py): one path is checked."""
    run = issue_templates(SAMPLES / "ledger.xlsx", tmp_path / "out", store=tmp_path / "x.db",
                          profile=profile, prefill=SAMPLES / "targets.xlsx")
    for book in run.workbooks:
        found = list(rules(book.path))
        assert any(r.kind == "dataValidation" for r in found)
        for rule in found:
            assert re.fullmatch(r"[A-Z]{1,3}\d+(:[A-Z]{1,3}\d+)?", rule.sqref), rule
            first_col, first_row, _, _ = range_boundaries(rule.sqref)
            anchor = f"{get_column_letter(first_col)}{first_row}"
            for formula in rule.formulas:
                assert relative_references(formula) <= {anchor}, (rule, formula)
        highlighted = {(r.sheet, cell) for r in found
                       if r.kind == "conditionalFormatting" and r.type == "expression"
                       for cell in cells_of(r.sqref)}
        assert highlighted == numeric_value_cells(tmp_path / "x.db", book.template_id)
        digit_rules = [r for r in found if r.type == "expression"]
        assert all(relative_references(r.formulas[0]) == {r.sqref.split(":")[0]}
                   for r in digit_rules)
        if load_profile(profile).value_field:
            assert digit_rules  # the highlight is there to be checked


def test_the_reference_reader_sees_what_a_formula_names() -> None:
    """The check above is only as good as this reader."""
    digits = 'AND(LEN(D21)>0,SUMPRODUCT(--ISNUMBER(FIND({"0","1","D9"},D21)))=0)'
    assert relative_references(digits) == {"D21"}
    assert relative_references("'下拉选项'!$A$2:$A$9") == set()
    assert relative_references('OR(D29="",ISNUMBER(FIND("%",D29)))') == {"D29"}
    assert relative_references("SUM(E14:E30)+$B$2+LOG10(D4)") == {"E14", "E30", "D4"}


# -- what LibreOffice shows --------------------------------------------------------------------

DPI = 100
# Typed into the first project's form of the sample department 013042 (ningxia-2021): the
# name cells carry markers to find each row by, the value cells what a department writes.
VALUES = {
    "XT_P01_C01_R01_NAME": "甲行有数字", "XT_P01_C01_R01_VALUE": "1次/年",   # quantity, valid
    "XT_P01_C01_R02_NAME": "乙行无数字", "XT_P01_C01_R02_VALUE": "若干",     # quantity, no digit
    "XT_P01_C04_R01_NAME": "丙行无数字", "XT_P01_C04_R01_VALUE": "若干元",   # cost, no digit
    "XT_P01_C04_R02_NAME": "丁行空值",                                       # cost, left empty
    "XT_P01_C04_R03_NAME": "戊行有数字", "XT_P01_C04_R03_VALUE": "2万元",    # cost, valid
    "XT_P01_C08_R01_NAME": "己行定性", "XT_P01_C08_R01_VALUE": "长期",       # not numeric
    "XT_P01_C09_R01_NAME": "庚行无数字", "XT_P01_C09_R01_VALUE": "满意",     # satisfaction
}
RED_ROWS = {"乙行无数字", "丙行无数字", "庚行无数字"}
PLAIN_ROWS = {"甲行有数字", "丁行空值", "戊行有数字", "己行定性"}


@dataclass(frozen=True)
class Box:
    """A word's box on a page, in points from the top left."""

    text: str
    x0: float
    y0: float
    x1: float
    y1: float


def words(pdf: Path) -> dict[int, list[Box]]:
    """Every word of every page, as poppler's pdftotext places it."""
    xhtml = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True,
                           check=True).stdout
    root = ElementTree.fromstring(xhtml)
    pages: dict[int, list[Box]] = {}
    for number, page in enumerate(root.iter("{http://www.w3.org/1999/xhtml}page"), start=1):
        pages[number] = [Box(w.text or "", *(float(w.get(k, 0)) for k in
                                             ("xMin", "yMin", "xMax", "yMax")))
                         for w in page.iter("{http://www.w3.org/1999/xhtml}word")]
    return pages


@dataclass(frozen=True)
class Picture:
    """A page rendered by poppler: RGB pixels, DPI dots per inch."""

    width: int
    height: int
    pixels: bytes

    @classmethod
    def of(cls, pdf: Path, page: int, folder: Path) -> Picture:
        stem = folder / f"page{page}"
        subprocess.run(["pdftoppm", "-r", str(DPI), "-f", str(page), "-l", str(page),
                        "-singlefile", str(pdf), str(stem)], check=True, capture_output=True)
        data = stem.with_suffix(".ppm").read_bytes()
        magic, width, height, depth, pixels = data.split(maxsplit=4)
        assert (magic, depth) == (b"P6", b"255")
        return cls(int(width), int(height), pixels)

    def rgb(self, x: int, y: int) -> tuple[int, int, int]:
        at = 3 * (y * self.width + x)
        red, green, blue = self.pixels[at:at + 3]
        return red, green, blue

    def runs(self, x: float, kind: str) -> int:
        """Runs of pixels of fill KIND down the page at X (points): one per cell so filled."""
        column = round(x * DPI / 72)
        count, inside = 0, False
        for y in range(self.height):
            found = _kind(self.rgb(column, y)) == kind
            count += found and not inside
            inside = found
        return count

    def fill(self, x0: float, y0: float, x1: float, y1: float) -> str:
        """Which fill the area (in points) shows most: `warning`, `input`, or `other`."""
        counts = {"warning": 0, "input": 0, "other": 0}
        scale = DPI / 72
        for y in range(round(y0 * scale), round(y1 * scale)):
            for x in range(round(x0 * scale), round(x1 * scale)):
                counts[_kind(self.rgb(x, y))] += 1
        return max(("warning", "input"), key=lambda k: counts[k]) \
            if counts["warning"] + counts["input"] > counts["other"] / 4 else "other"


def _colour(hex_colour: str) -> tuple[int, int, int]:
    value = int(hex_colour.lstrip("#"), 16)
    return value >> 16, (value >> 8) & 255, value & 255


def _kind(pixel: tuple[int, int, int]) -> str:
    for name, colour in (("warning", _colour(WARNING_FILL)), ("input", _colour(INPUT_FILL))):
        if all(abs(a - b) <= 6 for a, b in zip(pixel, colour, strict=True)):
            return name
    return "other"


@pytest.mark.libreoffice
def test_libreoffice_highlights_exactly_the_values_without_a_digit(tmp_path: Path) -> None:
    """Typed in LibreOffice and printed by it: the red fill is where Excel puts it.

    The printed page is the one reliable view of a conditional format's outcome: UNO offers
    no way to ask whether a cell's condition holds, and a re-saved file still holds only
    the rule. Each row is found by the marker in its name cell; its value cell is sampled
    right of the column's middle, clear of the short values' text.
    """
    run = issue_templates(SAMPLES / "ledger.xlsx", tmp_path / "out", store=tmp_path / "x.db",
                          departments=["013042"])
    filled = fill_with_libreoffice(run.workbooks[0].path, VALUES, tmp_path / "filled.xlsx")
    pdf = convert(filled, "pdf", tmp_path / "pdf", tmp_path / "profile")
    shown, red = {}, 0
    for page, boxes in words(pdf).items():  # the form runs over pages: each marked one
        markers = {w.text for w in boxes} & (RED_ROWS | PLAIN_ROWS)
        if not markers:
            continue
        picture = Picture.of(pdf, page, tmp_path)
        header = next(w for w in boxes if w.text == "指标值")  # centred over the value column
        middle = (header.x0 + header.x1) / 2
        for marker in markers:
            row = next(w for w in boxes if w.text == marker)
            shown[marker] = picture.fill(middle + 5, row.y0, middle + 30, row.y1)
        red += picture.runs(middle + 15, "warning")
    assert {m for m, fill in shown.items() if fill == "warning"} == RED_ROWS, shown
    assert {m for m, fill in shown.items() if fill == "input"} == PLAIN_ROWS, shown
    assert red == len(RED_ROWS)  # and nothing else is red
