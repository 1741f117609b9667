"""`publish --ledger`: the disclosure says what is true now, and reconcile says what it does.

Templates are issued and every return accepted; then the ledger changes — a
department and a project renamed, a budget raised, a project withdrawn, one
given a new code, one moved — and the disclosure is published with and without
the ledger, and with `--allow-stale`. Each workbook is opened and read.
"""

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
from openpyxl.worksheet.worksheet import Worksheet

from tests.conftest import complete_values, ledger_row, write_ledger
from tests.fill import fill_with_openpyxl
from tests.test_publish import project_blocks, read_table
from tests.test_reconcile import SECOND, THIRD, base_rows
from xltool.cli import main
from xltool.collect import collect
from xltool.errors import LedgerHasErrors, LedgerOtherYear, NothingToPublish, OutputClobbers
from xltool.publish import Publication, publish
from xltool.reconcile import reconcile
from xltool.template import issue_templates

D = Decimal
FIRST = ("001", "示例局")
RENAMED_FIRST = ("001", "示例市示例局")


def changed_rows() -> list[dict[str, str]]:
    """The ledger after issue: one change of each kind (and department 001 renamed)."""
    return [
        ledger_row("001-01", "办公经费", department=RENAMED_FIRST, total="12"),  # re-budgeted
        ledger_row("001-02", "宣传教育经费", department=RENAMED_FIRST, total="5.5",  # renamed
                   实施单位="示例局宣传科"),
        # 001-03 withdrawn
        ledger_row("002-09", "运维经费", department=SECOND, total="30", fiscal="20",
                   其他资金="10"),                                            # a new code
        ledger_row("002-02", "设备购置经费", department=THIRD, total="12"),     # moved
        ledger_row("003-01", "调研经费", department=THIRD, total="6.004"),     # within tolerance
    ]


@dataclass(frozen=True)
class Year:
    folder: Path
    store: Path

    def ledger(self, tmp_path: Path, rows: list[dict[str, str]], name: str = "now.csv") -> Path:
        return write_ledger(tmp_path / name, rows)

    def private_store(self, tmp_path: Path) -> Path:
        copy = tmp_path / "x.db"
        shutil.copyfile(self.store, copy)
        return copy


@pytest.fixture(scope="module")
def year(tmp_path_factory: pytest.TempPathFactory) -> Year:
    """Templates issued from the base ledger, every return complete and accepted."""
    folder = tmp_path_factory.mktemp("ledger_now")
    store = folder / "x.db"
    run = issue_templates(write_ledger(folder / "ledger.csv", base_rows()), folder / "templates",
                          store=store)
    returns = [fill_with_openpyxl(w.path, complete_values(store, w.template_id),
                                  folder / "returns" / w.path.name) for w in run.workbooks]
    assert {f.status for f in collect(returns, store=store).files} == {"accepted"}
    return Year(folder, store)


# -- reading the disclosure ----------------------------------------------------------------


def tables(output: Path) -> dict[str, dict[str, Any]]:
    """Project code → its published table (header fields, funding rows), and 说明 if any."""
    book = load_workbook(output)
    found = {}
    for code, (sheet, first, last) in project_blocks(book).items():
        table = read_table(sheet, first, last)
        table["说明"] = _note(sheet, first, last)
        table["sheet"] = sheet.title
        table["banner"] = sheet.cell(1, 1).value
        found[code] = table
    return found


def _note(sheet: Worksheet, first: int, last: int) -> str | None:
    for row in range(first, last + 1):
        if sheet.cell(row, 1).value == "说明":
            return str(sheet.cell(row, 3).value)
    return None


def contents(output: Path) -> dict[str, tuple[str, float]]:
    """目录: code → (name shown, total), departments and projects alike."""
    sheet = load_workbook(output)["目录"]
    return {str(row[2]): (str(row[1]), row[3])
            for row in sheet.iter_rows(min_row=4, values_only=True) if row[2]}


def goal_rows(output: Path) -> dict[str, tuple[str, str, float]]:
    """总体目标 data sheet: project code → (department name, project name, total)."""
    sheet = load_workbook(output)["总体目标"]
    return {row[2]: (row[1], row[3], row[4])
            for row in sheet.iter_rows(min_row=2, values_only=True)}


