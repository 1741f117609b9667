"""The review loop across years and projects: a decision reaches exactly what it names.

A 2024 waiver or opinion never reaches a 2025 return; a review examines again the return it
reviewed and no other; `--revoke` ends what it names or says there is nothing; a cell
waived covers that cell of one project sheet, not of every project; the template reviewed
is the one the submission chain holds in force; the status board counts the year's mail
sent, not drafts nor last year's mail.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import date
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from tests.conftest import complete_values, ledger_row, write_ledger
from tests.fill import fill_with_openpyxl
from xltool.cli import main
from xltool.collect import collect, examine_again
from xltool.errors import StoreError
from xltool.mail.send_reminders import mail_remind
from xltool.review import CannotReview, review
from xltool.review.status import status
from xltool.states import ACCEPTED, REVIEW_RETURNED, TO_FIX
from xltool.store import Status, open_store
from xltool.store.mailsent import Outcome, SentMessage
from xltool.store.reviews import ReviewRecord, Waiver
from xltool.template import IssuedWorkbook, issue_templates

VAGUE = "明显"  # a quantitative value written as a word: `rule.not_quantitative`


def _issue(tmp_path: Path, year: int, code: str = "002", name: str = "第二局",
           *projects: str, email: str = "") -> IssuedWorkbook:
    rows = [ledger_row(f"{code}-{p}", f"项目{p}", department=(code, name), total="30",
                       年度=str(year), 联系邮箱=email) for p in (projects or ("01",))]
    ledger = write_ledger(tmp_path / f"ledger-{year}-{code}.csv", rows)
    run = issue_templates(ledger, tmp_path / f"templates-{year}-{code}",
                          store=tmp_path / "x.db", deadline=f"{year}年3月31日")
    [workbook] = run.workbooks
    return workbook


def _return(tmp_path: Path, workbook: IssuedWorkbook, name: str, *vague_projects: str,
            **more: object) -> Path:
    """A complete return, its first quantitative value of each of VAGUE_PROJECTS (`P01`…,
    default the first) written as a word."""
    values = {**complete_values(tmp_path / "x.db", workbook.template_id), **more}
    for project in vague_projects or ("P01",):
        cell = next(k for k, v in values.items()
                    if k.startswith(f"XT_{project}_") and k.endswith("_VALUE") and v == "≥5次")
        values[cell] = VAGUE
    return fill_with_openpyxl(workbook.path, values, tmp_path / "inbox" / name)


def _cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def _statuses(store: Path) -> dict[str, str]:
    with open_store(store) as opened:
        return {f.original_name: f.status for f in opened.received_files()}


def _feedback_text(path: Path) -> str:
    book = load_workbook(path)
    return "\n".join(str(c.value) for sheet in book.worksheets for row in sheet.iter_rows()
                     for c in row if c.value is not None)


def test_a_waiver_and_an_opinion_of_2024_never_reach_2025(tmp_path: Path) -> None:
    store = tmp_path / "x.db"
    w2024 = _issue(tmp_path, 2024)
    assert [f.status for f in collect([_return(tmp_path, w2024, "2024.xlsx")],
                                      store=store).files] == [Status.REJECTED]
    said = "2024年：该指标确难量化，今年照收；明年请量化"
    decided = review("002", grade="中", opinion=said, waive=("rule.not_quantitative",),
                     store=store)
    assert decided.decisions[0].year == 2024 and decided.examine_again

    w2025 = _issue(tmp_path, 2025)
    run = collect([_return(tmp_path, w2025, "2025.xlsx")], store=store,
                  feedback=tmp_path / "feedback")
    assert [f.status for f in run.files] == [Status.REJECTED]  # the 2024 waiver: not 2025's
    [feedback] = [p for p in run.feedback if "_002_" in p.name]
    assert said not in _feedback_text(feedback)
    with open_store(store) as opened:
        assert opened.returned_opinions("002", 2025) == ()
        assert len(opened.returned_opinions("002", 2024)) == 1
        assert [w.year for w in opened.waivers("002", 2024)] == [2024]
        assert opened.waivers("002", 2025) == []

    # 2025's board neither counts 2024's waiver nor shows its opinion
    [row] = status(store=store, today=date(2025, 3, 1)).departments
    assert (row.waived, row.errors, row.opinion) == (0, 1, "")


def test_revoking_a_waiver_of_another_year_is_refused(tmp_path: Path) -> None:
    store = tmp_path / "x.db"
    w2024 = _issue(tmp_path, 2024)
    collect([_return(tmp_path, w2024, "2024.xlsx")], store=store)
    review("002", grade="中", opinion="照收", waive=("rule.not_quantitative",), store=store)
    w2025 = _issue(tmp_path, 2025)
    collect([_return(tmp_path, w2025, "2025.xlsx")], store=store)
    with pytest.raises(CannotReview, match="没有可以撤销的豁免"):
        review("002", grade="中", opinion="不再豁免", revoke=("rule.not_quantitative",),
               store=store)
    code, output = _cli("review", "002", "--grade", "中", "--opinion", "不再豁免",
                        "--revoke", "rule.not_quantitative", "--store", str(store))
    assert code == 2 and "没有可以撤销的豁免" in output and "Traceback" not in output
    with open_store(store) as opened:
        assert [r.year for r in opened.reviews("002")] == [2024]  # nothing half-recorded
        assert len(opened.waivers("002", 2024)) == 1


def test_a_revoke_ends_the_waiver_it_names_and_the_next_return_is_rejected(
        tmp_path: Path) -> None:
    store = tmp_path / "x.db"
    issued = _issue(tmp_path, 2024)
    run = collect([_return(tmp_path, issued, "1.xlsx")], store=store)
    [error] = [f for f in run.files[0].findings if f.is_error]
    decided = review("002", grade="中", opinion="照收",
                     waive=(f"rule.not_quantitative@{error.sheet}!{error.cell}",), store=store)
    assert [(w.sheet, w.cell) for w in decided.granted] == [(error.sheet, error.cell)]
    # written without its sheet (as the office may remember it), it still ends that waiver
    ended = review("002", grade="中", opinion="不再豁免",
                   revoke=(f"rule.not_quantitative@{error.cell}",), store=store)
    assert [(w.sheet, w.cell) for w in ended.revoked] == [(error.sheet, error.cell)]
    with open_store(store) as opened:
        assert opened.waivers("002", 2024) == []
    again = collect([_return(tmp_path, issued, "2.xlsx", XT_P01_GOAL="又一目标")], store=store)
    assert [f.status for f in again.files] == [Status.REJECTED]
    with pytest.raises(CannotReview, match="没有可以撤销的豁免"):  # nothing left to end
        review("002", grade="中", opinion="x", revoke=("rule.not_quantitative",), store=store)


def test_review_examines_again_the_reviewed_return_only(tmp_path: Path) -> None:
    store = tmp_path / "x.db"
    # two years' templates issued within the same second: the review is of 2025
    w2024, other = _issue(tmp_path, 2024), _issue(tmp_path, 2024, "003", "第三局")
    w2025 = _issue(tmp_path, 2025)
    collect([_return(tmp_path, w2024, "2024-002.xlsx"),
             _return(tmp_path, other, "2024-003.xlsx")], store=store)
    collect([_return(tmp_path, w2025, "2025-002.xlsx")], store=store)
    code, output = _cli("review", "002", "--grade", "良", "--opinion", "2025年该指标照收",
                        "--waive", "rule.not_quantitative", "--store", str(store), "--json")
    assert code == 0, output
    decided = json.loads(output)
    assert decided["original_name"] == "2025-002.xlsx"
    assert decided["examine_again"] and decided["accepted_now"]
    assert decided["decisions"][0]["year"] == 2025
    assert _statuses(store) == {"2024-002.xlsx": Status.REJECTED,
                                "2024-003.xlsx": Status.REJECTED,
                                "2025-002.xlsx": Status.ACCEPTED}
    with open_store(store) as opened:
        assert [(r.original_name, r.year) for r in opened.current_returns()] == [
            ("2025-002.xlsx", 2025)]


def test_the_re_examination_applies_the_office_rules(tmp_path: Path) -> None:
    store = tmp_path / "x.db"
    first, second = _issue(tmp_path, 2024), _issue(tmp_path, 2024, "003", "第三局")
    collect([_return(tmp_path, first, "002.xlsx"), _return(tmp_path, second, "003.xlsx")],
            store=store)
    # the rules beside the store count a project of fewer than 99 indicators as an error
    (tmp_path / "xltool.toml").write_text(
        '[all]\nmin_indicators = 99\n[all.severity]\n"review.too_few_indicators" = "error"\n',
        encoding="utf-8")
    waive = ("--grade", "中", "--opinion", "照收", "--waive", "rule.not_quantitative",
             "--store", str(store), "--json")
    code, output = _cli("review", "002", *waive)
    assert code == 0, output
    assert json.loads(output)["examine_again"] and not json.loads(output)["accepted_now"]
    # --rules names the rules instead (here: the defaults), and the return is accepted
    defaults = tmp_path / "defaults.toml"
    defaults.write_text("[all]\n", encoding="utf-8")
    code, output = _cli("review", "003", *waive, "--rules", str(defaults))
    assert code == 0, output
    assert json.loads(output)["accepted_now"]
    assert _statuses(store) == {"002.xlsx": Status.REJECTED, "003.xlsx": Status.ACCEPTED}
    with open_store(store) as opened:
        [found] = [f for f in opened.received_files() if f.original_name == "002.xlsx"]
        assert "review.too_few_indicators" in {f.code for f in opened.findings(found.sha256)}
    # a rules file that cannot be read stops the review before anything is recorded
    broken = tmp_path / "broken.toml"
    broken.write_text("[all\n", encoding="utf-8")
    code, output = _cli("review", "002", "--grade", "中", "--opinion", "x", "--rules",
                        str(broken), "--store", str(store))
    assert code == 2 and "broken.toml" in output and "Traceback" not in output
    with open_store(store) as opened:
        assert len(opened.reviews()) == 2


def test_examine_again_leaves_the_files_not_named(tmp_path: Path) -> None:
    store = tmp_path / "x.db"
    first, second = _issue(tmp_path, 2024), _issue(tmp_path, 2024, "003", "第三局")
    run = collect([_return(tmp_path, first, "002.xlsx"), _return(tmp_path, second, "003.xlsx")],
                  store=store)
    review("002", grade="中", opinion="照收", waive=("rule.not_quantitative",), store=store)
    review("003", grade="中", opinion="照收", waive=("rule.not_quantitative",), store=store)
    again = examine_again([run.files[0].sha256], store=store)
    assert [(f.sha256, f.status) for f in again.files] == [(run.files[0].sha256,
                                                            Status.ACCEPTED)]
    assert _statuses(store) == {"002.xlsx": Status.ACCEPTED, "003.xlsx": Status.REJECTED}


def test_a_cell_waived_without_its_sheet_covers_that_project_only(tmp_path: Path) -> None:
    store = tmp_path / "x.db"
    issued = _issue(tmp_path, 2024, "001", "示例局", "01", "02")
    run = collect([_return(tmp_path, issued, "1.xlsx", "P01")], store=store)
    [error] = [f for f in run.files[0].findings if f.is_error]
    decided = review("001", grade="中", opinion=f"{error.cell} 确难量化，照收",
                     waive=(f"rule.not_quantitative@{error.cell}",), store=store)
    # the sheet is the one the office looked at: where the return has the finding
    assert [(w.project_code, w.sheet, w.cell) for w in decided.granted] == [
        (error.project, error.sheet, error.cell)]
    assert decided.examine_again
    # the same vague value at the same cell of the OTHER project is not waived
    later = collect([_return(tmp_path, issued, "2.xlsx", "P02")], store=store)
    assert [f.status for f in later.files] == [Status.REJECTED]
    [other] = [f for f in later.files[0].findings if f.is_error]
    assert (other.cell, other.project) == (error.cell, "001-02")


def test_a_cell_waiver_takes_the_sheet_of_the_project_named(tmp_path: Path) -> None:
    store = tmp_path / "x.db"
    issued = _issue(tmp_path, 2024, "001", "示例局", "01", "02")
    run = collect([_return(tmp_path, issued, "1.xlsx", "P02")], store=store)
    [error] = [f for f in run.files[0].findings if f.is_error]
    with open_store(store) as opened:
        sheets = {p.project_code: p.sheet for p in opened.template_projects(issued.template_id)}
    decided = review("001", project="001-02", grade="中", opinion="照收",
                     waive=(f"rule.not_quantitative@{error.cell}",), store=store)
    assert [(w.project_code, w.sheet) for w in decided.granted] == [("001-02", sheets["001-02"])]
    with pytest.raises(CannotReview, match="请写明工作表"):  # no such finding at that cell
        review("001", grade="中", opinion="照收", waive=("rule.not_quantitative@Z99",),
               store=store)
    with pytest.raises(CannotReview, match="不是 --project"):
        review("001", project="001-01", grade="中", opinion="照收",
               waive=(f"rule.not_quantitative@{sheets['001-02']}!{error.cell}",), store=store)


def test_the_store_never_keeps_a_cell_without_its_sheet(tmp_path: Path) -> None:
    store = tmp_path / "x.db"
    issued = _issue(tmp_path, 2024)
    [file] = collect([_return(tmp_path, issued, "1.xlsx")], store=store).files
    decision = ReviewRecord(file.sha256, issued.template_id, "002", 2024, "002-01", "中", "照收",
                            "张三", "2024-03-01T00:00:00+00:00")
    with open_store(store) as opened, pytest.raises(StoreError, match="工作表"):
        opened.record_review([decision], [Waiver("002", 2024, "rule.not_quantitative",
                                                 cell="D14")])
    with open_store(store) as opened:
        assert opened.reviews() == []


def test_the_template_reviewed_is_the_one_in_force(tmp_path: Path) -> None:
    store = tmp_path / "x.db"
    first = _issue(tmp_path, 2024)
    again = _issue(tmp_path, 2024)  # issued again, recorded after the first
    # within the same second, and a 2024 template issued after 2025's
    w2025 = _issue(tmp_path, 2025)
    with sqlite3.connect(store) as db:
        db.execute("UPDATE templates SET issued_at = '2024-03-01T08:00:00+00:00' "
                   "WHERE template_id IN (?, ?)", (first.template_id, again.template_id))
        db.execute("UPDATE templates SET issued_at = '2024-01-01T08:00:00+00:00' "
                   "WHERE template_id = ?", (w2025.template_id,))
    collect([_return(tmp_path, w2025, "2025.xlsx")], store=store)
    decided = review("002", grade="中", opinion="请修改", store=store)
    assert (decided.original_name, decided.decisions[0].template_id) == (
        "2025.xlsx", w2025.template_id)
    with sqlite3.connect(store) as db:  # without 2025: the 2024 one recorded last
        db.execute("UPDATE templates SET year = 2023 WHERE template_id = ?",
                   (w2025.template_id,))
    collect([_return(tmp_path, again, "2024.xlsx")], store=store)
    decided = review("002", grade="中", opinion="请修改", store=store)
    assert decided.decisions[0].template_id == again.template_id


def _mail(message_id: str, kind: str, year: int, outcome: Outcome, at: str) -> SentMessage:
    return SentMessage(message_id, kind, "002", year, "a@b.cn", "主题", None, None, None, at,
                       at, outcome.value, None)


def test_the_board_counts_the_years_mail_sent_not_drafts(tmp_path: Path) -> None:
    store = tmp_path / "x.db"
    _issue(tmp_path, 2024)
    _issue(tmp_path, 2025)
    with open_store(store) as opened:
        for message in (
                _mail("<1@x>", "template", 2024, Outcome.SENT, "2024-01-05T08:00:00+00:00"),
                _mail("<2@x>", "reminder", 2024, Outcome.SENT, "2024-03-20T08:00:00+00:00"),
                _mail("<3@x>", "template", 2025, Outcome.DRAFTED, "2025-01-05T08:00:00+00:00"),
                _mail("<4@x>", "reminder", 2025, Outcome.DRAFTED, "2025-03-20T08:00:00+00:00"),
                _mail("<5@x>", "reminder", 2025, Outcome.SENT, "2025-03-25T08:00:00+00:00")):
            opened.record_pending(message)
    [row] = status(store=store, today=date(2025, 3, 26)).departments
    assert (row.sent_at, row.drafted_at) == ("", "2025-01-05T08:00:00+00:00")
    assert (row.reminders, row.reminded_at) == (1, "2025-03-25T08:00:00+00:00")
    assert row.to_dict()["drafted_at"] == "2025-01-05T08:00:00+00:00"


# -- a return sent back, and the department's answer ---------------------------------------


def _clean(tmp_path: Path, workbook: IssuedWorkbook, name: str, **more: object) -> Path:
    """A complete return without errors."""
    values = {**complete_values(tmp_path / "x.db", workbook.template_id), **more}
    return fill_with_openpyxl(workbook.path, values, tmp_path / "inbox" / name)


def _states(store: Path) -> tuple[str, dict[str, str]]:
    """The board's state of department 002, and of each of its projects."""
    board = status(store=store, today=date(2025, 3, 1))
    [row] = board.departments
    return row.state, {p.project_code: p.state for p in board.projects}


