"""The store: created owner-only, refuses what it cannot trust, migrates older files."""

from __future__ import annotations

import gzip
import json
import shutil
import sqlite3
from dataclasses import asdict, astuple, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import complete_values
from tests.fill import fill_with_openpyxl
from xltool.collect import collect
from xltool.profile import FormProfile, load_profile, profile_path, read_profile
from xltool.store import (
    APPLICATION_ID,
    SCHEMA_VERSION,
    IssuedCell,
    IssuedProject,
    IssuedTemplate,
    ReceivedFile,
    Store,
    StoreError,
    form_map_record,
    open_store,
)
from xltool.store.schema import MIGRATIONS
from xltool.targets import Indicator, Targets

DATA = Path(__file__).resolve().parent / "data"
PROFILE = read_profile("ningxia-2021")[1]
TEMPLATE = IssuedTemplate("T1", 2024, "ningxia-2021", 1, "001", "示例局", "a.xlsx", "00", "pw",
                          "ledger.csv", "2024-01-01T00:00:00+00:00")
CELLS = [IssuedCell("T1", "01 项目", "C3", True, "", "P1", "header.project_name", "", "项目"),
         IssuedCell("T1", "01 项目", "C12", False, "XT_P01_GOAL", "P1", "goal", "", "")]
PROJECT = IssuedProject("T1", 1, "P1", "项目", "01 项目", None, None, None, None)


def _as_shipped(profile: FormProfile | None) -> FormProfile:
    """PROFILE as if read from the shipped file (a kept one is named by the store)."""
    assert profile is not None
    return replace(profile, path=profile_path(profile.name))


def _form(store: Store, template_id: str) -> Any:
    form = store.issued_form(template_id)
    assert form is not None
    return form


def test_a_new_store_is_owner_only_and_round_trips_a_template(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "x.db"
    with open_store(path) as store:
        store.record_template(TEMPLATE, [PROJECT], CELLS, profile=PROFILE)
        form = _form(store, "T1")
        assert (form.template, form.projects, form.cells()) == (TEMPLATE, [PROJECT], CELLS)
        assert _as_shipped(form.profile) == load_profile("ningxia-2021")
    assert path.stat().st_mode & 0o777 == 0o600
    assert not list(path.parent.glob(".*.new"))


def test_re_recording_a_template_replaces_its_cells(tmp_path: Path) -> None:
    with open_store(tmp_path / "x.db") as store:
        store.record_template(TEMPLATE, [], CELLS, profile=PROFILE)
        store.record_template(TEMPLATE, [], CELLS[:1], profile=PROFILE)
        assert _form(store, "T1").cells() == CELLS[:1]


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


def test_a_store_that_had_a_migration_this_release_does_not_know_is_refused(
        tmp_path: Path) -> None:
    """However its user_version reads: the names it records say which xltool wrote it."""
    path = tmp_path / "x.db"
    with open_store(path):
        pass
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO _migrations VALUES ('m999_from_the_future', NULL)")
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION - 1}")
    before = path.read_bytes()
    with pytest.raises(StoreError, match="更新版本"), open_store(path):
        pass
    assert path.read_bytes() == before


def test_a_store_records_each_migration_it_has_had(tmp_path: Path) -> None:
    with open_store(tmp_path / "new.db") as store:
        applied = store.connection.execute(
            "SELECT name, applied_at FROM _migrations ORDER BY rowid").fetchall()
    assert [name for name, _ in applied] == [m.__name__ for m in MIGRATIONS]
    assert all(at for _, at in applied)
    _store_of_schema(tmp_path / "old.db", 2)
    with open_store(tmp_path / "old.db") as store:
        applied = store.connection.execute(
            "SELECT name, applied_at FROM _migrations ORDER BY rowid").fetchall()
    assert [name for name, _ in applied] == [m.__name__ for m in MIGRATIONS]
    assert [at is None for _, at in applied] == [True, True] + [False] * (SCHEMA_VERSION - 2)


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


# -- stores of older schemas, made by hand as their releases left them -------------------------


