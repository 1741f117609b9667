"""Year over year: this year's returns against last year's targets workbook (`publish
--targets-out`): a target lowered, an indicator dropped."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import complete_values, issue_two_departments
from tests.fill import fill_with_openpyxl
from xltool.cli import main
from xltool.collect import collect
from xltool.findings import Severity
from xltool.previous import compare_with_previous, is_lowered
from xltool.publish import publish
from xltool.targets import Targets, new_indicator, read_targets
from xltool.template import IssuedWorkbook
from xltool.values import TargetValue, parse_value

LAST_YEAR = {"XT_P01_C09_R01_VALUE": "≥98%",
             "XT_P01_C02_R02_NAME": "差错率", "XT_P01_C02_R02_VALUE": "≤5%",
             "XT_P01_C01_R02_NAME": "培训人次", "XT_P01_C01_R02_VALUE": "≥300人次"}
# Satisfaction and the error rate lowered, the training dropped, one more indicator.
THIS_YEAR = {"XT_P01_C09_R01_VALUE": "≥90%",
             "XT_P01_C02_R02_NAME": " 差错率", "XT_P01_C02_R02_VALUE": "≤8%",
             "XT_P01_C06_R02_NAME": "群众办事时间", "XT_P01_C06_R02_VALUE": "缩短"}


@pytest.fixture
def issued(tmp_path: Path) -> list[IssuedWorkbook]:
    return issue_two_departments(tmp_path)


@pytest.fixture
def last_year(issued: list[IssuedWorkbook], tmp_path: Path) -> Path:
    """Last year's targets as `publish --targets-out` wrote them, from an accepted return."""
    values = {**complete_values(tmp_path / "x.db", issued[0].template_id), **LAST_YEAR}
    run = collect([fill_with_openpyxl(issued[0].path, values, tmp_path / "last.xlsx")],
                  store=tmp_path / "x.db")
    assert run.files[0].status == "accepted", run.files[0].findings
    targets = tmp_path / "targets-last-year.xlsx"
    publish(store=tmp_path / "x.db", output=tmp_path / "disclosure.xlsx", targets_out=targets)
    return targets


def _this_year(issued: list[IssuedWorkbook], tmp_path: Path) -> Path:
    values = {**complete_values(tmp_path / "x.db", issued[0].template_id), **THIS_YEAR}
    return fill_with_openpyxl(issued[0].path, values, tmp_path / "this.xlsx")


def test_a_lowered_target_and_a_dropped_indicator_are_told_at_their_cells(
        issued: list[IssuedWorkbook], tmp_path: Path, last_year: Path) -> None:
    run = collect([_this_year(issued, tmp_path)], store=tmp_path / "x.db", previous=last_year,
                  feedback=tmp_path / "fb")
    [outcome] = run.files
    assert outcome.status == "accepted"  # warnings by default
    found = {(f.code, f.project, f.cell, f.value) for f in outcome.findings}
    assert found == {
        ("review.target_lowered", "001-01", "D29", "≥90%"),
        ("review.target_lowered", "001-01", "D18", "≤8%"),
        ("review.indicator_dropped", "001-01", "C14", ""),
    }
    lowered = next(f for f in outcome.findings if f.cell == "D29")
    assert lowered.message == "“服务对象满意度指标的指标”的目标由上年的“≥98%”降为“≥90%”"
    assert all(f.severity is Severity.WARNING and f.department == "001"
               for f in outcome.findings)


def test_the_office_decides_what_a_lowered_target_means(
        issued: list[IssuedWorkbook], tmp_path: Path, last_year: Path) -> None:
    strict = tmp_path / "strict.toml"
    strict.write_text('[all.severity]\n"review.target_lowered" = "error"\n'
                      '"review.indicator_dropped" = "off"\n', encoding="utf-8")
    run = collect([_this_year(issued, tmp_path)], store=tmp_path / "x.db", previous=last_year,
                  rules=strict)
    [outcome] = run.files
    assert outcome.status == "rejected"
    assert sorted((f.code, f.severity.value) for f in outcome.findings) == [
        ("review.target_lowered", "error"), ("review.target_lowered", "error")]


