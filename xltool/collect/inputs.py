"""What `collect` takes from the paths it is given: files named, folders searched, globs.

A file named by itself is always examined: the clerk asked for it. A folder (or a glob)
holds more than returns — scans of stamped pages, Word files, logs, last round's feedback,
now and then the store itself — so of what it holds only spreadsheets are taken: by name
(`SPREADSHEET_SUFFIXES`), or, for a name that says neither (`报送表`, `附件1.dat`), by
their first eight bytes, those of a zip or an OLE file as every spreadsheet begins. The
rest is listed with the reason it was left (`xltool.codes.Skip`) and never recorded:

- the scratch files programs leave beside returns (`is_scratch_file`);
- files that are no spreadsheet by name or by their first bytes;
- symbolic links, to files or folders: never followed (a link to `/proc/self/environ`
  is not a return, and what it shows must not end up in the store's copies);
- the drafts xltool writes its outputs under, left by a killed run (finished outputs are
  known once opened, by their `xltool.output` property: `xltool.collect.run`);
- the store's own files, known as files (device and inode), never by their names: a
  return named `2024年_001.xlsx` beside a store named `2024年` is a return.

Listing costs one `lstat` per entry (the oldest-first order needs it anyway) and, for a
file whose name says nothing, a read of its first eight bytes: a 10 GB file costs nothing.
"""

from __future__ import annotations

import glob
import os
import re
import stat
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from xltool.atomic import is_draft
from xltool.codes import (
    SKIPPED_NOT_SPREADSHEET,
    SKIPPED_OWN_OUTPUT,
    SKIPPED_SCRATCH,
    SKIPPED_STORE_FILE,
    SKIPPED_SYMLINK,
    Skip,
)
from xltool.collect.archive import OLE_MAGIC, ZIP_MAGIC
from xltool.errors import NoInput
from xltool.outputs import store_files
from xltool.text import shown_path

# What Excel, WPS (`.et`) and LibreOffice save a return as.
SPREADSHEET_SUFFIXES = frozenset({".xlsx", ".xlsm", ".xls", ".xlsb", ".ods", ".et"})
# Documents of other programs that begin as a spreadsheet does (a zip, an OLE file): their
# names tell them apart, their first bytes cannot.
OTHER_DOCUMENTS = frozenset({
    ".doc", ".docx", ".docm", ".dot", ".dotx", ".dotm", ".wps", ".wpt", ".odt", ".ott",
    ".ppt", ".pptx", ".pptm", ".pps", ".ppsx", ".pot", ".potx", ".dps", ".dpt", ".odp",
    ".odg", ".vsd", ".vsdx", ".msg", ".ofd", ".xps", ".oxps", ".epub", ".zip", ".jar",
    ".apk",
})
SNIFFED_BYTES = len(OLE_MAGIC)

# Files the programs around a return leave beside it, never returns themselves: the owner
# file Excel and WPS write while a workbook is open (~$name.xlsx), LibreOffice's lock, and
# the folder files of Windows and macOS.
_SCRATCH = re.compile(r"~\$.*|\.~lock\..*#|Thumbs\.db|desktop\.ini|\.DS_Store|\._.*",
                      re.IGNORECASE)


def is_scratch_file(path: Path) -> bool:
    return _SCRATCH.fullmatch(path.name) is not None


@dataclass(frozen=True)
class Inputs:
    files: list[Path]
    """To examine, oldest first, as returns arrived."""
    found: frozenset[Path]
    """Those of FILES found in a folder or by a glob, not named: xltool's own outputs among
    them are left out once opened."""
    skipped: dict[Path, Skip]
    """What the folders and globs held that is not examined, by path, with the reason."""


