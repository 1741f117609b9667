"""Hostile and broken returns: the whole corpus collected at once, by the command line.

Every bad file gets its own finding and the run goes on; good returns are accepted; the
run takes seconds and megabytes, because limits are checked before the work; what is
written for people to open is inert. Built by `tests/corpus.py` at test time.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import struct
import subprocess
import sys
import time
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import python_calamine
import xlsxwriter
from click.testing import CliRunner
from msoffcrypto import OfficeFile  # type: ignore[import-untyped]

from tests.conftest import ledger_row, write_ledger
from tests.corpus import (
    BOMB_BYTES,
    CORPUS_LIMIT_SETTINGS,
    CORPUS_LIMITS,
    HOSTILE_FILE_NAME,
    HOSTILE_TEXTS,
    Corpus,
    assert_inert_workbook,
    build_corpus,
    good_return,
    real_bombs,
)
from tests.fill import fill_with_openpyxl
from xltool.cli import main
from xltool.collect import collect
from xltool.collect.scans import grid_size
from xltool.errors import StoreError
from xltool.limits import MB, Limits, limit_settings, with_limits
from xltool.store import open_store
from xltool.template import issue_templates

SECONDS, PEAK_MB = 20.0, 300.0  # generous bounds: the corpus takes about 1 s and 150 MB here
CHINESE = re.compile(r"[\u4e00-\u9fff]")

# Runs the command line and, on the way out, writes the process's peak resident memory
# (VmHWM, in kB) to the file named by XLTOOL_PEAK_FILE.
_MEASURED_CLI = """
import atexit, os, pathlib

def _peak() -> None:
    status = pathlib.Path("/proc/self/status")
    if status.exists():
        line = next(l for l in status.read_text().splitlines() if l.startswith("VmHWM"))
        pathlib.Path(os.environ["XLTOOL_PEAK_FILE"]).write_text(line.split()[1])

atexit.register(_peak)
from tests.fill import fill_with_openpyxl
from xltool.cli import main
main(prog_name="xltool")
"""


@dataclass(frozen=True)
class Measured:
    out: str
    err: str
    code: int
    seconds: float
    peak_mb: float | None


def run_measured(args: list[str], peak_file: Path) -> Measured:
    """`xltool ARGS` in a fresh process: its output, exit code, wall time and peak memory."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _MEASURED_CLI, *args], capture_output=True,
                          text=True, timeout=300, check=False,
                          env={**os.environ, "XLTOOL_PEAK_FILE": str(peak_file)})
    seconds = time.perf_counter() - start
    peak = int(peak_file.read_text()) / 1024 if peak_file.exists() else None
    return Measured(done.stdout, done.stderr, done.returncode, seconds, peak)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    built = build_corpus(tmp_path_factory.mktemp("corpus"))
    shutil.copyfile(built.store, built.store.with_name("issued.db"))
    return built


def issued_store(corpus: Corpus, folder: Path) -> Path:
    """A copy of the corpus's store as issued, before anything was collected into it."""
    return Path(shutil.copyfile(corpus.store.with_name("issued.db"), folder / "x.db"))


def case_path(corpus: Corpus, name: str) -> Path:
    return next(case.path for case in corpus.cases if case.name == name)


@pytest.fixture(scope="module")
def collected(corpus: Corpus) -> tuple[Measured, dict[str, Any], Path]:
    """The corpus collected once by the command line, with feedback; JSON by file name."""
    feedback = corpus.store.parent / "feedback"
    limits = [f"--limit={setting}" for setting in CORPUS_LIMIT_SETTINGS]
    run = run_measured(["collect", str(corpus.inbox), "--store", str(corpus.store), "--json",
                        "--feedback", str(feedback), *limits], corpus.store.parent / "peak")
    files = {Path(f["path"]).name: f for f in json.loads(run.out)["files"]} if run.out else {}
    return run, files, feedback


def test_every_file_gets_exactly_its_own_outcome(corpus: Corpus,
                                                 collected: tuple[Measured, dict[str, Any], Path]
                                                 ) -> None:
    run, files, _ = collected
    assert run.code == 1, run.err
    assert set(files) == {case.name for case in corpus.cases}
    wrong = {case.name: (files[case.name]["status"],
                         sorted({f["code"] for f in files[case.name]["findings"]}))
             for case in corpus.cases
             if files[case.name]["status"] != case.status
             or {f["code"] for f in files[case.name]["findings"]} != case.expected_codes}
    assert not wrong


def test_no_traceback_and_every_problem_said_in_chinese(
        collected: tuple[Measured, dict[str, Any], Path]) -> None:
    run, files, _ = collected
    assert "Traceback" not in run.out + run.err
    findings = [f for entry in files.values() for f in entry["findings"]]
    assert findings
    for finding in findings:
        assert CHINESE.search(finding["message"]) and CHINESE.search(finding["fix"]), finding
        assert len(finding["message"]) <= 300 and len(finding["value"]) <= 300, finding["code"]


