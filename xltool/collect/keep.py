"""Kept copies: every received file, kept beside the store under its content hash.

A copy is complete or absent, and durable before the record that names it is
written. It is made in two steps: `write_draft` writes its bytes under a hidden
name beside the copy's place, and `make_durable` syncs drafts, renames them
into place and syncs their folders. The second step takes many drafts
together: one sync of the disk serves them all, and `Keeper` runs it on a
thread of its own while the next files are read.

A file received again finds its copy there: it is left as it is when its bytes
still hash to its name, and written again (the same two steps) when it was lost
or changed since, so collecting the file again repairs what `verify` reports.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import platform
import queue
import re
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

from xltool.outputs import copies_folder
from xltool.store.place import mount_table, mounts, real_path

# Copies made durable together: one sync of the disk for a group costs little more than
# for one copy. A copy waits for others only briefly.
GROUP_FILES = 16
GROUP_WAIT = 0.1

CHUNK = 1 << 20  # a copy read back is hashed a chunk at a time, never held whole


def files_dir(store_path: Path) -> Path:
    return copies_folder(store_path)  # one place for it: no command may write in there


def copy_path(store_path: Path, sha: str, suffix: str) -> Path:
    """Where the copy of a file with hash SHA is kept: by content, so never twice."""
    return files_dir(store_path) / sha[:2] / f"{sha}{suffix}"


def _draft_path(target: Path) -> Path:
    """The copy's name behind a dot, and the writing process's id (two workers may write
    drafts of one file at once)."""
    return target.with_name(f".{target.name}.{os.getpid()}")


_DRAFT_NAME = re.compile(r"\.[0-9a-f]{64}[^/\\]*\.[0-9]+")  # as `_draft_path` makes them


def remove_stale_drafts(store_path: Path) -> int:
    """Remove the drafts a killed run left beside the copies; how many there were. Call it
    only holding the store (`exclusive`): no other run can be writing drafts then."""
    folder = files_dir(real_path(store_path))  # beside the real file, as `Store.path` is
    if not folder.is_dir():
        return 0
    with os.scandir(folder) as entries:
        subfolders = [e.path for e in entries if e.is_dir(follow_symlinks=False)]
    stale = []
    for subfolder in subfolders:
        with os.scandir(subfolder) as entries:
            stale += [e.path for e in entries
                      if _DRAFT_NAME.fullmatch(e.name) and e.is_file(follow_symlinks=False)]
    for path in stale:
        Path(path).unlink(missing_ok=True)
    return len(stale)


@dataclass(frozen=True)
class Draft:
    """A copy written but not yet durable: its bytes at PATH, beside TARGET. No path when
    the copy was kept before and is intact; ERROR when the writing failed (raised by
    `make_durable`)."""

    target: Path
    path: Path | None = None
    error: OSError | None = None


def write_draft(target: Path, data: bytes) -> Draft:
    """DATA written under a hidden name beside TARGET, unless TARGET is kept already and
    intact. A copy lost or changed since is written again as a new one is, and renamed over
    the changed one: collecting the same file again repairs it."""
    if _intact(target):
        return Draft(target)
    draft = _draft_path(target)
    try:
        fd = _new_draft(draft)
        try:
            _write_all(fd, data)
        finally:
            os.close(fd)
    except OSError as error:
        return Draft(target, error=error)
    return Draft(target, draft)


_HASH = re.compile(r"[0-9a-f]{64}")  # a copy's name: its hash (`copy_path`), then a suffix


def _intact(target: Path) -> bool:
    """Whether the copy at TARGET holds the bytes its name's hash says. It is read back to
    tell: only a file received before finds its copy there, and that is uncommon. A copy
    that cannot be read counts as changed (it is written again, or the error is raised)."""
    expected = target.name[:64]
    if not _HASH.fullmatch(expected):  # not named by its hash: nothing to check it against
        return target.exists()
    if not target.is_file():  # missing, or no file to read (a pipe would never end)
        return False
    digest = hashlib.sha256()
    try:
        with target.open("rb") as copy:
            while chunk := copy.read(CHUNK):
                digest.update(chunk)
    except OSError:  # gone meanwhile, or unreadable
        return False
    return digest.hexdigest() == expected


def make_durable(drafts: Sequence[Draft]) -> None:
    """Each draft's bytes synced, the draft renamed into place, and its folder synced: a copy
    is complete or absent, and durable when this returns. A failed draft raises its error
    and leaves the group's copies unplaced."""
    for draft in drafts:
        if draft.error is not None:
            raise draft.error
    placed: dict[Path, Path] = {}
    spare: list[Path] = []  # a second draft of one copy (two processes wrote it)
    for draft in drafts:
        if draft.path is None:
            continue
        if placed.setdefault(draft.target, draft.path) != draft.path:
            spare.append(draft.path)
    _sync_contents(list(placed.values()))
    for target, path in placed.items():
        _place(path, target)
    for path in spare:
        path.unlink(missing_ok=True)
    # the names too (also those an interrupted run renamed into place but left unsynced)
    _sync_names(list(dict.fromkeys(draft.target.parent for draft in drafts)))


