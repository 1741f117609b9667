"""The review loop: the office's 审核意见 and grades, waivers, frozen approvals, the board.

The two-round play of issue 20 as far as review and status go: returns collected, the
office reviews (a 良 approval, a 中 with an opinion, a waiver turning a rejected return into
an accepted one), the feedback carries the opinion, the department resubmits, the status
board shows each state and round, and publish includes exactly the approved projects.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook

from tests.conftest import complete_values, ledger_row, write_ledger
from tests.fill import fill_with_openpyxl
from xltool.cli import main
from xltool.collect import collect
from xltool.publish import publish
from xltool.reconcile import reconcile
from xltool.review import CannotReview, review
from xltool.review.board import DEPARTMENT_SHEET, PROJECT_SHEET, write_status
from xltool.review.status import deadline_date, status
from xltool.states import ACCEPTED, APPROVED, NOT_RETURNED, REVIEW_RETURNED, TO_FIX
from xltool.store import Status, open_store
from xltool.template import IssuedWorkbook, issue_templates

ROWS = [ledger_row("001-01", "办公经费", total="10"),
        ledger_row("001-02", "宣传经费", total="5.5"),
        ledger_row("002-01", "运维经费", department=("002", "第二局"), total="30"),
        ledger_row("003-01", "培训经费", department=("003", "第三局"), total="8"),
        ledger_row("004-01", "调研经费", department=("004", "第四局"), total="3")]
LATE = date(2024, 4, 2)  # two days after the deadline the templates carry


def _issue(tmp_path: Path) -> dict[str, IssuedWorkbook]:
    ledger = write_ledger(tmp_path / "ledger.csv", ROWS)
    run = issue_templates(ledger, tmp_path / "templates", store=tmp_path / "x.db",
                          deadline="2024年3月31日前")
    return {w.department_code: w for w in run.workbooks}


def _filled(tmp_path: Path, workbook: IssuedWorkbook, name: str, **more: object) -> Path:
    values = {**complete_values(tmp_path / "x.db", workbook.template_id), **more}
    return fill_with_openpyxl(workbook.path, values, tmp_path / "inbox" / name)


def _vague(tmp_path: Path, workbook: IssuedWorkbook) -> tuple[dict[str, object], str]:
    """A first quantitative value written as a word: `rule.not_quantitative` there."""
    values = complete_values(tmp_path / "x.db", workbook.template_id)
    name = next(k for k, v in values.items() if k.endswith("_VALUE") and v == "≥5次")
    return {name: "明显"}, name


def _goals(targets: Path) -> dict[str, str]:
    sheet = load_workbook(targets, read_only=True)["总体目标"]
    return {row[0]: row[1] for row in sheet.iter_rows(min_row=2, values_only=True)}


def _cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_two_rounds_of_review(tmp_path: Path) -> None:
    issued, store = _issue(tmp_path), tmp_path / "x.db"
    vague, _ = _vague(tmp_path, issued["002"])
    first = [_filled(tmp_path, issued["001"], "001.xlsx"),
             _filled(tmp_path, issued["002"], "002.xlsx", **vague),
             _filled(tmp_path, issued["003"], "003.xlsx")]
    round1 = collect(first, store=store)
    assert [f.status for f in round1.files] == ["accepted", "rejected", "accepted"]
    [problem] = [f for f in round1.files[1].findings if f.is_error]
    assert problem.code == "rule.not_quantitative"

    # the office reviews: one approval, one return for revision, one waiver
    approved = review("001", project="001-01", grade="良", opinion="经协商修改后通过",
                      reviewer="张三", store=store)
    assert approved.approved and [d.project_code for d in approved.decisions] == ["001-01"]
    returned = review("示例局", project="001-02", grade="中",
                      opinion="宣传经费的效益指标请量化后重新报送", reviewer="张三", store=store)
    assert not returned.approved
    code, output = _cli("review", "002", "--grade", "良", "--opinion", "质量指标确难量化，照收",
                        "--waive", f"rule.not_quantitative@{problem.sheet}!{problem.cell}",
                        "--reviewer", "李四", "--store", str(store), "--json")
    assert code == 0, output
    waived = json.loads(output)
    assert waived["examine_again"] and waived["accepted_now"]
    assert [f["code"] for f in waived["waived"]] == ["rule.not_quantitative"]
    with open_store(store) as opened:
        assert {r.department_code: r.original_name for r in opened.current_returns()} == {
            "001": "001.xlsx", "002": "002.xlsx", "003": "003.xlsx"}
        # a waiver never hides a finding: it is still recorded, marked by the board
        assert [f.code for f in opened.findings(waived["sha256"]) if f.is_error] == [
            "rule.not_quantitative"]

    # the reconcile report lists it too, with who and why
    report = reconcile(tmp_path / "ledger.csv", store=store, output=tmp_path / "r.xlsx")
    waived_said = dict(zip(report.summary["department"], report.summary["waived"], strict=True))
    said = f"{problem.sheet}!{problem.cell} rule.not_quantitative：已豁免（李四"
    assert said in waived_said["002"]
    assert waived_said["001"] == ""
    summary = load_workbook(tmp_path / "r.xlsx")["汇总"]
    assert any("照收" in str(c.value) for row in summary.iter_rows() for c in row)

    board = status(store=store, today=LATE)
    states = {d.department_code: d.state for d in board.departments}
    assert states == {"001": REVIEW_RETURNED, "002": APPROVED, "003": ACCEPTED,
                      "004": NOT_RETURNED}
    # the late first (returned for revision before silent), then accepted, approved last
    assert [d.department_code for d in board.departments] == ["001", "004", "003", "002"]
    row = {d.department_code: d for d in board.departments}
    assert row["004"].late and row["004"].days_left == -2
    assert (row["002"].waived, row["002"].errors, row["002"].grade) == (1, 0, "良")
    assert row["001"].opinion == "宣传经费的效益指标请量化后重新报送"

    # the department resubmits: its feedback opens with the opinion
    changed_goal = "目标1：第二轮改写的办公经费目标。"
    second = _filled(tmp_path, issued["001"], "001-第二轮.xlsx", XT_P01_GOAL=changed_goal)
    round2 = collect([second], store=store, feedback=tmp_path / "feedback-2")
    assert [f.status for f in round2.files] == ["accepted"]
    [feedback] = [p for p in round2.feedback if "_001_" in p.name]
    sheet = load_workbook(feedback)["反馈"] if "反馈" in load_workbook(feedback).sheetnames \
        else load_workbook(feedback).worksheets[0]
    assert sheet["A2"].value == "审核意见"
    assert "宣传经费的效益指标请量化后重新报送" in sheet["C2"].value

    board = status(store=store, today=LATE)
    row = {d.department_code: d for d in board.departments}
    assert (row["001"].state, row["001"].returns, row["001"].rounds) == (ACCEPTED, 2, 1)
    assert row["001"].received_after_approval == "001-第二轮.xlsx"
    projects = {p.project_code: p for p in board.projects}
    assert projects["001-01"].state == APPROVED
    assert projects["001-01"].received_after_approval == "001-第二轮.xlsx"
    assert projects["001-02"].state == ACCEPTED  # the new return awaits review
    assert (projects["001-02"].grade, projects["001-02"].reviews) == ("中", 1)

    review("001", project="001-02", grade="优", opinion="已按意见修改", store=store)
    assert {p.project_code: p.reviews for p in status(store=store).projects}["001-02"] == 2

    made = publish(store=store, output=tmp_path / "公开.xlsx", targets_out=tmp_path / "t.xlsx")
    goals = _goals(tmp_path / "t.xlsx")
    # exactly the approved projects; the approved 001-01 keeps its round-1 targets
    assert set(goals) == {"001-01", "001-02", "002-01"}
    assert goals["001-01"] == "目标1：完成001-01的年度任务。"
    reasons = {m.project_code: m.reason_code for m in made.missing}
    assert reasons == {"003-01": "not_reviewed", "004-01": "not_returned"}
    # the disclosure's data sheet says which target the office accepted as written
    data = load_workbook(made.output)["绩效指标"]
    header = [c.value for c in data[1]]
    notes = {tuple(r[header.index(h)] for h in ("项目编码", "二级指标", "指标值")):
             r[header.index("审核说明")] for r in data.iter_rows(min_row=2, values_only=True)}
    accepted_as_written = "财政部门审核后按原文接受：质量指标确难量化，照收"
    assert notes[("002-01", "数量指标", "明显")] == accepted_as_written
    assert notes[("002-01", "质量指标", "明显")] is None  # the same words, not waived there
    assert notes[("001-01", "数量指标", "≥5次")] is None


def test_a_returned_project_is_left_out_of_publish(tmp_path: Path) -> None:
    issued, store = _issue(tmp_path), tmp_path / "x.db"
    collect([_filled(tmp_path, issued["001"], "001.xlsx")], store=store)
    review("001", project="001-01", grade="优", opinion="通过", store=store)
    review("001", project="001-02", grade="差", opinion="不予安排预算", store=store)
    made = publish(store=store, output=tmp_path / "公开.xlsx", targets_out=tmp_path / "t.xlsx")
    assert set(_goals(tmp_path / "t.xlsx")) == {"001-01"}
    assert {m.project_code: m.reason_code for m in made.missing}["001-02"] == "review_returned"
    assert "审核退回修改" in {m.reason for m in made.missing}


def test_without_any_review_publish_is_unchanged(tmp_path: Path) -> None:
    issued, store = _issue(tmp_path), tmp_path / "x.db"
    collect([_filled(tmp_path, issued["001"], "001.xlsx")], store=store)
    publish(store=store, output=tmp_path / "公开.xlsx", targets_out=tmp_path / "t.xlsx")
    assert set(_goals(tmp_path / "t.xlsx")) == {"001-01", "001-02"}


def test_a_waiver_stands_for_later_returns_until_revoked(tmp_path: Path) -> None:
    issued, store = _issue(tmp_path), tmp_path / "x.db"
    vague, _ = _vague(tmp_path, issued["002"])
    collect([_filled(tmp_path, issued["002"], "002.xlsx", **vague)], store=store)
    decided = review("002", grade="中", opinion="可以接受该质量指标，但请补充目标",
                     waive=("rule.not_quantitative",), store=store)
    assert decided.examine_again  # its only error is waived now
    later = collect([_filled(tmp_path, issued["002"], "002-2.xlsx", XT_P01_GOAL="新目标",
                             **vague)], store=store, feedback=tmp_path / "feedback")
    assert [f.status for f in later.files] == [Status.ACCEPTED]
    # still listed in the feedback, marked as waived, with who and why
    [feedback] = [p for p in later.feedback if "_002_" in p.name]
    levels = [row[-1] for row in load_workbook(feedback).worksheets[0].iter_rows(values_only=True)]
    assert any(str(level).startswith("已豁免（") and "可以接受该质量指标" in str(level)
               for level in levels)
    review("002", grade="中", opinion="不再豁免", revoke=("rule.not_quantitative",), store=store)
    again = collect([_filled(tmp_path, issued["002"], "002-3.xlsx", XT_P01_GOAL="又一目标",
                             **vague)], store=store)
    assert [f.status for f in again.files] == [Status.REJECTED]


def test_review_refuses_what_it_cannot_record(tmp_path: Path) -> None:
    issued, store = _issue(tmp_path), tmp_path / "x.db"
    vague, _ = _vague(tmp_path, issued["002"])
    collect([_filled(tmp_path, issued["002"], "002.xlsx", **vague)], store=store)
    with pytest.raises(CannotReview, match="有错误未修改"):
        review("002", grade="优", opinion="通过", store=store)
    with pytest.raises(CannotReview, match="没有项目"):
        review("002", project="nosuch", grade="中", opinion="x", store=store)
    with pytest.raises(CannotReview, match="不是可以豁免的问题代码"):
        review("002", grade="中", opinion="x", waive=("nosuch.code",), store=store)
    with pytest.raises(CannotReview, match="还没有"):
        review("004", grade="中", opinion="x", store=store)
    with pytest.raises(CannotReview, match="审核意见"):
        review("002", grade="中", opinion="  ", store=store)
    with open_store(store) as opened:
        assert opened.reviews() == []  # nothing half-recorded
    code, output = _cli("review", "004", "--grade", "中", "--opinion", "x", "--store", str(store))
    assert code == 2 and "Traceback" not in output


def test_the_status_board_workbook(tmp_path: Path) -> None:
    issued, store = _issue(tmp_path), tmp_path / "x.db"
    vague, _ = _vague(tmp_path, issued["002"])
    collect([_filled(tmp_path, issued["001"], "001.xlsx"),
             _filled(tmp_path, issued["002"], "002.xlsx", **vague)], store=store)
    review("001", grade="中", opinion="请补充满意度指标", store=store)
    board = write_status(status(store=store, today=LATE), tmp_path / "status.xlsx")
    book = load_workbook(board)
    assert book.sheetnames == [DEPARTMENT_SHEET, PROJECT_SHEET]
    sheet = book[DEPARTMENT_SHEET]
    header = [c.value for c in sheet[1]]
    rows = [dict(zip(header, r, strict=True)) for r in sheet.iter_rows(min_row=2, values_only=True)]
    # the late first (no return, or none the office can take), then by urgency
    assert [(r["主管部门编码"], r["状态"]) for r in rows] == [
        ("001", REVIEW_RETURNED), ("002", TO_FIX), ("003", NOT_RETURNED), ("004", NOT_RETURNED)]
    assert rows[0]["剩余天数"] == "逾期2天" and rows[0]["审核意见"] == "请补充满意度指标"
    assert rows[1]["未改\n错误"] == 1
    [late] = sheet.conditional_formatting
    assert "逾期" in late.rules[0].formula[0]
    assert book.properties is not None
    projects = book[PROJECT_SHEET]
    assert [c.value for c in projects[2]][:5] == ["001", "示例局", "001-01", "办公经费",
                                                   REVIEW_RETURNED]


def test_status_on_the_command_line(tmp_path: Path) -> None:
    issued, store = _issue(tmp_path), tmp_path / "x.db"
    collect([_filled(tmp_path, issued["001"], "001.xlsx")], store=store)
    code, output = _cli("status", "--store", str(store), "-o", str(tmp_path / "s.xlsx"),
                        "--json")
    assert code == 0, output
    data = json.loads(output)
    assert {d["department_code"]: d["state"] for d in data["departments"]}["001"] == ACCEPTED
    assert (tmp_path / "s.xlsx").exists()
    code, output = _cli("status", "--store", str(store))
    assert code == 0 and "示例局" in output
    code, output = _cli("status", "--store", str(store), "-o", str(store))
    assert code == 2 and "Traceback" not in output


@pytest.mark.parametrize(("text", "day"), [
    ("2024年3月31日前", date(2024, 3, 31)), ("2024-04-01", date(2024, 4, 1)),
    ("请于 2024/4/5 前报送", date(2024, 4, 5)), ("2024年2月30日", None), ("月底前", None)])
def test_the_deadline_as_a_date(text: str, day: date | None) -> None:
    assert deadline_date(text) == day


def test_an_approval_with_waivers_pins_once_the_return_is_accepted(tmp_path: Path) -> None:
    issued, store = _issue(tmp_path), tmp_path / "x.db"
    vague, _ = _vague(tmp_path, issued["002"])
    collect([_filled(tmp_path, issued["002"], "002.xlsx", **vague),
             _filled(tmp_path, issued["001"], "001.xlsx")], store=store)
    review("001", grade="优", opinion="通过", store=store)
    decided = review("002", grade="良", opinion="按原文接受", waive=("rule.not_quantitative",),
                     store=store)
    assert decided.approved and decided.examine_again
    made = publish(store=store, output=tmp_path / "公开.xlsx")
    # recorded, but the return is not read again yet: it is still rejected, and withheld
    assert {m.project_code: m.reason_code for m in made.missing}["002-01"] == "rejected"
    collect([], store=store, recheck=True)  # what the command line does at once
    made = publish(store=store, output=tmp_path / "公开.xlsx", targets_out=tmp_path / "t.xlsx")
    assert set(_goals(tmp_path / "t.xlsx")) == {"001-01", "001-02", "002-01"}
    assert {m.reason_code for m in made.missing} == {"not_returned"}  # 003 and 004


@given(st.dates(min_value=date(1000, 1, 1)), st.sampled_from(
    ["{y}年{m}月{d}日前", "{y}-{m:02d}-{d:02d}", "请于{y}/{m}/{d}报送", "{y}.{m}.{d}"]))
def test_every_written_deadline_reads_as_its_date(day: date, form: str) -> None:
    assert deadline_date(form.format(y=day.year, m=day.month, d=day.day)) == day


@given(st.text())
def test_any_deadline_text_reads_as_a_date_or_none(text: str) -> None:
    assert deadline_date(text) is None or isinstance(deadline_date(text), date)


def test_review_on_the_console_shows_the_opinion_as_written(tmp_path: Path) -> None:
    issued, store = _issue(tmp_path), tmp_path / "x.db"
    collect([_filled(tmp_path, issued["001"], "001.xlsx")], store=store)
    code, output = _cli("review", "001", "--grade", "中", "--opinion", "[red]请修改[/]",
                        "--reviewer", "王五", "--store", str(store))
    assert code == 0, output
    assert "[red]请修改[/]" in output and "王五" in output and "已退回修改" in output
    code, output = _cli("review", "001", "--grade", "甲", "--opinion", "x", "--store", str(store))
    assert code == 2  # a grade that is none: a usage error, nothing recorded
    with open_store(store) as opened:
        assert [r.grade for r in opened.reviews("001")] == ["中", "中"]  # a decision a project