def test_the_command_line_takes_last_years_targets(
        issued: list[IssuedWorkbook], tmp_path: Path, last_year: Path) -> None:
    result = CliRunner().invoke(main, [
        "collect", str(_this_year(issued, tmp_path)), "--store", str(tmp_path / "x.db"),
        "--previous", str(last_year), "--json"])
    assert result.exit_code == 0, result.output
    [outcome] = json.loads(result.output)["files"]
    assert sorted(f["code"] for f in outcome["findings"]) == [
        "review.indicator_dropped", "review.target_lowered", "review.target_lowered"]


def test_without_last_years_targets_nothing_is_compared(
        issued: list[IssuedWorkbook], tmp_path: Path, last_year: Path) -> None:
    run = collect([_this_year(issued, tmp_path)], store=tmp_path / "x.db")
    assert run.files[0].findings == ()


def test_the_status_board_can_count_from_targets_alone(last_year: Path) -> None:
    before = read_targets(last_year)
    now = Targets(goals=dict(before.goals), indicators=tuple(
        new_indicator(i.project_code, i.level1, i.level2, i.name,
                      "≥90%" if i.value == "≥98%" else i.value)
        for i in before.indicators if i.name != "培训人次"))
    found = compare_with_previous(now, before)
    assert [(f.code, f.project, f.value) for f in found] == [
        ("review.indicator_dropped", "001-01", ""),
        ("review.target_lowered", "001-01", "≥90%")]
    other_project = Targets(indicators=(new_indicator("009-01", "产出指标", "数量指标", "x"),))
    assert compare_with_previous(other_project, before) == []  # only projects of this year


@pytest.mark.parametrize(("before", "now", "lowered"), [
    ("≥98%", "≥90%", True),
    ("≤5%", "≤8%", True),
    ("不少于50次", "≥40次", True),
    (">90%", "≥90%", False),     # same number: not lower (the strictness is not weighed)
    ("≥90%", "≥98%", False),     # raised
    ("≤8%", "≤5%", False),       # raised
    ("95%", "90%", False),       # no comparator: no direction
    ("=100%", "=95%", False),    # `=` says no direction either
    ("≥98%", "≤90%", False),     # the direction itself changed: not compared
    ("≥50次", "≥40人次", False),  # another unit
    ("≥2-3次", "≥1次", False),    # a range is no one number
])
def test_what_is_a_lowered_target(before: str, now: str, lowered: bool) -> None:
    assert is_lowered(parse_value(before), parse_value(now)) is lowered


_VALUES = st.builds(lambda comparator, number, unit: TargetValue(
    text="", comparator=comparator, numbers=(Decimal(number),), unit=unit),
    st.sampled_from([None, "≥", ">", "≤", "<", "="]), st.integers(-5, 200),
    st.sampled_from(["%", "次", None]))


@given(_VALUES, _VALUES)
def test_never_lowered_both_ways_nor_against_itself(a: TargetValue, b: TargetValue) -> None:
    assert not (is_lowered(a, b) and is_lowered(b, a))
    assert not is_lowered(a, a)


def test_the_status_board_counts_against_last_years_targets(
        issued: list[IssuedWorkbook], tmp_path: Path, last_year: Path) -> None:
    """Collected without --previous: `status --previous` still finds the lowered targets
    of the return in force, and a department with nothing in force has none dropped."""
    collect([_this_year(issued, tmp_path)], store=tmp_path / "x.db")
    result = CliRunner().invoke(main, ["status", "--store", str(tmp_path / "x.db"),
                                       "--previous", str(last_year), "--json"])
    assert result.exit_code == 0, result.output
    board = json.loads(result.output)
    counts = {d["department_code"]: (d["target_lowered"], d["indicator_dropped"])
              for d in board["departments"]}
    assert counts == {"001": (2, 1), "002": (0, 0)}
    without = json.loads(CliRunner().invoke(
        main, ["status", "--store", str(tmp_path / "x.db"), "--json"]).output)
    assert {d["target_lowered"] for d in without["departments"]} == {0}