def _reminder(store: Path, outbox: Path, day: date) -> str:
    """The body of the reminder drafted to OUTBOX on DAY ('' when none is); `resend`: the
    one-a-day rule counts the real day, and each call here is a later day."""
    mail_remind(sender="ys@czj.example.gov.cn", store=store, outbox=outbox, today=day,
                resend=True)
    drafts = list(outbox.glob("*.eml")) if outbox.exists() else []
    if not drafts:
        return ""
    [draft] = drafts
    message = message_from_bytes(draft.read_bytes(), policy=policy.default)
    return str(message.get_body(("plain",)).get_content())  # type: ignore[union-attr]


def test_a_return_sent_back_then_answered_with_errors_is_to_fix_and_reminded(
        tmp_path: Path) -> None:
    store = tmp_path / "x.db"
    issued = _issue(tmp_path, 2025, email="b@ws.example.cn")
    collect([_clean(tmp_path, issued, "A.xlsx")], store=store)
    review("002", grade="中", opinion="目标偏低请修改", store=store)
    assert _states(store) == (REVIEW_RETURNED, {"002-01": REVIEW_RETURNED})
    letter = _reminder(store, tmp_path / "out-1", date(2025, 3, 1))
    assert REVIEW_RETURNED in letter and "目标偏低请修改" in letter

    # the department answers with a return that has errors: the opinion still stands, and
    # the return in force is still the one sent back
    assert [f.status for f in collect([_return(tmp_path, issued, "B.xlsx")],
                                      store=store).files] == [Status.REJECTED]
    assert _states(store) == (TO_FIX, {"002-01": TO_FIX})
    letter = _reminder(store, tmp_path / "out-2", date(2025, 3, 2))
    assert "“A.xlsx”经审核需修改" in letter and "目标偏低请修改" in letter
    assert "“B.xlsx”有 1 处错误" in letter and TO_FIX in letter

    # the office reviews that answer: its word on the latest return stands
    review("002", grade="中", opinion="请量化后重报", store=store)
    assert _states(store) == (REVIEW_RETURNED, {"002-01": REVIEW_RETURNED})
    letter = _reminder(store, tmp_path / "out-3", date(2025, 3, 3))
    assert "“B.xlsx”经审核需修改" in letter and "请量化后重报" in letter

    # a new accepted return ends it: it awaits review, and no reminder is due
    collect([_clean(tmp_path, issued, "C.xlsx", XT_P01_GOAL="改写的目标")], store=store)
    assert _states(store) == (ACCEPTED, {"002-01": ACCEPTED})
    assert _reminder(store, tmp_path / "out-4", date(2025, 3, 4)) == ""


