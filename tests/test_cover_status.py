"""The cover (填报说明): its live status agrees with collect, it names the form by its title,
and its status rows are tall enough for the longest status they can show."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from openpyxl import load_workbook

from tests.conftest import complete_values, ledger_row, write_ledger
from xltool.collect import collect
from xltool.profile import load_profile
from xltool.tables import lines_needed
from xltool.template import IssuedWorkbook, issue_templates
from xltool.template.cover import COMPLETE, PENDING, STATUS_COL, WIDTHS
from xltool.template.plan import COVER_SHEET

FIRST_PROJECT_ROW = 7  # 1-based: title, five heading lines, the list's header
STATUS_LETTER = "ABCDE"[STATUS_COL]


@pytest.fixture
def issued(tmp_path: Path) -> IssuedWorkbook:
    ledger = write_ledger(tmp_path / "ledger.csv", [
        ledger_row(f"001-0{n}", f"项目{n}", total="10") for n in range(1, 6)])
    [workbook] = issue_templates(ledger, tmp_path / "templates", store=tmp_path / "x.db").workbooks
    return workbook


def _statuses(path: Path, count: int) -> list[str]:
    sheet = load_workbook(path, data_only=True)[COVER_SHEET]
    rows = range(FIRST_PROJECT_ROW, FIRST_PROJECT_ROW + count)
    return [str(sheet[f"{STATUS_LETTER}{row}"].value) for row in rows]


def _codes_the_cover_names(status: str) -> set[str]:
    """The rule codes collect gives for what the cover's status says is unfilled."""
    if status == COMPLETE:
        return set()
    codes = set()
    for entry in status.removeprefix(PENDING).split():
        if entry == "年度总体目标":
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
    needed = lines_needed(longest, WIDTHS[STATUS_COL]) * 12.0  # a 10–11 pt line
    sheet = load_workbook(issued.path)[COVER_SHEET]
    for row in range(FIRST_PROJECT_ROW, FIRST_PROJECT_ROW + 5):
        assert sheet.cell(row, STATUS_COL + 1).alignment.wrap_text
        height = sheet.row_dimensions[row].height
        assert height is not None and height >= needed
