"""The submission chain: which return is in force for each department, and why.

Each test here is one way the office's accepted data used to be displaced: the issued
templates collected by mistake, a late return of a withdrawn template, a template
re-issued unchanged, a mail read out of order, a rejection that stuck. And the office's
own hand on the chain: `history`, `reinstate`, `collect --recheck`.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from tests.conftest import complete_values, ledger_row, write_ledger
from tests.fill import fill_with_openpyxl
from xltool.cli import main
from xltool.collect import collect
from xltool.collect.chain import history, reinstate
from xltool.errors import CannotReinstate, UnknownDepartment, UnknownReturn
from xltool.limits import DEFAULT_LIMITS, with_limits
from xltool.store import Status, open_store
from xltool.template import IssuedWorkbook, issue_templates

ROWS = [ledger_row("001-01", "办公经费", total="10"),
        ledger_row("001-02", "宣传经费", total="5.5"),
        ledger_row("002-01", "运维经费", department=("002", "第二局"), total="30")]


def _issue(tmp_path: Path, rows: list[dict[str, str]], out: str = "templates",
           **options: object) -> dict[str, IssuedWorkbook]:
    ledger = write_ledger(tmp_path / f"{out}.csv", rows)
    run = issue_templates(ledger, tmp_path / out, store=tmp_path / "x.db", **options)
    return {w.department_code: w for w in run.workbooks}


def _filled(tmp_path: Path, workbook: IssuedWorkbook, name: str,
            **more: object) -> Path:
    values = {**complete_values(tmp_path / "x.db", workbook.template_id), **more}
    return fill_with_openpyxl(workbook.path, values, tmp_path / "inbox" / name)


def _in_force(store: Path) -> dict[str, str]:
    with open_store(store) as opened:
        return {r.department_code: r.original_name for r in opened.current_returns()}


def _published_goals(tmp_path: Path) -> dict[str, str]:
    """Per project, the goal the disclosure prints (what `publish` writes, as it gathers it)."""
    from xltool.publish.gather import gather

    with open_store(tmp_path / "x.db") as opened:
        return {p.code: p.goal for _, p in gather(opened).projects}


def test_the_templates_folder_collected_by_mistake_displaces_nothing(tmp_path: Path) -> None:
    issued = _issue(tmp_path, ROWS)
    returns = [_filled(tmp_path, issued[code], f"{code}.xlsx") for code in issued]
    assert {f.status for f in collect(returns, store=tmp_path / "x.db").files} == {"accepted"}

    mistake = collect([tmp_path / "templates"], store=tmp_path / "x.db",
                      feedback=tmp_path / "feedback")

    assert [f.status for f in mistake.files] == [Status.UNCHANGED] * 2
    assert all(f.findings[0].code == "file.unchanged_template" for f in mistake.files)
    assert mistake.exit_code == 1
    assert _in_force(tmp_path / "x.db") == {"001": "001.xlsx", "002": "002.xlsx"}
    # addressed to the office: no department is sent feedback about it, nor counted as its file
    assert [p.name for p in mistake.feedback] == ["收取情况汇总.xlsx"]
    sheet = load_workbook(mistake.feedback[0])["部门"]
    header = [c.value for c in sheet[2]]  # under the sheet's title
    rows = {r[0]: dict(zip(header, r, strict=True))
            for r in sheet.iter_rows(min_row=3, values_only=True) if r[0] in ("001", "002")}
    assert {code: (row["已收到文件数"], row["状态"]) for code, row in rows.items()} == {
        "001": (1, "已接受"), "002": (1, "已接受")}
    files = load_workbook(mistake.feedback[0])["文件"]
    assert sorted(r[3] for r in files.iter_rows(min_row=3, values_only=True) if r[3]) == [
        "与下发模板相同", "与下发模板相同", "已接受", "已接受"]
    # the real returns, collected again, are what they were: duplicates of accepted files
    again = collect(returns, store=tmp_path / "x.db")
    assert [(f.status, f.earlier) for f in again.files] == [("duplicate", "accepted")] * 2
    assert again.exit_code == 0
    assert _published_goals(tmp_path) == {  # what the departments wrote
        code: f"目标1：完成{code}的年度任务。" for code in ("001-01", "001-02", "002-01")}


def test_a_late_return_of_a_withdrawn_template_is_stale(tmp_path: Path) -> None:
    first = _issue(tmp_path, ROWS)
    changed = [{**ROWS[0], "年度资金总额": "12", "财政拨款": "12"}, ROWS[2]]  # 001-02 withdrawn
    second = _issue(tmp_path, changed, out="reissued")
    assert second["001"].template_id != first["001"].template_id
    new = _filled(tmp_path, second["001"], "new.xlsx")
    late = _filled(tmp_path, first["001"], "late.xlsx")

    assert collect([new], store=tmp_path / "x.db").files[0].status == "accepted"
    [outcome] = collect([late], store=tmp_path / "x.db").files

    assert outcome.status == Status.STALE
    stale = outcome.findings[0]
    assert stale.code == "file.stale_template" and stale.is_error
    assert second["001"].template_id in stale.message
    assert second["001"].path.name in stale.fix
    assert _in_force(tmp_path / "x.db") == {"001": "new.xlsx"}
    with open_store(tmp_path / "x.db") as opened:
        assert not opened.kept_targets(outcome.sha256)
    assert set(_published_goals(tmp_path)) == {"001-01"}  # not the withdrawn 001-02


def test_a_reissue_displaces_nothing_until_a_return_of_the_new_template(
        tmp_path: Path) -> None:
    first = _issue(tmp_path, ROWS)
    old = _filled(tmp_path, first["001"], "old.xlsx")
    [accepted] = collect([old], store=tmp_path / "x.db").files
    second = _issue(tmp_path, [{**ROWS[0], "年度资金总额": "12", "财政拨款": "12"}, ROWS[1]],
                    out="reissued")

    assert _in_force(tmp_path / "x.db") == {"001": "old.xlsx"}  # accepted data stays
    new = _filled(tmp_path, second["001"], "new.xlsx")
    collect([new], store=tmp_path / "x.db")
    assert _in_force(tmp_path / "x.db") == {"001": "new.xlsx"}
    chain = history("001", store=tmp_path / "x.db")
    assert [(e.file.original_name, e.file.status) for e in chain.files] == [
        ("old.xlsx", Status.SUPERSEDED), ("new.xlsx", Status.ACCEPTED)]
    with pytest.raises(CannotReinstate, match="重新下发"):
        reinstate(accepted.sha256, "旧模板的报送", store=tmp_path / "x.db")


def test_reissuing_an_unchanged_template_keeps_every_copy_recognised(tmp_path: Path) -> None:
    first = _issue(tmp_path, ROWS)
    kept = tmp_path / "sent-first.xlsx"
    shutil.copyfile(first["001"].path, kept)
    second = _issue(tmp_path, ROWS, out="again")
    assert second["001"].template_id == first["001"].template_id
    assert second["001"].sha256 != first["001"].sha256  # a new password, new bytes

    with open_store(tmp_path / "x.db") as opened:
        copies = opened.issued_files("001")
    assert [c.sha256 for c in copies] == [first["001"].sha256, second["001"].sha256]
    assert len({c.password for c in copies}) == 2
    [outcome] = collect([kept], store=tmp_path / "x.db").files
    assert outcome.status == Status.UNCHANGED


def test_the_return_received_last_by_mail_is_in_force(tmp_path: Path) -> None:
    issued = _issue(tmp_path, ROWS)
    later = _filled(tmp_path, issued["001"], "later.xlsx")
    earlier = _filled(tmp_path, issued["001"], "earlier.xlsx", XT_P01_GOAL="较早的目标")
    mails = {later: datetime(2024, 3, 2, 9, tzinfo=UTC),
             earlier: datetime(2024, 3, 1, 9, tzinfo=UTC)}

    run = collect([later, earlier], store=tmp_path / "x.db", received_at=mails)

    assert [f.status for f in run.files] == [Status.ACCEPTED, Status.SUPERSEDED]
    assert _in_force(tmp_path / "x.db") == {"001": "later.xlsx"}
    chain = history("001", store=tmp_path / "x.db")
    assert [e.file.original_name for e in chain.files] == ["earlier.xlsx", "later.xlsx"]
    assert chain.files[0].file.mailed_at == "2024-03-01T09:00:00+00:00"


def test_reinstate_puts_an_earlier_return_back_in_force_until_a_newer_one(
        tmp_path: Path) -> None:
    issued = _issue(tmp_path, ROWS)
    one = _filled(tmp_path, issued["001"], "one.xlsx")
    two = _filled(tmp_path, issued["001"], "two.xlsx", XT_P01_GOAL="第二版目标")
    [first] = collect([one], store=tmp_path / "x.db").files
    collect([two], store=tmp_path / "x.db")

    done = reinstate(first.sha256[:10], "第二版误报，部门来函确认以第一版为准",
                     store=tmp_path / "x.db")

    assert done.reinstated_at is not None and done.displaced is not None
    assert _in_force(tmp_path / "x.db") == {"001": "one.xlsx"}
    entry = history("001", store=tmp_path / "x.db").in_force
    assert entry is not None and entry.reinstated[0][1] == "第二版误报，部门来函确认以第一版为准"
    assert reinstate(first.sha256, "再次", store=tmp_path / "x.db").reinstated_at is None
    three = _filled(tmp_path, issued["001"], "three.xlsx", XT_P01_GOAL="第三版目标")
    collect([three], store=tmp_path / "x.db")
    assert _in_force(tmp_path / "x.db") == {"001": "three.xlsx"}


def test_reinstate_refuses_what_cannot_be_in_force(tmp_path: Path) -> None:
    first = _issue(tmp_path, ROWS)
    bad = fill_with_openpyxl(first["001"].path, {}, tmp_path / "inbox" / "bad.xlsx")
    good = _filled(tmp_path, first["001"], "good.xlsx")
    [rejected, accepted] = collect([bad, good], store=tmp_path / "x.db").files
    assert rejected.status == "rejected"
    with pytest.raises(CannotReinstate, match="从未被接受"):
        reinstate(rejected.sha256, "试试", store=tmp_path / "x.db")
    with pytest.raises(UnknownReturn, match="太短"):
        reinstate(accepted.sha256[:4], "试试", store=tmp_path / "x.db")
    with pytest.raises(UnknownReturn, match="没有收到过"):
        reinstate("0" * 12, "试试", store=tmp_path / "x.db")
    with pytest.raises(CannotReinstate, match="理由"):
        reinstate(accepted.sha256, "  ", store=tmp_path / "x.db")
    with pytest.raises(UnknownDepartment):
        history("999", store=tmp_path / "x.db")


def test_history_and_reinstate_on_the_command_line(tmp_path: Path) -> None:
    issued = _issue(tmp_path, ROWS)
    one = _filled(tmp_path, issued["001"], "one.xlsx")
    two = _filled(tmp_path, issued["001"], "two.xlsx", XT_P01_GOAL="第二版目标")
    collect([one, two, issued["001"].path], store=tmp_path / "x.db")
    runner = CliRunner()
    store = ["--store", str(tmp_path / "x.db")]

    shown = runner.invoke(main, ["history", "示例局", *store])
    assert shown.exit_code == 0, shown.output
    assert "two.xlsx" in shown.output and "与下发模板相同" in shown.output

    listed = json.loads(runner.invoke(main, ["history", "001", "--json", *store]).output)
    names = {f["original_name"]: f for f in listed["files"]}
    assert listed["in_force"] == names["two.xlsx"]["sha256"]
    assert names["one.xlsx"]["status"] == "superseded"
    assert names[issued["001"].path.name]["status"] == "unchanged"
    assert listed["issued"][0]["sha256"] == issued["001"].sha256

    back = runner.invoke(main, ["reinstate", names["one.xlsx"]["sha256"][:12], "--reason",
                                "以第一版为准", "--json", *store])
    assert back.exit_code == 0, back.output
    assert json.loads(back.output)["changed"] is True
    assert _in_force(tmp_path / "x.db") == {"001": "one.xlsx"}

    refused = runner.invoke(main, ["reinstate", names["two.xlsx"]["sha256"], *store])
    assert refused.exit_code == 2 and "--reason" in refused.output
    unknown = runner.invoke(main, ["history", "没有这个部门", *store])
    assert unknown.exit_code == 2 and "没有向" in unknown.output


def test_a_rejection_by_a_limit_is_looked_at_again_under_another(tmp_path: Path) -> None:
    issued = _issue(tmp_path, ROWS)
    path = _filled(tmp_path, issued["001"], "long.xlsx", XT_P01_GOAL="很长的目标。" * 20)

    [tight] = collect([path], store=tmp_path / "x.db", limits=with_limits(["text=50"])).files
    assert tight.status == "rejected"
    assert "cell.too_long" in {f.code for f in tight.findings}
    [same] = collect([path], store=tmp_path / "x.db", limits=with_limits(["text=50"])).files
    assert (same.status, same.earlier) == ("duplicate", "rejected")

    [again] = collect([path], store=tmp_path / "x.db").files

    assert again.status == Status.ACCEPTED
    assert _in_force(tmp_path / "x.db") == {"001": "long.xlsx"}
    with open_store(tmp_path / "x.db") as opened:
        [(_, status, used, findings)] = opened.examinations(again.sha256)
    assert status == "rejected" and json.loads(used or "{}")["limits"]["max_text_chars"] == 50
    assert "cell.too_long" in {f["code"] for f in findings}


def test_recheck_looks_again_at_every_rejected_file_held(tmp_path: Path) -> None:
    issued = _issue(tmp_path, ROWS)
    long = _filled(tmp_path, issued["001"], "long.xlsx", XT_P01_GOAL="很长的目标。" * 20)
    empty = fill_with_openpyxl(issued["002"].path, {}, tmp_path / "inbox" / "empty.xlsx")
    tight = with_limits(["text=50"])
    assert [f.status for f in collect([long, empty], store=tmp_path / "x.db",
                                      limits=tight).files] == ["rejected", "rejected"]
    long.unlink()  # only the kept copy is left

    result = CliRunner().invoke(main, ["collect", "--recheck", "--json",
                                       "--store", str(tmp_path / "x.db")])

    assert result.exit_code == 1, result.output  # the empty return is still rejected
    rechecked = {f["path"]: f["status"] for f in json.loads(result.output)["files"]}
    assert rechecked == {"long.xlsx": "accepted", "empty.xlsx": "rejected"}
    assert _in_force(tmp_path / "x.db") == {"001": "long.xlsx"}


def test_recheck_names_a_copy_it_cannot_trust(tmp_path: Path) -> None:
    issued = _issue(tmp_path, ROWS)
    empty = fill_with_openpyxl(issued["002"].path, {}, tmp_path / "inbox" / "empty.xlsx")
    [outcome] = collect([empty], store=tmp_path / "x.db").files
    with open_store(tmp_path / "x.db") as opened:
        received = opened.received(outcome.sha256)
    assert received is not None
    Path(received.stored_path).write_bytes(b"junk")

    run = collect([], store=tmp_path / "x.db", recheck=True)

    assert run.files == ()
    assert [reason.code for reason in run.skipped.values()] == ["copy_changed"]


def test_the_chain_survives_an_old_store(tmp_path: Path) -> None:
    """A store from before the chain: every template's copy is recorded as issued."""
    old = tmp_path / "old.db"
    shutil.copyfile(Path(__file__).parent / "data" / "store-schema6.db", old)
    with sqlite3.connect(old) as db:
        templates = db.execute("SELECT template_id, sha256 FROM templates").fetchall()
    with open_store(old) as opened:
        copies = {(c.template_id, c.sha256) for c in opened.issued_files()}
    assert copies == set(templates)


