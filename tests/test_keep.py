"""Keeping a copy of every received file: whole or absent, durable, and synced in groups."""

from __future__ import annotations

import ctypes
import errno
import functools
import hashlib
import itertools
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

import xltool.collect.keep as keeping
from xltool.collect.keep import Keeper, copy_path, keep_copies, make_durable, write_draft


def _copies(store: Path, count: int) -> list[tuple[Path, bytes]]:
    """COUNT files and their copies' places, named by their hashes: in sixteen folders."""
    return [(copy_path(store, hashlib.sha256(data).hexdigest(), ".xlsx"), data)
            for data in map(_return, range(count))]


@functools.cache
def _return(n: int) -> bytes:
    """The bytes of return N, made to hash into folder N % 16 (tests count the folders)."""
    for salt in itertools.count():
        data = f"return {n}.{salt}\n".encode() * 200
        if hashlib.sha256(data).hexdigest().startswith(f"{n % 16:02x}"):
            return data
    raise AssertionError("unreachable")


def _on_linux_from_5_8() -> bool:
    return sys.platform == "linux" and keeping._kernel_release() >= (5, 8)


def test_syncfs_is_used_where_it_reports_failed_writes() -> None:
    assert (keeping._syncfs() is not None) == _on_linux_from_5_8()


@pytest.mark.skipif(shutil.which("findmnt") is None, reason="findmnt names the file system")
def test_the_file_system_is_told_from_the_mount_table(tmp_path: Path) -> None:
    told = subprocess.run(["findmnt", "-n", "-o", "FSTYPE", "--target", str(tmp_path)],
                          capture_output=True, text=True, check=True).stdout.strip()
    assert keeping._file_system(os.stat(tmp_path).st_dev) == told


