"""The fill harness: a return made by openpyxl or by LibreOffice holds exactly what was typed."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.cell.cell import Cell
from openpyxl.utils.cell import absolute_coordinate, quote_sheetname
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.workbook.workbook import Workbook

from tests.conftest import SAMPLES
from tests.fill import (
    delete_sheet,
    fill_with_libreoffice,
    fill_with_openpyxl,
    insert_row,
    rename_sheet,
    set_cell,
    unprotect_sheet,
)
from tests.libreoffice import require_soffice
from xltool.store import IssuedCell, open_store
from xltool.template import issue_templates

Filler = Callable[[Path, Mapping[str, object], Path], Path]

# What a department types, per profile: text that looks like a formula or a comparison stays
# text, a weight is a number, None empties a prefilled cell.
VALUES: dict[str, dict[str, object]] = {
    "ningxia-2021": {
        "XT_P01_C01_R01_VALUE": "≥95%",
        "XT_P01_C01_R01_NAME": "=1+1",
        "XT_P01_C01_R02_VALUE": 100,
        "XT_P02_GOAL": "完成全年信访宣传任务",
        "XT_P01_GOAL": None,
    },
    "weighted": {
        "XT_P01_C01_R01_WEIGHT": 20,
        "XT_P01_C01_R02_WEIGHT": Decimal("12.50"),
        "XT_P01_C01_R01_NAME": "≥95%",
        "XT_P02_C01_R01_NAME": "=1+1",
        "XT_P01_SUPERVISOR": "综合科",
    },
}
FILLERS: dict[str, Filler] = {"openpyxl": fill_with_openpyxl,
                              "libreoffice": fill_with_libreoffice}


@dataclass(frozen=True)
class Issued:
    path: Path
    template_id: str
    cells: tuple[IssuedCell, ...]


@dataclass(frozen=True)
class Return:
    issued: Issued
    values: dict[str, object]
    path: Path


def _issue(folder: Path, profile: str) -> Issued:
    run = issue_templates(SAMPLES / "ledger.xlsx", folder / "out", store=folder / "x.db",
                          profile=profile, prefill=SAMPLES / "targets.xlsx",
                          departments=["013042"])
    workbook = run.workbooks[0]
    with open_store(folder / "x.db") as store:
        cells = tuple(store.issued_form(workbook.template_id).cells())
    return Issued(workbook.path, workbook.template_id, cells)


@pytest.fixture(scope="module")
def issued(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Issued]:
    return {profile: _issue(tmp_path_factory.mktemp(profile), profile) for profile in VALUES}


@pytest.fixture(scope="module", params=[
    pytest.param(("openpyxl", "ningxia-2021"), id="openpyxl-ningxia"),
    pytest.param(("openpyxl", "weighted"), id="openpyxl-weighted"),
    pytest.param(("libreoffice", "ningxia-2021"), id="libreoffice-ningxia",
                 marks=pytest.mark.libreoffice),
    pytest.param(("libreoffice", "weighted"), id="libreoffice-weighted",
                 marks=pytest.mark.libreoffice),
])
def filled(request: pytest.FixtureRequest, issued: dict[str, Issued],
           tmp_path_factory: pytest.TempPathFactory) -> Return:
    """One fill per route and profile (one soffice start for each LibreOffice return)."""
    route, profile = request.param
    if route == "libreoffice":
        require_soffice()
    template = issued[profile]
    values = VALUES[profile]
    out = tmp_path_factory.mktemp(f"{route}-{profile}") / "return.xlsx"
    return Return(template, values, FILLERS[route](template.path, values, out))


def _named(workbook: Workbook, name: str) -> Cell:
    sheet, ref = next(iter(workbook.defined_names[name].destinations))
    cell: Cell = workbook[sheet][ref.replace("$", "")]
    return cell


def _expected(value: object) -> tuple[object, str]:
    if isinstance(value, str):
        return value, "s"
    if isinstance(value, Decimal):
        return float(value), "n"
    return value, "n"


def test_written_values_are_in_the_named_cells(filled: Return) -> None:
    workbook = load_workbook(filled.path)
    for name, value in filled.values.items():
        cell = _named(workbook, name)
        assert (cell.value, cell.data_type) == _expected(value), name
        assert cell.protection.locked is False


def test_identity_names_and_protection_survive(filled: Return) -> None:
    original = load_workbook(filled.issued.path)
    workbook = load_workbook(filled.path)
    properties = {p.name: p.value for p in workbook.custom_doc_props.props}
    assert properties["xltool.template_id"] == filled.issued.template_id
    assert workbook.defined_names["XT_TEMPLATE_ID"].attr_text == f'"{filled.issued.template_id}"'
    assert set(workbook.defined_names) == set(original.defined_names)
    for name, defined in original.defined_names.items():
        assert workbook.defined_names[name].attr_text == defined.attr_text, name
    assert workbook.sheetnames == original.sheetnames
    assert all(sheet.protection.sheet for sheet in workbook.worksheets)


def test_untouched_cells_are_unchanged(filled: Return) -> None:
    original = load_workbook(filled.issued.path)
    workbook = load_workbook(filled.path)
    written = {(c.parent.title, c.coordinate) for c in
               (_named(workbook, name) for name in filled.values)}
    compared = 0
    for sheet in original.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if (sheet.title, cell.coordinate) in written:
                    continue
                after = workbook[sheet.title][cell.coordinate]
                assert (after.value, after.data_type) == (cell.value, cell.data_type), (
                    sheet.title, cell.coordinate)
                compared += 1
    assert compared > 500
    # and, checked against the store: every input cell not written keeps its prefill
    for record in filled.issued.cells:
        if record.name not in filled.values and not record.locked:
            assert (workbook[record.sheet][record.cell].value or "") == record.value


# -- openpyxl details and the tampering edits ---------------------------------------------


def test_an_unknown_name_is_a_key_error(issued: dict[str, Issued], tmp_path: Path) -> None:
    template = issued["weighted"].path
    for fill in FILLERS.values():
        with pytest.raises(KeyError, match="XT_P01_C01_R01_VALUE"):
            fill(template, {"XT_P01_GOAL": "x", "XT_P01_C01_R01_VALUE": "≥95%"},
                 tmp_path / "out.xlsx")
    assert not (tmp_path / "out.xlsx").exists()


def test_values_of_other_kinds_are_refused(issued: dict[str, Issued], tmp_path: Path) -> None:
    with pytest.raises(TypeError):
        fill_with_openpyxl(issued["weighted"].path, {"XT_P01_C01_R01_WEIGHT": True},
                           tmp_path / "out.xlsx")


def test_set_cell_writes_a_locked_cell(issued: dict[str, Issued], tmp_path: Path) -> None:
    template = issued["ningxia-2021"]
    record = next(c for c in template.cells if c.locked and c.field == "header.project_name")
    out = set_cell(template.path, record.sheet, record.cell, "改过的项目名称", tmp_path / "o.xlsx")
    workbook = load_workbook(out)
    cell = workbook[record.sheet][record.cell]
    assert cell.value == "改过的项目名称" and cell.protection.locked is not False
    assert workbook[record.sheet].protection.sheet


def test_delete_sheet_leaves_its_names_dangling(issued: dict[str, Issued],
                                                tmp_path: Path) -> None:
    sheet = load_workbook(issued["ningxia-2021"].path).sheetnames[2]
    workbook = load_workbook(delete_sheet(issued["ningxia-2021"].path, sheet,
                                          tmp_path / "o.xlsx"))
    assert sheet not in workbook.sheetnames
    assert next(iter(workbook.defined_names["XT_P02_GOAL"].destinations))[0] == sheet


def test_insert_row_moves_cells_but_not_names(issued: dict[str, Issued], tmp_path: Path) -> None:
    original = load_workbook(issued["ningxia-2021"].path)
    goal = _named(original, "XT_P01_GOAL")
    out = insert_row(issued["ningxia-2021"].path, goal.parent.title, goal.row, tmp_path / "o.xlsx")
    workbook = load_workbook(out)
    sheet = workbook[goal.parent.title]
    assert sheet.cell(goal.row + 1, goal.column).value == goal.value
    assert _named(workbook, "XT_P01_GOAL").coordinate == goal.coordinate
    assert _named(workbook, "XT_P01_GOAL").value != goal.value


def test_rename_sheet_renames_the_names_too(issued: dict[str, Issued], tmp_path: Path) -> None:
    original = load_workbook(issued["ningxia-2021"].path)
    goal = _named(original, "XT_P01_GOAL")
    workbook = load_workbook(rename_sheet(issued["ningxia-2021"].path, goal.parent.title,
                                          "项目一", tmp_path / "o.xlsx"))
    assert goal.parent.title not in workbook.sheetnames
    assert _named(workbook, "XT_P01_GOAL").parent.title == "项目一"
    assert _named(workbook, "XT_P01_GOAL").value == goal.value
    assert _named(workbook, "XT_P02_GOAL").parent.title == original.sheetnames[2]


def test_unprotect_sheet(issued: dict[str, Issued], tmp_path: Path) -> None:
    sheet = load_workbook(issued["ningxia-2021"].path).sheetnames[1]
    workbook = load_workbook(unprotect_sheet(issued["ningxia-2021"].path, sheet,
                                             tmp_path / "o.xlsx"))
    assert not workbook[sheet].protection.sheet
    assert all(workbook[s].protection.sheet for s in workbook.sheetnames if s != sheet)


@pytest.mark.libreoffice
def test_libreoffice_refuses_a_locked_cell(issued: dict[str, Issued], tmp_path: Path) -> None:
    """A user cannot type into a locked cell of a protected sheet, so neither does the fill."""
    require_soffice()
    template = issued["weighted"]
    record = next(c for c in template.cells if c.locked and c.field == "header.project_name")
    workbook = load_workbook(template.path)
    ref = f"{quote_sheetname(record.sheet)}!{absolute_coordinate(record.cell)}"
    workbook.defined_names["XT_TEST_LOCKED"] = DefinedName("XT_TEST_LOCKED", attr_text=ref)
    workbook.save(tmp_path / "named.xlsx")
    with pytest.raises(RuntimeError, match="locked cell"):
        fill_with_libreoffice(tmp_path / "named.xlsx", {"XT_TEST_LOCKED": "x"},
                              tmp_path / "out.xlsx")
    assert not (tmp_path / "out.xlsx").exists()
