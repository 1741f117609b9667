"""Where a store lies: its one real name, and whether a network file system holds it.

Every run that uses a store must agree on where it is: its lock, SQLite's journal and the
kept copies all lie beside the store's real file, never beside a link to it. And SQLite's
WAL mode needs memory shared by every process that opens the store, which processes on two
computers cannot have: on a network share the store keeps a rollback journal instead.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath

from xltool.errors import StoreError

# File systems another computer (or a virtual machine's host) serves, as Linux's mount table
# names them: a process there may open the store too, and shares no memory with us. 9p and
# virtiofs are the host's folders in WSL2 and virtual machines, where a program on the host
# may open the same file. A file system missing here keeps WAL; one wrongly listed costs
# only speed (the rollback journal is safe everywhere).
NETWORK_FILE_SYSTEMS = frozenset({
    "nfs", "nfs4", "cifs", "smb3", "smbfs", "ncpfs", "afs", "coda", "9p", "virtiofs",
    "vboxsf", "vmhgfs", "prl_fs", "ceph", "glusterfs", "lustre", "gpfs", "beegfs", "ocfs2",
    "gfs2", "orangefs", "davfs", "fuse.sshfs", "fuse.rclone", "fuse.s3fs", "fuse.gcsfuse",
    "fuse.glusterfs", "fuse.ceph-fuse", "fuse.juicefs", "fuse.smbnetfs", "fuse.curlftpfs",
    "fuse.gvfsd-fuse", "fuse.vmhgfs-fuse",
})

_DRIVE_REMOTE = 4  # GetDriveTypeW: a network drive


def real_path(path: Path | str) -> Path:
    """The store's real file: absolute, every symbolic link resolved (on Windows also a
    mapped drive's letter and the name's case). Two names for one store give one path."""
    return Path(path).resolve()


def refuse_second_names(real: Path, shown: Path) -> None:
    """Refuse a store file that has another name (a hard link), before anything is written.

    No lock can make that safe: SQLite keeps its journal beside the name it was opened by,
    so a run through the other name never sees the journal of one killed midway, and reads
    or rolls back a half-written store ("How To Corrupt An SQLite Database File", section
    "Multiple links to the same file"). The kept copies would go to a second folder too.
    A draft of our own that a killed `open_store` linked into place but left is removed.
    """
    if os.stat(real).st_nlink <= 1:
        return
    _remove_own_drafts(real)
    if os.stat(real).st_nlink > 1:
        raise StoreError(
            f"{shown}: 这个存储文件还有另一个名字（硬链接），经由两个名字使用会损坏存储；"
            f"文件未被改动。请删除另一个名字，或把 {real.name} 复制一份、再用副本替换它"
            "（名字不变），然后重新运行")


def new_store_draft(real: Path) -> Path:
    """Where a new store at REAL is made before it is placed: a hidden name of this process."""
    return real.with_name(f".{real.name}.{os.getpid()}.new")


def _remove_own_drafts(real: Path) -> None:
    """Drafts (`new_store_draft`) that are the store itself: their creator was stopped
    between placing the store and removing the draft's name."""
    prefix, store = f".{real.name}.", os.stat(real)
    with os.scandir(real.parent) as entries:
        drafts = [e for e in entries if e.name.startswith(prefix) and e.name.endswith(".new")]
    for draft in drafts:
        found = draft.stat(follow_symlinks=False)
        if (found.st_dev, found.st_ino) == (store.st_dev, store.st_ino):
            Path(draft.path).unlink(missing_ok=True)


def network_share(real: Path) -> str | None:
    """The network file system holding REAL (a store's real path) — its type, as the
    system names it — or None: a local disk, or a system where it cannot be told (macOS)."""
    if sys.platform == "win32":  # pragma: no cover - Windows offices
        return "网络驱动器" if windows_remote(PureWindowsPath(real), _drive_type) else None
    if sys.platform.startswith("linux"):
        kind = mount_type(mount_table(), PurePosixPath(real))
        return kind if kind in NETWORK_FILE_SYSTEMS else None
    return None


def windows_remote(path: PureWindowsPath, drive_type: Callable[[str], int]) -> bool:
    """Whether PATH is on a network share: a UNC path (\\\\server\\share\\…), or a drive
    letter Windows says is a network drive (DRIVE_TYPE of "Z:\\")."""
    if path.drive.startswith("\\\\"):
        return True
    return bool(path.drive) and drive_type(path.drive + "\\") == _DRIVE_REMOTE


def _drive_type(root: str) -> int:  # pragma: no cover - Windows offices
    import ctypes

    return int(ctypes.windll.kernel32.GetDriveTypeW(root))  # type: ignore[attr-defined,unused-ignore]


@dataclass(frozen=True)
class Mount:
    """One line of Linux's /proc/self/mountinfo: what is mounted where."""

    device: str
    """major:minor, as `os.stat` gives st_dev."""
    point: PurePosixPath
    type: str
    """The file system's type, with its FUSE subtype: "ext4", "cifs", "fuse.sshfs"."""


def mounts(mountinfo: str) -> list[Mount]:
    """The mounts MOUNTINFO lists (the text of /proc/self/mountinfo), in its order.

    A line is `ID PARENT MAJOR:MINOR ROOT POINT OPTIONS [OPTIONAL…] - TYPE SOURCE …`; the
    optional fields vary in number, so the type is the field after the lone "-".
    """
    found = []
    for line in mountinfo.splitlines():
        fields = line.split(" ")
        if len(fields) < 8 or "-" not in fields[6:]:
            continue
        separator = fields.index("-", 6)
        if separator + 1 < len(fields):
            found.append(Mount(fields[2], PurePosixPath(_unescape(fields[4])),
                               fields[separator + 1]))
    return found


def _unescape(field: str) -> str:
    r"""The kernel writes a space, tab, newline and backslash in a path as \040 \011 \012
    \134 (octal), so that a line splits on spaces."""
    return _ESCAPED.sub(lambda found: chr(int(found[1], 8)), field)


_ESCAPED = re.compile(r"\\([0-7]{3})")


def mount_type(mountinfo: str, path: PurePosixPath) -> str:
    """The type of the file system holding PATH (absolute, real) by MOUNTINFO: the mount
    with the longest mount point containing PATH; of two at one point, the later one, which
    hides the earlier. "" when none does."""
    best: Mount | None = None
    for mount in mounts(mountinfo):
        if path.is_relative_to(mount.point) and (
                best is None or len(mount.point.parts) >= len(best.point.parts)):
            best = mount
    return best.type if best else ""


def mount_table() -> str:
    """The text of Linux's /proc/self/mountinfo ("" where there is none)."""
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="surrogateescape") as table:
            return table.read()
    except OSError:
        return ""
