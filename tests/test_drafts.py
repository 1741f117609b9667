"""A killed `template` or `publish` leaves half-written drafts; the next run removes them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ledger_row, write_ledger
from xltool.atomic import draft_path, remove_stale_drafts
from xltool.template import issue_templates


def _dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    return int(done.stdout)


def _stale(folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f".{Path(name).stem}.{_dead_pid()}.part{Path(name).suffix}"
    path.write_bytes(b"half a workbook")
    return path


def test_a_killed_template_runs_drafts_go_with_the_next_run(tmp_path: Path) -> None:
    ledger = write_ledger(tmp_path / "l.csv", [ledger_row("A-1", "甲")])
    out = tmp_path / "out"
    stale = _stale(out, "2024年_001_示例局_绩效目标表.xlsx")
    mine = out / "备忘.xlsx"
    mine.write_bytes(b"the clerk's own")
    issue_templates(ledger, out, store=tmp_path / "x.db")
    assert not stale.exists() and mine.read_bytes() == b"the clerk's own"
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == []


def test_a_live_writers_draft_is_left_alone(tmp_path: Path) -> None:
    live = draft_path(tmp_path / "公开.xlsx")  # this process's own: still being written
    live.write_bytes(b"")
    other = tmp_path / f".x.{os.getppid()}.part.xlsx"  # a running process (the parent)
    other.write_bytes(b"")
    assert remove_stale_drafts(tmp_path) == []
    assert live.exists() and other.exists()
