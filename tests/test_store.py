"""The store: created owner-only, refuses what it cannot trust, migrates older files."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import astuple
from decimal import Decimal
from pathlib import Path

import pytest

from xltool.store import (
    _MIGRATIONS,
    APPLICATION_ID,
    SCHEMA_VERSION,
    IssuedCell,
    IssuedProject,
    IssuedTemplate,
    ReceivedFile,
    StoreError,
    open_store,
)
from xltool.targets import Indicator, Targets

TEMPLATE = IssuedTemplate("T1", 2024, "ningxia-2021", 1, "001", "示例局", "a.xlsx", "00", "pw",
                          "ledger.csv", "2024-01-01T00:00:00+00:00")
CELLS = [IssuedCell("T1", "01 项目", "C3", True, "", "P1", "header.project_name", "", "项目"),
         IssuedCell("T1", "01 项目", "C12", False, "XT_P01_GOAL", "P1", "goal", "", "")]


def test_a_new_store_is_owner_only_and_round_trips_a_template(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "x.db"
    with open_store(path) as store:
        store.record_template(TEMPLATE, [IssuedProject("T1", 1, "P1", "项目", "01 项目",
                                                       None, None, None, None)], CELLS)
        assert store.template("T1") == TEMPLATE
        assert store.template_cells("T1") == CELLS
    assert path.stat().st_mode & 0o777 == 0o600
    assert not list(path.parent.glob(".*.new"))


def test_re_recording_a_template_replaces_its_cells(tmp_path: Path) -> None:
    with open_store(tmp_path / "x.db") as store:
        store.record_template(TEMPLATE, [], CELLS)
        store.record_template(TEMPLATE, [], CELLS[:1])
        assert store.template_cells("T1") == CELLS[:1]


@pytest.mark.parametrize("content", [b"", b"not a database at all" * 100], ids=["empty", "text"])
def test_a_file_that_is_no_store_is_refused_and_left_alone(tmp_path: Path,
                                                           content: bytes) -> None:
    path = tmp_path / "x.db"
    path.write_bytes(content)
    with pytest.raises(StoreError), open_store(path):
        pass
    assert path.read_bytes() == content


def test_a_store_from_a_newer_xltool_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    with open_store(path):
        pass
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    before = path.read_bytes()
    with pytest.raises(StoreError, match="更新版本"), open_store(path):
        pass
    assert path.read_bytes() == before


def test_a_store_is_created_where_there_are_no_hard_links(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """FAT and exFAT drives, and some network shares, refuse a hard link."""
    import errno
    import os

    def no_links(source: object, target: object) -> None:
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    path = tmp_path / "x.db"
    with open_store(path) as store:
        assert store.received_files() == []
    with open_store(path, create=False) as store:  # a store, not a draft left behind
        assert store.templates() == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.db"]


def test_a_missing_store_is_not_created_when_not_asked(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="xltool template"), open_store(tmp_path / "no.db",
                                                                          create=False):
        pass
    assert not (tmp_path / "no.db").exists()


def test_an_older_store_is_migrated_with_its_cells(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        for step in (1, 2):
            db.executescript(_MIGRATIONS[step])
        db.execute("PRAGMA user_version = 2")
        db.execute("INSERT INTO templates VALUES (?,?,?,?,?,?,?,?,?,?,?)", tuple(
            getattr(TEMPLATE, f) for f in TEMPLATE.__dataclass_fields__))
        db.executemany("INSERT INTO template_cells VALUES (?,?,?,?,?,?,?,?,?)",
                       [(c.template_id, c.sheet, c.cell, int(c.locked), c.name, c.project_code,
                         c.field, c.category, c.value) for c in CELLS])
    with open_store(path) as store:
        assert store.template_cells("T1") == CELLS
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


PROJECT = IssuedProject("T1", 1, "P1", "项目", "01 项目", None, None, None, None)


def test_a_template_records_its_layout_apart_from_its_values(tmp_path: Path) -> None:
    """Two templates that differ only in values and sheet names share a layout."""
    other = IssuedTemplate("T2", *astuple(TEMPLATE)[1:])
    renamed = [c._replace(template_id="T2", sheet="01 别的项目", project_code="P9",
                          value=c.value + "改") for c in CELLS]
    with open_store(tmp_path / "x.db") as store:
        store.record_template(TEMPLATE, [PROJECT], CELLS)
        store.record_template(other, [IssuedProject("T2", 1, "P9", "项目", "01 别的项目",
                                                    None, None, None, None)], renamed)
        first, second = store.template_layout("T1"), store.template_layout("T2")
        assert store.template_cells("T2") == renamed
        layouts = store.connection.execute("SELECT COUNT(*) FROM layouts").fetchone()[0]
    assert layouts == 1  # kept once
    assert first is not None and second is not None
    assert first.layout == second.layout
    assert first.sheets == ("01 项目",) and second.sheets == ("01 别的项目",)
    assert first.values == tuple(c.value for c in CELLS)
    assert second.values == tuple(c.value for c in renamed)


def test_a_layout_changes_with_any_cell_but_its_value(tmp_path: Path) -> None:
    moved = [CELLS[0], CELLS[1]._replace(cell="C13")]
    with open_store(tmp_path / "x.db") as store:
        store.record_template(TEMPLATE, [PROJECT], CELLS)
        before = store.template_layout("T1")
        store.record_template(TEMPLATE, [PROJECT], moved)
        after = store.template_layout("T1")
    assert before is not None and after is not None and before.layout != after.layout


def test_a_store_of_schema_3_gets_its_layouts_on_migration(tmp_path: Path) -> None:
    path = tmp_path / "v3.db"
    with open_store(path) as store:
        store.record_template(TEMPLATE, [PROJECT], CELLS)
        expected = store.template_layout("T1")
    rows = [[c.sheet, c.cell, c.locked, c.name, c.project_code, c.field, c.category, c.value]
            for c in CELLS]
    with sqlite3.connect(path) as db:  # as schema 3 left it
        db.execute("DROP TABLE form_maps")
        db.execute("DROP TABLE layouts")
        db.execute("CREATE TABLE form_maps (template_id TEXT PRIMARY KEY, cells TEXT NOT NULL)")
        db.execute("INSERT INTO form_maps VALUES (?, ?)", ("T1", json.dumps(rows)))
        _accepted_as_schema_5(db)
        db.execute("PRAGMA user_version = 3")
    with open_store(path) as store:
        assert store.template_layout("T1") == expected
        assert store.template_cells("T1") == CELLS


def _accepted_as_schema_5(db: sqlite3.Connection) -> None:
    """The accepted targets' tables as schema 2 to 5 kept them (a row per goal, per indicator)."""
    db.executescript("DROP VIEW accepted_goals; DROP VIEW accepted_indicators; "
                     "DROP TABLE accepted_projects;")
    schema_2 = _MIGRATIONS[2]
    db.executescript(schema_2[schema_2.index("CREATE TABLE accepted_goals"):])


