"""Findings go to the reader who acts on them: a department's 反馈表 holds what it can fix, in
the order it fixes it; what only the office can act on is on the summary's 待核实 sheet."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from openpyxl import load_workbook

from tests.conftest import SAMPLES, ledger_row, write_ledger
from tests.fill import fill_with_openpyxl
from tests.test_feedback import findings_table, heading, table
from xltool.codes import (
    FILE_UNCHANGED_TEMPLATE,
    FILE_UNKNOWN_TEMPLATE,
    FORM_NOT_FILLED,
    PROBLEMS,
    Reader,
    reader_of,
)
from xltool.collect import collect
from xltool.collect.feedback import OFFICE_SHEET, SUMMARY_NAME, feedback_name, natural_key
from xltool.store import open_store
from xltool.template import IssuedWorkbook, issue_templates


def _issued(tmp_path: Path, store: Path, folder: str, **options: Any) -> dict[str, IssuedWorkbook]:
    run = issue_templates(SAMPLES / "ledger.xlsx", tmp_path / folder, store=store, **options)
    return {w.department_code: w for w in run.workbooks}


def _copy(path: Path, to: Path) -> Path:
    to.parent.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copyfile(path, to))


def _feedback_messages(path: Path) -> set[str]:
    return {str(row["问题"]) for row in findings_table(path) if row["问题"]}


def test_office_findings_reach_the_summary_never_a_department(tmp_path: Path) -> None:
    store = tmp_path / "x.db"
    ours = _issued(tmp_path, store, "templates")
    # Another office's store, the same department: a template number this store never issued.
    elsewhere = write_ledger(tmp_path / "elsewhere.csv", [ledger_row(
        "012001-X1", "另一存储的项目", department=("012001", "中卫市沙坡头区人民政府办公室"),
        年度="2023")])
    theirs = {w.department_code: w for w in issue_templates(
        elsewhere, tmp_path / "elsewhere", store=tmp_path / "other.db").workbooks}
    returns = tmp_path / "returns"
    untouched = _copy(ours["011001"].path, returns / "a_永宁县原样.xlsx")
    foreign = _copy(theirs["012001"].path, returns / "b_沙坡头区.xlsx")
    partial = fill_with_openpyxl(ours["013042"].path, {"XT_P01_GOAL": "维护社会稳定"},
                                 returns / "c_信访局.xlsx")
    again = _copy(partial, returns / "copy" / "c_信访局_再次.xlsx")

    run = collect([untouched, foreign, partial, again], store=store,
                  feedback=tmp_path / "feedback")

    statuses = [(f.name, f.status.value, f.department) for f in run.files]
    assert statuses == [("a_永宁县原样.xlsx", "unchanged", "011001"),
                        ("b_沙坡头区.xlsx", "rejected", "012001"),
                        ("c_信访局.xlsx", "rejected", "013042"),
                        ("c_信访局_再次.xlsx", "duplicate", "013042")]
    # Only the department that sent a return of its own is told anything.
    feedback = tmp_path / "feedback" / feedback_name("013042", "固原市信访局", 2023)
    assert sorted(p.name for p in run.feedback) == sorted([feedback.name, SUMMARY_NAME])
    assert [f["文件"] for f in heading(feedback)["files"]] == ["c_信访局.xlsx"]
    told = _feedback_messages(feedback)
    assert told == {f.message for f in run.files[2].findings}
    assert not any("下发的模板" in m or "本存储" in m or "重复" in m for m in told)

    noted = table(run.feedback[-1], OFFICE_SHEET)
    rows = {(r["原文件名"], r["主管部门编码"], r["主管部门"]): r for r in noted}
    unchanged = rows["a_永宁县原样.xlsx", "011001", "永宁县人民政府办公室"]
    assert unchanged["问题"] == FILE_UNCHANGED_TEMPLATE.text()[0]
    assert unchanged["收到时间"] is not None and unchanged["级别"] == "错误"
    other = rows["b_沙坡头区.xlsx", "012001", "中卫市沙坡头区人民政府办公室"]
    assert other["问题"].startswith("模板编号“") and "不是本存储下发的模板" in other["问题"]
    copy = rows["c_信访局_再次.xlsx", "013042", "固原市信访局"]
    assert "c_信访局.xlsx" in copy["问题"] and "退回修改" in copy["问题"]
    assert (copy["收到时间"], copy["级别"]) == ("本次收取", "提醒")
    assert len(noted) == 3  # the department's own findings stay off the office's sheet


def test_a_file_no_department_can_be_told_of_is_the_offices(tmp_path: Path) -> None:
    store = tmp_path / "x.db"
    _issued(tmp_path, store, "templates")
    junk = tmp_path / "returns" / "说明.xlsx"
    junk.parent.mkdir()
    junk.write_bytes(b"not a workbook")

    run = collect([junk], store=store, feedback=tmp_path / "feedback")

    assert [p.name for p in run.feedback] == [SUMMARY_NAME]
    (row,) = table(run.feedback[0], OFFICE_SHEET)
    assert (row["原文件名"], row["主管部门"]) == ("说明.xlsx", "（未能识别）")
    assert row["问题"] == run.files[0].findings[0].message


def test_an_untouched_return_says_one_thing(tmp_path: Path) -> None:
    store = tmp_path / "x.db"
    sent = _issued(tmp_path, store, "templates", departments=["011001"])["011001"]
    blank = fill_with_openpyxl(sent.path, {}, tmp_path / "returns" / sent.path.name)

    run = collect([blank], store=store, feedback=tmp_path / "feedback")

    feedback = run.feedback[0]
    rows = [row for row in findings_table(feedback) if any(row.values())]
    assert [row["问题"] for row in rows] == [run.files[0].findings[0].message]
    assert run.files[0].findings[0].code == FORM_NOT_FILLED.code
    assert "未填写任何内容" in str(rows[0]["问题"]) and rows[0]["级别"] == "错误"
    assert heading(feedback)["审核结论"] == "需修改后重新报送"
    assert table(run.feedback[-1], OFFICE_SHEET) == []


def test_findings_in_the_order_the_department_fixes_them(tmp_path: Path) -> None:
    # The ledger's order, not the codes', is the workbook's: 项目12 is the first sheet.
    scrambled = (12, 3, 1, 10, 2, 11, 4, 9, 5, 8, 6, 7)
    ledger = write_ledger(tmp_path / "ledger.csv", [
        ledger_row(f"001-{n:02d}", f"项目{n}", total="10") for n in scrambled])
    store = tmp_path / "x.db"
    (sent,) = issue_templates(ledger, tmp_path / "templates", store=store).workbooks
    # Goals on every other project: each sheet gets findings, of several rows and kinds.
    goals = {f"XT_P{n:02d}_GOAL": f"完成项目{n}" for n in range(1, 13, 2)}
    partial = fill_with_openpyxl(sent.path, goals, tmp_path / "returns" / "r.xlsx")

    run = collect([partial], store=store, feedback=tmp_path / "feedback")

    rows = findings_table(run.feedback[0])
    sheets = [row["工作表"] for row in rows]
    order = {sheet: n for n, sheet in enumerate(sent.sheets)}
    assert len(set(sheets)) == 12 and sheets[0] == "01 项目12"
    assert sheets == sorted(sheets, key=order.__getitem__)  # as the workbook has them
    issued = load_workbook(sent.path)
    for sheet in set(sheets):
        cells = [issued[sheet][r["单元格"]] for r in rows if r["工作表"] == sheet and r["单元格"]]
        places = [(c.row, c.column) for c in cells]
        assert places == sorted(places), sheet
    assert [r["序号"] for r in rows] == list(range(1, len(rows) + 1))


def test_sheet_names_read_naturally() -> None:
    names = ["项目10", "项目2", "项目1", "附表", "项目2a"]
    assert sorted(names, key=natural_key) == ["附表", "项目1", "项目2", "项目2a", "项目10"]


def test_every_finding_code_names_its_reader() -> None:
    office = {code for code, problem in PROBLEMS.items() if problem.reader is Reader.OFFICE}
    assert {FILE_UNCHANGED_TEMPLATE.code, FILE_UNKNOWN_TEMPLATE.code, "file.duplicate"} <= office
    assert not any(code.startswith(("rule.", "cell.", "form.")) for code in office)
    assert reader_of(FORM_NOT_FILLED.finding({"projects": 1})) is Reader.DEPARTMENT


def test_the_store_still_holds_every_finding(tmp_path: Path) -> None:
    """Routing changes who reads a finding, never what is recorded."""
    store = tmp_path / "x.db"
    ours = _issued(tmp_path, store, "templates", departments=["011001"])
    untouched = _copy(ours["011001"].path, tmp_path / "returns" / "same.xlsx")
    (outcome,) = collect([untouched], store=store, feedback=tmp_path / "feedback").files
    with open_store(store) as opened:
        assert [f.code for f in opened.findings(outcome.sha256)] == [
            FILE_UNCHANGED_TEMPLATE.code]
