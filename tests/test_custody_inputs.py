"""What `collect` takes from a folder, and files named in any encoding.

An inbox holds more than returns: stamped scans, Word files, logs, links, last round's
feedback, at times the store itself. Only spreadsheets are taken from it; everything else is
listed with its reason and never recorded or kept. A file named on the command line is
always examined. A name that is not UTF-8 (GBK, as `unzip` gives it for a zip made on a
Chinese Windows) is collected, recorded exactly, and shown decoded.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

import xltool.collect.run as run_module
from tests.conftest import complete_values, ledger_row, write_ledger
from tests.fill import fill_with_openpyxl
from xltool.cli import main
from xltool.codes import (
    SKIPPED_NOT_SPREADSHEET,
    SKIPPED_OWN_OUTPUT,
    SKIPPED_STORE_FILE,
    SKIPPED_SYMLINK,
    Skip,
)
from xltool.collect import collect
from xltool.collect.inputs import Inputs, find_inputs
from xltool.collect.reader import open_xlsx
from xltool.collect.scans import custom_properties
from xltool.errors import NoInput, Unreadable
from xltool.limits import with_limits
from xltool.names import OUTPUT_PROPERTY, Output
from xltool.publish import publish
from xltool.reconcile import reconcile
from xltool.store import ReceivedFile, open_store
from xltool.targets import Targets, write_targets
from xltool.template import IssuedWorkbook, issue_templates
from xltool.text import shown_file_name
from xltool.xlsxout import new_workbook

STORE_NAME = "2024年"  # a store whose name begins the returns' names
GBK_NAME = os.fsdecode("报送表.xlsx".encode("gb18030"))
NO_ENCODING_NAME = os.fsdecode(b"\xff\xfe\x80.xlsx")  # invalid in GB18030 and in UTF-8


@dataclass(frozen=True)
class Office:
    root: Path
    inbox: Path
    store: Path
    ledger: Path
    templates: dict[str, IssuedWorkbook]

    def filled(self, code: str, out: Path) -> Path:
        template = self.templates[code]
        return fill_with_openpyxl(template.path, complete_values(self.store,
                                                                 template.template_id), out)


@pytest.fixture
def office(tmp_path: Path) -> Office:
    """Three departments' templates; the store lies in the inbox, named `2024年`."""
    ledger = write_ledger(tmp_path / "ledger.csv", [
        ledger_row(f"00{n}-01", f"经费{n}", department=(f"00{n}", f"第{n}局"), total="10")
        for n in (1, 2, 3)])
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    store = inbox / STORE_NAME
    run = issue_templates(ledger, tmp_path / "templates", store=store)
    return Office(tmp_path, inbox, store, ledger,
                  {w.department_code: w for w in run.workbooks})