# Waits between tries to rename a draft that another program holds open: on Windows a virus
# scanner opens each new file as it is written, and the rename fails until it lets go.
RENAME_WAITS = (0.01, 0.03, 0.1, 0.3, 0.6)


def _place(draft: Path, target: Path) -> None:
    for wait in (*RENAME_WAITS, None):
        try:
            os.replace(draft, target)
            return
        except PermissionError:
            if wait is None:
                raise
            time.sleep(wait)


def keep_copies(copies: Sequence[tuple[Path, bytes]]) -> None:
    """Each copy written and made durable, together."""
    make_durable([write_draft(target, data) for target, data in copies])


def keep_copy(target: Path, data: bytes) -> Path:
    keep_copies([(target, data)])
    return target


_Copy = Draft | tuple[Path, bytes]  # a draft written already, or a copy's place and bytes


class _Flush:
    """Handed to the keeping thread: keep what is waiting now."""


_FLUSH = _Flush()


class Keeper:
    """Makes copies durable on a thread of its own, GROUP_FILES at a time: a copy waits at
    most GROUP_WAIT seconds for others to join it. Leaving the `with` block waits for every
    copy handed over.

    A copy is handed over as its bytes (`submit`: the thread writes the draft, so the
    reading never waits on the disk's journal while a group is being synced) or as a
    draft another process wrote (`submit_draft`)."""

    def __init__(self, most: int = GROUP_FILES, patience: float = GROUP_WAIT) -> None:
        self.most = most
        self.patience = patience
        self._waiting: queue.SimpleQueue[tuple[_Copy, Future[Path]] | _Flush | None] = \
            queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="keep-copy", daemon=True)

    def __enter__(self) -> Keeper:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._waiting.put(None)
        self._thread.join()

    def submit(self, target: Path, data: bytes) -> Future[Path]:
        """TARGET, once its copy of DATA is durable."""
        return self._put((target, data))

    def submit_draft(self, draft: Draft) -> Future[Path]:
        """The draft's target, once the draft is made durable there."""
        return self._put(draft)

    def flush(self) -> None:
        """Keep the copies handed over so far without waiting for more: none are coming."""
        self._waiting.put(_FLUSH)

    def _put(self, copy: _Copy) -> Future[Path]:
        future: Future[Path] = Future()
        self._waiting.put((copy, future))
        return future

    def _run(self) -> None:
        ending = False
        while not ending:
            group, ending = self._group()
            self._keep(group)

    def _group(self) -> tuple[list[tuple[_Copy, Future[Path]]], bool]:
        """The copies to make durable together, and whether the run has ended."""
        group: list[tuple[_Copy, Future[Path]]] = []
        item = self._waiting.get()
        until = time.monotonic() + self.patience
        while item is not None:
            if isinstance(item, _Flush):
                return group, False
            group.append(item)
            left = until - time.monotonic()
            if len(group) >= self.most or left <= 0:
                return group, False
            try:
                item = self._waiting.get(timeout=left)
            except queue.Empty:
                return group, False
        return group, True

    @staticmethod
    def _keep(group: list[tuple[_Copy, Future[Path]]]) -> None:
        if not group:
            return
        try:
            drafts = [copy if isinstance(copy, Draft) else write_draft(*copy)
                      for copy, _ in group]
            make_durable(drafts)
        except BaseException as error:  # each record waiting on one of these re-raises it
            for _, future in group:
                future.set_exception(error)
            return
        for draft, (_, future) in zip(drafts, group, strict=True):
            future.set_result(draft.target)