def test_publish_says_a_department_answered_an_outdated_template(tmp_path: Path) -> None:
    from xltool.publish import publish

    first = _issue(tmp_path, ROWS)
    second = _issue(tmp_path, [{**ROWS[0], "年度资金总额": "12", "财政拨款": "12"}, ROWS[2]],
                    out="reissued")
    returns = [_filled(tmp_path, first["001"], "late.xlsx"),
               _filled(tmp_path, second["002"], "002.xlsx")]
    assert [f.status for f in collect(returns, store=tmp_path / "x.db").files] == [
        Status.STALE, Status.ACCEPTED]

    published = publish(store=tmp_path / "x.db", output=tmp_path / "p.xlsx")

    assert {(m.department_code, m.reason_code) for m in published.missing} == {("001", "stale")}


def test_a_file_over_file_mb_is_read_when_collected_again_under_a_higher_limit(
        tmp_path: Path) -> None:
    issued = _issue(tmp_path, ROWS)
    path = _filled(tmp_path, issued["001"], "big.xlsx")
    [unread] = collect([path], store=tmp_path / "x.db",
                       limits=replace(DEFAULT_LIMITS, max_file_bytes=1000)).files
    assert unread.status == "rejected" and unread.sha256.startswith("unread:")

    [read] = collect([path], store=tmp_path / "x.db").files

    assert read.status == Status.ACCEPTED and not read.sha256.startswith("unread:")
    assert _in_force(tmp_path / "x.db") == {"001": "big.xlsx"}


