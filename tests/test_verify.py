"""`xltool verify`: a lost or changed kept copy is found, and nothing is changed."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import ledger_row, write_ledger
from xltool.cli import main
from xltool.collect import collect
from xltool.collect.verify import CopyState, verify
from xltool.store import open_store
from xltool.template import issue_templates


def _received(tmp_path: Path) -> tuple[Path, list[Path]]:
    ledger = write_ledger(tmp_path / "l.csv", [
        ledger_row("A-1", "甲"), ledger_row("B-1", "乙", department=("002", "第二局"))])
    store = tmp_path / "x.db"
    issued = issue_templates(ledger, tmp_path / "out", store=store).workbooks
    collect([w.path for w in issued], store=store)
    with open_store(store) as opened:
        copies = [Path(r.stored_path) for r in opened.received_files()]
    return store, copies


def test_intact_copies_pass(tmp_path: Path) -> None:
    store, copies = _received(tmp_path)
    result = verify(store=store)
    assert [c.state for c in result.copies] == [CopyState.OK, CopyState.OK]
    assert result.exit_code == 0 and len(copies) == 2


def test_a_lost_and_a_changed_copy_are_named_and_nothing_is_changed(tmp_path: Path) -> None:
    store, (lost, changed) = _received(tmp_path)
    lost.unlink()
    changed.write_bytes(b"junk")
    before = store.read_bytes()
    result = CliRunner().invoke(main, ["verify", "--store", str(store), "--json"])
    assert result.exit_code == 1, result.output
    states = {c["path"]: c["state"] for c in json.loads(result.output)["copies"]}
    assert states == {str(lost): "missing", str(changed): "changed"}
    assert store.read_bytes() == before and changed.read_bytes() == b"junk"
    shown = CliRunner().invoke(main, ["verify", "--store", str(store)],
                               env={"LANG": "zh_CN.UTF-8", "LANGUAGE": None, "LC_ALL": None})
    assert "副本丢失" in shown.output and "副本已被改动" in shown.output


def test_a_lost_copy_comes_back_when_the_file_is_collected_again(tmp_path: Path) -> None:
    store, (lost, _) = _received(tmp_path)
    original = tmp_path / "out"
    lost.unlink()
    collect(sorted(original.iterdir()), store=store)
    assert verify(store=store).exit_code == 0 and lost.is_file()


def _sent(tmp_path: Path, copy: Path) -> Path:
    """The file sent whose copy COPY is (named by its hash)."""
    return next(p for p in (tmp_path / "out").iterdir()
                if hashlib.sha256(p.read_bytes()).hexdigest() == copy.name[:64])


def _states(store: Path) -> dict[Path | None, CopyState]:
    return {c.path: c.state for c in verify(store=store).copies}


def _stat(path: Path) -> tuple[int, int]:
    found = os.stat(path)
    return found.st_ino, found.st_mtime_ns


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_changed_copy_is_repaired_when_the_file_is_collected_again(tmp_path: Path,
                                                                     jobs: int) -> None:
    store, (changed, intact) = _received(tmp_path)
    changed.write_bytes(b"junk")
    assert _states(store) == {changed: CopyState.CHANGED, intact: CopyState.OK}
    before = _stat(intact)
    collect(sorted((tmp_path / "out").iterdir()), store=store, jobs=jobs)
    result = CliRunner().invoke(main, ["verify", "--store", str(store), "--json"])
    assert result.exit_code == 0, result.output
    assert changed.read_bytes() == _sent(tmp_path, changed).read_bytes()
    assert _stat(intact) == before  # the intact one was only read
    assert not [p for p in changed.parent.iterdir() if p.name.startswith(".")]  # no draft


def test_a_copy_whose_folder_was_removed_comes_back(tmp_path: Path) -> None:
    store, (lost, _) = _received(tmp_path)
    shutil.rmtree(lost.parent)
    assert _states(store)[lost] == CopyState.MISSING
    collect([_sent(tmp_path, lost)], store=store)
    assert verify(store=store).exit_code == 0
    assert lost.read_bytes() == _sent(tmp_path, lost).read_bytes()


@pytest.mark.parametrize("jobs", [1, 2])
def test_an_intact_copy_is_not_written_again(tmp_path: Path, jobs: int) -> None:
    store, copies = _received(tmp_path)
    before = [_stat(copy) for copy in copies]
    collect(sorted((tmp_path / "out").iterdir()), store=store, jobs=jobs)
    assert [_stat(copy) for copy in copies] == before
    assert verify(store=store).exit_code == 0


def test_a_store_that_is_not_there_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["verify", "--store", str(tmp_path / "none.db")])
    assert result.exit_code == 2 and "Traceback" not in result.output