def test_publish_says_why_when_the_review_leaves_every_project_out(tmp_path: Path) -> None:
    store = tmp_path / "x.db"
    issued = _issue(tmp_path, 2025, "002", "第二局", "01", "02")
    collect([_clean(tmp_path, issued, "A.xlsx")], store=store)
    review("002", project="002-01", grade="中", opinion="目标偏低请修改", store=store)
    result = CliRunner().invoke(main, ["publish", "--store", str(store),
                                       "-o", str(tmp_path / "公开.xlsx")])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and not (tmp_path / "公开.xlsx").exists()
    assert "没有可以公开的项目（审核退回修改 1 个、尚未审核通过 1 个）" in result.output


def test_a_sent_back_return_accepted_by_waivers_says_both_on_the_console(
        tmp_path: Path) -> None:
    store = tmp_path / "x.db"
    issued = _issue(tmp_path, 2025)
    collect([_return(tmp_path, issued, "A.xlsx")], store=store)
    code, output = _cli("review", "002", "--grade", "中", "--opinion", "照收，但请补充目标",
                        "--waive", "rule.not_quantitative", "--store", str(store))
    assert code == 0, output
    assert "已重新检查并接受" in output
    assert f"仍退回修改（{REVIEW_RETURNED}）" in output
    assert _statuses(store) == {"A.xlsx": Status.ACCEPTED}
    assert _states(store) == (REVIEW_RETURNED, {"002-01": REVIEW_RETURNED})


