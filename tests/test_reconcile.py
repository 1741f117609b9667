"""`xltool reconcile`: returns collected, then the ledger changes; each change is found once."""

from __future__ import annotations

import json
import shutil
import sqlite3
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from tests.conftest import complete_values, ledger_row, write_ledger
from tests.fill import fill_with_openpyxl
from xltool.cli import main
from xltool.collect import collect
from xltool.money import cost_in_wan
from xltool.reconcile import (
    DIFFERENCE_COLUMNS,
    JSON_KEYS,
    KINDS,
    SUMMARY_COLUMNS,
    Reconciliation,
    reconcile,
)
from xltool.store import ReceivedFile, open_store
from xltool.targets import Indicator, Targets
from xltool.template import IssuedWorkbook, issue_templates

D = Decimal
SECOND = ("002", "第二局")
THIRD = ("003", "第三局")


def base_rows() -> list[dict[str, str]]:
    return [
        ledger_row("001-01", "办公经费", total="10"),
        ledger_row("001-02", "宣传经费", total="5.5"),
        ledger_row("001-03", "培训经费", total="8"),
        ledger_row("002-01", "运维经费", department=SECOND, total="30", fiscal="20", 其他资金="10"),
        ledger_row("002-02", "设备购置经费", department=SECOND, total="12"),
        ledger_row("003-01", "调研经费", department=THIRD, total="6"),
    ]


@dataclass(frozen=True)
class RoundTrip:
    folder: Path
    workbooks: dict[str, IssuedWorkbook]

    def store(self, tmp_path: Path, name: str = "x.db") -> Path:
        """A private copy of the store, so a test may add to it."""
        copy = tmp_path / "x.db"
        shutil.copyfile(self.folder / name, copy)
        return copy


@pytest.fixture(scope="module")
def trip(tmp_path_factory: pytest.TempPathFactory) -> RoundTrip:
    """Templates issued for three departments, every return complete and accepted."""
    folder = tmp_path_factory.mktemp("round_trip")
    ledger = write_ledger(folder / "ledger.csv", base_rows())
    store = folder / "x.db"
    run = issue_templates(ledger, folder / "templates", store=store)
    shutil.copyfile(store, folder / "issued.db")
    returns = [fill_with_openpyxl(w.path, complete_values(store, w.template_id),
                                  folder / f"{w.department_code}.xlsx") for w in run.workbooks]
    assert {f.status for f in collect(returns, store=store).files} == {"accepted"}
    return RoundTrip(folder, {w.department_code: w for w in run.workbooks})


def _run(tmp_path: Path, store: Path, rows: list[dict[str, str]], **options: Any
         ) -> Reconciliation:
    return reconcile(write_ledger(tmp_path / "now.csv", rows), store=store, **options)


def _found(result: Reconciliation) -> set[tuple[Any, ...]]:
    columns = ["kind", "department", "project", "field", "ledger", "returned", "difference"]
    return {tuple(row) for row in result.differences[columns].itertuples(index=False)}


def _rows(changes: dict[str, dict[str, str] | None], *added: dict[str, str]
          ) -> list[dict[str, str]]:
    """The base ledger with rows replaced (or dropped, for None) by code, and rows added."""
    rows = []
    for row in base_rows():
        change = changes.get(row["项目编码"], row)
        if change is not None:
            rows.append(change)
    return [*rows, *added]


def _age_templates(store: Path) -> None:
    """Templates issued earlier than anything issued next, however fast the test runs."""
    db = sqlite3.connect(store)
    with db:
        db.execute("UPDATE templates SET issued_at = '2000-01-01T00:00:00+00:00'")
    db.close()


# -- the ledger unchanged, and the ledger changed ------------------------------------------


def test_an_unchanged_ledger_matches_everything(trip: RoundTrip, tmp_path: Path) -> None:
    result = _run(tmp_path, trip.store(tmp_path), base_rows())
    assert result.differences.empty and result.exit_code == 0
    assert list(result.differences.columns) == list(DIFFERENCE_COLUMNS)
    assert list(result.summary.columns) == list(SUMMARY_COLUMNS)
    summary = result.summary.set_index("department")
    assert list(summary.index) == ["001", "002", "003"]
    assert list(summary["ledger_projects"]) == [3, 2, 1]
    assert list(summary["accepted_projects"]) == [3, 2, 1]
    assert list(summary["received_files"]) == [1, 1, 1]
    assert list(summary["ledger_total"]) == [D("23.5"), D("42"), D("6")]
    assert list(summary["returned_total"]) == list(summary["ledger_total"])
    assert set(summary["status"]) == {"一致"}