def missing(publication: Publication) -> dict[str, tuple[str, str, str]]:
    return {m.project_code: (m.reason_code, m.project_name, m.detail)
            for m in publication.missing}


# -- publishing ------------------------------------------------------------------------------


def test_without_a_ledger_the_names_and_amounts_issued_are_published(year: Year,
                                                                     tmp_path: Path) -> None:
    publication = publish(store=year.store, output=tmp_path / "p.xlsx")
    assert publication.ledger is None and publication.stale == () and publication.missing == ()
    published = tables(publication.output)
    assert set(published) == {"001-01", "001-02", "001-03", "002-01", "002-02", "003-01"}
    assert published["001-02"]["项目名称"] == "宣传经费"
    assert published["001-02"]["主管部门"] == "示例局"
    assert published["001-01"]["年度资金总额"] == 10
    assert published["001-01"]["说明"] is None
    assert published["001-01"]["banner"] == "主管部门：示例局（001）"


def test_with_the_ledger_names_and_amounts_are_the_ledgers_now(year: Year,
                                                               tmp_path: Path) -> None:
    ledger = year.ledger(tmp_path, changed_rows())
    publication = publish(store=year.store, output=tmp_path / "p.xlsx", ledger=ledger)
    assert publication.ledger == ledger and publication.allow_stale is False
    published = tables(publication.output)
    assert set(published) == {"001-02", "003-01"}
    renamed = published["001-02"]
    assert (renamed["项目名称"], renamed["主管部门"], renamed["实施单位"]) == (
        "宣传教育经费", "示例市示例局", "示例局宣传科")
    assert renamed["banner"] == "主管部门：示例市示例局（001）"
    assert renamed["sheet"] == "001 示例市示例局"
    assert renamed["说明"] is None
    assert published["003-01"]["年度资金总额"] == pytest.approx(6.004)  # the ledger's figure
    shown = contents(publication.output)
    assert shown["001-02"] == ("宣传教育经费", 5.5)
    assert shown["001"][0] == "示例市示例局"
    assert "002" not in shown  # every project of 第二局 is withheld: no sheet for it
    assert goal_rows(publication.output)["001-02"][:2] == ("示例市示例局", "宣传教育经费")
    assert [d.department for d in publication.departments] == ["示例市示例局", "第三局"]
    assert publication.total == D("11.504")


def test_what_the_ledger_no_longer_backs_is_listed_with_its_reason(year: Year,
                                                                   tmp_path: Path) -> None:
    ledger = year.ledger(tmp_path, changed_rows())
    publication = publish(store=year.store, output=tmp_path / "p.xlsx", ledger=ledger)
    found = missing(publication)
    assert {code: reason for code, (reason, _, _) in found.items()} == {
        "001-01": "budget_changed", "001-03": "withdrawn", "002-01": "code_changed",
        "002-02": "moved"}
    assert found["001-01"][2] == ("年度资金总额由下发时的 10 万元调整为 12 万元（+2 万元）；"
                                  "财政拨款由下发时的 10 万元调整为 12 万元（+2 万元）")
    assert "总账中已没有本项目编码" in found["001-03"][2]
    assert "“002-09”" in found["002-01"][2]
    assert "划转至第三局（003）" in found["002-02"][2]
    [budget] = [m for m in publication.missing if m.reason_code == "budget_changed"]
    assert [(c.key, c.issued, c.ledger) for c in budget.changes] == [
        ("total", D(10), D(12)), ("fiscal", D(10), D(12))]
    assert budget.reason == "预算已调整" and budget.department == "示例市示例局"
    frame = publication.missing_frame().set_index("项目编码")
    assert frame.loc["001-01", "原因"] == "预算已调整"
    assert "10 万元调整为 12 万元" in frame.loc["001-01", "说明"]
    assert frame.loc["002-02", "原因"] == "已划转其他部门"