def test_the_corpus_takes_seconds_and_megabytes(
        collected: tuple[Measured, dict[str, Any], Path]) -> None:
    run, files, _ = collected
    print(f"{len(files)} files collected in {run.seconds:.1f} s, peak {run.peak_mb} MB")
    assert run.seconds < SECONDS
    if run.peak_mb is not None:
        assert run.peak_mb < PEAK_MB


def test_every_received_file_is_kept_and_nothing_accepted_is_changed(corpus: Corpus) -> None:
    hashes = {hashlib.sha256(case.path.read_bytes()).hexdigest() for case in corpus.cases}
    with open_store(corpus.store) as store:
        received = store.received_files()
        assert {r.sha256 for r in received} == hashes
        for r in received:
            if r.size:  # an empty file has nothing to keep
                assert hashlib.sha256(Path(r.stored_path).read_bytes()).hexdigest() == r.sha256
        current = {r.original_name: store.accepted_targets(r.sha256)
                   for r in store.current_returns()}
    satisfaction = [i.value for i in current["fullwidth.xlsx"].indicators
                    if i.level2 == "服务对象满意度指标"]
    assert satisfaction == ["９５％"]  # read as 95%, kept as typed
    assert {i.value for i in current["formula.xlsx"].indicators} >= {"≥5次"}


def test_what_is_written_for_people_is_inert(corpus: Corpus,
                                             collected: tuple[Measured, dict[str, Any], Path]
                                             ) -> None:
    _, _, feedback = collected
    written = sorted(feedback.glob("*.xlsx"))
    assert len(written) >= len(corpus.templates) + 1
    for path in written:
        assert_inert_workbook(path)
    [hostile] = [p for p in written if "_006_" in p.name]
    assert_inert_workbook(hostile, texts=[*HOSTILE_TEXTS, HOSTILE_FILE_NAME])
    assert_inert_workbook(feedback / "收取情况汇总.xlsx", texts=[HOSTILE_FILE_NAME])


def test_worker_processes_give_the_same_outcomes(corpus: Corpus, tmp_path: Path) -> None:
    """`--jobs 2`: a file that crashed a worker would end the whole pool."""
    run = collect([corpus.inbox], store=issued_store(corpus, tmp_path), jobs=2,
                  limits=CORPUS_LIMITS)
    outcomes = {f.path.name: (f.status, frozenset(x.code for x in f.findings)) for f in run.files}
    assert outcomes == {c.name: (c.status, c.expected_codes) for c in corpus.cases}


def test_the_console_table_survives_the_corpus(corpus: Corpus, tmp_path: Path) -> None:
    """The human output (rich tables) of the same corpus, into a store as issued."""
    store = issued_store(corpus, tmp_path)
    result = CliRunner().invoke(main, ["collect", str(corpus.inbox), "--store", str(store),
                                       *[f"--limit={s}" for s in CORPUS_LIMIT_SETTINGS]])
    assert result.exit_code == 1 and not isinstance(result.exception, Exception), result.output
    assert "收到的文件" in result.output and "file.too_many_cells" in result.output


def test_the_default_limits_refuse_real_bombs_in_seconds(corpus: Corpus, tmp_path: Path) -> None:
    """Gigabyte bombs (a megabyte each on disk) against the default limits, in a fresh
    process: refused before they are inflated, and the process stays small."""
    bombs = real_bombs(tmp_path, case_path(corpus, "good-001.xlsx"),
                       corpus.templates["001"].sheets[0])
    store = issued_store(corpus, tmp_path)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for path in bombs.values():
        shutil.copyfile(path, inbox / path.name)
    run = run_measured(["collect", str(inbox), "--store", str(store), "--json"],
                       tmp_path / "peak")
    codes = {Path(f["path"]).name: [x["code"] for x in f["findings"]]
             for f in json.loads(run.out)["files"]}
    assert codes == {"declared-bomb.xlsx": ["file.zip_bomb"], "hidden-bomb.xlsx": ["file.zip_bomb"],
                     "mimetype-bomb.xlsx": ["file.zip_bomb"],
                     "far-cell.xlsx": ["file.too_many_cells"]}, run.err
    print(f"gigabyte bombs refused in {run.seconds:.1f} s, peak {run.peak_mb} MB")
    assert run.seconds < SECONDS
    if run.peak_mb is not None:
        assert run.peak_mb < PEAK_MB