def find_inputs(paths: Sequence[Path | str], *, exclude: Path | None = None) -> Inputs:
    """The files among PATHS (files, folders searched recursively, globs), and what the
    folders and globs held that is left out (see the module's docstring).

    EXCLUDE is the store: its files are never taken, even when named.
    """
    listing = _Listing(_StoreFiles(exclude))
    for given in paths:
        for match, named in _matches(Path(given)):
            if named:
                listing.named(match, given)
            else:
                listing.found(match)
    if not listing.taken:
        raise NoInput("没有可收取的文件：" + "、".join(shown_path(p) for p in paths)
                      + _skipped_note(listing.skipped))
    files = sorted(listing.taken, key=lambda p: (listing.taken[p], str(p)))
    return Inputs(files, frozenset(listing.from_folders),
                  dict(sorted(listing.skipped.items())))


def _skipped_note(skipped: dict[Path, Skip]) -> str:
    if not skipped:
        return ""
    counts = Counter(skipped.values())
    return (f"（已跳过 {len(skipped)} 个文件："
            + "、".join(f"{reason.label} {count} 个" for reason, count in counts.items()) + "）")


def _matches(given: Path) -> list[tuple[Path, bool]]:
    """GIVEN itself, named, when it exists (a name may hold [ ] or *); else what it
    matches as a glob (Windows' shell leaves globs to the program), each found, not named;
    none is an error, as a missing file."""
    if os.path.lexists(given) or not glob.has_magic(str(given)):
        return [(given, True)]
    matches = [(Path(m), False) for m in glob.glob(str(given), recursive=True)]
    if not matches:
        raise NoInput(f"没有与 {shown_path(given)} 匹配的文件或文件夹")
    return matches


class _StoreFiles:
    """The store's files, known as files: by device and inode, so that a link, a second
    name or another spelling of a path leads to the same; by real path on a file system
    that gives no inode. Both the name the store was given and its real file count: SQLite
    and the lock keep their files beside the real one."""

    def __init__(self, store: Path | None) -> None:
        self.files: set[object] = set()
        self.copies: set[object] = set()
        self.copies_real: list[Path] = []
        self._real_folders: dict[Path, Path] = {}
        if store is None:
            return
        for base in dict.fromkeys((store, store.resolve())):
            *companions, (copies, _) = store_files(base)
            self.files.update(key for path, _ in companions
                              if (key := _identity_of(Path(path))) is not None)
            if (key := _identity_of(Path(copies))) is not None:
                self.copies.add(key)
                self.copies_real.append(Path(copies).resolve())

    def is_own(self, path: Path, status: os.stat_result) -> bool:
        """Whether PATH (STATUS its stat) is one of the store's files."""
        return bool(self.files) and _identity(path, status) in self.files

    def is_copies(self, path: Path, status: os.stat_result) -> bool:
        """Whether the folder PATH (STATUS its lstat) is the store's folder of copies."""
        return bool(self.copies) and _identity(path, status) in self.copies

    def holds(self, path: Path) -> bool:
        """Whether the named PATH lies in the store's folder of copies. Each folder is
        resolved once (thousands of files are often named in a few folders)."""
        if not self.copies_real:
            return False
        if path.is_symlink():
            real = path.resolve()
        else:
            folder = self._real_folders.get(path.parent)
            if folder is None:
                folder = self._real_folders[path.parent] = path.parent.resolve()
            real = folder / path.name
        return any(real.is_relative_to(copies) for copies in self.copies_real)


def _identity_of(path: Path) -> object | None:
    try:
        return _identity(path, path.stat())
    except OSError:  # not there: nothing found in a folder can be it
        return None


def _identity(path: Path, status: os.stat_result) -> object:
    """The file STATUS describes: its device and inode, or its real path where the file
    system gives no inode (FAT, some network shares)."""
    if status.st_ino:
        return (status.st_dev, status.st_ino)
    return os.path.normcase(os.path.realpath(path))


