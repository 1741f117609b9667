"""The cover (填报说明): its live status agrees with collect, it names the form by its title,
and its status rows are tall enough for the longest status they can show."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from tests.conftest import complete_values, ledger_row, weighted_values, write_ledger
from xltool.collect import collect
from xltool.profile import FormProfile, load_profile
from xltool.tables import lines_needed
from xltool.template import IssuedWorkbook, issue_templates
from xltool.template.cover import STATUS_COL, WIDTHS
from xltool.template.plan import COVER_SHEET
from xltool.template.status import (
    COMPLETE,
    MAX_FORMULA,
    PENDING,
    RowState,
    marker,
    row_state,
    seen,
)
from xltool.text import normalise_text
from xltool.values import is_label_placeholder
from xltool.visible import is_blank
from xltool.xlsxout import is_classic

GOAL_LABELS = {load_profile(name).goal_label for name in ("ningxia-2021", "weighted")}
STATUS_LETTER = "ABCDE"[STATUS_COL]


@pytest.fixture
def issued(tmp_path: Path) -> IssuedWorkbook:
    ledger = write_ledger(tmp_path / "ledger.csv", [
        ledger_row(f"001-0{n}", f"项目{n}", total="10") for n in range(1, 6)])
    [workbook] = issue_templates(ledger, tmp_path / "templates", store=tmp_path / "x.db").workbooks
    return workbook


def _project_rows(sheet: Any, count: int) -> range:
    """The cover's first COUNT project rows (1-based), under the list's header: the list
    follows the heading, or the instructions when it is too long for the first page."""
    header = next(row[0].row for row in sheet.iter_rows(max_col=1) if row[0].value == "序号")
    return range(header + 1, header + 1 + count)


def _statuses(path: Path, count: int) -> list[str]:
    sheet = load_workbook(path, data_only=True)[COVER_SHEET]
    return [str(sheet[f"{STATUS_LETTER}{row}"].value) for row in _project_rows(sheet, count)]


def _verdicts(path: Path, store: Path, count: int) -> list[set[str]]:
    """Per project of the return, the filling codes collect finds."""
    [outcome] = collect([path], store=store).files
    verdict: dict[str, set[str]] = {f"001-{n:02d}": set() for n in range(1, count + 1)}
    for finding in outcome.findings:
        if finding.code in FILLING:
            verdict[finding.project].add(finding.code)
    return list(verdict.values())


def _codes_the_cover_names(status: str) -> set[str]:
    """The rule codes collect gives for what the cover's status says is unfilled."""
    if status == COMPLETE:
        return set()
    codes = set()
    for entry in status.removeprefix(PENDING).split():
        if entry in GOAL_LABELS:
            codes.add("rule.goal_empty")
        elif "（缺" not in entry:
            codes.add("rule.required_empty")
        if re.search(r"缺[^）]*三级指标", entry):
            codes.add("rule.name_missing")
        if entry.endswith("指标值）"):
            codes.add("rule.value_missing")
    return codes


@pytest.mark.libreoffice
def test_the_cover_status_recalculated_in_libreoffice_agrees_with_collect(
        issued: IssuedWorkbook, tmp_path: Path) -> None:
    from tests.fill import fill_with_libreoffice

    store = tmp_path / "x.db"
    values = complete_values(store, issued.template_id)
    values["XT_P02_C01_R02_VALUE"] = "≥3次"  # a value without a name
    values["XT_P03_C02_R02_NAME"] = "验收合格率"  # a name without a value
    del values["XT_P04_GOAL"]
    del values["XT_P05_C02_R01_NAME"], values["XT_P05_C02_R01_VALUE"]  # 质量指标 empty
    path = fill_with_libreoffice(issued.path, values, tmp_path / "lo.xlsx")

    statuses = _statuses(path, 5)
    assert statuses == [COMPLETE, "待填：数量指标（缺三级指标）", "待填：质量指标（缺指标值）",
                        "待填：年度总体目标", "待填：质量指标"]
    [outcome] = collect([path], store=store).files
    verdict = {f"001-0{n}": set() for n in range(1, 6)}
    for finding in outcome.findings:
        verdict[finding.project].add(finding.code)
    assert [_codes_the_cover_names(s) for s in statuses] == list(verdict.values())


FILLING = frozenset({"rule.goal_empty", "rule.required_empty", "rule.name_missing",
                     "rule.value_missing"})