def _store_of_schema(path: Path, version: int) -> sqlite3.Connection:
    """A store as the release of schema VERSION made it (no record of its migrations)."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    for migration in MIGRATIONS[:version]:
        migration(db)
    db.execute(f"PRAGMA user_version = {version}")
    db.execute("INSERT INTO templates VALUES (?,?,?,?,?,?,?,?,?,?,?)", astuple(TEMPLATE))
    return db


def test_a_store_of_schema_2_is_migrated_with_its_cells_and_its_profile(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    db = _store_of_schema(path, 2)
    db.executemany("INSERT INTO template_cells VALUES (?,?,?,?,?,?,?,?,?)",
                   [(c.template_id, c.sheet, c.cell, int(c.locked), c.name, c.project_code,
                     c.field, c.category, c.value) for c in CELLS])
    db.close()
    with open_store(path) as store:
        form = _form(store, "T1")
        assert form.cells() == CELLS
        assert _as_shipped(form.profile) == load_profile("ningxia-2021")  # of its version
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_a_template_records_its_layout_apart_from_its_values(tmp_path: Path) -> None:
    """Two templates that differ only in values and sheet names share a layout."""
    other = IssuedTemplate("T2", *astuple(TEMPLATE)[1:])
    renamed = [c._replace(template_id="T2", sheet="01 别的项目", project_code="P9",
                          value=c.value + "改") for c in CELLS]
    with open_store(tmp_path / "x.db") as store:
        store.record_template(TEMPLATE, [PROJECT], CELLS, profile=PROFILE)
        store.record_template(other, [IssuedProject("T2", 1, "P9", "项目", "01 别的项目",
                                                    None, None, None, None)], renamed,
                              profile=PROFILE)
        first, second = _form(store, "T1"), _form(store, "T2")
        assert second.cells() == renamed
        layouts = store.connection.execute("SELECT COUNT(*) FROM layouts").fetchone()[0]
        profiles = store.connection.execute("SELECT COUNT(*) FROM profiles").fetchone()[0]
    assert (layouts, profiles) == (1, 1)  # each kept once
    assert first.layout == second.layout and first.key is second.key
    assert first.sheets == ("01 项目",) and second.sheets == ("01 别的项目",)
    assert first.values == tuple(c.value for c in CELLS)
    assert second.values == tuple(c.value for c in renamed)


def test_a_layout_changes_with_any_cell_but_its_value(tmp_path: Path) -> None:
    moved = [CELLS[0], CELLS[1]._replace(cell="C13")]
    with open_store(tmp_path / "x.db") as store:
        store.record_template(TEMPLATE, [PROJECT], CELLS, profile=PROFILE)
        before = _form(store, "T1")
        store.record_template(TEMPLATE, [PROJECT], moved, profile=PROFILE)
        after = _form(store, "T1")
    assert before.layout != after.layout


def test_a_store_of_schema_3_gets_its_layouts_on_migration(tmp_path: Path) -> None:
    path = tmp_path / "v3.db"
    rows = [[c.sheet, c.cell, c.locked, c.name, c.project_code, c.field, c.category, c.value]
            for c in CELLS]
    db = _store_of_schema(path, 3)
    db.execute("INSERT INTO template_projects VALUES (?,?,?,?,?,?,?,?,?)", astuple(PROJECT))
    db.execute("INSERT INTO form_maps VALUES (?, ?)", ("T1", json.dumps(rows)))
    db.close()
    expected = form_map_record([PROJECT], CELLS)
    with open_store(path) as store:
        form = _form(store, "T1")
        assert form.layout == expected.layout
        assert form.cells() == CELLS


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
        store.record_template(TEMPLATE, [PROJECT], CELLS, profile=PROFILE)
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
    db = _store_of_schema(path, 5)
    record = form_map_record([PROJECT], CELLS)
    db.execute("INSERT INTO template_projects VALUES (?,?,?,?,?,?,?,?,?)", astuple(PROJECT))
    db.execute("INSERT INTO layouts VALUES (?, ?)", (record.layout, record.layout_cells))
    db.execute("INSERT INTO form_maps VALUES (?, ?, ?)",
               ("T1", record.layout, record.sheets_and_values))
    db.execute("INSERT INTO received_files VALUES (?,?,?,?,?,?,?,?,?,?)",
               astuple(_received("a" * 64))[:10])  # the columns of schema 5
    db.execute("INSERT INTO accepted_returns VALUES (?, 'T1', '001', 2024, ?, NULL)",
               ("a" * 64, "2024-02-01T00:00:00+00:00"))
    for code, goal in ACCEPTED.goals.items():
        db.execute("INSERT INTO accepted_goals VALUES (?, ?, ?)", ("a" * 64, code, goal))
    db.executemany("INSERT INTO accepted_indicators VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                   [("a" * 64, seq, i.project_code, i.level1, i.level2, i.name, i.value,
                     None if i.weight is None else str(i.weight))
                    for seq, i in enumerate(ACCEPTED.indicators)])
    db.close()
    with open_store(path) as store:
        assert store.accepted_targets("a" * 64) == ACCEPTED
        assert _form(store, "T1").cells() == CELLS
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_a_template_whose_profile_no_longer_ships_keeps_none(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    db = _store_of_schema(path, 6)
    db.execute("UPDATE templates SET profile = 'retired-2019'")
    db.execute("INSERT INTO templates SELECT 'T2', year, profile, 2, department_code, "
               "department, file_name, sha256, password, ledger_file, issued_at FROM templates")
    db.execute("UPDATE templates SET profile = 'ningxia-2021' WHERE template_id = 'T2'")
    db.close()
    with open_store(path) as store:
        profiles = store.issued_profiles()
    assert profiles == {"T1": None, "T2": None}  # no such name; no such version


# -- a store the release of schema 6 wrote -----------------------------------------------------


_SCHEMA6_RECEIVED = ("sha256", "original_name", "size", "received_at", "kind", "status",
                     "template_id", "department_code", "year", "stored_path")


def _as_recorded(store: Store) -> dict[str, Any]:
    """What the store reads back, in the shape `store-schema6.json.gz` records it."""
    templates = store.templates()
    forms = {t.template_id: _form(store, t.template_id) for t in templates}
    received = store.received_files()
    return {
        "templates": [_plain(astuple(t)) for t in templates],
        "projects": {i: [_plain(astuple(p))[1:] for p in f.projects] for i, f in forms.items()},
        "cells": {i: [list(c)[1:] for c in f.cells()] for i, f in forms.items()},
        "layouts": {i: f.layout for i, f in forms.items()},
        # as that release read them; the exact bytes of a name that is no text (m008), the
        # mail's date and what a file was examined with (m009) came later, and are None for
        # every file it took
        "received": [_plain(astuple(r)[:len(_SCHEMA6_RECEIVED)]) for r in received
                     if r.original_name_bytes is None],
        "findings": {r.sha256: [[f.code, f.severity.value, f.department, f.project, f.sheet,
                                 f.cell, f.value, f.message, f.fix]
                                for f in store.findings(r.sha256)] for r in received},
        "current": [r.sha256 for r in store.current_returns()],
        "accepted": {r.sha256: _targets(store.accepted_targets(r.sha256)) for r in received
                     if r.status in ("accepted", "superseded")},
    }


def _plain(values: Any) -> list[Any]:
    return [str(v) if isinstance(v, Decimal) else v for v in values]


def _targets(targets: Targets) -> dict[str, Any]:
    # as that release read them: what a value's cell held when it held no text (`raw`) was
    # kept later, and is None for every indicator it took
    assert all(i.raw is None for i in targets.indicators)
    return {"goals": targets.goals,
            "indicators": [_plain(list(asdict(i).values())[:6]) for i in targets.indicators]}


def test_a_store_the_previous_release_wrote_reads_back_as_it_did_and_takes_returns(
        tmp_path: Path) -> None:
    """`store-schema6.db` was written by xltool at commit 0618d72 (schema 6): `xltool demo`
    on the samples (templates issued with password "demo", two rounds collected), then
    012001 sent its form once more with another goal, superseding its second. What that
    release read back from it is `store-schema6.json.gz`; `store-schema6-013042.xlsx` is
    the template it issued to 013042, which never had a return accepted."""
    path = Path(shutil.copyfile(DATA / "store-schema6.db", tmp_path / "xltool.db"))
    expected = json.loads(gzip.decompress((DATA / "store-schema6.json.gz").read_bytes()))
    with open_store(path, create=False) as store:
        assert _as_recorded(store) == expected
        assert {_as_shipped(p) for p in store.issued_profiles().values()} == {
            load_profile("ningxia-2021")}
    [template_id] = [t[0] for t in expected["templates"] if t[4] == "013042"]
    values = complete_values(path, template_id)
    filled = fill_with_openpyxl(DATA / "store-schema6-013042.xlsx", values,
                                tmp_path / "013042.xlsx")
    [outcome] = collect([filled], store=path).files
    assert outcome.status == "accepted", outcome.findings
    with open_store(path, create=False) as store:
        after = _as_recorded(store)
    assert len(after["current"]) == len(expected["current"]) + 1
    assert {k: after[k] for k in ("templates", "projects", "cells", "layouts")} == {
        k: expected[k] for k in ("templates", "projects", "cells", "layouts")}
    assert after["received"][:-1] == expected["received"]