def _docx(path: Path) -> Path:
    """A Word file: a zip that begins as a workbook does."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return path


def _kept_hashes(store: Path) -> set[str]:
    copies = store.with_name(store.stem + ".files")
    return {hashlib.sha256(p.read_bytes()).hexdigest() for p in copies.rglob("*") if p.is_file()}


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _store_companions(store: Path) -> set[Path]:
    beside = [store, *(store.with_name(store.name + s) for s in ("-wal", "-shm", "-journal",
                                                                 ".lock"))]
    return {p for p in beside if p.exists()} | {store.with_name(store.stem + ".files")}


def _untidy_inbox(office: Office) -> tuple[dict[Path, Skip], list[Path]]:
    """The inbox as offices keep it, after a first round: what must be skipped (with the
    reason) and the returns."""
    root, inbox = office.root, office.inbox
    first = office.filled("002", root / "first.xlsx")
    collect([first], store=office.store, feedback=root / "fb")  # makes the copies folder
    for written in (root / "fb").iterdir():  # last round's feedback, saved beside the returns
        shutil.copyfile(written, inbox / written.name)
    skipped: dict[Path, Skip] = {inbox / p.name: SKIPPED_OWN_OUTPUT
                                 for p in (root / "fb").iterdir()}
    skipped[write_targets(Targets(goals={"001-01": "目标"}), inbox / "目标.xlsx")] = \
        SKIPPED_OWN_OUTPUT
    (inbox / "盖章扫描件.pdf").write_bytes(b"%PDF-1.7\n" + bytes(2000))
    (inbox / "日志.log").write_text("2024-03-01 收到邮件\n", encoding="utf-8")
    (inbox / "清单.json").write_text('{"files": 3}', encoding="utf-8")
    (inbox / "报送说明").write_bytes(b"\xd0\xcf\x11\xe0")  # four bytes of OLE: not all eight
    for name in ("盖章扫描件.pdf", "日志.log", "清单.json", "报送说明"):
        skipped[inbox / name] = SKIPPED_NOT_SPREADSHEET
    skipped[_docx(inbox / "说明.docx")] = SKIPPED_NOT_SPREADSHEET
    (root / "secret.txt").write_text("PASSWORD=1", encoding="utf-8")
    outside_return = office.filled("003", root / "outside.xlsx")
    elsewhere = root / "elsewhere"
    elsewhere.mkdir()
    office.filled("003", elsewhere / "r.xlsx")
    links = {"密码.xlsx": root / "secret.txt", "外部.xlsx": outside_return,
             "文件夹": elsewhere}
    if Path("/proc/self/environ").exists():
        links["environ.xlsx"] = Path("/proc/self/environ")
    for name, target in links.items():
        (inbox / name).symlink_to(target)
        skipped[inbox / name] = SKIPPED_SYMLINK
    skipped.update({p: SKIPPED_STORE_FILE for p in _store_companions(office.store)})
    returns = [office.filled("001", inbox / f"{STORE_NAME}_001_第1局.xlsx")]
    returns.append(inbox / "附件1")  # a name that says nothing: a return by its first bytes
    returns[1].write_bytes(office.filled("003", root / "v1.xlsx").read_bytes())
    return skipped, returns


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_folder_yields_its_returns_and_lists_the_rest(office: Office, jobs: int) -> None:
    skipped, returns = _untidy_inbox(office)
    before = _kept_hashes(office.store)
    run = collect([office.inbox], store=office.store, jobs=jobs)
    assert sorted(f.path for f in run.files) == sorted(returns)
    assert [f.status for f in run.files] == ["accepted", "accepted"]
    assert dict(run.skipped) == skipped
    assert list(run.skipped) == sorted(skipped)
    # nothing a link points to, no output and nothing of the store's was read into the copies
    assert _kept_hashes(office.store) - before == {_sha(p) for p in returns}
    with open_store(office.store) as store:
        names = sorted(r.original_name for r in store.received_files())
    assert names == sorted(["first.xlsx", f"{STORE_NAME}_001_第1局.xlsx", "附件1"])


def test_the_console_and_json_list_each_skipped_file_with_its_reason(office: Office) -> None:
    skipped, _ = _untidy_inbox(office)
    runner = CliRunner()
    store = ["--store", str(office.store)]
    result = runner.invoke(main, ["collect", str(office.inbox), *store, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert {s["path"]: s["reason"] for s in data["skipped"]} == \
        {str(p): r.code for p, r in skipped.items()}
    assert data["summary"]["skipped_files"] == [str(p) for p in sorted(skipped)]
    shown = runner.invoke(main, ["collect", str(office.inbox), *store]).output.replace("\n", "")
    assert "已跳过 5 个不是电子表格的文件" in shown and "盖章扫描件.pdf" in shown
    assert f"已跳过 {sum(r is SKIPPED_SYMLINK for r in skipped.values())} 个符号链接" in shown
    assert "已跳过 3 个xltool 写出的文件" in shown
    assert "个存储自身的文件" in shown


def test_a_file_named_itself_is_always_examined(office: Office) -> None:
    scan = office.root / "盖章扫描件.pdf"
    scan.write_bytes(b"%PDF-1.7\n" + bytes(100))
    [outcome] = collect([scan], store=office.store).files
    assert (outcome.status, [f.code for f in outcome.findings]) == \
        ("rejected", ["file.not_workbook"])
    feedback = office.root / "fb"
    collect([office.filled("001", office.root / "r.xlsx")], store=office.store, feedback=feedback)
    named = sorted(feedback.iterdir())
    assert [f.status for f in collect(named, store=office.store).files] == ["rejected"] * 2
    link = office.root / "link.xlsx"
    link.symlink_to(office.filled("002", office.root / "r2.xlsx"))
    assert [f.status for f in collect([link], store=office.store).files] == ["accepted"]


def test_a_file_turned_into_a_link_once_listed_is_not_read(
        office: Office, monkeypatch: pytest.MonkeyPatch) -> None:
    path = office.filled("001", office.inbox / "r.xlsx")
    (office.root / "secret.txt").write_text("PASSWORD=1", encoding="utf-8")
    listed = run_module.find_inputs

    def listed_then_swapped(*args: Any, **kwargs: Any) -> Inputs:
        inputs = listed(*args, **kwargs)
        path.unlink()
        path.symlink_to(office.root / "secret.txt")
        return inputs

    monkeypatch.setattr(run_module, "find_inputs", listed_then_swapped)
    [outcome] = collect([office.inbox], store=office.store).files
    assert [f.code for f in outcome.findings] == ["file.unreadable"]
    with open_store(office.store) as store:
        assert store.received_files() == []


def test_the_store_named_itself_is_not_collected(office: Office) -> None:
    with pytest.raises(NoInput, match="存储自身的文件"):
        collect([office.store], store=office.store)


def test_a_glob_is_a_folder(office: Office) -> None:
    (office.inbox / "a.pdf").write_bytes(b"%PDF")
    with pytest.raises(NoInput, match="不是电子表格的文件 1 个"):
        collect([office.inbox / "*.pdf"], store=office.store)
    (office.inbox / "b.xlsx").symlink_to(office.filled("001", office.root / "r.xlsx"))
    with pytest.raises(NoInput, match="符号链接 1 个"):
        collect([office.inbox / "*.xlsx"], store=office.store)


def test_a_large_file_or_a_pipe_in_a_folder_costs_nothing(office: Office) -> None:
    big = office.inbox / "录像.dat"
    with big.open("wb") as handle:
        handle.write(b"\x00\x00\x00\x20ftypmp42")
        try:
            handle.truncate(10 * 2**30)  # sparse: ten gigabytes that take no room
        except OSError:
            pytest.skip("no sparse files here")
    os.mkfifo(office.inbox / "管道")
    office.filled("001", office.inbox / "r.xlsx")
    began = time.monotonic()
    inputs = find_inputs([office.inbox], exclude=office.store)
    assert time.monotonic() - began < 5
    assert inputs.files == [office.inbox / "r.xlsx"]
    assert inputs.skipped[big] is SKIPPED_NOT_SPREADSHEET
    assert inputs.skipped[office.inbox / "管道"] is SKIPPED_NOT_SPREADSHEET


def test_an_output_over_the_limits_is_still_known_as_ours(office: Office) -> None:
    collect([office.filled("001", office.root / "r.xlsx")], store=office.store,
            feedback=office.inbox)
    late = office.filled("002", office.inbox / "late.xlsx")
    summary = office.inbox / "收取情况汇总.xlsx"
    limits = with_limits(["strings=1"])
    with pytest.raises(Unreadable):  # the reader refuses it before its properties are read
        open_xlsx(summary.read_bytes(), limits)
    run = collect([office.inbox], store=office.store, limits=limits)
    assert [f.path for f in run.files] == [late]
    assert run.skipped[summary] is SKIPPED_OWN_OUTPUT


# -- what xltool writes is marked, and nothing else changes --------------------------------


def _properties(path: Path) -> dict[str, str]:
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        return custom_properties(archive.read("docProps/custom.xml")) \
            if "docProps/custom.xml" in names else {}


def test_every_output_is_marked_and_no_template(office: Office) -> None:
    collect([office.filled("001", office.root / "r.xlsx")], store=office.store,
            feedback=office.root / "fb")
    marks = {p.name: _properties(p).get(OUTPUT_PROPERTY) for p in (office.root / "fb").iterdir()}
    assert sorted(marks.values()) == [Output.FEEDBACK, Output.SUMMARY]
    reconcile(office.ledger, store=office.store, output=office.root / "核对.xlsx")
    publish(store=office.store, output=office.root / "公开.xlsx",
            targets_out=office.root / "目标.xlsx")
    for name, kind in (("核对.xlsx", Output.REPORT), ("公开.xlsx", Output.DISCLOSURE),
                       ("目标.xlsx", Output.TARGETS)):
        assert _properties(office.root / name)[OUTPUT_PROPERTY] == kind
    for template in office.templates.values():
        assert OUTPUT_PROPERTY not in _properties(template.path)


def _parts(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _small_workbook(path: Path, output: Output | None) -> bytes:
    workbook = new_workbook(path, output=output, title="反馈表")
    workbook.add_worksheet("反馈").write_string(0, 0, "=HYPERLINK(1)")
    workbook.close()
    return path.read_bytes()


def test_the_mark_adds_the_property_and_changes_nothing_else(tmp_path: Path) -> None:
    plain = _parts(_small_workbook(tmp_path / "a.xlsx", None))
    marked = _parts(_small_workbook(tmp_path / "b.xlsx", Output.FEEDBACK))
    changed = {name for name in plain if plain[name] != marked[name]}
    assert set(marked) - set(plain) == {"docProps/custom.xml"}
    assert changed == {"[Content_Types].xml", "_rels/.rels"}
    assert custom_properties(marked["docProps/custom.xml"]) == {OUTPUT_PROPERTY: "feedback"}
    assert _small_workbook(tmp_path / "c.xlsx", Output.FEEDBACK) == \
        _small_workbook(tmp_path / "d.xlsx", Output.FEEDBACK)


# -- any file name -------------------------------------------------------------------------


def test_a_name_is_shown_decoded() -> None:
    assert shown_file_name("报送表.xlsx") == "报送表.xlsx"
    assert shown_file_name(GBK_NAME) == "报送表.xlsx"
    assert shown_file_name(NO_ENCODING_NAME) == "\ufffd\ufffd\ufffd.xlsx"


def test_names_in_any_encoding_are_collected_and_the_batch_goes_on(office: Office) -> None:
    inbox = office.inbox
    gbk = office.filled("001", inbox / GBK_NAME)
    garbled = office.filled("002", inbox / NO_ENCODING_NAME)
    after = office.filled("003", inbox / "之后.xlsx")
    for number, path in enumerate((gbk, garbled, after)):
        os.utime(path, (1_700_000_000 + number,) * 2)
    feedback = office.root / "fb"
    result = CliRunner().invoke(main, ["collect", str(inbox), "--store", str(office.store),
                                       "--json", "--feedback", str(feedback)])
    assert result.exit_code == 0, result.output
    files = json.loads(result.output)["files"]
    assert [Path(f["path"]).name for f in files] == \
        ["报送表.xlsx", "\ufffd\ufffd\ufffd.xlsx", "之后.xlsx"]
    assert [f["status"] for f in files] == ["accepted"] * 3
    with open_store(office.store) as store:
        received = {r.original_name: r for r in store.received_files()}
    assert set(received) == {"报送表.xlsx", "\ufffd\ufffd\ufffd.xlsx", "之后.xlsx"}
    assert received["报送表.xlsx"].original_name_bytes == os.fsencode(GBK_NAME)
    assert received["\ufffd\ufffd\ufffd.xlsx"].original_name_bytes == b"\xff\xfe\x80.xlsx"
    assert received["之后.xlsx"].original_name_bytes is None
    for record in received.values():  # each copy kept (under a name that is text)
        assert Path(record.stored_path).read_bytes() == _source(inbox, record)
    written = {p.name for p in feedback.iterdir()}
    assert all(name.isprintable() for name in written)
    texts = _texts(feedback / "收取情况汇总.xlsx") | _texts(next(
        p for p in feedback.iterdir() if "_001_" in p.name))
    assert {"报送表.xlsx", "\ufffd\ufffd\ufffd.xlsx"} <= texts


def _source(inbox: Path, record: ReceivedFile) -> bytes:
    """The returned file the record names, by its exact name."""
    raw = record.original_name_bytes or record.original_name.encode()
    return (inbox / os.fsdecode(raw)).read_bytes()


def _texts(path: Path) -> set[str]:
    workbook = load_workbook(path, read_only=True)
    return {str(cell) for sheet in workbook.worksheets
            for row in sheet.iter_rows(values_only=True) for cell in row if cell is not None}


def test_an_old_store_gains_the_column_and_keeps_its_records(office: Office) -> None:
    collect([office.filled("001", office.root / "r.xlsx")], store=office.store)
    with sqlite3.connect(office.store) as db:
        db.execute("ALTER TABLE received_files DROP COLUMN original_name_bytes")
        db.execute("DELETE FROM _migrations WHERE name = 'm008_original_name_bytes'")
        db.execute("PRAGMA user_version = 7")
    with open_store(office.store) as store:
        [record] = store.received_files()
    assert (record.original_name, record.original_name_bytes) == ("r.xlsx", None)