def test_a_return_mailed_before_the_reissue_is_not_stale(tmp_path: Path) -> None:
    """It answered the template in force when it was sent: taken, until the new template's
    return comes."""
    first = _issue(tmp_path, ROWS)
    sent = _filled(tmp_path, first["001"], "sent-before.xlsx")
    mailed = datetime.now(UTC).replace(microsecond=0)
    with sqlite3.connect(tmp_path / "x.db") as db:  # the first templates went out a day ago
        db.execute("UPDATE templates SET issued_at = '2000-01-01T00:00:00+00:00'")
    second = _issue(tmp_path, [{**ROWS[0], "年度资金总额": "12", "财政拨款": "12"}, ROWS[2]],
                    out="reissued")
    with sqlite3.connect(tmp_path / "x.db") as db:  # ... and the new ones after the mail
        db.execute("UPDATE templates SET issued_at = ? WHERE template_id = ?",
                   ((mailed.replace(year=mailed.year + 1)).isoformat(),
                    second["001"].template_id))

    [outcome] = collect([sent], store=tmp_path / "x.db", received_at={sent: mailed}).files

    assert outcome.status == Status.ACCEPTED, outcome.findings
    assert _in_force(tmp_path / "x.db") == {"001": "sent-before.xlsx"}


def test_a_return_is_stale_against_the_template_in_force_when_it_was_received(
        tmp_path: Path) -> None:
    """Issued A, then B, then C: a return of A received between B and C answered an
    outdated form (B's), though C came only later."""
    first = _issue(tmp_path, ROWS)
    sent = _filled(tmp_path, first["001"], "between.xlsx")
    second = _issue(tmp_path, [{**ROWS[0], "年度资金总额": "12", "财政拨款": "12"}], out="b")
    third = _issue(tmp_path, [{**ROWS[0], "年度资金总额": "13", "财政拨款": "13"}], out="c")
    with sqlite3.connect(tmp_path / "x.db") as db:
        for workbook, day in ((first, "01"), (second, "02"), (third, "04")):
            db.execute("UPDATE templates SET issued_at = ? WHERE template_id = ?",
                       (f"2024-03-{day}T00:00:00+00:00", workbook["001"].template_id))
    mailed = datetime(2024, 3, 3, tzinfo=UTC)

    [outcome] = collect([sent], store=tmp_path / "x.db", received_at={sent: mailed}).files

    assert outcome.status == Status.STALE
    assert second["001"].template_id in outcome.findings[0].message