def test_the_corpus_files_are_what_they_claim(corpus: Corpus) -> None:
    """The hand-made files are real: an Excel 97 workbook msoffcrypto parses, an ODS a
    spreadsheet reader opens, a workbook encrypted with a password, a bomb whose headers
    lie."""
    by_name = {case.name: case.path for case in corpus.cases}
    with by_name["old.xls"].open("rb") as handle:
        old = OfficeFile(handle)  # parses the compound file and the BIFF8 Workbook stream
        assert old.format == "xls97" and not old.is_encrypted()
    workbook = python_calamine.CalamineWorkbook.from_path(str(by_name["calc.ods"]))
    assert workbook.get_sheet_by_name("绩效目标").to_python()[0] == ["年度总体目标", 95.0]
    workbook.close()
    with by_name["encrypted.xlsx"].open("rb") as handle:
        office = OfficeFile(handle)
        office.load_key(password="报送密码")
        plain = io.BytesIO()
        office.decrypt(plain)
    assert zipfile.ZipFile(plain).getinfo("xl/workbook.xml")
    data = by_name["zip-bomb-hidden.xlsx"].read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as bomb:
        info = bomb.getinfo("xl/worksheets/sheet2.xml")
    name_length, extra_length = struct.unpack_from("<HH", data, info.header_offset + 26)
    start = info.header_offset + 30 + name_length + extra_length
    inflated = zlib.decompressobj(-zlib.MAX_WBITS).decompress(
        data[start:start + info.compress_size], BOMB_BYTES * 2)
    assert info.file_size < MB and len(inflated) > BOMB_BYTES  # the headers lie


def test_limits_are_set_on_the_command_line(corpus: Corpus, tmp_path: Path) -> None:
    assert with_limits(["file-mb=1.5", "cells=10"]) == Limits(max_file_bytes=int(1.5 * MB),
                                                               max_cells=10)
    assert "cells=200000" in limit_settings() and "text=2000" in limit_settings()
    for bad in ("size=3", "cells=-1", "cells=many", "cells"):
        with pytest.raises(ValueError, match="上限"):
            with_limits([bad])
    runner = CliRunner()
    refused = runner.invoke(main, ["collect", str(corpus.inbox), "--limit", "size=3"],
                            env={"LANG": "zh_CN.UTF-8", "LANGUAGE": None, "LC_ALL": None})
    assert refused.exit_code == 2 and "没有上限 'size'" in refused.output
    store = issued_store(corpus, tmp_path)
    tight = runner.invoke(main, ["collect", str(case_path(corpus, "good-001.xlsx")),
                                 "--store", str(store), "--json",
                                 "--limit", "cells=100"])
    assert tight.exit_code == 1
    assert [f["code"] for f in json.loads(tight.output)["files"][0]["findings"]] == [
        "file.too_many_cells"]


def test_an_unreadable_file_is_reported_and_left_for_a_rerun(corpus: Corpus, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch
                                                             ) -> None:
    store = issued_store(corpus, tmp_path)
    locked = good_return(corpus.store, corpus.templates["002"], tmp_path / "in-use.xlsx")
    real_read = Path.read_bytes

    def read_bytes(path: Path) -> bytes:
        if path.name == locked.name:
            raise PermissionError(13, "Permission denied", str(path))
        return real_read(path)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    [outcome] = collect([locked], store=store).files
    assert outcome.status == "rejected"
    assert [f.code for f in outcome.findings] == ["file.unreadable"]
    assert "Permission denied" in outcome.findings[0].message
    monkeypatch.undo()
    with open_store(store) as opened:
        assert opened.received_files() == []
    assert [f.status for f in collect([locked], store=store).files] == ["accepted"]


@pytest.mark.parametrize("make", ["formula", "hyperlink", "external", "dde_name"])
def test_the_inert_check_catches_what_acts(tmp_path: Path, make: str) -> None:
    path = tmp_path / f"{make}.xlsx"
    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet()
    if make == "formula":
        sheet.write_formula("A1", "=1+1")
    elif make == "hyperlink":
        sheet.write_url("A1", "http://example.invalid/")
    elif make == "external":
        sheet.write_formula("A1", "='[other.xlsx]Sheet1'!A1")
    else:
        workbook.define_name("Calc", "=cmd|' /c calc'!A1")
    workbook.close()
    with pytest.raises(AssertionError):
        assert_inert_workbook(path)


@pytest.mark.parametrize("damage", ["truncated", "zeroed", "newer"])
def test_a_damaged_store_is_refused_and_left_untouched(corpus: Corpus, tmp_path: Path,
                                                       damage: str) -> None:
    store = issued_store(corpus, tmp_path)
    data = store.read_bytes()
    if damage == "newer":
        with sqlite3.connect(store) as db:
            db.execute("PRAGMA user_version = 99")
    else:  # the header intact, pages lost: an interrupted copy, a failing disk
        kept = len(data) // 2 if damage == "truncated" else 8192
        store.write_bytes(data[:kept] + (b"" if damage == "truncated" else
                                         bytes(len(data) - kept)))
    before = store.read_bytes()
    result = CliRunner().invoke(main, ["collect", str(case_path(corpus, "good-001.xlsx")),
                                       "--store", str(store)])
    assert result.exit_code == 2 and not isinstance(result.exception, Exception), result.output
    assert ("更新版本" if damage == "newer" else "不是可用的 xltool 存储文件") in result.output
    assert store.read_bytes() == before
    assert not (tmp_path / "x.files").exists()