# Goals and indicators out of project order, a goal-only project, an indicator-only one,
# weights with and without decimals: all must come back exactly as they went in.
ACCEPTED = Targets(
    goals={"P2": "目标二", "P1": "", "P3": "只有目标"},
    indicators=(Indicator("P1", "产出指标", "数量指标", "培训人次", "≥ 100 人次", Decimal("20")),
                Indicator("P2", "效益指标", "社会效益指标", "群众知晓率", "≥95%", None),
                Indicator("P1", "成本指标", "经济成本指标", "培训费", "≤ 3 万元", Decimal("12.5")),
                Indicator("P4", "满意度指标", "服务对象满意度指标", "满意度", "≥90%", None)))


def _received(sha256: str) -> ReceivedFile:
    return ReceivedFile(sha256, "a.xlsx", 1, "2024-02-01T00:00:00+00:00", "xlsx", "accepted",
                        "T1", "001", 2024, "")


def test_accepted_targets_come_back_as_recorded(tmp_path: Path) -> None:
    with open_store(tmp_path / "x.db") as store:
        store.record_template(TEMPLATE, [PROJECT], CELLS)
        store.record_received(_received("a" * 64), [], ACCEPTED)
        assert store.accepted_targets("a" * 64) == ACCEPTED
        assert store.current_indicators() == [("a" * 64, i) for i in ACCEPTED.indicators]
        goals = store.connection.execute(
            "SELECT project_code, goal FROM accepted_goals ORDER BY rowid").fetchall()
        indicators = store.connection.execute(
            "SELECT seq, project_code, name, weight FROM accepted_indicators "
            "ORDER BY seq").fetchall()
    assert goals == list(ACCEPTED.goals.items())  # the views still serve SQL readers
    assert indicators == [(0, "P1", "培训人次", "20"), (1, "P2", "群众知晓率", None),
                          (2, "P1", "培训费", "12.5"), (3, "P4", "满意度", None)]


def test_a_store_of_schema_5_keeps_its_accepted_targets_on_migration(tmp_path: Path) -> None:
    path = tmp_path / "v5.db"
    with open_store(path) as store:
        store.record_template(TEMPLATE, [PROJECT], CELLS)
        store.record_received(_received("a" * 64), [], ACCEPTED)
    with sqlite3.connect(path) as db:  # as schema 5 left it
        _accepted_as_schema_5(db)
        db.execute("INSERT INTO accepted_goals VALUES (?, ?, ?)", ("a" * 64, "P2", "目标二"))
        db.execute("INSERT INTO accepted_goals VALUES (?, ?, ?)", ("a" * 64, "P1", ""))
        db.execute("INSERT INTO accepted_goals VALUES (?, ?, ?)", ("a" * 64, "P3", "只有目标"))
        db.executemany("INSERT INTO accepted_indicators VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       [("a" * 64, seq, i.project_code, i.level1, i.level2, i.name, i.value,
                         None if i.weight is None else str(i.weight))
                        for seq, i in enumerate(ACCEPTED.indicators)])
        db.execute("PRAGMA user_version = 5")
    with open_store(path) as store:
        assert store.accepted_targets("a" * 64) == ACCEPTED
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
