"""The store: one SQLite file that is the office's record of the year.

It holds what was issued (every template, its projects, the profile it was issued with, and
every cell of its forms: the locked cells' issued values and the input cells' names), and
later what was received. Excel sheet protection is not security; this record is the
authority that returns are checked against.

In parts: `schema` (the named migrations that make and update the file), `issued` and
`received` (what was issued, what was received), `chain` (which return is in force for
each department, and why: the rules of the submission chain), `formmap`
(how a template's cells are kept, and read back by `Store.issued_form`), `lock` (one
writing run at a time), `place` (the store's real name, and whether it lies on a network
share), and here opening: a new file is created readable by its owner only (it holds the
sheet passwords); a file that is not an xltool store, is corrupt, comes from a newer xltool
or has a second name (a hard link) is refused and never written to; an older one is
brought up to date. On a network share the store keeps SQLite's rollback journal, not WAL.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from xltool.errors import ProfileNotKept, StoreError
from xltool.store import place
from xltool.store.chain import ChainEntry, Submissions
from xltool.store.formmap import (
    CellColumns,
    FormMapRecord,
    IssuedCell,
    IssuedForm,
    LayoutKey,
    form_map_record,
    layout_fingerprint,
    layout_key,
)
from xltool.store.issued import IssuedTemplates, in_force
from xltool.store.lock import exclusive
from xltool.store.mailreceived import ReceivedMail
from xltool.store.mailsent import Mailing, SentMail
from xltool.store.place import new_store_draft, real_path, refuse_second_names
from xltool.store.received import ReceivedFiles
from xltool.store.records import (
    IssuedFile,
    IssuedProject,
    IssuedTemplate,
    ReceivedFile,
    Status,
)
from xltool.store.reviews import Reviews
from xltool.store.schema import APPLICATION_ID, SCHEMA_VERSION, migrate

__all__ = ["APPLICATION_ID", "SCHEMA_VERSION", "CellColumns", "ChainEntry", "FormMapRecord",
           "IssuedCell", "IssuedFile", "IssuedForm", "IssuedProject", "IssuedTemplate",
           "LayoutKey", "Mailing", "ProfileNotKept", "ReceivedFile", "Status", "Store",
           "StoreError", "exclusive", "form_map_record", "in_force", "layout_fingerprint",
           "layout_key", "open_store"]


class Store(IssuedTemplates, ReceivedFiles, Submissions, SentMail, Reviews, ReceivedMail):
    """An open store: what was issued, what was received, and each department's chain of
    returns. Use `open_store(path)` as a context manager."""

    @contextmanager
    def snapshot(self) -> Iterator[Store]:
        """Reads inside see one state of the store, whatever a writing run commits meanwhile.

        A read transaction (never a write lock): in WAL mode a collect run goes on
        undisturbed; with the rollback journal (a store on a network share) its commits wait
        for the reads to end.
        """
        self.connection.execute("BEGIN DEFERRED")
        try:
            yield self
        finally:
            self.connection.execute("COMMIT")


@contextmanager
def open_store(path: Path | str, *, create: bool = True) -> Iterator[Store]:
    """The store at PATH, opened by its real file (`Store.path`): any name for it — a link,
    `./x.db` or an absolute path — opens one store, with one journal and one copies folder.

    Messages name the store as given. On a network share a new store gets the rollback
    journal, and one in WAL mode is switched to it; either is said once, as a warning on
    the `xltool.store` logger (the command line shows it on stderr).
    """
    shown = Path(path)
    real = real_path(shown)
    network = place.network_share(real)
    if not real.exists():
        if not create:
            raise StoreError(f"{shown}: 没有这个存储文件（先用 xltool template 下发模板）")
        _create(real, wal=network is None)
        if network is not None:
            _say_rollback(shown, network)
    if not real.is_file():
        raise StoreError(f"{shown}: 不是普通文件（文件夹、管道或设备），不能用作存储文件；"
                         "请用 --store 指定一个 .db 文件")
    refuse_second_names(real, shown)
    connection = _connect(real)
    try:
        version = _check(connection, shown)
        journal = _journal(connection, shown, network)
        _bring_up_to_date(connection, shown, version)
        _configure(connection, journal)
        yield Store(connection, real)
    except sqlite3.DatabaseError as error:  # found in use: stop with a message, not a trace
        raise fault(shown, error) from error
    finally:
        connection.close()


_DAMAGED = (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)
_UNCHANGED = "已完成的部分已保存，未完成的部分未写入，重新运行即可继续"
_FAULTS = {
    sqlite3.SQLITE_FULL: "磁盘已满，无法写入存储文件。请腾出磁盘空间后重新运行",
    sqlite3.SQLITE_READONLY: "存储文件或其所在文件夹只读，无法写入。请检查权限，或把存储文件复制到"
                             "可写的位置后用 --store 指定",
    sqlite3.SQLITE_CANTOPEN: "无法打开存储文件（文件夹不可写、路径不存在或被占用）。"
                             "请检查路径和权限",
    sqlite3.SQLITE_IOERR: "读写存储文件时出错（磁盘或网络盘故障）。请检查磁盘后重新运行",
    sqlite3.SQLITE_BUSY: "存储文件正被其他程序占用，等待超时。请关闭其他程序后重新运行",
}


def fault(shown: Path, error: sqlite3.DatabaseError) -> StoreError:
    """What a clerk is told when SQLite stops: damage is damage; a full or read-only disk, a
    missing folder or a failing drive is said as what it is, never as a store unusable."""
    code = getattr(error, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    if code in _DAMAGED:
        return StoreError(f"{shown}: 存储文件已损坏（{error}），已停止；请用备份恢复")
    said = _FAULTS.get(primary or -1, f"读写存储文件失败（{error}）")
    return StoreError(f"{shown}: {said}；{_UNCHANGED}。")


def _connect(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, timeout=60, isolation_level=None)


def _configure(connection: sqlite3.Connection, journal: str) -> None:
    connection.execute("PRAGMA foreign_keys = ON")
    # WAL with NORMAL: a commit is atomic and a crash never corrupts the store; after a
    # power cut the last commits may be undone, and a re-run collects those files again.
    # The rollback journal needs FULL for as much: with NORMAL a power cut at the wrong
    # moment can corrupt the file (SQLite's documentation of PRAGMA synchronous).
    connection.execute(f"PRAGMA synchronous = {'NORMAL' if journal == 'wal' else 'FULL'}")


_log = logging.getLogger(__name__)


def _journal(connection: sqlite3.Connection, shown: Path, network: str | None) -> str:
    """The store's journal mode, once it suits where the store lies.

    WAL keeps its index in memory that every process opening the store maps from the
    `-shm` file, which processes on two computers cannot share: SQLite documents WAL as
    unsafe on a network file system. There the store keeps the rollback journal (a store
    in WAL mode is switched, which SQLite does only when no other connection has it open).
    A store is never switched back: the rollback journal is safe anywhere, and a store
    taken home from the share and brought back must not switch to and fro.
    """
    journal = str(_pragma(connection, "journal_mode"))
    if network is None or journal != "wal":
        return journal
    try:
        journal = str(_pragma(connection, "journal_mode = DELETE"))
    except sqlite3.OperationalError as error:
        if getattr(error, "sqlite_errorcode", None) != sqlite3.SQLITE_BUSY:
            raise
    if journal == "wal":  # another connection has it open: SQLite refused the switch
        raise StoreError(
            f"{shown}: 存储文件在网络共享盘上（{network}），需要改用回滚日志，"
            "但另一个程序正打开着它；文件未被改动。请等其他计算机上的 xltool 或数据库工具"
            "用完后重新运行")
    _say_rollback(shown, network)
    return journal


def _say_rollback(shown: Path, network: str) -> None:
    _log.warning(f"{shown}: 存储文件在网络共享盘上（{network}），使用 SQLite 的回滚日志而非 WAL"
                 "（WAL 需要各程序共享内存，跨计算机不安全）。可以照常使用：同一时间仍只有一个 "
                 "xltool 写入，其他计算机上的读取在写入时会稍等片刻。")


def _create(path: Path, *, wal: bool) -> None:
    """A new store appears complete or not at all, owner-only from the first byte; in WAL
    mode, or in SQLite's default rollback journal (on a network share: see `_journal`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = new_store_draft(path)
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)
    try:
        connection = _connect(draft)
        try:
            connection.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            if wal:
                connection.execute("PRAGMA journal_mode = WAL")
            migrate(connection)
        finally:
            connection.close()
        _place_new(draft, path)
    finally:
        draft.unlink(missing_ok=True)


