"""Where the store lies: one store whatever its name, and a rollback journal on a network share.

A store reached by a second name (a link, `./x.db` beside an absolute path) must take
the same lock, and keep its copies in the same folder; a second name that is a hard link
is refused, since SQLite's journal follows the name. On a network file system WAL is
unsafe (its index lives in memory the computers cannot share): the store keeps the
rollback journal there, and says so once.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import sys
import threading
from pathlib import Path, PurePosixPath, PureWindowsPath

import pytest
from click.testing import CliRunner

import xltool.store.place as place
from tests.conftest import complete_values, ledger_row, write_ledger
from tests.fill import fill_with_openpyxl
from xltool.cli import main
from xltool.collect import collect
from xltool.errors import StoreError
from xltool.store import exclusive, open_store
from xltool.store.lock import lock_file
from xltool.store.place import mount_type, mounts, windows_remote
from xltool.template import IssuedWorkbook, issue_templates

# -- the mount table -------------------------------------------------------------------------

MOUNTINFO = "\n".join([
    "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro",
    "25 22 0:22 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw",
    "40 22 0:35 / /mnt/office rw,relatime shared:20 master:3 - cifs //server/office rw,vers=3.0",
    "41 40 8:17 / /mnt/office/local rw,relatime - ext4 /dev/sdb1 rw",
    r"42 22 0:36 /export /mnt/my\040share rw,relatime shared:21 - nfs4 server:/export rw",
    "43 22 0:37 / /mnt/office2 rw,nosuid,nodev - fuse.sshfs me@host:/ rw,user_id=0",
    "not a line of the mount table",
])


@pytest.mark.parametrize(("path", "kind"), [
    ("/home/clerk/xltool.db", "ext4"),
    ("/mnt/office/2024/xltool.db", "cifs"),
    ("/mnt/office", "cifs"),
    ("/mnt/office/local/xltool.db", "ext4"),  # a mount inside the share: the longest wins
    ("/mnt/office2/xltool.db", "fuse.sshfs"),  # /mnt/office is not a folder above it
    ("/mnt/my share/xltool.db", "nfs4"),  # the kernel writes the space as \040
])
def test_the_file_system_is_the_longest_mount_point_holding_the_path(path: str,
                                                                     kind: str) -> None:
    assert mount_type(MOUNTINFO, PurePosixPath(path)) == kind


def test_of_two_mounts_at_one_point_the_later_hides_the_earlier() -> None:
    table = MOUNTINFO + "\n50 40 0:40 / /mnt/office rw - ext4 /dev/sdc1 rw"
    assert mount_type(table, PurePosixPath("/mnt/office/xltool.db")) == "ext4"


def test_a_mount_line_is_read_whatever_its_optional_fields() -> None:
    assert [(m.device, str(m.point), m.type) for m in mounts(MOUNTINFO)][2:5] == [
        ("0:35", "/mnt/office", "cifs"), ("8:17", "/mnt/office/local", "ext4"),
        ("0:36", "/mnt/my share", "nfs4")]
    assert mount_type("", PurePosixPath("/x.db")) == ""
    assert [m.point for m in mounts(r"1 0 0:1 / /a\134b\011c rw - tmpfs t rw")] == [
        PurePosixPath("/a\\b\tc")]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux's mount table")
def test_a_share_is_told_from_the_mount_table(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(place, "mount_table", lambda: MOUNTINFO)
    assert place.network_share(Path("/mnt/office/x.db")) == "cifs"
    assert place.network_share(Path("/mnt/office/local/x.db")) is None
    monkeypatch.undo()
    assert place.network_share(tmp_path.resolve()) is None  # the tests' own folder is local


def test_a_windows_share_is_a_unc_path_or_a_network_drive() -> None:
    def drives(root: str) -> int:
        return {"Z:\\": 4, "C:\\": 3}.get(root, 1)  # DRIVE_REMOTE, DRIVE_FIXED, no root

    assert windows_remote(PureWindowsPath(r"\\server\office\xltool.db"), drives)
    assert windows_remote(PureWindowsPath(r"Z:\2024\xltool.db"), drives)
    assert not windows_remote(PureWindowsPath(r"C:\2024\xltool.db"), drives)


# -- the journal on a network share ----------------------------------------------------------


def _on_share(monkeypatch: pytest.MonkeyPatch, kind: str = "cifs") -> None:
    monkeypatch.setattr(place, "network_share", lambda real: kind)


def _journal(path: Path) -> str:
    with open_store(path, create=False) as store:
        return str(store.connection.execute("PRAGMA journal_mode").fetchone()[0])


def _notices(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "xltool.store"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux's mount table")
def test_a_store_on_a_share_keeps_the_rollback_journal_and_says_so(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "x.db"
    with open_store(path):  # made on a local disk: WAL
        pass
    assert _journal(path) == "wal"
    point = str(tmp_path.resolve()).replace(" ", r"\040")
    monkeypatch.setattr(place, "mount_table", lambda: MOUNTINFO + (
        f"\n60 22 0:50 / {point} rw,relatime - cifs //server/office rw"))
    with open_store(path) as store:
        assert store.connection.execute("PRAGMA journal_mode").fetchone() == ("delete",)
        assert store.connection.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL
    [notice] = _notices(caplog)
    assert str(path) in notice and "网络共享盘" in notice and "回滚日志" in notice
    assert _journal(path) == "delete" and len(_notices(caplog)) == 1  # said once
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.db"]  # no -wal, no -shm


def test_a_new_store_on_a_share_is_made_with_the_rollback_journal(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    _on_share(monkeypatch, "nfs4")
    with open_store(tmp_path / "x.db") as store:
        assert store.received_files() == []
    assert _journal(tmp_path / "x.db") == "delete"
    [notice] = _notices(caplog)
    assert "nfs4" in notice


def test_a_store_open_elsewhere_is_not_switched_under_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite leaves WAL only with no other connection open; the run stops, and says why."""
    path = tmp_path / "x.db"
    with open_store(path):
        pass
    other = sqlite3.connect(path)
    try:
        other.execute("SELECT count(*) FROM sqlite_master").fetchone()
        _on_share(monkeypatch)
        with pytest.raises(StoreError, match="另一个程序正打开着它"), open_store(path):
            pass
    finally:
        other.close()
    monkeypatch.undo()
    assert _journal(path) == "wal"


