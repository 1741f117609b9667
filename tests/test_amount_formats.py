"""Every workbook xltool writes shows its 万元 amounts one way (`xltool.money.AMOUNT_FORMAT`),
as numbers. The amount cells are found by their labels and headers, as a reader finds them,
and each kind of workbook must show some: a workbook whose amounts moved or lost their
labels fails here instead of passing on an empty list."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.cell.cell import Cell
from openpyxl.worksheet.worksheet import Worksheet

from tests.conftest import ledger_row, write_ledger
from xltool.codes import RECONCILE_WEIGHTS
from xltool.collect.feedback import SUMMARY_NAME
from xltool.demo import DemoResult, run_demo
from xltool.money import AMOUNT_FORMAT
from xltool.profile import load_profile
from xltool.template import issue_templates

PROFILES = ("ningxia-2021", "ningxia-2023", "weighted", "national-2021")
# The funding rows of every form (row labels in a form, column headers in the summary),
# and the amount headers of the lists and reports.
AMOUNT_LABELS = frozenset(
    {spec.label for name in PROFILES for spec in load_profile(name).funding}
    | {"年度资金总额", "年度资金总额（万元）", "总账资金（万元）", "报送资金（万元）",
       "差额（万元）", "总账", "报送/下发", "差额（总账−报送）"})


def _is_number(cell: Cell) -> bool:
    return isinstance(cell.value, int | float) and not isinstance(cell.value, bool)


def _row_is_empty(sheet: Worksheet, row: int) -> bool:
    return all(cell.value in (None, "") for cell in sheet[row])


def amount_cells(sheet: Worksheet) -> Iterator[Cell]:
    """The numbers under an amount label: to its right when the label heads a row that holds
    a number (a form's funding row), below it down to the table's end when it is one header
    among others."""
    for row in sheet.iter_rows():
        for label in row:
            if not isinstance(label.value, str):
                continue
            if "".join(label.value.split()) not in AMOUNT_LABELS:  # a header broken into lines
                continue
            right = [cell for cell in row[label.column:] if _is_number(cell)]
            if right:
                yield from right
            elif sum(isinstance(cell.value, str) for cell in row) > 1:
                yield from _below(sheet, label)


def _below(sheet: Worksheet, label: Cell) -> Iterator[Cell]:
    for row in range(label.row + 1, sheet.max_row + 1):
        if _row_is_empty(sheet, row):
            return
        cell = sheet.cell(row, label.column)
        if _is_number(cell):
            yield cell


def _found(path: Path, skip: frozenset[str] = frozenset()) -> dict[str, list[Cell]]:
    """Per sheet, its amount cells (a sheet without any is absent)."""
    book = load_workbook(path)
    found = {sheet.title: list(amount_cells(sheet)) for sheet in book.worksheets
             if sheet.title not in skip}
    return {title: cells for title, cells in found.items() if cells}


def _wrongly_shown(found: dict[str, list[Cell]]) -> list[str]:
    return [f"{title}!{cell.coordinate} {cell.value!r} {cell.number_format!r}"
            for title, cells in found.items() for cell in cells
            if cell.number_format != AMOUNT_FORMAT]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoResult:
    return run_demo(tmp_path_factory.mktemp("amounts") / "demo")


def test_templates_show_amounts_in_the_one_format(demo: DemoResult) -> None:
    for issued in demo.templates.workbooks:
        found = _found(issued.path)
        forms = load_workbook(issued.path, read_only=True).sheetnames[1:-1]  # cover … lists
        assert set(found) == {"填报说明", *forms}, issued.path.name
        assert not _wrongly_shown(found)


def test_the_collect_summary_shows_amounts_in_the_one_format(demo: DemoResult) -> None:
    for run in demo.rounds:
        [summary] = [path for path in run.feedback if path.name == SUMMARY_NAME]
        found = _found(summary)
        assert set(found) == {"项目"}
        assert not _wrongly_shown(found)


def test_feedback_and_targets_out_show_no_amounts(demo: DemoResult) -> None:
    """Nothing to format there: if they ever show an amount, this test must learn to look."""
    feedback = [path for run in demo.rounds for path in run.feedback
                if path.name != SUMMARY_NAME]
    assert feedback
    for path in [*feedback, demo.folder / "targets-out.xlsx"]:
        assert _found(path) == {}
        book = load_workbook(path)
        headers = [c.value for s in book.worksheets for r in s.iter_rows() for c in r
                   if isinstance(c.value, str) and len(c.value) <= 16 and "（万元）" in c.value]
        assert headers == [], path.name


def test_the_reconcile_report_shows_amounts_in_the_one_format(demo: DemoResult) -> None:
    found = _found(demo.folder / "reconcile.xlsx", skip=frozenset({RECONCILE_WEIGHTS.sheet}))
    assert "汇总" in found and len(found) >= 2  # the summary and a sheet of differences
    assert len(found["汇总"]) >= 3 * 4  # three amount columns, three departments and the total
    assert not _wrongly_shown(found)


def test_the_disclosure_shows_amounts_in_the_one_format(demo: DemoResult) -> None:
    publication = demo.publication
    found = _found(publication.output)
    departments = {f"{d.department_code} {d.department}" for d in publication.departments}
    assert {"目录", "汇总", "总体目标"} | departments <= set(found)
    assert not _wrongly_shown(found)


def test_a_ledger_in_yuan_gives_forms_in_wan_shown_the_same_way(tmp_path: Path) -> None:
    ledger = write_ledger(tmp_path / "ledger.csv", [
        ledger_row("001-01", "办公经费", total="123456.78", fiscal="123456.78")])
    [issued] = issue_templates(ledger, tmp_path / "t", store=tmp_path / "x.db",
                               amounts_in="元").workbooks
    found = _found(issued.path)
    amounts = [cell.value for cells in found.values() for cell in cells]
    assert amounts and all(value == pytest.approx(12.345678) for value in amounts)
    assert not _wrongly_shown(found)