def test_a_network_file_system_gets_an_fsync_per_copy(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """syncfs there may write the data back without making it durable on the server."""
    monkeypatch.setattr(keeping, "_syncfs", lambda: lambda fd: 0)
    monkeypatch.setattr(keeping, "_file_system", lambda device: "nfs4")
    assert keeping._syncfs_for(tmp_path) is None
    monkeypatch.setattr(keeping, "_file_system", lambda device: "ext4")
    assert keeping._syncfs_for(tmp_path) is not None


@pytest.mark.parametrize("way", ["syncfs", "fsync"])
def test_copies_are_kept_whole_and_no_draft_is_left(tmp_path: Path, way: str,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    if way == "syncfs" and keeping._syncfs_for(tmp_path) is None:
        pytest.skip("syncfs(2) is Linux 5.8 or later, on a local file system")
    if way == "fsync":
        monkeypatch.setattr(keeping, "_syncfs_for", lambda folder: None)
    copies = _copies(tmp_path / "x.db", 20)
    keep_copies(copies + copies[:3])  # a file sent twice in one group is kept once
    for target, data in copies:
        assert target.read_bytes() == data
    kept = [p for p in (tmp_path / "x.files").rglob("*") if p.is_file()]
    assert sorted(kept) == sorted(target for target, _ in copies)


def test_a_group_costs_two_syncs_of_the_disk_not_two_per_copy(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def syncfs(fd: int) -> int:
        calls.append("syncfs")
        return 0

    monkeypatch.setattr(keeping, "_syncfs_for", lambda folder: syncfs)
    monkeypatch.setattr(os, "fsync", lambda fd: calls.append("fsync"))
    copies = _copies(tmp_path / "x.db", 32)
    keep_copies(copies[:16])  # into a new store: its folders are made too
    assert calls == ["syncfs", "syncfs"]  # the copies' contents, then their names
    keep_copies(copies[16:])
    assert calls == ["syncfs"] * 4


def test_without_syncfs_each_copy_and_each_new_folder_is_fsynced(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[int] = []
    monkeypatch.setattr(keeping, "_syncfs_for", lambda folder: None)
    monkeypatch.setattr(os, "fsync", synced.append)
    keep_copies(_copies(tmp_path / "x.db", 16))
    # 16 copies, their 16 hash folders, and for each new folder its parents
    assert len(synced) == 16 + 16 + 2 * 16


def test_a_failed_sync_is_raised_and_no_copy_takes_its_name(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def failing(fd: int) -> int:
        ctypes.set_errno(errno.EIO)
        return -1

    monkeypatch.setattr(keeping, "_syncfs_for", lambda folder: failing)
    copies = _copies(tmp_path / "x.db", 3)
    with pytest.raises(OSError) as raised:
        keep_copies(copies)
    assert raised.value.errno == errno.EIO
    assert not any(target.exists() for target, _ in copies)


def test_copies_waiting_together_are_kept_together(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    groups: list[int] = []

    def counted(drafts: Sequence[keeping.Draft]) -> None:
        groups.append(len(drafts))
        make_durable(drafts)

    monkeypatch.setattr(keeping, "make_durable", counted)
    with Keeper(most=4, patience=60) as keeper:
        copies = _copies(tmp_path / "x.db", 10)
        futures = [keeper.submit(target, data) for target, data in copies[:5]]
        futures += [keeper.submit_draft(write_draft(target, data)) for target, data in copies[5:]]
    assert groups == [4, 4, 2]  # the last two kept when the run ends, not after a minute
    assert all(f.result().exists() for f in futures)


def test_a_copy_waits_for_others_only_briefly(tmp_path: Path) -> None:
    [(target, data)] = _copies(tmp_path / "x.db", 1)
    with Keeper(most=16, patience=0.05) as keeper:
        assert keeper.submit(target, data).result(timeout=30) == target
        assert target.read_bytes() == data


def test_a_flush_keeps_what_is_waiting_at_once(tmp_path: Path) -> None:
    copies = _copies(tmp_path / "x.db", 3)
    with Keeper(most=16, patience=600) as keeper:
        futures = [keeper.submit(target, data) for target, data in copies]
        keeper.flush()  # the reading is done: no use waiting for more
        assert [f.result(timeout=30) for f in futures] == [target for target, _ in copies]


def test_a_copy_kept_before_is_left_as_it_is(tmp_path: Path) -> None:
    [(target, data)] = _copies(tmp_path / "x.db", 1)
    keep_copies([(target, data)])
    before = os.stat(target)
    assert write_draft(target, data).path is None
    keep_copies([(target, data)])
    assert os.stat(target).st_ino == before.st_ino


def test_a_changed_copy_is_written_again_and_replaced_whole(tmp_path: Path) -> None:
    """The same file received again repairs a copy changed since: a new draft, renamed over
    it once durable (never written in place)."""
    [(target, data)] = _copies(tmp_path / "x.db", 1)
    keep_copies([(target, data)])
    target.write_bytes(b"junk")
    draft = write_draft(target, data)
    assert draft.path is not None and target.read_bytes() == b"junk"
    make_durable([draft])
    assert target.read_bytes() == data
    assert [p.name for p in target.parent.iterdir()] == [target.name]


@pytest.mark.parametrize("damage", ["truncated", "removed", "folder_removed"])
def test_a_lost_or_cut_copy_is_written_again(tmp_path: Path, damage: str) -> None:
    [(target, data)] = _copies(tmp_path / "x.db", 1)
    keep_copies([(target, data)])
    if damage == "truncated":
        target.write_bytes(data[:-1])
    elif damage == "removed":
        target.unlink()
    else:
        shutil.rmtree(target.parent)
    keep_copies([(target, data)])
    assert target.read_bytes() == data


def test_a_copy_not_named_by_a_hash_is_only_looked_for(tmp_path: Path) -> None:
    """Nothing to check it against: kept when it is there, as before copies were checked."""
    target = tmp_path / "notes.xlsx"
    target.write_bytes(b"whatever it holds")
    assert write_draft(target, b"other bytes").path is None


def test_a_draft_is_not_a_copy_until_made_durable(tmp_path: Path) -> None:
    [(target, data)] = _copies(tmp_path / "x.db", 1)
    draft = write_draft(target, data)
    assert draft.path is not None and draft.path.read_bytes() == data
    assert draft.path.name.startswith(".") and not target.exists()
    make_durable([draft])
    assert target.read_bytes() == data and not draft.path.exists()


def test_two_drafts_of_one_copy_leave_one_copy(tmp_path: Path) -> None:
    """Two worker processes may each write a draft of the same file sent twice."""
    [(target, data)] = _copies(tmp_path / "x.db", 1)
    first = write_draft(target, data)
    assert first.path is not None
    second = first.path.with_name(first.path.name + "-other")
    second.write_bytes(data)
    make_durable([first, keeping.Draft(target, second)])
    assert target.read_bytes() == data
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name]


def test_a_draft_that_could_not_be_written_fails_its_group(tmp_path: Path) -> None:
    store = tmp_path / "x.db"
    [(target, data)] = _copies(store, 1)
    keeping.files_dir(store).write_text("a file where the copies' folder should be")
    failed = write_draft(target, data)
    assert isinstance(failed.error, OSError)
    with Keeper(patience=0.01) as keeper:
        futures = [keeper.submit_draft(failed), keeper.submit(target, data)]
    for future in futures:  # written here or by a worker, the error reaches the record
        with pytest.raises(OSError):
            future.result()


def test_drafts_are_opened_binary_where_the_system_has_text_mode(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Windows translates line ends on a descriptor opened without O_BINARY: a copy would
    differ from the file received."""
    binary = 0x8000  # Windows' value
    monkeypatch.setattr(os, "O_BINARY", binary, raising=False)
    opened: list[int] = []
    real_open = os.open

    def recording_open(path: Any, flags: int, mode: int = 0o777) -> int:
        opened.append(flags)
        return real_open(path, flags & ~binary, mode)

    monkeypatch.setattr(os, "open", recording_open)
    [(target, data)] = _copies(tmp_path / "x.db", 1)
    draft = write_draft(target, data)
    assert draft.path is not None and draft.path.read_bytes() == data
    created = [flags for flags in opened if flags & os.O_CREAT]  # not the folders synced
    assert created and all(flags & binary for flags in created)


def test_a_draft_held_open_for_a_moment_is_placed_when_let_go(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A virus scanner on Windows holds each new file open for a moment."""
    [(target, data)] = _copies(tmp_path / "x.db", 1)
    real_replace, refusals = os.replace, [2]

    def held(source: Any, destination: Any) -> None:
        if refusals[0]:
            refusals[0] -= 1
            raise PermissionError(13, "The process cannot access the file")
        real_replace(source, destination)

    monkeypatch.setattr(os, "replace", held)
    keep_copies([(target, data)])
    assert target.read_bytes() == data and refusals == [0]


def test_a_draft_held_for_good_raises(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    [(target, data)] = _copies(tmp_path / "x.db", 1)
    tries: list[float] = []

    def held(source: Any, destination: Any) -> None:
        raise PermissionError(13, "The process cannot access the file")

    monkeypatch.setattr(os, "replace", held)
    monkeypatch.setattr(keeping.time, "sleep", tries.append)
    with pytest.raises(PermissionError):
        keep_copies([(target, data)])
    assert tries == list(keeping.RENAME_WAITS) and not target.exists()


def test_drafts_a_killed_run_left_are_removed_and_nothing_else(tmp_path: Path) -> None:
    store = tmp_path / "x.db"
    copies = _copies(store, 3)
    keep_copies(copies[:1])
    stale = [write_draft(target, data).path for target, data in copies[1:]]
    folder = copies[0][0].parent
    others = [folder / "notes.txt", folder / ".hidden", folder / f".{'a' * 64}.xlsx"]
    for other in others:
        other.write_text("not a draft")
    assert keeping.remove_stale_drafts(store) == 2
    assert not any(path is not None and path.exists() for path in stale)
    assert copies[0][0].read_bytes() == copies[0][1]
    assert all(other.exists() for other in others)
    assert keeping.remove_stale_drafts(tmp_path / "none.db") == 0