def test_the_command_line_shows_the_notice(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "x.db"
    with open_store(path):
        pass
    _on_share(monkeypatch)
    result = CliRunner().invoke(main, ["verify", "--store", str(path), "--json"])
    assert result.exit_code == 0, result.output
    assert result.output.count("回滚日志") == 1  # stderr, mixed into the output from click 8.1 on
    if not hasattr(CliRunner(), "mix_stderr"):  # click 8.2 on also keeps stderr apart
        assert "回滚日志" in result.stderr and "回滚日志" not in result.stdout


# -- one store, whatever its name ------------------------------------------------------------


@pytest.fixture
def issued(tmp_path: Path) -> list[IssuedWorkbook]:
    ledger = write_ledger(tmp_path / "ledger.csv", [ledger_row("001-01", "办公经费")])
    return list(issue_templates(ledger, tmp_path / "templates", store=tmp_path / "x.db").workbooks)


def _symlink(link: Path, target: Path) -> Path:
    try:
        link.symlink_to(target)
    except OSError:  # Windows without the right to make links
        pytest.skip("no symbolic links here")
    return link


def test_every_name_of_a_store_has_one_lock(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    store = tmp_path / "x.db"
    with open_store(store):
        pass
    (tmp_path / "desk").mkdir()
    link = _symlink(tmp_path / "desk" / "y.db", store)
    monkeypatch.chdir(tmp_path)
    assert lock_file(link) == lock_file(Path("x.db")) == lock_file(store.resolve())
    assert lock_file(link) == store.resolve().with_name("x.db.lock")


def test_a_second_run_by_another_name_waits_and_says_so(tmp_path: Path) -> None:
    store = tmp_path / "x.db"
    with open_store(store):
        pass
    link = _symlink(tmp_path / "y.db", store)
    told: list[str] = []
    asked, through = threading.Event(), threading.Event()

    def waiting(message: str) -> None:
        told.append(message)
        asked.set()

    def second_run() -> None:
        with exclusive(link, on_wait=waiting):
            through.set()

    with exclusive(store):
        runner = threading.Thread(target=second_run)
        runner.start()
        assert asked.wait(10) and not through.is_set()
    assert through.wait(10)
    runner.join()
    assert told == ["另一个 xltool 正在使用 y.db，等待其完成……"]


def test_a_run_through_a_link_keeps_its_copies_beside_the_real_store(
        issued: list[IssuedWorkbook], tmp_path: Path) -> None:
    store = tmp_path / "x.db"
    elsewhere = tmp_path / "desk"
    elsewhere.mkdir()
    link = _symlink(elsewhere / "office.db", store)
    values = complete_values(store, issued[0].template_id)
    first = fill_with_openpyxl(issued[0].path, values, tmp_path / "first.xlsx")
    values["XT_P01_C01_R01_VALUE"] = "≥7次"
    second = fill_with_openpyxl(issued[0].path, values, tmp_path / "second.xlsx")
    collect([first], store=store)
    [outcome] = collect([second], store=link).files
    assert outcome.status == "accepted"
    assert not (elsewhere / "office.files").exists()
    kept = sorted(p.name for p in (tmp_path / "x.files").rglob("*.xlsx"))
    assert len(kept) == 2
    with open_store(link) as opened:
        assert opened.path == store.resolve()
        assert {Path(f.stored_path).parent.parent for f in opened.received_files()} == {
            (tmp_path / "x.files").resolve()}


def test_a_link_to_a_store_not_yet_made_makes_it_where_the_link_points(tmp_path: Path) -> None:
    target = tmp_path / "share" / "x.db"
    target.parent.mkdir()
    link = _symlink(tmp_path / "x.db", target)
    with open_store(link) as store:
        assert store.path == target.resolve()
    assert target.is_file() and link.is_symlink()


def test_a_store_with_a_second_hard_link_is_refused_untouched(
        issued: list[IssuedWorkbook], tmp_path: Path) -> None:
    store = tmp_path / "x.db"
    other = tmp_path / "inbox" / "y.db"
    other.parent.mkdir()
    try:
        os.link(store, other)
    except OSError:
        pytest.skip("no hard links on this file system")
    before = store.read_bytes()
    for name in (store, other):
        with pytest.raises(StoreError, match="硬链接"), open_store(name):
            pass
    with pytest.raises(StoreError, match="另一个名字"):
        collect([issued[0].path], store=other)
    assert store.read_bytes() == before
    assert not (tmp_path / "inbox" / "y.files").exists() and not (tmp_path / "x.files").exists()
    other.unlink()
    with open_store(store) as opened:  # one name again: usable
        assert opened.received_files() == []


def test_a_draft_a_killed_creation_left_linked_is_removed(tmp_path: Path) -> None:
    store = tmp_path / "x.db"
    with open_store(store):
        pass
    draft = tmp_path / ".x.db.4242.new"
    try:
        os.link(store, draft)
    except OSError:
        pytest.skip("no hard links on this file system")
    with open_store(store) as opened:
        assert opened.templates() == []
    assert not draft.exists()


def test_a_store_made_on_a_share_takes_returns(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    _on_share(monkeypatch)
    ledger = write_ledger(tmp_path / "ledger.csv", [ledger_row("001-01", "办公经费")])
    [workbook] = issue_templates(ledger, tmp_path / "templates", store=tmp_path / "x.db").workbooks
    values = complete_values(tmp_path / "x.db", workbook.template_id)
    filled = fill_with_openpyxl(workbook.path, values, tmp_path / "return.xlsx")
    [outcome] = collect([filled], store=tmp_path / "x.db").files
    assert outcome.status == "accepted"
    assert _journal(tmp_path / "x.db") == "delete"
    assert len(_notices(caplog)) == 1  # when the store was made, never again
