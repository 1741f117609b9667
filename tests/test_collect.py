"""`xltool collect`: returns filled as departments do, read back and checked cell by cell."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import zipfile
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import ROOT, complete_values, ledger_row, weighted_values, write_ledger
from tests.fill import delete_sheet, fill_with_openpyxl, insert_row, rename_sheet, set_cell
from xltool.cli import main
from xltool.collect import Status, collect
from xltool.store import IssuedCell, exclusive, open_store
from xltool.template import IssuedWorkbook, issue_templates


@pytest.fixture
def issued(tmp_path: Path) -> list[IssuedWorkbook]:
    ledger = write_ledger(tmp_path / "ledger.csv", [
        ledger_row("001-01", "办公经费", total="10"),
        ledger_row("001-02", "宣传经费", total="5.5"),
        ledger_row("002-01", "运维经费", department=("002", "第二局"), total="30", fiscal="20",
                   其他资金="10"),
    ])
    return list(issue_templates(ledger, tmp_path / "templates", store=tmp_path / "x.db").workbooks)


def _cells(store_path: Path, template_id: str) -> list[IssuedCell]:
    with open_store(store_path) as store:
        return store.issued_form(template_id).cells()


def _fill(issued: IssuedWorkbook, tmp_path: Path, values: dict[str, object],
          name: str = "return.xlsx") -> Path:
    return fill_with_openpyxl(issued.path, values, tmp_path / name)


def test_a_complete_return_is_accepted_and_its_values_kept(issued: list[IssuedWorkbook],
                                                           tmp_path: Path) -> None:
    store_path = tmp_path / "x.db"
    values = complete_values(store_path, issued[0].template_id)
    values["XT_P01_C01_R02_NAME"] = "  培训人次  "
    values["XT_P01_C01_R02_VALUE"] = "不少于 300 人次"
    path = _fill(issued[0], tmp_path, values)
    run = collect([path], store=store_path)
    [outcome] = run.files
    assert outcome.status == "accepted", outcome.findings
    assert outcome.department == "001" and outcome.template_id == issued[0].template_id
    assert run.exit_code == 0
    with open_store(store_path) as store:
        [current] = store.current_returns()
        targets = store.accepted_targets(current.sha256)
        assert Path(current.stored_path).read_bytes() == path.read_bytes()
    assert targets.goals == {"001-01": "目标1：完成001-01的年度任务。",
                             "001-02": "目标1：完成001-02的年度任务。"}
    quantity = [(i.name, i.value) for i in targets.for_project("001-01")
                if i.level2 == "数量指标"]
    assert quantity == [("数量指标的指标", "≥5次"), ("培训人次", "不少于 300 人次")]
    cost = next(i for i in targets.for_project("001-02") if i.level2 == "成本指标")
    assert cost.value == "5.5万元"


def _codes(findings: object) -> list[tuple[str, str, str]]:
    return sorted((f.code, f.project, f.cell) for f in findings)  # type: ignore[attr-defined]


def test_every_rule_reports_its_cell(issued: list[IssuedWorkbook], tmp_path: Path) -> None:
    store_path = tmp_path / "x.db"
    values = complete_values(store_path, issued[0].template_id)
    values["XT_P01_GOAL"] = "  "                            # empty goal
    values["XT_P01_C02_R01_VALUE"] = None                   # name without value
    values["XT_P01_C02_R02_VALUE"] = "100%"                 # value without name
    values["XT_P01_C01_R01_VALUE"] = "很多"                  # quantity without a number
    values["XT_P01_C09_R01_VALUE"] = "≥120%"                # satisfaction over 100
    values["XT_P01_C04_R01_VALUE"] = "12万元"                # cost over the total of 10
    values["XT_P01_C05_R01_NAME"] = "指标一："                # a placeholder left in
    values["XT_P02_C06_R01_NAME"] = None                    # required category emptied
    values["XT_P02_C06_R01_VALUE"] = None
    values["XT_P02_C04_R01_VALUE"] = "3万元"                 # cost short of 5.5: a warning
    run = collect([_fill(issued[0], tmp_path, values)], store=store_path)
    [outcome] = run.files
    assert outcome.status == "rejected" and run.exit_code == 1
    found = _codes(outcome.findings)
    assert found == sorted([
        ("rule.goal_empty", "001-01", "C12"),
        ("rule.not_quantitative", "001-01", "D14"),
        ("rule.value_missing", "001-01", "D17"),
        ("rule.name_missing", "001-01", "C18"),
        ("rule.cost_exceeds_total", "001-01", "D21"),
        ("rule.placeholder", "001-01", "C24"),
        ("rule.satisfaction_range", "001-01", "D29"),
        ("rule.required_empty", "001-02", "C25"),
        ("rule.cost_below_total", "001-02", "D21"),
    ])
    messages = {f.code: f for f in outcome.findings}
    assert "12 万元" in messages["rule.cost_exceeds_total"].message
    assert messages["rule.cost_below_total"].severity.value == "warning"
    assert all(f.sheet and f.fix and f.file == "return.xlsx" for f in outcome.findings)
    with open_store(store_path) as store:
        assert store.current_returns() == []
        assert len(store.findings(outcome.sha256)) == len(outcome.findings)


def test_a_changed_locked_cell_is_named_with_old_and_new_value(issued: list[IssuedWorkbook],
                                                              tmp_path: Path) -> None:
    store_path = tmp_path / "x.db"
    filled = _fill(issued[0], tmp_path, complete_values(store_path, issued[0].template_id))
    amount = next(c for c in _cells(store_path, issued[0].template_id)
                  if c.field == "funding.total" and c.project_code == "001-01")
    tampered = set_cell(filled, amount.sheet, amount.cell, 100, tmp_path / "t.xlsx")
    renamed = set_cell(tampered, amount.sheet, "C3", "另一个项目", tmp_path / "t2.xlsx")
    [outcome] = collect([renamed], store=store_path).files
    changed = [f for f in outcome.findings if f.code == "form.locked_changed"]
    assert [(f.cell, f.value) for f in changed] == [("C3", "另一个项目"), (amount.cell, "100")]
    assert "原为“10”" in changed[1].message and outcome.status == "rejected"


@pytest.mark.parametrize("damage", ["delete", "rename", "insert"])
def test_structure_changes_are_errors(issued: list[IssuedWorkbook], tmp_path: Path,
                                      damage: str) -> None:
    store_path = tmp_path / "x.db"
    filled = _fill(issued[0], tmp_path, complete_values(store_path, issued[0].template_id))
    sheet = "01 办公经费"
    out = tmp_path / "damaged.xlsx"
    if damage == "delete":
        delete_sheet(filled, sheet, out)
    elif damage == "rename":
        rename_sheet(filled, sheet, "办公经费改", out)
    else:
        insert_row(filled, sheet, 14, out)
    [outcome] = collect([out], store=store_path).files
    codes = {f.code for f in outcome.findings if f.project == "001-01"}
    expected = {"delete": {"form.sheet_missing"}, "rename": {"form.sheet_missing"},
                # openpyxl does not move defined names as Excel would: the shifted
                # locked cells are what gives the insertion away here.
                "insert": {"form.locked_changed"}}[damage]
    assert expected <= codes and outcome.status == "rejected"


def test_resubmission_supersedes_and_errors_never_replace(issued: list[IssuedWorkbook],
                                                          tmp_path: Path) -> None:
    store_path = tmp_path / "x.db"
    values = complete_values(store_path, issued[0].template_id)
    first = _fill(issued[0], tmp_path, values, "v1.xlsx")
    values["XT_P01_C01_R01_VALUE"] = "≥6次"
    second = _fill(issued[0], tmp_path, values, "v2.xlsx")
    values["XT_P01_GOAL"] = None
    broken = _fill(issued[0], tmp_path, values, "v3.xlsx")
    assert [f.status for f in collect([first], store=store_path).files] == ["accepted"]
    assert [f.status for f in collect([second], store=store_path).files] == ["accepted"]
    assert [f.status for f in collect([broken], store=store_path).files] == ["rejected"]
    with open_store(store_path) as store:
        [current] = store.current_returns()
        assert current.original_name == "v2.xlsx"
        kept = store.accepted_targets(current.sha256)
        statuses = {f.original_name: f.status for f in store.received_files()}
    assert next(i.value for i in kept.indicators if i.level2 == "数量指标") == "≥6次"
    assert statuses == {"v1.xlsx": "superseded", "v2.xlsx": "accepted", "v3.xlsx": "rejected"}


def test_two_versions_in_one_batch_the_later_wins(issued: list[IssuedWorkbook],
                                                  tmp_path: Path) -> None:
    store_path = tmp_path / "x.db"
    values = complete_values(store_path, issued[0].template_id)
    older = _fill(issued[0], tmp_path, values, "a-older.xlsx")
    values["XT_P01_C01_R01_VALUE"] = "≥7次"
    newer = _fill(issued[0], tmp_path, values, "b-newer.xlsx")
    run = collect([newer, older], store=store_path)
    assert {f.path.name: f.status for f in run.files} == {"a-older.xlsx": "superseded",
                                                         "b-newer.xlsx": "accepted"}


def _dump(store_path: Path) -> dict[str, list[tuple[object, ...]]]:
    with sqlite3.connect(store_path) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {t: sorted(db.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in tables}


def test_collecting_the_same_file_twice_changes_nothing(issued: list[IssuedWorkbook],
                                                        tmp_path: Path) -> None:
    store_path = tmp_path / "x.db"
    (tmp_path / "inbox").mkdir()
    path = fill_with_openpyxl(issued[0].path, complete_values(store_path, issued[0].template_id),
                              tmp_path / "inbox" / "r.xlsx")
    collect([path], store=store_path)
    before = _dump(store_path)
    again = collect([path, path.parent], store=store_path)
    assert [f.status for f in again.files] == ["duplicate"]
    assert _dump(store_path) == before


def test_the_issued_template_itself_is_told_apart(issued: list[IssuedWorkbook],
                                                  tmp_path: Path) -> None:
    """Forwarded untouched, or the office's own folder of templates collected by mistake."""
    [same] = collect([issued[0].path], store=tmp_path / "x.db").files
    assert same.status == "unchanged" and same.department == issued[0].department_code
    assert [f.code for f in same.findings] == ["file.unchanged_template"]
    assert same.findings[0].value == issued[0].path.name  # which copy it is
    filled = _fill(issued[1], tmp_path, complete_values(tmp_path / "x.db", issued[1].template_id))
    [returned] = collect([filled], store=tmp_path / "x.db").files
    assert returned.status == "accepted"
    assert "file.unchanged_template" not in {f.code for f in returned.findings}