# What collect treats as empty though a cell holds something, each case in a project of its
# own (project N is XT_Pnn), typed through LibreOffice: the status it shows, recalculated.
LOOKS_EMPTY: tuple[tuple[dict[str, object], str], ...] = (
    ({"XT_P01_C01_R01_NAME": "指标1：", "XT_P01_C01_R01_VALUE": None}, "待填：数量指标"),
    ({"XT_P02_C01_R01_NAME": "指标 １ :", "XT_P02_C01_R01_VALUE": None}, "待填：数量指标"),
    ({"XT_P03_C01_R01_NAME": "本指标不适用", "XT_P03_C01_R01_VALUE": None}, "待填：数量指标"),
    ({"XT_P04_C01_R01_NAME": "\u3000"}, "待填：数量指标（缺三级指标）"),  # ideographic space
    ({"XT_P05_C01_R01_NAME": "\u200b\u00a0"}, "待填：数量指标（缺三级指标）"),  # zero-width, nbsp
    ({"XT_P06_C01_R01_NAME": " \t\n"}, "待填：数量指标（缺三级指标）"),
    ({"XT_P07_C01_R01_VALUE": "\u3164"}, "待填：数量指标（缺指标值）"),  # Hangul filler
    ({"XT_P08_GOAL": "\u3000\n\ufeff"}, "待填：年度总体目标"),
    # what collect does count: a placeholder with a value is an indicator, an optional
    # category holding only a placeholder has none (and is not required)
    ({"XT_P09_C01_R01_NAME": "指标1："}, COMPLETE),
    ({"XT_P10_C05_R01_NAME": "指标2："}, COMPLETE),
    ({"XT_P11_C01_R01_NAME": "指标1：督查次数"}, COMPLETE),
)


@pytest.mark.libreoffice
def test_what_collect_treats_as_empty_the_recalculated_cover_treats_as_empty(
        tmp_path: Path) -> None:
    from tests.fill import fill_with_libreoffice

    count = len(LOOKS_EMPTY)
    ledger = write_ledger(tmp_path / "ledger.csv", [
        ledger_row(f"001-{n:02d}", f"项目{n}", total="10") for n in range(1, count + 1)])
    store = tmp_path / "x.db"
    [issued] = issue_templates(ledger, tmp_path / "templates", store=store).workbooks
    values = complete_values(store, issued.template_id)
    for change, _ in LOOKS_EMPTY:
        values.update(change)
    path = fill_with_libreoffice(issued.path, values, tmp_path / "lo.xlsx")

    statuses = _statuses(path, count)
    assert statuses == [status for _, status in LOOKS_EMPTY]
    assert [_codes_the_cover_names(s) for s in statuses] == _verdicts(path, store, count)


# A weighted form has no value column: a row is an indicator by its name or its weight.
WEIGHTED_CASES: tuple[tuple[dict[str, object], str], ...] = (
    ({}, COMPLETE),
    ({"C01_R01_NAME": "指标1："}, "待填：数量指标"),
    ({"C01_R01_NAME": "本指标不适用"}, "待填：数量指标"),
    ({"C01_R01_NAME": "\u3000\u200b"}, COMPLETE),  # its weight makes it a row, for collect too
    ({"C01_R01_NAME": "\u3000", "C01_R01_WEIGHT": None}, "待填：数量指标"),
    ({"GOAL": "\u00a0"}, "待填：年度绩效目标"),
)


@pytest.mark.libreoffice
def test_a_weighted_cover_recalculated_in_libreoffice_agrees_with_collect(
        tmp_path: Path) -> None:
    from tests.fill import fill_with_libreoffice

    count = len(WEIGHTED_CASES)
    ledger = write_ledger(tmp_path / "ledger.csv", [
        ledger_row(f"001-{n:02d}", f"项目{n}", total="20") for n in range(1, count + 1)])
    store = tmp_path / "x.db"
    [issued] = issue_templates(ledger, tmp_path / "templates", store=store,
                               profile="weighted").workbooks
    values: dict[str, object] = {}
    for n, (change, _) in enumerate(WEIGHTED_CASES, start=1):
        prefix = f"XT_P{n:02d}_"
        complete = {name.replace("XT_P01_", prefix): value
                    for name, value in weighted_values().items()}
        values.update({**complete, **{prefix + name: v for name, v in change.items()}})
    path = fill_with_libreoffice(issued.path, values, tmp_path / "lo.xlsx")

    statuses = _statuses(path, count)
    assert statuses == [status for _, status in WEIGHTED_CASES]
    assert [_codes_the_cover_names(s) for s in statuses] == _verdicts(path, store, count)