def _new_draft(draft: Path) -> int:
    # binary on Windows, where a descriptor opened without it turns every \n written into \r\n
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0)
    try:
        return os.open(draft, flags, 0o600)
    except FileNotFoundError:  # the first copy in this folder: make it, once
        _make_folder(draft.parent)
        return os.open(draft, flags, 0o600)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _sync_contents(paths: list[Path]) -> None:
    if not paths:
        return
    syncfs = _syncfs_for(paths[0].parent)
    if syncfs is not None:
        _on_folder(paths[0].parent, syncfs)
        return
    for path in paths:
        fd = os.open(path, os.O_RDWR)  # written to: Windows flushes only a writable handle
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _sync_names(folders: list[Path]) -> None:
    syncfs = _syncfs_for(folders[0]) if folders else None
    if syncfs is None:
        for folder in folders:
            _sync_folder(folder)
        return
    _on_folder(folders[0], syncfs)


def _on_folder(folder: Path, syncfs: Callable[[int], int]) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        _check(syncfs(fd))
    finally:
        os.close(fd)


# Local file systems whose syncfs commits their journal (or tree) as fsync does. A network or
# user-space one (NFS, SMB, 9p, FUSE) may write its data back without making it durable on
# the server, so there every copy is fsynced.
SYNCFS_FILE_SYSTEMS = frozenset({"ext3", "ext4", "xfs", "btrfs", "f2fs", "overlay"})


def _syncfs_for(folder: Path) -> Callable[[int], int] | None:
    """syncfs for the file system FOLDER lies on, when it can stand in for fsync there."""
    syncfs = _syncfs()
    if syncfs is None or _file_system(os.stat(folder).st_dev) not in SYNCFS_FILE_SYSTEMS:
        return None
    return syncfs


@functools.cache
def _file_system(device: int) -> str:
    """The type of the file system mounted from DEVICE, as /proc/self/mountinfo names it
    ("" when it cannot be told)."""
    wanted = f"{os.major(device)}:{os.minor(device)}"
    return next((mount.type for mount in mounts(mount_table()) if mount.device == wanted), "")


@functools.cache
def _syncfs() -> Callable[[int], int] | None:
    """Linux's syncfs(2), which makes everything written to one file system durable in one
    commit of its journal: a group of copies costs about a third of syncing each one (and
    its folder) in turn. Used from Linux 5.8 only, the first to report a failed write-back
    through it as fsync does; elsewhere, and where the C library lacks it, None."""
    if sys.platform != "linux" or _kernel_release() < (5, 8):
        return None
    try:
        function = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        return None
    function.argtypes, function.restype = [ctypes.c_int], ctypes.c_int
    return function


def _kernel_release() -> tuple[int, int]:
    found = re.match(r"(\d+)\.(\d+)", platform.release())
    return (int(found.group(1)), int(found.group(2))) if found else (0, 0)


def _check(result: int) -> None:
    if result != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))


def _make_folder(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    if _syncfs_for(folder) is None:  # else the group's sync of its names makes them durable
        _sync_folder(folder.parent)
        _sync_folder(folder.parent.parent)


def _sync_folder(folder: Path) -> None:
    """Make the names in FOLDER durable (POSIX; Windows journals them with the file)."""
    if os.name != "posix":  # pragma: no cover - Windows offices
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