def test_allow_stale_publishes_the_ledgers_amounts_and_says_so(year: Year,
                                                               tmp_path: Path) -> None:
    ledger = year.ledger(tmp_path, changed_rows())
    publication = publish(store=year.store, output=tmp_path / "p.xlsx", ledger=ledger,
                          allow_stale=True)
    assert publication.allow_stale
    assert "001-01" not in missing(publication)
    [stale] = publication.stale
    assert (stale.project_code, stale.department) == ("001-01", "示例市示例局")
    assert "10 万元调整为 12 万元" in stale.detail
    published = tables(publication.output)
    assert set(published) == {"001-01", "001-02", "003-01"}
    raised = published["001-01"]
    assert (raised["年度资金总额"], raised["其中：财政拨款"]) == (12, 12)
    assert raised["说明"] == (
        "本项目资金在绩效目标下发后已调整：年度资金总额由下发时的 10 万元调整为 12 万元（+2 万元）"
        "；财政拨款由下发时的 10 万元调整为 12 万元（+2 万元）。表中为调整后的金额，"
        "绩效目标是按调整前的金额制定的。")
    assert published["001-02"]["说明"] is None
    assert contents(publication.output)["001"][1] == 17.5
    assert set(missing(publication)) == {"001-03", "002-01", "002-02"}


def test_a_moved_project_is_published_by_its_new_department_only(year: Year,
                                                                 tmp_path: Path) -> None:
    store = year.private_store(tmp_path)
    rows = [*base_rows()[:4], ledger_row("002-02", "设备购置经费", department=THIRD, total="12"),
            base_rows()[5]]
    [third] = issue_templates(year.ledger(tmp_path, rows), tmp_path / "out", store=store,
                              departments=["003"]).workbooks
    returned = fill_with_openpyxl(third.path, complete_values(store, third.template_id),
                                  tmp_path / "003.xlsx")
    assert [f.status for f in collect([returned], store=store).files] == ["accepted"]
    ledger = year.ledger(tmp_path, rows)
    publication = publish(store=store, output=tmp_path / "p.xlsx", ledger=ledger)
    assert tables(publication.output)["002-02"]["sheet"] == "003 第三局"
    assert [(m.department_code, m.project_code, m.reason_code) for m in publication.missing] == [
        ("002", "002-02", "moved")]
    [moved] = reconcile(ledger, store=store).differences.to_dict("records")
    assert "第三局已报送本项目" in moved["message"] and "公开时不列入第二局" in moved["message"]


def test_a_ledger_with_errors_or_of_another_year_is_refused(year: Year, tmp_path: Path) -> None:
    broken = year.ledger(tmp_path, [*base_rows(), ledger_row("003-01", "重复", total="1")],
                         "broken.csv")
    with pytest.raises(LedgerHasErrors, match="未公开"):
        publish(store=year.store, output=tmp_path / "p.xlsx", ledger=broken)
    later = [{**row, "年度": "2025"} for row in base_rows()]
    with pytest.raises(LedgerOtherYear, match="2025 年"):
        publish(store=year.store, output=tmp_path / "p.xlsx", ledger=year.ledger(
            tmp_path, later, "2025.csv"))
    assert not (tmp_path / "p.xlsx").exists()
    with pytest.raises(ValueError, match="ledger"):
        publish(store=year.store, output=tmp_path / "p.xlsx", allow_stale=True)


# -- reconcile says what publish does --------------------------------------------------------

PUBLISHED = "published"
WHAT_PUBLISH_DOES = {"withdrawn": "withdrawn", "moved": "moved", "code_changed": "code_changed",
                     "budget_changed": "budget_changed", "renamed": PUBLISHED}


def test_reconcile_says_what_publish_will_do(year: Year, tmp_path: Path) -> None:
    ledger = year.ledger(tmp_path, changed_rows())
    messages = {(row["kind"], row["project"]): row["message"]
                for row in reconcile(ledger, store=year.store).differences.to_dict("records")}
    assert "公开时以总账名称为准（xltool publish --ledger）" in messages["renamed", "001-02"]
    budget = messages["budget_changed", "001-01"]
    assert "由下发时的 10 万元调整为 12 万元（+2 万元）" in budget
    assert "公开时（xltool publish --ledger）不予公开，除非加 --allow-stale" in budget
    assert "公开时不予公开（xltool publish --ledger）" in messages["withdrawn", "001-03"]
    assert "公开时不予公开（xltool publish --ledger）" in messages["code_changed", "002-09"]
    assert "公开时不列入第二局（xltool publish --ledger）" in messages["moved", "002-02"]
    assert not any("公开时" in message and "publish --ledger" not in message
                   for message in messages.values())