CHANGED = _rows({
    "001-01": ledger_row("001-01", "办公经费", total="12"),              # budget raised
    "001-02": ledger_row("001-02", "宣传教育经费", total="5.5"),        # renamed
    "001-03": None,                                                     # withdrawn
    "002-01": ledger_row("002-09", "运维经费", department=SECOND, total="30", fiscal="20",
                         其他资金="10"),                                # new code, same name
    "002-02": ledger_row("002-02", "设备购置经费", department=THIRD, total="12"),  # moved
}, ledger_row("001-04", "课题研究", total="3"))                          # added


def test_each_change_is_found_once_with_its_values(trip: RoundTrip, tmp_path: Path) -> None:
    result = _run(tmp_path, trip.store(tmp_path), CHANGED)
    assert _found(result) == {
        ("budget_changed", "001", "001-01", "年度资金总额", D(12), D(10), D(2)),
        ("budget_changed", "001", "001-01", "财政拨款", D(12), D(10), D(2)),
        ("renamed", "001", "001-02", "项目名称", "宣传教育经费", "宣传经费", None),
        ("withdrawn", "001", "001-03", "年度资金总额", None, D(8), D(-8)),
        ("not_issued", "001", "001-04", "年度资金总额", D(3), None, D(3)),
        ("code_changed", "002", "002-09", "项目编码", "002-09", "002-01", None),
        ("moved", "003", "002-02", "主管部门", "003", "002", None),
    }
    assert len(result.differences) == 7 and result.exit_code == 1
    assert list(result.differences["kind"]) == [
        "not_issued", "withdrawn", "moved", "code_changed", "renamed", "budget_changed",
        "budget_changed"]
    messages = dict(zip(result.differences["kind"], result.differences["message"], strict=False))
    assert "由下发时的 10 万元调整为 12 万元（+2 万元）" in messages["budget_changed"]
    assert "由第二局（002）划转至第三局（003）" in messages["moved"]
    assert "请向第三局下发" in messages["moved"]
    assert "名称相同" in messages["code_changed"]
    summary = result.summary.set_index("department")
    assert dict(summary["differences"]) == {"001": 5, "002": 1, "003": 1}
    assert set(summary["status"]) == {"有差异"}
    assert summary.loc["001", "total_difference"] == D("20.5") - D("23.5")


def test_departments_that_have_not_returned(trip: RoundTrip, tmp_path: Path) -> None:
    result = _run(tmp_path, trip.store(tmp_path, "issued.db"), base_rows())
    assert {(d[0], d[2], d[4], d[6]) for d in _found(result)} == {
        ("not_returned", code, D(total), D(total))
        for code, total in [("001-01", 10), ("001-02", "5.5"), ("001-03", 8), ("002-01", 30),
                            ("002-02", 12), ("003-01", 6)]}
    assert all("未报送：" in m for m in result.differences["message"])
    assert set(result.summary["status"]) == {"未报送"}
    assert set(result.summary["received_files"]) == {0}


def test_a_return_of_the_template_before_a_reissue(trip: RoundTrip, tmp_path: Path) -> None:
    store = trip.store(tmp_path)
    _age_templates(store)
    rows = [*base_rows(), ledger_row("001-04", "课题研究", total="3")]
    issue_templates(write_ledger(tmp_path / "reissue.csv", rows), tmp_path / "out",
                    store=store, departments=["001"])
    result = _run(tmp_path, store, rows)
    assert _found(result) == {("not_returned", "001", "001-04", "年度资金总额", D(3), None, D(3))}
    assert "旧模板" in result.differences["message"][0]


def test_a_moved_project_returned_by_both_departments(trip: RoundTrip, tmp_path: Path) -> None:
    store = trip.store(tmp_path)
    _age_templates(store)
    moved = ledger_row("002-02", "设备购置经费", department=THIRD, total="12")
    rows = _rows({"002-02": moved})
    [third] = issue_templates(write_ledger(tmp_path / "moved.csv", rows), tmp_path / "out",
                              store=store, departments=["003"]).workbooks
    returned = fill_with_openpyxl(third.path, complete_values(store, third.template_id),
                                  tmp_path / "003.xlsx")
    assert [f.status for f in collect([returned], store=store).files] == ["accepted"]
    result = _run(tmp_path, store, rows)
    assert _found(result) == {("moved", "003", "002-02", "主管部门", "003", "002", None)}
    assert "第三局已报送本项目" in result.differences["message"][0]
    # Owned by a third department, neither copy can be chosen: an error, not a match.
    elsewhere = _run(tmp_path, store, _rows({"002-02": ledger_row(
        "002-02", "设备购置经费", total="12")}))
    assert _found(elsewhere) == {
        ("duplicate", "001", "002-02", "项目编码", "002-02", "002-02", None)}