def test_damage_found_while_working_stops_with_a_message(corpus: Corpus, tmp_path: Path) -> None:
    damaged = sqlite3.DatabaseError("database disk image is malformed")
    damaged.sqlite_errorcode = sqlite3.SQLITE_CORRUPT
    with pytest.raises(StoreError, match="已损坏"), open_store(issued_store(corpus, tmp_path)):
        raise damaged


@pytest.mark.parametrize(("xml", "size"), [
    (b'<c r="C3" s="1" t="s"><v>1</v></c>', 3 * 3),
    (b"<c r='D4'/>", 4 * 4),
    (b'<c r="zz3"/>', 702 * 3),                        # the value reader takes lower case too
    (b'<x:c r="B2"/>', 2 * 2),                         # and any namespace prefix
    (b'<c s=" r=\'XFD1\'" r="B2"/>', 2 * 2),           # an r= inside another value is no r
    (b'<row r="5"><c/><c/></row>', (5 + 1 + 2) * 2),   # cells placed by their order
    (b'<c r="A30" r="XFD1048576"/>', None),            # two positions: readers differ
    (b'<c t="n" r="A30" s="0" r="XFD1048576"/>', None),
    (b'<c r="A30" s="0"r="XFD1048576"/>', None),
    (b'<c r="B2" rs="1"/>', 2 * 2),                   # a name that only begins with r
    (b'<c r="&#65;30"/>', None),
    (b'<c r=""/>', None),
    (b'<c r="A1\nB2"/>', None),
])
def test_the_grid_is_bounded_before_the_value_reader_builds_it(xml: bytes,
                                                               size: int | None) -> None:
    assert grid_size(xml) == size


def test_a_flood_of_unfinished_tags_is_read_in_one_pass() -> None:
    for flood in (b"<c " * 200_000 + b"<f>", b'<c a="' * 200_000, b"<row " * 200_000 + b"<c/>"):
        start = time.perf_counter()
        assert grid_size(b"<sheetData>" + flood) is None
        assert time.perf_counter() - start < 2


def test_an_absurd_weight_is_reported_not_computed(tmp_path: Path) -> None:
    """`1e999999999` is a Decimal, but adding it up overflows and printing it takes a
    billion digits: it is no weight a form holds."""
    ledger = write_ledger(tmp_path / "w.csv", [ledger_row("W-1", "督查经费", total="20")])
    workbook = issue_templates(ledger, tmp_path / "t", store=tmp_path / "x.db",
                               profile="weighted").workbooks[0]
    values: dict[str, object] = {"XT_P01_GOAL": "全年完成督查任务。"}
    for number, text in {1: "督查不少于 50 次", 2: "完成率100%", 3: "12月底前完成",
                         4: "督查经费≤20万元", 6: "便利度明显提升", 8: "长效机制逐步健全",
                         9: "满意度≥95%"}.items():
        values[f"XT_P01_C{number:02d}_R01_NAME"] = text
        values[f"XT_P01_C{number:02d}_R01_WEIGHT"] = 10
    values["XT_P01_C01_R01_WEIGHT"] = "1e999999999"
    path = fill_with_openpyxl(workbook.path, values, tmp_path / "absurd.xlsx")
    [outcome] = collect([path], store=tmp_path / "x.db").files
    assert outcome.status == "rejected"
    bad = [f for f in outcome.findings if f.code == "rule.bad_weight"]
    assert [(f.cell, f.value) for f in bad] == [("D12", "1e999999999")]
    assert all(len(f.message) < 200 for f in outcome.findings)


def test_a_link_within_the_workbook_is_allowed_only_when_asked(tmp_path: Path) -> None:
    """A contents sheet may link to the department sheets; nothing may link outside."""
    for target, inside in (("internal:'Sheet1'!A1", True), ("http://example.invalid/", False),
                           ("external:other.xlsx", False)):
        path = tmp_path / "links.xlsx"
        workbook = xlsxwriter.Workbook(str(path))
        workbook.add_worksheet().write_url("A1", target, string="目录")
        workbook.close()
        with pytest.raises(AssertionError):
            assert_inert_workbook(path)
        if inside:
            assert_inert_workbook(path, internal_links=True)
        else:
            with pytest.raises(AssertionError):
                assert_inert_workbook(path, internal_links=True)