def test_scratch_files_in_a_folder_are_left_out_and_listed(issued: list[IssuedWorkbook],
                                                           tmp_path: Path) -> None:
    """Excel and WPS leave ~$ owner files beside an open workbook; folders gather more."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    good = _fill(issued[0], inbox, complete_values(tmp_path / "x.db", issued[0].template_id),
                 "第一局.xlsx")
    scratch = [inbox / "~$第一局.xlsx", inbox / ".~lock.第一局.xlsx#", inbox / "Thumbs.db",
               inbox / "desktop.ini", inbox / ".DS_Store", inbox / "._第一局.xlsx"]
    for path in scratch:
        path.write_bytes(b"\x0fowner" + bytes(150))
    run = collect([inbox], store=tmp_path / "x.db")
    assert [f.path for f in run.files] == [good] and run.exit_code == 0
    assert sorted(run.skipped) == sorted(scratch)
    assert run.summary()["skipped_files"] == [str(p) for p in sorted(scratch)]
    with open_store(tmp_path / "x.db") as store:
        assert [r.original_name for r in store.received_files()] == [good.name]
    result = CliRunner().invoke(main, ["collect", str(inbox), "--store", str(tmp_path / "x.db")])
    assert "已跳过 6 个临时或系统文件" in result.output
    named = collect([scratch[0]], store=tmp_path / "x.db")  # named itself: collected
    assert [f.status for f in named.files] == ["rejected"]


def test_a_file_name_with_brackets_is_a_name_and_a_glob_matching_nothing_an_error(
        issued: list[IssuedWorkbook], tmp_path: Path) -> None:
    from xltool.errors import NoInput

    path = _fill(issued[0], tmp_path, complete_values(tmp_path / "x.db", issued[0].template_id),
                 "报送[第2次].xlsx")
    assert [f.path for f in collect([path], store=tmp_path / "x.db").files] == [path]
    with pytest.raises(NoInput, match="匹配"):
        collect([tmp_path / "*.xls"], store=tmp_path / "x.db")


def test_the_store_and_its_copies_are_never_collected(issued: list[IssuedWorkbook],
                                                      tmp_path: Path) -> None:
    store_path = tmp_path / "x.db"
    collect([issued[0].path], store=store_path)
    run = collect([tmp_path], store=store_path)
    names = {f.path.name for f in run.files}
    assert names == {issued[0].path.name, issued[1].path.name}  # the ledger is no spreadsheet
    assert {p.name for p, why in run.skipped.items() if why.code == "store_file"} >= \
        {"x.db", "x.files"}


def test_a_link_to_the_store_is_never_collected(issued: list[IssuedWorkbook],
                                                tmp_path: Path) -> None:
    store_path = tmp_path / "x.db"
    collect([issued[0].path], store=store_path)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "store-link.xlsx").symlink_to(store_path)
    (inbox / issued[1].path.name).write_bytes(issued[1].path.read_bytes())
    run = collect([inbox], store=store_path)
    assert [f.path.name for f in run.files] == [issued[1].path.name]


BAD_FILES = {
    "empty.xlsx": (b"", "file.empty"),
    "noise.xlsx": (bytes(range(256)) * 40, "file.not_workbook"),
    "old.xls": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504 + "Workbook".encode("utf-16-le"),
                "file.xls"),
    "locked.xlsx": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504
                    + "EncryptedPackage".encode("utf-16-le"), "file.encrypted"),
    "truncated.xlsx": (b"PK\x03\x04" + b"\0" * 100, "file.corrupt"),
}


def test_bad_files_get_their_own_finding_and_the_batch_goes_on(issued: list[IssuedWorkbook],
                                                              tmp_path: Path) -> None:
    store_path = tmp_path / "x.db"
    folder = tmp_path / "inbox"
    folder.mkdir()
    for name, (data, _) in BAD_FILES.items():
        (folder / name).write_bytes(data)
    good = _fill(issued[1], folder, complete_values(store_path, issued[1].template_id), "ok.xlsx")
    run = collect([folder], store=store_path)
    codes = {f.path.name: [x.code for x in f.findings] for f in run.files}
    for name, (_, code) in BAD_FILES.items():
        assert codes[name] == [code], name
    assert {f.path.name: f.status for f in run.files}[good.name] == "accepted"
    assert run.exit_code == 1
    with open_store(store_path) as store:
        kept = {f.original_name for f in store.received_files()}
    assert kept == {*BAD_FILES, "ok.xlsx"}


def test_a_foreign_workbook_is_not_a_template(tmp_path: Path, issued: list[IssuedWorkbook]) -> None:
    from openpyxl import Workbook

    path = tmp_path / "foreign.xlsx"
    Workbook().save(path)
    [outcome] = collect([path], store=tmp_path / "x.db").files
    assert [f.code for f in outcome.findings] == ["file.not_template"]


def test_a_template_of_another_year_is_reported_as_such(tmp_path: Path,
                                                        issued: list[IssuedWorkbook]) -> None:
    other = write_ledger(tmp_path / "old.csv", [ledger_row("X-1", "旧项目", 年度="2022")])
    old = issue_templates(other, tmp_path / "old", store=tmp_path / "old.db").workbooks[0]
    [outcome] = collect([old.path], store=tmp_path / "x.db").files
    assert [f.code for f in outcome.findings] == ["file.other_year"]
    assert "2022" in outcome.findings[0].message


def test_the_cli_exit_codes_and_json(issued: list[IssuedWorkbook], tmp_path: Path) -> None:
    store_path = tmp_path / "x.db"
    good = _fill(issued[0], tmp_path, complete_values(store_path, issued[0].template_id))
    runner = CliRunner()
    accepted = runner.invoke(main, ["collect", str(good), "--store", str(store_path), "--json"])
    assert accepted.exit_code == 0, accepted.output
    data = json.loads(accepted.output)
    [entry] = data["files"]
    assert set(entry) >= {"path", "sha256", "status", "department", "template_id", "findings"}
    assert entry["status"] == "accepted" and data["summary"]["accepted"] == 1
    assert data["summary"]["missing_departments"] == ["002"]
    empty = _fill(issued[1], tmp_path, {}, "empty.xlsx")  # returned with nothing filled in
    rejected = runner.invoke(main, ["collect", str(empty), "--store", str(store_path)])
    assert rejected.exit_code == 1 and "form.not_filled" in rejected.output
    assert runner.invoke(main, ["collect", "--store", str(store_path)]).exit_code == 2
    missing = runner.invoke(main, ["collect", str(tmp_path / "nope"), "--store", str(store_path)])
    assert missing.exit_code == 2 and "找不到" in missing.output


def test_jobs_give_the_same_outcomes(issued: list[IssuedWorkbook], tmp_path: Path) -> None:
    paths = []
    for number, workbook in enumerate(issued):
        values = complete_values(tmp_path / "x.db", workbook.template_id)
        paths.append(_fill(workbook, tmp_path, values, f"r{number}.xlsx"))
    paths.append(issued[0].path)
    serial_store, parallel_store = tmp_path / "a.db", tmp_path / "b.db"
    for target in (serial_store, parallel_store):
        target.write_bytes((tmp_path / "x.db").read_bytes())
    serial = collect(paths, store=serial_store)
    parallel = collect(paths, store=parallel_store, jobs=2)
    assert [(f.path, f.status, f.findings) for f in serial.files] == \
           [(f.path, f.status, f.findings) for f in parallel.files]


@pytest.mark.libreoffice
def test_a_return_typed_in_libreoffice_is_accepted_cell_by_cell(issued: list[IssuedWorkbook],
                                                                tmp_path: Path) -> None:
    from tests.fill import fill_with_libreoffice

    store_path = tmp_path / "x.db"
    values = complete_values(store_path, issued[1].template_id)
    values["XT_P01_C01_R02_NAME"] = "=1+1"
    values["XT_P01_C01_R02_VALUE"] = 300
    path = fill_with_libreoffice(issued[1].path, values, tmp_path / "lo.xlsx")
    [outcome] = collect([path], store=store_path).files
    assert outcome.status == "accepted", outcome.findings
    with open_store(store_path) as store:
        targets = store.accepted_targets(store.current_returns()[0].sha256)
    read = {(i.name, i.value) for i in targets.indicators}
    expected = {(str(values[k]), str(values[k.replace("_NAME", "_VALUE")]))
                for k in values if k.endswith("_NAME")}
    assert read == expected
    assert targets.goals["002-01"] == values["XT_P01_GOAL"]


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=60)
       .filter(lambda s: s.strip() == s and s.strip()))
def test_any_text_typed_into_a_value_cell_comes_back_exactly(issued: list[IssuedWorkbook],
                                                             tmp_path: Path, text: str) -> None:
    store_path = tmp_path / "x.db"
    values = complete_values(store_path, issued[0].template_id)
    values["XT_P01_C02_R02_NAME"] = "质量说明"
    values["XT_P01_C02_R02_VALUE"] = text
    path = fill_with_openpyxl(issued[0].path, values, tmp_path / "h.xlsx")
    [outcome] = collect([path], store=store_path).files
    if outcome.status == Status.DUPLICATE:  # the same text again, while hypothesis shrinks
        return
    if outcome.status != Status.ACCEPTED:  # text openpyxl cannot store, or a rule objects
        assert outcome.findings
        return
    with open_store(store_path) as store:
        accepted = store.accepted_targets(outcome.sha256)
    written = [i.value for i in accepted.indicators if i.name == "质量说明"]
    assert written == [text]


def test_amounts_are_compared_as_decimals(issued: list[IssuedWorkbook], tmp_path: Path) -> None:
    store_path = tmp_path / "x.db"
    values = complete_values(store_path, issued[0].template_id)
    assert values["XT_P02_C04_R01_VALUE"] == "5.5万元"
    with open_store(store_path) as store:
        assert store.template_projects(issued[0].template_id)[1].total == Decimal("5.5")


def _state(store_path: Path) -> dict[str, list[tuple[object, ...]]]:
    """The store's content without what differs between runs: times and copy locations."""
    dump = _dump(store_path)
    dump["received_files"] = sorted((r[0], r[1], r[2], *r[4:9]) for r in dump["received_files"])
    dump["accepted_returns"] = sorted((r[0], *r[1:4], r[5]) for r in dump["accepted_returns"])
    return dump