ROWS = ("", " ", "\u3000", "\u200b\u00a0", "\t\n", "\u3164", "\u2800", "指标1：", "指标 １ :",
        "指标十", "指标12:", "指标123", "指标：", "指标1：督查", "本指标不适用", " 本指标不适用 ",
        "督查次数", "≥3次", "0", "1")


def _collect_counts(name: str, value: str, profile: FormProfile) -> RowState:
    """How collect's rules count a row with NAME and VALUE, by their own functions."""
    name, value = ("" if is_blank(name) else name), ("" if is_blank(value) else value)
    mark = profile.weights.not_applicable if profile.weights else "本指标不适用"
    if not name and not value:
        return RowState.NONE
    if not value and is_label_placeholder(normalise_text(name)):
        return RowState.NONE
    if mark in (normalise_text(name), normalise_text(value)):
        return RowState.NONE
    return RowState.NO_VALUE if not value else RowState.NO_NAME if not name else RowState.FILLED


@pytest.mark.parametrize("name", ROWS)
def test_the_cover_counts_an_indicator_row_as_collect_does(name: str) -> None:
    profile = load_profile("ningxia-2021")
    for value in ROWS:
        ours = row_state(seen(name), seen(value), value_column=True, mark=marker(profile))
        assert ours is _collect_counts(name, value, profile), (name, value)


@pytest.mark.parametrize("profile_name", ["ningxia-2021", "ningxia-2023", "weighted",
                                          "national-2021"])
def test_every_cover_formula_fits_excel_and_its_helpers_are_hidden(
        profile_name: str, tmp_path: Path) -> None:
    ledger = write_ledger(tmp_path / "ledger.csv", [
        ledger_row(f"001-{n:02d}", f"项目{n}" * 30, total="10") for n in range(1, 13)])
    [issued] = issue_templates(ledger, tmp_path / "t", store=tmp_path / "x.db",
                               profile=profile_name).workbooks
    sheet = load_workbook(issued.path)[COVER_SHEET]
    formulas = [c for row in sheet.iter_rows() for c in row
                if isinstance(c.value, str) and c.value.startswith("=")]
    assert len(formulas) > 12 * 4
    assert max(len(c.value) for c in formulas) < MAX_FORMULA
    assert all(is_classic(c.value) for c in formulas)  # functions every spreadsheet has
    helpers = {c.column for c in formulas} - {STATUS_COL + 1}
    hidden = {col for d in sheet.column_dimensions.values() if d.hidden
              for col in range(d.min, d.max + 1)}
    assert helpers and helpers <= hidden
    assert not hidden & set(range(1, len(WIDTHS) + 1))  # the list itself is shown


def test_the_cover_of_a_fresh_template_names_what_is_left_and_the_form_title(
        issued: IssuedWorkbook) -> None:
    sheet = load_workbook(issued.path)[COVER_SHEET]
    texts = [str(c.value) for row in sheet.iter_rows() for c in row if c.value]
    profile = load_profile("ningxia-2021")
    assert any(f"表式：{profile.title_for(2024)}" in text for text in texts)
    assert not any("ningxia" in text for text in texts)
    cached = _statuses(issued.path, 5)
    required = " ".join(c.level2 for c in profile.categories if c.required)
    assert cached == [f"待填：年度总体目标 {required}"] * 5


def test_the_status_rows_hold_the_longest_status_without_overflow(
        issued: IssuedWorkbook) -> None:
    profile = load_profile("ningxia-2021")
    labels = (profile.name_label, profile.value_label)
    longest = "待填：年度总体目标 " + " ".join(
        f"{c.level2}（缺{labels[0]}、{labels[1]}）" for c in profile.categories)
    sheet = load_workbook(issued.path)[COVER_SHEET]
    for row in _project_rows(sheet, 5):
        cell = sheet.cell(row, STATUS_COL + 1)
        assert cell.alignment.wrap_text
        size = float(cell.font.sz)  # the status may print smaller than 11-point text
        # `lines_needed` counts a width in 11-point characters, of which SIZE fits more
        per_line = (WIDTHS[STATUS_COL] - 2) * 11 / size
        needed = lines_needed(longest, per_line + 2) * size * 1.4  # a line of SIZE points
        height = sheet.row_dimensions[row].height
        assert height is not None and height >= needed
