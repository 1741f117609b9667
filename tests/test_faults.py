"""Faults of the machine are messages: a full disk, a read-only store, a pipe given as the
store. Exit 2, the file named, what to do, no traceback, and no claim that a valid store is
unusable."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

import xltool.store as store_module
from tests.conftest import ledger_row, write_ledger
from xltool.cli import main
from xltool.template import issue_templates

CHINESE = {"LANG": "zh_CN.UTF-8", "LANGUAGE": None, "LC_ALL": None}


@pytest.fixture
def office(tmp_path: Path) -> tuple[Path, Path, list[Path]]:
    ledger = write_ledger(tmp_path / "l.csv", [ledger_row("A-1", "甲")])
    store = tmp_path / "x.db"
    workbooks = [w.path for w in issue_templates(ledger, tmp_path / "out", store=store).workbooks]
    return ledger, store, workbooks


def _connect_then(monkeypatch: pytest.MonkeyPatch, pragma: str) -> None:
    real_connect = store_module._connect

    def connect(path: Path) -> sqlite3.Connection:
        connection = real_connect(path)
        connection.execute(pragma)
        return connection

    monkeypatch.setattr(store_module, "_connect", connect)


def _disk_full() -> sqlite3.OperationalError:
    """The error SQLite itself raises when the disk is full (made on a one-page database)."""
    tiny = sqlite3.connect(":memory:")
    tiny.execute("PRAGMA max_page_count = 2")
    try:
        tiny.execute("CREATE TABLE t(x)")
        tiny.execute("INSERT INTO t VALUES (zeroblob(100000))")
    except sqlite3.OperationalError as error:
        return error
    raise AssertionError("SQLite did not fill up")


def test_a_full_disk_while_collecting_is_said_so(office: tuple[Path, Path, list[Path]],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    _, store, workbooks = office
    full = _disk_full()
    assert full.sqlite_errorcode == sqlite3.SQLITE_FULL

    def record_received(*args: object, **kwargs: object) -> None:
        raise full

    monkeypatch.setattr(store_module.Store, "record_received", record_received)
    result = CliRunner().invoke(main, ["collect", *map(str, workbooks), "--store", str(store)],
                                env=CHINESE)
    assert result.exit_code == 2 and not isinstance(result.exception, sqlite3.Error)
    assert "磁盘已满" in result.output and "x.db" in result.output
    assert "不是可用的" not in result.output


def test_a_read_only_store_is_said_so_and_not_called_unusable(
        office: tuple[Path, Path, list[Path]], monkeypatch: pytest.MonkeyPatch) -> None:
    _, store, workbooks = office
    _connect_then(monkeypatch, "PRAGMA query_only = ON")  # every write: SQLITE_READONLY
    result = CliRunner().invoke(main, ["collect", *map(str, workbooks), "--store", str(store)],
                                env=CHINESE)
    assert result.exit_code == 2, result.output
    assert "只读" in result.output and "不是可用的" not in result.output


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_pipe_given_as_the_store_is_refused_at_once(tmp_path: Path) -> None:
    pipe = tmp_path / "store.db"
    os.mkfifo(pipe)
    ledger = write_ledger(tmp_path / "l.csv", [ledger_row("A-1", "甲")])
    for args in (["reconcile", str(ledger), "--store", str(pipe), "-o", str(tmp_path / "r.xlsx")],
                 ["verify", "--store", str(pipe)]):
        result = CliRunner().invoke(main, args, env=CHINESE)
        assert result.exit_code == 2 and "不是普通文件" in result.output, result.output