def _place_new(draft: Path, path: Path) -> None:
    """DRAFT at PATH, unless another process created PATH meanwhile."""
    try:
        os.link(draft, path)
    except FileExistsError:
        return
    except OSError:  # no hard links here: FAT and exFAT drives, some network shares
        # on Windows a rename never replaces a file; elsewhere `template` creates a store
        # holding `exclusive`, so no other run can be creating it meanwhile
        if not path.exists():
            with contextlib.suppress(FileExistsError):
                os.rename(draft, path)


def _check(connection: sqlite3.Connection, path: Path) -> int:
    """Refuse, before any write, what is not ours; the schema version of what is."""
    try:
        application_id = _pragma(connection, "application_id")
        version = _pragma(connection, "user_version")
        # every page read once (about a millisecond a megabyte): damage is found before the work
        intact = application_id != APPLICATION_ID or _pragma(connection, "quick_check") == "ok"
    except sqlite3.DatabaseError as error:
        if getattr(error, "sqlite_errorcode", None) not in _DAMAGED:
            raise fault(path, error) from error
        raise StoreError(f"{path}: 不是可用的 xltool 存储文件（{error}），文件未被改动") from error
    if application_id != APPLICATION_ID:
        raise StoreError(f"{path}: 不是 xltool 的存储文件，文件未被改动")
    if not intact:
        raise StoreError(f"{path}: 存储文件已损坏（完整性检查未通过），文件未被改动；请用备份恢复")
    if version > SCHEMA_VERSION:
        raise StoreError(f"{path}: 由更新版本的 xltool 创建（第{version}版结构），请升级 xltool")
    return int(version)


def _bring_up_to_date(connection: sqlite3.Connection, path: Path, version: int) -> None:
    if version < SCHEMA_VERSION:
        try:
            migrate(connection)
        except StoreError as error:
            raise StoreError(f"{path}: {error}") from error


def _pragma(connection: sqlite3.Connection, name: str) -> Any:
    return connection.execute(f"PRAGMA {name}").fetchone()[0]