VERDICT_ORDER = ("moved", "code_changed", "withdrawn", "budget_changed", PUBLISHED)
CHANGES = ("same", "rename", "budget", "rename_budget", "withdraw", "recode", "move")


def _changed(row: dict[str, str], change: str) -> dict[str, str] | None:
    code, name, department = row["项目编码"], row["项目名称"], row["主管部门编码"]
    if change == "withdraw":
        return None
    new = dict(row)
    if "rename" in change:
        new["项目名称"] = f"{name}（调整）"
    if "budget" in change:
        new["年度资金总额"] = new["财政拨款"] = str(D(row["年度资金总额"]) + 1)
        new["其他资金"] = ""
    if change == "recode":
        new["项目编码"] = f"{code}-新"
    if change == "move":
        other = THIRD if department != THIRD[0] else FIRST
        new["主管部门编码"], new["主管部门"], new["实施单位"] = other[0], other[1], other[1]
    return new


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=st.lists(st.sampled_from(CHANGES), min_size=6, max_size=6))
def test_reconcile_and_publish_agree_on_every_change(year: Year, tmp_path: Path,
                                                     changes: list[str]) -> None:
    rows = [_changed(row, change) for row, change in zip(base_rows(), changes, strict=True)]
    kept = [row for row in rows if row is not None]
    if not kept:
        return
    ledger = year.ledger(tmp_path, kept)
    said: dict[str, set[str]] = {}
    for row in reconcile(ledger, store=year.store).differences.to_dict("records"):
        # code_changed is listed under the new code, with the issued one as `returned`
        issued = row["returned"] if row["kind"] == "code_changed" else row["project"]
        if row["kind"] in WHAT_PUBLISH_DOES:
            said.setdefault(issued, set()).add(WHAT_PUBLISH_DOES[row["kind"]])
    try:
        publication = publish(store=year.store, output=tmp_path / "p.xlsx", ledger=ledger)
        done = {m.project_code: m.reason_code for m in publication.missing}
        done |= {code: PUBLISHED for code in tables(publication.output)}
    except NothingToPublish as error:  # every project withheld
        assert "都不予公开" in str(error)
        done = {}
    for row, change in zip(base_rows(), changes, strict=True):
        code = row["项目编码"]
        # A project moved, re-coded or withdrawn is withheld for that, whatever else changed.
        expected = next(verdict for verdict in VERDICT_ORDER
                        if verdict in said.get(code, {PUBLISHED}))
        assert done.get(code, "nothing published") == (expected if done else
                                                       "nothing published"), (code, change)
        assert expected != PUBLISHED or done, (code, change)


# -- the command line ------------------------------------------------------------------------


def test_the_command_line_says_whose_names_and_amounts_it_published(year: Year,
                                                                    tmp_path: Path) -> None:
    runner = CliRunner()
    base = ["publish", "--store", str(year.store)]
    issued = runner.invoke(main, [*base, "-o", str(tmp_path / "a.xlsx")])
    assert issued.exit_code == 0, issued.output
    assert "未提供预算台账：按下发模板时的项目名称和金额公开" in issued.output
    ledger = year.ledger(tmp_path, changed_rows())
    now = runner.invoke(main, [*base, "-o", str(tmp_path / "b.xlsx"), "--ledger", str(ledger)])
    assert now.exit_code == 0, now.output
    assert "按预算台账 now.csv 公开" in now.output and "预算已调整" in now.output
    assert "未提供预算台账" not in now.output
    stale = runner.invoke(main, [*base, "-o", str(tmp_path / "c.xlsx"), "--ledger", str(ledger),
                                 "--allow-stale"])
    assert stale.exit_code == 0, stale.output
    assert "按 --allow-stale 公开的项目（1 个）" in stale.output
    assert "按预算台账调整后的金额公开" in stale.output
    refused = runner.invoke(main, [*base, "-o", str(tmp_path / "d.xlsx"), "--allow-stale"])
    assert refused.exit_code == 2 and "--allow-stale needs --ledger" in refused.output
    assert not (tmp_path / "d.xlsx").exists()


