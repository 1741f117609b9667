"""The store: one SQLite file that is the office's record of the year.

It holds what was issued (every template, its projects, the profile it was issued with, and
every cell of its forms: the locked cells' issued values and the input cells' names), and
later what was received. Excel sheet protection is not security; this record is the
authority that returns are checked against.

In parts: `schema` (the named migrations that make and update the file), `issued` and
`received` (what was issued, what was received: the two halves of `Store`), `formmap`
(how a template's cells are kept, and read back by `Store.issued_form`), `lock` (one
writing run at a time), and here opening: a new file is created readable by its owner only
(it holds the sheet passwords); a file that is not an xltool store, is corrupt, or comes
from a newer xltool is refused and never written to; an older one is brought up to date.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from xltool.errors import ProfileNotKept, StoreError
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
from xltool.store.received import ReceivedFiles
from xltool.store.records import IssuedProject, IssuedTemplate, ReceivedFile, Status
from xltool.store.schema import APPLICATION_ID, SCHEMA_VERSION, migrate

__all__ = ["APPLICATION_ID", "SCHEMA_VERSION", "CellColumns", "FormMapRecord", "IssuedCell",
           "IssuedForm", "IssuedProject", "IssuedTemplate", "LayoutKey", "ProfileNotKept",
           "ReceivedFile", "Status", "Store", "StoreError", "exclusive", "form_map_record",
           "in_force", "layout_fingerprint", "layout_key", "open_store"]


class Store(IssuedTemplates, ReceivedFiles):
    """An open store: what was issued and what was received. Use `open_store(path)` as a
    context manager."""

    @contextmanager
    def snapshot(self) -> Iterator[Store]:
        """Reads inside see one state of the store, whatever a writing run commits meanwhile.

        A read transaction (never a write lock): a collect run goes on undisturbed.
        """
        self.connection.execute("BEGIN DEFERRED")
        try:
            yield self
        finally:
            self.connection.execute("COMMIT")


@contextmanager
def open_store(path: Path | str, *, create: bool = True) -> Iterator[Store]:
    path = Path(path)
    if not path.exists():
        if not create:
            raise StoreError(f"{path}: 没有这个存储文件（先用 xltool template 下发模板）")
        _create(path)
    connection = _connect(path)
    try:
        _check(connection, path)
        _configure(connection)
        yield Store(connection, path)
    except sqlite3.DatabaseError as error:  # damage found in use: stop with a message
        if getattr(error, "sqlite_errorcode", None) not in _DAMAGED:
            raise
        raise StoreError(f"{path}: 存储文件已损坏（{error}），已停止；请用备份恢复") from error
    finally:
        connection.close()


_DAMAGED = (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)


def _connect(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, timeout=60, isolation_level=None)


def _configure(connection: sqlite3.Connection) -> None:
    connection.execute("PRAGMA foreign_keys = ON")
    # WAL with NORMAL: a commit is atomic and a crash never corrupts the store; after a
    # power cut the last commits may be undone, and a re-run collects those files again.
    connection.execute("PRAGMA synchronous = NORMAL")


def _create(path: Path) -> None:
    """A new store appears complete or not at all, owner-only from the first byte."""
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}.new")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)
    try:
        connection = _connect(draft)
        try:
            connection.execute(f"PRAGMA application_id = {APPLICATION_ID}")
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


def _check(connection: sqlite3.Connection, path: Path) -> None:
    """Refuse, before any write, what is not ours; bring an older store of ours up to date."""
    try:
        application_id = _pragma(connection, "application_id")
        version = _pragma(connection, "user_version")
        # every page read once (about a millisecond a megabyte): damage is found before the work
        intact = application_id != APPLICATION_ID or _pragma(connection, "quick_check") == "ok"
    except sqlite3.DatabaseError as error:
        raise StoreError(f"{path}: 不是可用的 xltool 存储文件（{error}），文件未被改动") from error
    if application_id != APPLICATION_ID:
        raise StoreError(f"{path}: 不是 xltool 的存储文件，文件未被改动")
    if not intact:
        raise StoreError(f"{path}: 存储文件已损坏（完整性检查未通过），文件未被改动；请用备份恢复")
    if version > SCHEMA_VERSION:
        raise StoreError(f"{path}: 由更新版本的 xltool 创建（第{version}版结构），请升级 xltool")
    if version < SCHEMA_VERSION:
        try:
            migrate(connection)
        except StoreError as error:
            raise StoreError(f"{path}: {error}") from error


def _pragma(connection: sqlite3.Connection, name: str) -> Any:
    return connection.execute(f"PRAGMA {name}").fetchone()[0]