# -- names -----------------------------------------------------------------------------------


def test_a_new_code_with_a_similar_name_is_matched_by_name(trip: RoundTrip,
                                                           tmp_path: Path) -> None:
    rows = _rows({"002-02": ledger_row("002-12", "设备购置专项经费", department=SECOND,
                                       total="12")})
    result = _run(tmp_path, trip.store(tmp_path), rows)
    assert _found(result) == {
        ("code_changed", "002", "002-12", "项目编码", "002-12", "002-02", None)}
    assert "相似度 0.86" in result.differences["message"][0]


def test_an_ambiguous_name_matches_nothing(trip: RoundTrip, tmp_path: Path) -> None:
    rows = _rows({"002-02": ledger_row("002-12", "设备购置经费", department=SECOND, total="12")},
                 ledger_row("002-13", "设备购置经费", department=SECOND, total="12"))
    result = _run(tmp_path, trip.store(tmp_path), rows)
    # Two ledger rows carry the returned name; only the ledger itself may say which.
    assert {(d[0], d[2]) for d in _found(result)} == {
        ("withdrawn", "002-02"), ("not_issued", "002-12"), ("not_issued", "002-13")}


def test_only_equal_names_match_above_the_pair_limit(trip: RoundTrip, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("xltool.matching.MAX_NAME_PAIRS", 0)
    rows = _rows({"002-01": ledger_row("002-09", "运维经费", department=SECOND, total="30",
                                       fiscal="20", 其他资金="10"),
                  "002-02": ledger_row("002-12", "设备购置专项经费", department=SECOND,
                                       total="12")})
    result = _run(tmp_path, trip.store(tmp_path), rows)
    assert {(d[0], d[2]) for d in _found(result)} == {
        ("code_changed", "002-09"), ("withdrawn", "002-02"), ("not_issued", "002-12")}


@settings(max_examples=10, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(order=st.permutations(CHANGED))
def test_the_order_of_ledger_rows_changes_nothing(trip: RoundTrip, tmp_path: Path,
                                                   order: list[dict[str, str]]) -> None:
    store = trip.folder / "x.db"
    assert _found(_run(tmp_path, store, order)) == _found(_run(tmp_path, store, CHANGED))


def test_names_are_compared_as_keys(trip: RoundTrip, tmp_path: Path) -> None:
    rows = _rows({"001-02": ledger_row("００１-０２", " 宣传　经费 ", total="5.50")})
    assert _run(tmp_path, trip.store(tmp_path), rows).differences.empty


# -- inside a return -------------------------------------------------------------------------


def test_costs_in_yuan_over_and_short(trip: RoundTrip, tmp_path: Path) -> None:
    store = trip.store(tmp_path)
    first = trip.workbooks["001"]
    values = complete_values(store, first.template_id)
    values["XT_P01_C04_R01_VALUE"] = "10元"        # 10 万元 written as 元
    values["XT_P02_C04_R01_VALUE"] = "2万元"       # of 5.5
    values["XT_P03_C04_R01_VALUE"] = "8.004万元"   # of 8: within collect's 0.005
    returned = fill_with_openpyxl(first.path, values, tmp_path / "costs.xlsx")
    assert [f.status for f in collect([returned], store=store).files] == ["accepted"]
    result = _run(tmp_path, store, base_rows(), tolerance=D("0.001"))
    assert _found(result) == {
        ("unit_suspect", "001", "001-01", "成本指标合计", D(10), D("0.001"), D("9.999")),
        ("cost_short", "001", "001-02", "成本指标合计", D("5.5"), D(2), D("3.5")),
        ("cost_over", "001", "001-03", "成本指标合计", D(8), D("8.004"), D("-0.004")),
    }
    suspect = result.differences.set_index("kind").loc["unit_suspect", "message"]
    assert "相差约 10000 倍" in suspect
    assert _run(tmp_path, store, base_rows()).kinds() == {"unit_suspect": 1, "cost_short": 1}


@pytest.mark.parametrize(("text", "value_field", "expected"), [
    ("≤20万元", True, D(20)), ("20000元", True, D(2)), ("20", True, D(20)),
    ("明显", True, None), ("督查经费≤20万元", False, D(20)), ("印刷费3000元", False, D("0.3")),
    ("培训费5万元，会议费2万元", False, None),
])
def test_cost_amounts_are_read_as_the_collect_rule_reads_them(
        text: str, value_field: bool, expected: Decimal | None) -> None:
    cost = cost_in_wan(text, value_field=value_field)
    assert cost.wan == expected
    assert cost.unitless == (text == "20")  # a bare number: collect warns, taken as 万元


WEIGHTED_TEXTS = {1: "全年督查不少于 50 次", 2: "督查完成率100%", 3: "12月底前完成",
                  4: "督查经费≤20万元", 6: "群众办事便利度明显提升", 8: "长效机制逐步健全",
                  9: "服务对象满意度≥95%"}


def test_weights_of_a_weighted_profile(tmp_path: Path) -> None:
    rows = [ledger_row("W-1", "督查经费", total="20")]
    ledger = write_ledger(tmp_path / "w.csv", rows)
    store = tmp_path / "w.db"
    [issued] = issue_templates(ledger, tmp_path / "w", store=store, profile="weighted").workbooks
    values: dict[str, object] = {"XT_P01_GOAL": "全年完成督查任务。", "XT_P01_SUPERVISOR": "行政处",
                                 "XT_P01_C01_R02_NAME": "培训人次≥300人次",
                                 "XT_P01_C01_R02_WEIGHT": 20}
    for number, text in WEIGHTED_TEXTS.items():
        values[f"XT_P01_C{number:02d}_R01_NAME"] = text
        values[f"XT_P01_C{number:02d}_R01_WEIGHT"] = 20 if number == 4 else 10
    good = fill_with_openpyxl(issued.path, values, tmp_path / "good.xlsx")
    assert [f.status for f in collect([good], store=store).files] == ["accepted"]
    assert reconcile(ledger, store=store).differences.empty
    _record_directly(store, issued, [("数量指标", WEIGHTED_TEXTS[1], D(50)),
                                     ("成本指标", WEIGHTED_TEXTS[4], D(40))])
    result = reconcile(ledger, store=store)
    assert _found(result) == {("weights", "001", "W-1", "绩效值合计", D(100), D(90), D(10))}


def _record_directly(store: Path, issued: IssuedWorkbook,
                     indicators: list[tuple[str, str, Decimal]]) -> None:
    """An accepted return written straight into the store, as another system might."""
    received = ReceivedFile(
        sha256="f" * 64, original_name="direct.xlsx", size=0,
        received_at="2100-01-01T00:00:00+00:00", kind="xlsx", status="accepted",
        template_id=issued.template_id, department_code=issued.department_code, year=2024,
        stored_path="")
    targets = Targets(goals={"W-1": "全年完成督查任务。"}, indicators=tuple(
        Indicator("W-1", "产出指标", level2, name, "", weight)
        for level2, name, weight in indicators))
    with open_store(store) as opened:
        opened.record_received(received, [], targets)


# -- the ledger itself -----------------------------------------------------------------------


def test_ledger_problems_are_surfaced(trip: RoundTrip, tmp_path: Path) -> None:
    rows = _rows({
        "001-02": ledger_row("001-02", "宣传经费", total="5.5", fiscal="4"),
        "002-01": ledger_row("002-01", "运维经费", department=SECOND, total="30", fiscal="20",
                             其他资金="10", 联系邮箱="not-an-address"),
    })
    result = _run(tmp_path, trip.store(tmp_path), rows)
    assert _found(result) == {
        ("ledger_problem", "001", "001-02", "年度资金总额", "5.5", None, None),
        ("ledger_problem", "002", "002-01", "联系邮箱", "not-an-address", None, None),
        ("budget_changed", "001", "001-02", "财政拨款", D(4), D("5.5"), D("-1.5")),
    }
    problems = result.differences[result.differences["kind"] == "ledger_problem"]
    assert list(problems["message"].str[:6]) == ["总账第3行：", "总账第5行："]


def test_a_duplicate_code_in_the_ledger_is_an_error_never_matched(trip: RoundTrip,
                                                                 tmp_path: Path) -> None:
    rows = [*base_rows(), ledger_row("001-01", "办公经费", total="99")]
    result = _run(tmp_path, trip.store(tmp_path), rows)
    assert _found(result) == {("duplicate", "001", "001-01", "项目编码", "001-01", None, None)}
    assert "出现 2 次（第2、8行）" in result.differences["message"][0]


# -- the report and the command line ---------------------------------------------------------


def test_the_report_workbook(trip: RoundTrip, tmp_path: Path) -> None:
    rows = [*CHANGED[:1], ledger_row("001-02", "=1+1", total="5.5"), *CHANGED[2:]]
    result = _run(tmp_path, trip.store(tmp_path), rows, output=tmp_path / "r" / "report.xlsx")
    assert result.report == tmp_path / "r" / "report.xlsx"
    workbook = load_workbook(result.report)
    kinds = ["not_issued", "withdrawn", "moved", "code_changed", "renamed", "budget_changed"]
    assert workbook.sheetnames == ["汇总", *(KINDS[k].sheet for k in kinds)]
    for sheet in workbook.worksheets:
        assert sheet.freeze_panes == "A3" and sheet.auto_filter.ref
        assert "核对报告" in sheet["A1"].value and sheet.print_title_rows == "$2:$2"
    summary = workbook["汇总"]
    assert [c.value for c in summary[2]] == [
        "主管部门编码", "主管部门", "总账项目数", "收到文件数", "已接受项目数", "总账资金（万元）",
        "报送资金（万元）", "差额（万元）", "差异数", "状态", "已豁免的问题（按原文接受）"]
    assert [c.value for c in summary[3]] == ["001", "示例局", 3, 1, 3, 20.5, 23.5, -3, 5, "有差异",
                                             None]
    assert summary["A6"].value == "合计" and summary["I6"].value == 7
    assert summary.conditional_formatting
    budget = workbook["预算调整"]
    assert budget.auto_filter.ref == "A2:I4"
    assert [c.value for c in budget[3]][:8] == ["001", "示例局", "001-01", "办公经费",
                                                "年度资金总额", 12, 10, 2]
    renamed = workbook["名称变更"]["F3"]
    assert renamed.value == "=1+1" and renamed.data_type == "s"
    assert workbook.properties.created.year == 2000


def test_the_command_line(trip: RoundTrip, tmp_path: Path) -> None:
    store = trip.store(tmp_path)
    runner = CliRunner()
    same = write_ledger(tmp_path / "same.csv", base_rows())
    ok = runner.invoke(main, ["reconcile", str(same), "--store", str(store), "-o",
                              str(tmp_path / "same.xlsx"), "--json"])
    assert ok.exit_code == 0, ok.output
    data = json.loads(ok.output)
    assert data["differences"] == [] and data["summary"]["differences"] == 0
    assert data["summary"]["departments"][0]["ledger_total"] == "23.5"
    changed = write_ledger(tmp_path / "changed.csv", CHANGED)
    found = runner.invoke(main, ["reconcile", str(changed), "--store", str(store), "-o",
                                 str(tmp_path / "changed.xlsx"), "--json"])
    assert found.exit_code == 1
    data = json.loads(found.output)
    assert all(tuple(d) == JSON_KEYS for d in data["differences"])
    assert data["differences"][-1] == {
        "kind": "budget_changed", "department": "001", "project": "001-01", "field": "财政拨款",
        "ledger": "12", "returned": "10", "difference": "2",
        "message": data["differences"][-1]["message"]}
    assert data["summary"]["kinds"] == {"not_issued": 1, "withdrawn": 1, "moved": 1,
                                        "code_changed": 1, "renamed": 1, "budget_changed": 2}
    shown = runner.invoke(main, ["reconcile", str(changed), "--store", str(store), "-o",
                                 str(tmp_path / "shown.xlsx")])
    assert shown.exit_code == 1 and "预算调整 2" in shown.output
    assert "已写出核对报告" in shown.output
    bad = runner.invoke(main, ["reconcile", str(same), "--store", str(store), "-o",
                               str(tmp_path / "x.xlsx"), "--tolerance", "abc"],
                     env={"LANG": "zh_CN.UTF-8", "LANGUAGE": None, "LC_ALL": None})
    assert bad.exit_code == 2 and "不是数字" in bad.output
    nostore = runner.invoke(main, ["reconcile", str(same), "--store", str(tmp_path / "no.db"),
                                   "-o", str(tmp_path / "x.xlsx")])
    assert nostore.exit_code == 2 and "没有这个存储文件" in nostore.output
    assert not (tmp_path / "no.db").exists()


def test_a_ledger_kept_in_yuan(trip: RoundTrip, tmp_path: Path) -> None:
    rows = [{**row, "年度资金总额": f"{D(row['年度资金总额']) * 10000}",
             "财政拨款": f"{D(row['财政拨款']) * 10000}",
             "其他资金": f"{D(row['其他资金'] or 0) * 10000}"} for row in base_rows()]
    ledger = write_ledger(tmp_path / "yuan.csv", rows)
    store = trip.store(tmp_path)
    args = ["reconcile", str(ledger), "--store", str(store), "-o", str(tmp_path / "y.xlsx")]
    assert CliRunner().invoke(main, [*args, "--yuan"]).exit_code == 0
    assert reconcile(ledger, store=store, amounts_in="元").differences.empty
    in_wan = reconcile(ledger, store=store)
    assert set(in_wan.differences["kind"]) == {"budget_changed"}