def test_the_json_carries_the_ledger_the_reasons_and_the_amounts(year: Year,
                                                                 tmp_path: Path) -> None:
    runner = CliRunner()
    ledger = year.ledger(tmp_path, changed_rows())
    base = ["publish", "--store", str(year.store), "--ledger", str(ledger), "--json"]
    result = runner.invoke(main, [*base, "-o", str(tmp_path / "p.xlsx")])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["ledger"] == str(ledger) and data["allow_stale"] is False
    assert data["stale"] == []
    reasons = {m["project_code"]: (m["reason_code"], m["reason"]) for m in data["missing"]}
    assert reasons == {"001-01": ("budget_changed", "预算已调整"),
                       "001-03": ("withdrawn", "已撤销"),
                       "002-01": ("code_changed", "项目编码已变"),
                       "002-02": ("moved", "已划转其他部门")}
    [budget] = [m for m in data["missing"] if m["reason_code"] == "budget_changed"]
    assert budget["changes"] == [{"field": "total", "issued": "10", "ledger": "12"},
                                 {"field": "fiscal", "issued": "10", "ledger": "12"}]
    assert budget["project_name"] == "办公经费" and budget["department"] == "示例市示例局"
    assert data["summary"]["projects"] == 2 and data["summary"]["total"] == "11.504"
    stale = json.loads(runner.invoke(main, [*base, "-o", str(tmp_path / "s.xlsx"),
                                            "--allow-stale"]).output)
    assert stale["allow_stale"] is True
    assert [(s["project_code"], s["changes"][0]["ledger"]) for s in stale["stale"]] == [
        ("001-01", "12")]
    assert {m["reason_code"] for m in stale["missing"]} == {"withdrawn", "code_changed", "moved"}
    assert stale["summary"]["total"] == "23.504"
    issued = json.loads(runner.invoke(main, ["publish", "--store", str(year.store), "-o",
                                             str(tmp_path / "i.xlsx"), "--json"]).output)
    assert issued["ledger"] is None and issued["summary"]["total"] == "71.5"


def test_a_ledger_in_yuan_and_a_ledger_as_the_output(year: Year, tmp_path: Path) -> None:
    amounts = ("年度资金总额", "财政拨款", "其他资金")
    in_yuan = [{**row, **{column: str(D(row[column] or 0) * 10000) for column in amounts}}
               for row in base_rows()]
    ledger = year.ledger(tmp_path, in_yuan, "yuan.csv")
    result = CliRunner().invoke(main, ["publish", "--store", str(year.store), "-o",
                                       str(tmp_path / "p.xlsx"), "--ledger", str(ledger),
                                       "--yuan", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["missing"] == [] and data["summary"]["total"] == "71.5"
    before = ledger.read_bytes()
    with pytest.raises(OutputClobbers):
        publish(store=year.store, output=ledger, ledger=ledger)
    assert ledger.read_bytes() == before


def test_projects_missing_for_other_reasons_are_listed_under_the_departments_name_now(
        year: Year, tmp_path: Path) -> None:
    store = year.private_store(tmp_path)
    db = sqlite3.connect(store)
    with db:  # issued earlier than the re-issue below, however fast the test runs
        db.execute("UPDATE templates SET issued_at = '2000-01-01T00:00:00+00:00'")
    db.close()
    issue_templates(year.ledger(tmp_path, [*base_rows(), ledger_row("001-04", "课题研究")],
                                "reissue.csv"), tmp_path / "out", store=store,
                    departments=["001"])  # with a project 001's return in force lacks
    publication = publish(store=store, output=tmp_path / "p.xlsx",
                          ledger=year.ledger(tmp_path, changed_rows()))
    first = [(m.project_code, m.department, m.reason_code) for m in publication.missing
             if m.department_code == "001"]
    assert first == [("001-01", "示例市示例局", "budget_changed"),
                     ("001-03", "示例市示例局", "withdrawn"),
                     ("001-04", "示例市示例局", "not_returned")]
