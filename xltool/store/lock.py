"""One writing run per store at a time."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from xltool.store.place import real_path


@contextmanager
def exclusive(path: Path | str, on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
    """One writing run per store at a time: a second run waits, and says so, until the first ends.

    SQLite would interleave two runs file by file; holding the whole run keeps
    "the later return wins" true and the outcome of each run its own.
    """
    lock_path = lock_file(path)
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        if not _try_lock(fd):
            if on_wait:
                on_wait(f"另一个 xltool 正在使用 {Path(path).name}，等待其完成……")
            _lock(fd)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def lock_file(path: Path | str) -> Path:
    """The lock of the store at PATH: `NAME.lock` beside the store's real file, whatever
    name the store was given by (a link, `./x.db` or an absolute path, another case).

    Why a file of its own, named from the real path:
    - not the database file itself: SQLite locks byte ranges of it, and on Windows a lock
      is mandatory (another process's reads of the range fail), while on NFS Linux turns a
      whole-file `flock` into a byte-range lock that would stop SQLite's readers;
    - not a name made from the file's device and inode: two computers see different device
      numbers for one share (and SMB makes inode numbers up), so each would lock its own
      file; the name beside the real file is one file on the server for every computer;
    - a hard link is a second real name that no lock can join, and SQLite's journal follows
      the name too: `open_store` refuses a store file with more than one name.
    """
    real = real_path(path)
    return real.with_name(real.name + ".lock")


def _try_lock(fd: int) -> bool:
    if sys.platform == "win32":  # pragma: no cover - Windows offices
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _lock(fd: int) -> None:
    if sys.platform == "win32":  # pragma: no cover - Windows offices
        while not _try_lock(fd):
            time.sleep(0.5)
        return
    import fcntl

    fcntl.flock(fd, fcntl.LOCK_EX)