# -- naming the department and the waivers -------------------------------------------------


def test_a_department_reviewed_by_its_name_before_a_re_issue(tmp_path: Path) -> None:
    store = tmp_path / "x.db"
    _issue(tmp_path, 2025, "002", "第二局")
    renamed = _issue(tmp_path, 2025, "002", "第二新局")
    collect([_clean(tmp_path, renamed, "A.xlsx")], store=store)
    code, output = _cli("review", "第二局", "--grade", "优", "--opinion", "好",
                        "--store", str(store), "--json")
    assert code == 0, output
    decided = json.loads(output)
    assert (decided["department"], decided["original_name"]) == ("第二新局", "A.xlsx")
    assert decided["decisions"][0]["template_id"] == renamed.template_id


def test_a_waiver_named_twice_is_granted_and_revoked_once(tmp_path: Path) -> None:
    store = tmp_path / "x.db"
    issued = _issue(tmp_path, 2025, "002", "第二局", "01", "02")
    run = collect([_return(tmp_path, issued, "A.xlsx", "P01", "P02")], store=store)
    error = next(f for f in run.files[0].findings if f.is_error)
    at_cell = f"rule.not_quantitative@{error.sheet}!{error.cell}"
    code, output = _cli("review", "002", "--grade", "良", "--opinion", "照收",
                        "--waive", "rule.not_quantitative", "--waive", "rule.not_quantitative",
                        "--store", str(store), "--json")
    assert code == 0, output
    assert len(json.loads(output)["granted"]) == 1
    with open_store(store) as opened:
        assert len(opened.waivers("002", 2025)) == 1
    # the code twice; the code and the one cell waived, which the code names too
    for twice, again in ((("rule.not_quantitative",) * 2, at_cell),
                         (("rule.not_quantitative", at_cell), "")):
        code, output = _cli("review", "002", "--grade", "中", "--opinion", "不再豁免",
                            *(a for text in twice for a in ("--revoke", text)),
                            "--store", str(store), "--json")
        assert code == 0, output
        assert [w["code"] for w in json.loads(output)["revoked"]] == ["rule.not_quantitative"]
        with open_store(store) as opened:
            assert opened.waivers("002", 2025) == []
        if again:
            review("002", grade="中", opinion="再豁免", waive=(again,), store=store)


def test_an_approval_refused_names_the_error_a_project_waiver_leaves(tmp_path: Path) -> None:
    store = tmp_path / "x.db"
    issued = _issue(tmp_path, 2025)
    run = collect([_return(tmp_path, issued, "A.xlsx")], store=store)
    # a finding of the whole return, of no project (as the store may hold one)
    with sqlite3.connect(store) as db:
        db.execute("UPDATE findings SET project = '' WHERE sha256 = ? AND code = ?",
                   (run.files[0].sha256, "rule.not_quantitative"))
    with pytest.raises(CannotReview, match="不属于任何项目") as refused:
        review("002", project="002-01", grade="良", opinion="照收",
               waive=("rule.not_quantitative",), store=store)
    assert "未豁免的错误" in str(refused.value) and "rule.not_quantitative" in str(refused.value)
    decided = review("002", grade="良", opinion="照收", waive=("rule.not_quantitative",),
                     store=store)
    assert decided.approved and decided.examine_again