class _Listing:
    """What the paths given hold: files taken (with their time), and files skipped."""

    def __init__(self, own: _StoreFiles) -> None:
        self.own = own
        self.taken: dict[Path, float] = {}
        """Files to examine, with their modification time."""
        self.from_folders: set[Path] = set()
        self.skipped: dict[Path, Skip] = {}

    def named(self, path: Path, given: Path | str) -> None:
        """A path given itself: a file is examined (a link followed: the clerk named it),
        a folder searched."""
        try:
            status = path.stat()
        except OSError:
            status = None
        if status is None or not (stat.S_ISDIR(status.st_mode) or stat.S_ISREG(status.st_mode)):
            raise NoInput(f"找不到文件或文件夹：{shown_path(given)}")
        if self.own.is_own(path, status) or self.own.holds(path):
            self._skip(path, SKIPPED_STORE_FILE)
        elif stat.S_ISDIR(status.st_mode):
            self._search(path)
        else:
            self.taken[path] = status.st_mtime
            self.from_folders.discard(path)
            self.skipped.pop(path, None)

    def found(self, path: Path) -> None:
        """A path a glob matched: as if found in a folder."""
        try:
            status = path.lstat()
        except OSError:  # gone since the glob saw it
            return
        folders: list[Path] = []
        self._entry(path, status, folders)
        for folder in folders:
            self._search(folder)

    def _search(self, root: Path) -> None:
        """Every entry under ROOT, links not followed."""
        folders = [root]
        while folders:
            folder = folders.pop()
            try:
                with os.scandir(folder) as entries:
                    listed = [(Path(e.path), _lstat(e)) for e in entries]
            except OSError:  # a folder that cannot be listed is passed over, as before
                continue
            for path, status in listed:
                if status is not None:
                    self._entry(path, status, folders)

    def _entry(self, path: Path, status: os.stat_result, folders: list[Path]) -> None:
        """One entry found (STATUS its lstat): a folder to search goes into FOLDERS."""
        mode = status.st_mode
        if stat.S_ISLNK(mode):
            self._skip(path, SKIPPED_SYMLINK)
        elif stat.S_ISDIR(mode):
            if self.own.is_copies(path, status):
                self._skip(path, SKIPPED_STORE_FILE)
            else:
                folders.append(path)
        elif not stat.S_ISREG(mode):  # a pipe, a socket, a device: never opened
            self._skip(path, SKIPPED_NOT_SPREADSHEET)
        elif (reason := self._reason(path, status)) is not None:
            self._skip(path, reason)
        elif path not in self.taken:
            self.taken[path] = status.st_mtime
            self.from_folders.add(path)

    def _reason(self, path: Path, status: os.stat_result) -> Skip | None:
        """Why a file found is left out; None when it is taken."""
        if self.own.is_own(path, status):
            return SKIPPED_STORE_FILE
        if is_scratch_file(path):
            return SKIPPED_SCRATCH
        if is_draft(path):
            return SKIPPED_OWN_OUTPUT
        suffix = path.suffix.lower()
        if suffix in SPREADSHEET_SUFFIXES:
            return None
        if suffix in OTHER_DOCUMENTS or not _begins_as_spreadsheet(path):
            return SKIPPED_NOT_SPREADSHEET
        return None

    def _skip(self, path: Path, reason: Skip) -> None:
        if path in self.taken and path not in self.from_folders:
            return  # named itself too: examined
        self.taken.pop(path, None)
        self.from_folders.discard(path)
        self.skipped[path] = reason


def _lstat(entry: os.DirEntry[str]) -> os.stat_result | None:
    try:
        return entry.stat(follow_symlinks=False)
    except OSError:  # gone since the folder was listed
        return None


_OPEN_FLAGS = (os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NOFOLLOW", 0)
               | getattr(os, "O_NONBLOCK", 0))
"""A file found is opened never through a link (one put in its place since it was listed),
and without waiting (a pipe put there)."""


def _begins_as_spreadsheet(path: Path) -> bool:
    """Whether the file begins as a zip or an OLE file, as every spreadsheet does; read
    no further than that. A file that cannot be opened is examined (and reported so)."""
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError:
        return True
    try:
        head = os.read(fd, SNIFFED_BYTES)
    except OSError:
        return True
    finally:
        os.close(fd)
    return head.startswith(ZIP_MAGIC) or head == OLE_MAGIC
