"""What a return is read with, worked out once and shared: each template's return must still
be read with that template's own values, and whatever the shape of the sheet's values."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from xlsxwriter.utility import quote_sheetname

from tests.conftest import complete_values, ledger_row, write_ledger
from tests.fill import fill_with_openpyxl, set_cell
from xltool.collect.reader import XlsxContent, open_xlsx
from xltool.collect.returns import FormMap, ReadReturn, _quoted, identify_form, read_return
from xltool.collect.rules import check_return
from xltool.profile import FormProfile, load_profile
from xltool.store import open_store
from xltool.template import IssuedWorkbook, issue_templates
from xltool.text import normalise_text


@pytest.fixture
def two_of_one_layout(tmp_path: Path) -> list[IssuedWorkbook]:
    """Two departments' templates of one shape, with different amounts and sheet names."""
    ledger = write_ledger(tmp_path / "ledger.csv", [
        ledger_row("001-01", "办公经费", total="10"),
        ledger_row("002-01", "运维经费", department=("002", "第二局"), total="30",
                   fiscal="20", 其他资金="10"),
    ])
    return list(issue_templates(ledger, tmp_path / "templates", store=tmp_path / "x.db").workbooks)


def _read(path: Path, store_path: Path, profile: FormProfile | None = None,
          content: Any = None) -> tuple[FormMap, ReadReturn]:
    with open_store(store_path) as store:
        opened = open_xlsx(path.read_bytes()) if content is None else content
        form_map, loaded, _ = identify_form(opened, store)
        return form_map, read_return(opened, form_map, profile or loaded)


def test_templates_of_one_layout_are_each_read_with_their_own_values(
        two_of_one_layout: list[IssuedWorkbook], tmp_path: Path) -> None:
    store_path = tmp_path / "x.db"
    first, second = two_of_one_layout
    paths = []
    for workbook, goal in ((first, "目标：办公保障。"), (second, "目标：系统运维。")):
        values = complete_values(store_path, workbook.template_id)
        values["XT_P01_GOAL"] = goal
        values["XT_P01_C01_R02_NAME"] = f"{workbook.department}的培训人次"
        values["XT_P01_C01_R02_VALUE"] = "≥300人次"
        paths.append(fill_with_openpyxl(workbook.path, values, tmp_path / f"{goal}.xlsx"))
    with open_store(store_path) as store:
        [total] = [c for c in store.issued_form(second.template_id).cells()
                   if c.field == "funding.total"]
    # The second department writes over its amount: as the first's, which is no change there.
    changed = set_cell(paths[1], total.sheet, total.cell, 10, tmp_path / "changed.xlsx")

    map_one, one = _read(paths[0], store_path)
    map_two, two = _read(changed, store_path)

    assert map_one.projects[0].layout is map_two.projects[0].layout
    assert one.findings == () and check_return(one) == []
    assert [f.code for f in two.findings] == ["form.locked_changed"]
    assert (two.findings[0].cell, two.findings[0].value) == (total.cell, "10")
    assert [(p.code, p.sheet, p.total, p.goal) for p in one.projects] == [
        ("001-01", first.sheets[0], Decimal(10), "目标：办公保障。")]
    assert [(p.code, p.sheet, p.total, p.goal) for p in two.projects] == [
        ("002-01", second.sheets[0], Decimal(30), "目标：系统运维。")]
    for read, workbook in ((one, first), (two, second)):
        [project] = read.projects
        assert {i.sheet for i in project.indicators} == {workbook.sheets[0]}
        assert (project.indicators[1].name, project.indicators[1].value) == (
            f"{workbook.department}的培训人次", "≥300人次")
    assert [i.value for i in two.projects[0].indicators if i.category.role == "cost"] == [
        "30万元"]


class _Reshaped:
    """An opened return whose sheets' values are given another shape."""

    def __init__(self, content: XlsxContent, reshape: Any) -> None:
        self._content, self._reshape = content, reshape

    def __getattr__(self, name: str) -> Any:
        return getattr(self._content, name)

    def prepare(self, sheets: Iterable[str]) -> None:
        if hasattr(self._content, "prepare"):
            self._content.prepare(sheets)

    def values(self, sheet: str) -> list[list[Any]]:
        rows: list[list[Any]] = self._reshape([list(row) for row in self._content.values(sheet)])
        return rows


def _wider(rows: list[list[Any]]) -> list[list[Any]]:
    return [[*row, "", ""] for row in rows] + [[""] * (len(rows[0]) + 2)]


def _ragged(rows: list[list[Any]]) -> list[list[Any]]:
    return [row if number % 2 else [*row, ""] for number, row in enumerate(rows)]


def _outside(rows: list[list[Any]]) -> list[list[Any]]:
    wider = _wider(rows)
    wider[3][-1] = "备注"
    return wider


def _short(rows: list[list[Any]]) -> list[list[Any]]:
    return [row[:2] for row in rows[:-1]]


def test_sheets_of_any_shape_read_as_cell_by_cell(
        two_of_one_layout: list[IssuedWorkbook], tmp_path: Path) -> None:
    store_path = tmp_path / "x.db"
    workbook = two_of_one_layout[0]
    path = fill_with_openpyxl(workbook.path, complete_values(store_path, workbook.template_id),
                              tmp_path / "return.xlsx")
    _, plain = _read(path, store_path)
    for reshape in (_wider, _ragged):
        _, read = _read(path, store_path, content=_Reshaped(open_xlsx(path.read_bytes()),
                                                            reshape))
        assert (read.projects, read.findings) == (plain.projects, plain.findings)
    _, outside = _read(path, store_path,
                       content=_Reshaped(open_xlsx(path.read_bytes()), _outside))
    assert outside.projects == plain.projects
    assert [(f.code, f.cell) for f in outside.findings] == [("form.outside_cells", "F4")]
    _, short = _read(path, store_path, content=_Reshaped(open_xlsx(path.read_bytes()), _short))
    [project] = short.projects
    assert project.indicators == () and {f.code for f in short.findings} == {
        "form.locked_changed"}


def test_each_read_takes_the_categories_of_the_profile_it_is_given(
        two_of_one_layout: list[IssuedWorkbook], tmp_path: Path) -> None:
    store_path = tmp_path / "x.db"
    workbook = two_of_one_layout[0]
    path = fill_with_openpyxl(workbook.path, complete_values(store_path, workbook.template_id),
                              tmp_path / "return.xlsx")
    profile = load_profile("ningxia-2021")
    renamed = replace(profile, categories=tuple(replace(c, level2=f"{c.level2}（新）")
                                                for c in profile.categories))
    for given in (profile, renamed, profile):
        _, read = _read(path, store_path, given)
        assert {i.category for i in read.projects[0].indicators} <= set(given.categories)


def test_a_goal_is_blank_exactly_when_normalising_leaves_nothing() -> None:
    # goal_filled asks `str.strip` instead of `normalise_text`: the same for every character.
    differ = [hex(code) for code in range(0x110000)
              if not 0xD800 <= code < 0xE000
              and (normalise_text(chr(code)) == "") != (chr(code).strip() == "")]
    assert differ == [], unicodedata.unidata_version


@pytest.mark.parametrize("sheet", ["01 办公经费", "02 a'b 经费", "03 'x' y", "R1 C1", " 1"])
def test_a_sheet_with_a_space_is_quoted_as_references_quote_it(sheet: str) -> None:
    assert _quoted(sheet) == quote_sheetname(sheet)
