"""One writing run per store at a time."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def exclusive(path: Path | str, on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
    """One writing run per store at a time: a second run waits, and says so, until the first ends.

    SQLite would interleave two runs file by file; holding the whole run keeps
    "the later return wins" true and the outcome of each run its own.
    """
    lock_path = Path(path).with_name(Path(path).name + ".lock")
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
