"""What a command may never write over, checked before it does any work.

A command reads its inputs (the ledger, a prefill workbook, the returns) and the
store, with the files that live beside it: SQLite's `-wal`, `-shm` and
`-journal`, the lock that keeps one writing run at a time, and the folder of
every received file's copy. An output that is one of those under another name
— `./xltool.db`, a symlink, a hard link, a second mount — would destroy what
the office keeps. So paths are compared as files, not as names: by device and
inode where the file exists, by the real path (links resolved) where it does
not yet. Every command that writes calls `refuse_clobbering` with all it will
write and all it reads, and it raises `OutputClobbers` before anything is
written.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from xltool.errors import OutputClobbers

Named = tuple[Path | str, str]
"""A path and what it is, in the words of the message a clerk reads: (ledger, "预算台账")."""


def copies_folder(store: Path | str) -> Path:
    """Where the copies of received files are kept: `xltool.files` beside `xltool.db`."""
    path = Path(store)
    return path.with_name(path.stem + ".files")


def store_files(store: Path | str) -> list[Named]:
    """The store and what is kept beside it under its name (the copies folder last)."""
    path = Path(store)
    companions: list[Named] = [(path, "存储文件")]
    companions += [(path.with_name(path.name + suffix), "存储的日志文件")
                   for suffix in ("-wal", "-shm", "-journal")]
    # As `xltool.store.lock` names it.
    companions.append((path.with_name(path.name + ".lock"), "存储的锁文件"))
    companions.append((copies_folder(path), "存储保存收到文件副本的文件夹"))
    return companions


def refuse_clobbering(*, files: Sequence[Named] = (), folders: Sequence[Named] = (),
                      reads: Iterable[Named] = (), store: Path | str | None = None) -> None:
    """Raise `OutputClobbers` when a file to be written (FILES) is a file read (READS), the
    store or one of its files, or another of FILES, or lies in the store's copies folder;
    or when a folder written into (FOLDERS) is one of those files or in the copies folder.

    Call it before any work: it only looks (a `stat` per path and per folder above it).
    """
    guarded = _Guarded()
    for path, what in reads:
        guarded.add(Path(path), what)
    if store is not None:  # its files lie beside the name it is given by, or its real file's
        for name in dict.fromkeys((Path(store), Path(store).resolve())):
            *kept, (copies, what) = store_files(name)
            for path, kind in kept:
                guarded.add(Path(path), kind)
            guarded.add(Path(copies), what, folder=True)
    for path, what in folders:
        guarded.refuse(Path(path), what)
    for path, what in files:
        guarded.refuse(Path(path), what)
        guarded.add(Path(path), what)  # the next file may not be this one either


class _Guarded:
    """Paths not to be written over, by identity; and folders not to be written into."""

    def __init__(self) -> None:
        self.files: dict[object, tuple[Path, str]] = {}
        self.folders: dict[object, tuple[Path, str]] = {}

    def add(self, path: Path, what: str, *, folder: bool = False) -> None:
        key = _identity(path)
        self.files.setdefault(key, (path, what))
        if folder:
            self.folders.setdefault(key, (path, what))

    def refuse(self, output: Path, what: str) -> None:
        if (same := self.files.get(_identity(output))) is not None:
            raise OutputClobbers(output, what, *same)
        if self.folders:
            for folder in output.resolve().parents:
                if (holding := self.folders.get(_identity(folder))) is not None:
                    raise OutputClobbers(output, what, *holding, inside=True)


def _identity(path: Path) -> object:
    """The file PATH names: its device and inode when it exists, else its real path.

    Some file systems (FAT, a few network shares) give no inode: the real path then.
    """
    try:
        status = path.stat()
    except OSError:  # not there yet, or not reachable: where it would be
        status = None
    if status is not None and status.st_ino:
        return (status.st_dev, status.st_ino)
    return os.path.normcase(path.resolve())