def test_a_killed_run_is_completed_by_a_rerun(issued: list[IssuedWorkbook],
                                              tmp_path: Path) -> None:
    import os
    import shutil
    import signal
    import subprocess
    import sys
    import time

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    values = complete_values(tmp_path / "x.db", issued[0].template_id)
    filled = fill_with_openpyxl(issued[0].path, values, tmp_path / "filled.xlsx").read_bytes()
    count = 240  # long enough a batch for the kill to land in it: records come in groups
    for number in range(count):  # the same return sent again and again, each file distinct
        path = inbox / f"r{number:03d}.xlsx"
        path.write_bytes(filled)
        with zipfile.ZipFile(path, "a") as archive:
            archive.comment = f"第{number + 1}次报送".encode()
        os.utime(path, (1_700_000_000 + number, 1_700_000_000 + number))
    reference, killed = tmp_path / "reference.db", tmp_path / "killed.db"
    for target in (reference, killed):
        shutil.copyfile(tmp_path / "x.db", target)
    collect([inbox], store=reference)
    process = subprocess.Popen([sys.executable, "-m", "xltool", "collect", str(inbox),
                                "--store", str(killed), "--json"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        with sqlite3.connect(killed, timeout=30) as db:
            if db.execute("SELECT count(*) FROM received_files").fetchone()[0] >= 3:
                break
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    with sqlite3.connect(killed) as db:
        partial = db.execute("SELECT count(*) FROM received_files").fetchone()[0]
    assert 0 < partial < count, "the kill must land mid-batch"
    collect([inbox], store=killed)
    assert _state(killed) == _state(reference)
    assert not [p.name for p in (tmp_path / "killed.files").rglob(".*")]  # no draft left


def test_a_draft_left_by_a_killed_run_is_removed_by_the_next(issued: list[IssuedWorkbook],
                                                             tmp_path: Path) -> None:
    store_path = tmp_path / "x.db"
    path = _fill(issued[0], tmp_path, complete_values(store_path, issued[0].template_id))
    folder = tmp_path / "x.files" / "ab"
    folder.mkdir(parents=True)
    left = folder / f".{'ab' * 32}.xlsx.4242"
    left.write_bytes(b"half a return")
    [outcome] = collect([path], store=store_path).files
    assert outcome.status == "accepted" and not left.exists()


def _issue(tmp_path: Path, profile: str) -> IssuedWorkbook:
    ledger = write_ledger(tmp_path / f"{profile}.csv", [ledger_row("W-1", "督查经费", total="20")])
    run = issue_templates(ledger, tmp_path / profile, store=tmp_path / "x.db", profile=profile)
    return run.workbooks[0]


def test_weighted_returns_are_checked_for_weights(tmp_path: Path) -> None:
    issued = _issue(tmp_path, "weighted")
    values = weighted_values(XT_P01_SUPERVISOR="行政处")
    values["XT_P01_C05_R01_NAME"] = "本指标不适用"
    values["XT_P01_C01_R02_NAME"] = "培训人次≥300人次"
    values["XT_P01_C01_R02_WEIGHT"] = "３０"  # a number typed as text, full-width
    good = fill_with_openpyxl(issued.path, values, tmp_path / "good.xlsx")
    [accepted] = collect([good], store=tmp_path / "x.db").files
    assert accepted.status == "accepted", accepted.findings
    values["XT_P01_C09_R01_WEIGHT"] = 5
    values["XT_P01_C08_R01_WEIGHT"] = None
    values["XT_P01_C02_R01_WEIGHT"] = 130
    bad = fill_with_openpyxl(issued.path, values, tmp_path / "bad.xlsx")
    [rejected] = collect([bad], store=tmp_path / "x.db").files
    codes = sorted((f.code, f.cell) for f in rejected.findings)
    assert codes == [("rule.bad_weight", "D15"), ("rule.weight_missing", "D25"),
                     ("rule.weights_sum", "")]
    total = next(f for f in rejected.findings if f.code == "rule.weights_sum")
    assert "合计为 205" in total.message  # what the form says: 100 - 5 - 10 + 120


def test_a_template_of_a_retired_profile_version_is_refused(tmp_path: Path) -> None:
    issued = _issue(tmp_path, "ningxia-2021")
    with sqlite3.connect(tmp_path / "x.db") as db:
        db.execute("UPDATE templates SET profile_version = 99")
    returned = fill_with_openpyxl(issued.path, {}, tmp_path / "returned.xlsx")
    [outcome] = collect([returned], store=tmp_path / "x.db").files
    assert [f.code for f in outcome.findings] == ["file.profile_version"]


# -- the profile as issued ---------------------------------------------------------------------


def _own_profile(tmp_path: Path, shipped: str = "ningxia-2021") -> Path:
    """A shipped profile copied under another name, as an office makes its own."""
    text = (ROOT / "templates" / f"{shipped}.toml").read_text(encoding="utf-8")
    assert f'name = "{shipped}"' in text
    path = tmp_path / "office-form.toml"
    path.write_text(text.replace(f'name = "{shipped}"', 'name = "office-form"', 1),
                    encoding="utf-8")
    return path


def test_a_template_of_an_own_profile_is_collected_after_the_file_is_gone(
        tmp_path: Path) -> None:
    from xltool.publish import publish
    from xltool.reconcile import reconcile

    ledger = write_ledger(tmp_path / "ledger.csv", [ledger_row("001-01", "办公经费")])
    profile = _own_profile(tmp_path)
    [workbook] = issue_templates(ledger, tmp_path / "out", store=tmp_path / "x.db",
                                 profile=profile).workbooks
    profile.unlink()
    values = complete_values(tmp_path / "x.db", workbook.template_id)
    [outcome] = collect([_fill(workbook, tmp_path, values)], store=tmp_path / "x.db").files
    assert outcome.status == "accepted", outcome.findings
    assert reconcile(ledger, store=tmp_path / "x.db").differences.empty
    published = publish(store=tmp_path / "x.db", output=tmp_path / "disclosure.xlsx")
    assert published.projects == 1


def test_a_profile_edited_after_issue_changes_nothing_for_the_templates_out(
        tmp_path: Path) -> None:
    ledger = write_ledger(tmp_path / "ledger.csv", [ledger_row("001-01", "办公经费")])
    profile = _own_profile(tmp_path)
    [workbook] = issue_templates(ledger, tmp_path / "out", store=tmp_path / "x.db",
                                 profile=profile).workbooks
    values = complete_values(tmp_path / "x.db", workbook.template_id)
    values["XT_P01_C09_R01_VALUE"] = "≥120%"  # the last category: satisfaction over 100
    before = _fill(workbook, tmp_path, values, "before.xlsx")
    values["XT_P01_GOAL"] = f"{values['XT_P01_GOAL']}（再次报送）"
    after = _fill(workbook, tmp_path, values, "after.xlsx")
    [first] = collect([before], store=tmp_path / "x.db").files
    text = profile.read_text(encoding="utf-8")
    kept = text[:text.index("[[category]]", text.index("[[category]]") + 1)]  # one category
    profile.write_text(kept, encoding="utf-8")
    [second] = collect([after], store=tmp_path / "x.db").files
    assert [(f.code, f.cell) for f in second.findings] == [
        (f.code, f.cell) for f in first.findings]
    assert ("rule.satisfaction_range", "D29") in [(f.code, f.cell) for f in second.findings]


def test_a_template_whose_profile_the_store_lacks_is_refused_file_by_file(
        issued: list[IssuedWorkbook], tmp_path: Path) -> None:
    """As a template migrated from an older store can be (see m007_profiles_as_issued)."""
    from xltool.errors import ProfileNotKept
    from xltool.publish import publish
    from xltool.reconcile import reconcile

    store_path = tmp_path / "x.db"
    returns = [_fill(w, tmp_path, complete_values(store_path, w.template_id), f"{n}.xlsx")
               for n, w in enumerate(issued)]
    with sqlite3.connect(store_path) as db:
        db.execute("UPDATE templates SET profile_sha256 = NULL WHERE template_id = ?",
                   (issued[0].template_id,))
    run = collect(returns, store=store_path)
    assert [(f.status, [x.code for x in f.findings]) for f in run.files] == [
        ("rejected", ["file.profile_version"]), ("accepted", [])]
    publish(store=store_path, output=tmp_path / "disclosure.xlsx")
    ledger = tmp_path / "ledger.csv"
    reconcile(ledger, store=store_path)
    with sqlite3.connect(store_path) as db:
        db.execute("UPDATE templates SET profile_sha256 = NULL")
    with pytest.raises(ProfileNotKept, match="无法公开"):
        publish(store=store_path, output=tmp_path / "again.xlsx")
    with pytest.raises(ProfileNotKept, match="无法核对"):
        reconcile(ledger, store=store_path)


def test_a_macro_workbook_is_read_with_its_macros_ignored(issued: list[IssuedWorkbook],
                                                          tmp_path: Path) -> None:
    import zipfile

    store_path = tmp_path / "x.db"
    filled = _fill(issued[0], tmp_path, complete_values(store_path, issued[0].template_id))
    macro = tmp_path / "return.xlsm"
    with zipfile.ZipFile(filled) as source, zipfile.ZipFile(macro, "w") as target:
        for item in source.infolist():
            target.writestr(item, source.read(item))
        target.writestr("xl/vbaProject.bin", b"Attribute VB_Name = \"Module1\"")
    [outcome] = collect([macro], store=store_path).files
    assert outcome.kind == "xlsm" and outcome.status == "accepted"
    assert [f.code for f in outcome.findings] == ["file.macros"]


def test_a_formula_in_an_input_cell_is_flagged(issued: list[IssuedWorkbook],
                                               tmp_path: Path) -> None:
    from openpyxl import load_workbook

    store_path = tmp_path / "x.db"
    filled = _fill(issued[0], tmp_path, complete_values(store_path, issued[0].template_id))
    workbook = load_workbook(filled)
    workbook["01 办公经费"]["D15"] = "=1+1"
    workbook.save(tmp_path / "formula.xlsx")
    [outcome] = collect([tmp_path / "formula.xlsx"], store=store_path).files
    flagged = [f for f in outcome.findings if f.code == "cell.formula"]
    assert [(f.sheet, f.cell, f.severity.value) for f in flagged] == [
        ("01 办公经费", "D15", "warning")]


def test_two_runs_at_once_take_turns(issued: list[IssuedWorkbook], tmp_path: Path) -> None:
    import subprocess
    import sys

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    values = complete_values(tmp_path / "x.db", issued[0].template_id)
    for number in range(12):
        values["XT_P01_C01_R01_VALUE"] = f"≥{number + 1}次"
        fill_with_openpyxl(issued[0].path, values, inbox / f"r{number:02d}.xlsx")
    command = [sys.executable, "-m", "xltool", "collect", str(inbox), "--store",
               str(tmp_path / "x.db"), "--json"]
    with exclusive(tmp_path / "x.db"):  # a third run holds the store: both must wait
        runs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True) for _ in range(2)]
        waiting = [run.stderr.readline() for run in runs]  # type: ignore[union-attr]
    assert all("等待其完成" in line for line in waiting), waiting
    results = [(run.communicate(timeout=120), run.returncode) for run in runs]
    outcomes = [json.loads(out)["files"] for (out, _), _ in results]
    assert [code for _, code in results] == [0, 0]
    statuses = sorted(sorted({f["status"] for f in files}) for files in outcomes)
    assert statuses == [["accepted", "superseded"], ["duplicate"]]
    with open_store(tmp_path / "x.db") as store:
        assert len(store.received_files()) == 12
        [current] = store.current_returns()
    assert current.original_name == "r11.xlsx"


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_file_is_recorded_only_once_its_copy_is_durable(issued: list[IssuedWorkbook],
                                                          tmp_path: Path, jobs: int,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Copies are made durable in the background; each record waits for its own copy."""
    import xltool.collect.keep as keeping
    from xltool.findings import Finding
    from xltool.store import ReceivedFile, Store
    from xltool.targets import Targets

    store_path = tmp_path / "x.db"
    paths = []
    for n in range(6):  # each department sends three versions
        workbook = issued[n % 2]
        values = complete_values(store_path, workbook.template_id)
        values["XT_P01_GOAL"] = f"{values['XT_P01_GOAL']}（第{n}稿）"
        paths.append(_fill(workbook, tmp_path, values, f"r{n}.xlsx"))
    durable: set[str] = set()
    groups: list[int] = []
    make_durable, record = keeping.make_durable, Store.record_received

    def durable_slowly(drafts: Sequence[keeping.Draft]) -> None:
        import time

        time.sleep(0.2)  # a slow disk: the next files are read meanwhile
        make_durable(drafts)
        durable.update(str(draft.target) for draft in drafts)
        groups.append(len(drafts))

    def record_checked(self: Store, received: ReceivedFile, findings: Sequence[Finding],
                       accepted: Targets | None) -> list[str]:
        assert received.stored_path in durable and Path(received.stored_path).exists()
        return record(self, received, findings, accepted)

    monkeypatch.setattr(keeping, "make_durable", durable_slowly)
    monkeypatch.setattr(Store, "record_received", record_checked)
    run = collect(paths, store=store_path, jobs=jobs)
    assert [f.status for f in run.files] == ["superseded"] * 4 + ["accepted"] * 2
    assert len(durable) == len(paths)
    assert sum(groups) == len(paths) and max(groups) > 1  # copies waiting are kept together
    kept = {p.name for p in (tmp_path / "x.files").rglob("*") if p.is_file()}
    assert kept == {f"{hashlib.sha256(p.read_bytes()).hexdigest()}.xlsx" for p in paths}


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_copy_that_cannot_be_kept_stops_the_run_before_its_record(
        issued: list[IssuedWorkbook], tmp_path: Path, jobs: int,
        monkeypatch: pytest.MonkeyPatch) -> None:
    import xltool.collect.keep as keeping

    store_path = tmp_path / "x.db"
    paths = [_fill(issued[n], tmp_path, complete_values(store_path, issued[n].template_id),
                   f"r{n}.xlsx") for n in range(2)]

    def disk_full(drafts: Sequence[keeping.Draft]) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(keeping, "make_durable", disk_full)
    with pytest.raises(OSError, match="No space"):
        collect(paths, store=store_path, jobs=jobs)
    with open_store(store_path) as store:
        assert store.received_files() == []


def test_a_form_map_reads_the_same_from_its_layout_as_from_its_cells(
        issued: list[IssuedWorkbook], tmp_path: Path) -> None:
    from xltool.collect.returns import LAYOUTS, FormMap
    from xltool.store import layout_fingerprint, layout_key

    with open_store(tmp_path / "x.db") as store:
        for workbook in issued:
            form = store.issued_form(workbook.template_id)
            assert form is not None and form.profile is not None
            # the layout kept is the one its cells give, under its fingerprint
            assert layout_key(form.columns(), [p.project_code for p in form.projects]) == form.key
            assert layout_fingerprint(form.key) == form.layout
            LAYOUTS.compiled.clear()
            from_cells = FormMap.of(form, form.profile)  # no layout compiled yet
            from_layout = FormMap.of(form, form.profile)
            assert from_layout == from_cells
            cells = {(c.sheet, c.cell): c for c in form.cells()}
            for mapped in from_layout.projects:
                for cell in (*mapped.layout.locked, *mapped.layout.inputs):
                    assert mapped.issued(cell) == cells[(mapped.sheets[cell.sheet], cell.cell)]


def test_a_resent_file_reports_what_it_was_found_to_be(issued: list[IssuedWorkbook],
                                                        tmp_path: Path) -> None:
    """A rejected return sent again under another name is still rejected: exit 1, its errors
    in the JSON and the console; an accepted one resent stays a success."""
    store_path = tmp_path / "x.db"
    values = complete_values(store_path, issued[0].template_id)
    values["XT_P01_GOAL"] = None
    bad = _fill(issued[0], tmp_path, values, "first.xlsx")
    first = collect([bad], store=store_path).files[0]
    assert first.status == "rejected" and first.errors
    again = tmp_path / "重发.xlsx"
    again.write_bytes(bad.read_bytes())
    runner = CliRunner()
    shown = runner.invoke(main, ["collect", str(again), "--store", str(store_path), "--json"])
    assert shown.exit_code == 1, shown.output
    [entry] = json.loads(shown.output)["files"]
    assert (entry["status"], entry["earlier_status"]) == ("duplicate", "rejected")
    assert [f["code"] for f in entry["findings"]] == [f.code for f in first.findings]
    table = runner.invoke(main, ["collect", str(again), "--store", str(store_path)])
    assert table.exit_code == 1 and "重复报送（原结果：退回修改）" in table.output
    good = _fill(issued[0], tmp_path, complete_values(store_path, issued[0].template_id),
                 "good.xlsx")
    assert collect([good], store=store_path).exit_code == 0
    resent = collect([good], store=store_path)
    assert resent.exit_code == 0 and resent.files[0].earlier == "accepted"


def test_a_file_over_the_size_limit_is_recorded_but_never_read(
        issued: list[IssuedWorkbook], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from xltool.collect.verify import CopyState, verify

    store_path = tmp_path / "x.db"
    big = tmp_path / "扫描件.xlsx"
    with big.open("wb") as handle:  # sparse: 60 MB that take no disk
        handle.truncate(60 * 1024 * 1024)
    real_open, real_read = Path.open, Path.read_bytes

    def never(path: Path, *args: object, **kwargs: object) -> object:
        assert path != big, "a file over the limit was read"
        return real_open(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "open", never)
    monkeypatch.setattr(Path, "read_bytes",
                        lambda path: (_ for _ in ()).throw(AssertionError("read"))
                        if path == big else real_read(path))
    [outcome] = collect([big], store=store_path).files
    assert outcome.status == "rejected" and outcome.sha256.startswith("unread:")
    [finding] = outcome.findings
    assert finding.code == "file.too_large" and "未读取，也未保存副本" in finding.message
    assert "60 MB" in finding.message and "50 MB" in finding.message
    [again] = collect([big], store=store_path).files
    assert (again.status, again.earlier) == ("duplicate", "rejected")
    [check] = verify(store=store_path).copies
    assert check.state == CopyState.NOT_KEPT
