"""The shortcuts collect takes per return give exactly what the plain ways give: one query for
a template's map, indicators and projects made without their constructors, JSON written
directly, the superseding UPDATE that says what it changed."""

from __future__ import annotations

import gc
import json
import pickle
import sqlite3
from dataclasses import astuple, fields, replace
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import xltool.store.received as storing
from tests.conftest import complete_values, ledger_row, write_ledger
from tests.fill import fill_with_openpyxl
from xltool.collect import collect
from xltool.collect.reader import XlsxContent, open_xlsx
from xltool.collect.returns import FormMap, identify_form
from xltool.errors import NotOurs
from xltool.profile import load_profile, read_profile
from xltool.store import IssuedProject, IssuedTemplate, ReceivedFile, open_store
from xltool.store.records import project as _project
from xltool.targets import Indicator, Targets, new_indicator
from xltool.template import IssuedWorkbook, issue_templates


@pytest.fixture
def issued(tmp_path: Path) -> list[IssuedWorkbook]:
    ledger = write_ledger(tmp_path / "ledger.csv", [
        ledger_row("001-01", "办公经费", total="10"),
        ledger_row("001-02", "宣传经费", total="5.5", fiscal="3.25", 其他资金="2.25"),
        ledger_row("002-01", "运维经费", department=("002", "第二局"), total="30", fiscal="20",
                   其他资金="10"),
    ])
    return list(issue_templates(ledger, tmp_path / "templates", store=tmp_path / "x.db").workbooks)


# -- one query for a template's map ----------------------------------------------------------


def test_an_issued_form_is_the_template_its_projects_its_profile_and_its_layout(
        issued: list[IssuedWorkbook], tmp_path: Path) -> None:
    with open_store(tmp_path / "x.db") as store:
        templates = {t.template_id: t for t in store.templates()}
        for workbook in issued:
            form = store.issued_form(workbook.template_id)
            assert form is not None
            assert form.template == templates[workbook.template_id]
            assert form.projects == store.template_projects(workbook.template_id)
            assert [astuple(p) for p in form.projects] == [
                astuple(p) for p in store.template_projects(workbook.template_id)]
            assert form.profile is not None and form.profile.path.name.startswith("x.db#")
            assert replace(form.profile, path=Path()) == replace(load_profile("ningxia-2021"),
                                                                 path=Path())
            layout, own = store.connection.execute(
                "SELECT layout, sheets_and_values FROM form_maps WHERE template_id = ?",
                (workbook.template_id,)).fetchone()
            assert form.layout == layout
            assert [list(form.sheets), list(form.values), list(form.codes)] == json.loads(own)
        assert store.issued_form("no such template") is None


def test_an_issued_form_without_a_form_map_or_projects_is_still_found(tmp_path: Path) -> None:
    template = IssuedTemplate("T1", None, "ningxia-2021", 1, "001", "示例局", "a.xlsx", "00",
                              "pw", "ledger.csv", "2024-01-01T00:00:00+00:00")
    with open_store(tmp_path / "x.db") as store:
        store.record_template(template, [], [], profile=read_profile("ningxia-2021")[1])
        store.connection.execute("DELETE FROM form_maps")
        form = store.issued_form("T1")
    assert form is not None
    assert (form.template, form.projects, form.sheets, form.cells()) == (template, [], (), [])


def test_a_project_made_from_its_columns_is_the_one_its_constructor_makes() -> None:
    columns = ("T1", 2, "P1", "项目", "02 项目", "10", "7.50", None, "")
    made = _project(*columns)
    expected = IssuedProject("T1", 2, "P1", "项目", "02 项目", Decimal("10"), Decimal("7.50"),
                             None, None)
    assert made == expected and hash(made) == hash(expected) and repr(made) == repr(expected)
    assert vars(made) == vars(expected) and list(vars(made)) == list(vars(expected))
    assert str(made.fiscal) == "7.50"
    assert pickle.loads(pickle.dumps(made)) == expected


def _opened(workbook: IssuedWorkbook, store_path: Path, tmp_path: Path) -> XlsxContent:
    values = complete_values(store_path, workbook.template_id)
    path = fill_with_openpyxl(workbook.path, values, tmp_path / f"{workbook.template_id}.xlsx")
    return open_xlsx(path.read_bytes())


def test_identify_form_finds_the_map_and_the_profile_as_issued(issued: list[IssuedWorkbook],
                                                               tmp_path: Path) -> None:
    store_path = tmp_path / "x.db"
    known: dict[str, FormMap] = {}
    with open_store(store_path) as store:
        for workbook in issued:
            content = _opened(workbook, store_path, tmp_path)
            form = store.issued_form(workbook.template_id)
            assert form is not None and form.profile is not None
            form_map, profile, findings = identify_form(content, store, known=known)
            assert form_map == FormMap.of(form, form.profile)
            assert (profile, findings) == (form.profile, [])
            again, _, _ = identify_form(content, store, known=known)
            assert again is form_map  # a second file of the template: no query
    assert set(known) == {w.template_id for w in issued}


def test_identify_form_refuses_a_retired_profile_version(issued: list[IssuedWorkbook],
                                                          tmp_path: Path) -> None:
    store_path = tmp_path / "x.db"
    content = _opened(issued[0], store_path, tmp_path)
    with sqlite3.connect(store_path) as db:
        db.execute("UPDATE templates SET profile_version = 99")
    known: dict[str, FormMap] = {}
    with open_store(store_path) as store, pytest.raises(NotOurs) as refused:
        identify_form(content, store, known=known)
    assert (refused.value.code, refused.value.department) == ("file.profile_version", "001")
    assert known == {}  # a refused template is not kept


# -- made without constructors, written without the encoder -----------------------------------


TEXT = st.text(max_size=40)


@settings(max_examples=200, deadline=None)
@given(fields_=st.tuples(TEXT, TEXT, TEXT, TEXT, TEXT,
                         st.none() | st.decimals(allow_nan=False, allow_infinity=False)))
def test_an_indicator_made_fast_is_the_one_its_constructor_makes(
        fields_: tuple[str, str, str, str, str, Decimal | None]) -> None:
    made, expected = new_indicator(*fields_), Indicator(*fields_)
    assert made == expected and hash(made) == hash(expected) and repr(made) == repr(expected)
    assert list(vars(made).items()) == list(vars(expected).items())
    assert made.parsed == expected.parsed
    assert pickle.loads(pickle.dumps(made)) == expected
    with pytest.raises(AttributeError):
        made.name = "changed"  # type: ignore[misc]


def _dumped(sha256: str, targets: Targets) -> list[tuple[str, str, str | None, str]]:
    """The rows as `json.dumps` writes them."""
    indicators: dict[str, list[list[object]]] = {}
    for seq, i in enumerate(targets.indicators):
        indicators.setdefault(i.project_code, []).append(
            [seq, i.level1, i.level2, i.name, i.value,
             None if i.weight is None else str(i.weight)])
    return [(sha256, code, targets.goals.get(code),
             json.dumps(indicators.get(code, ()), ensure_ascii=False))
            for code in dict.fromkeys([*targets.goals, *indicators])]


INDICATORS = st.lists(st.builds(
    Indicator, st.sampled_from(["P1", "P2", "P3"]), TEXT, TEXT, TEXT, TEXT,
    st.none() | st.decimals(allow_nan=False, allow_infinity=False)), max_size=12)


@settings(max_examples=300, deadline=None)
@given(goals=st.dictionaries(st.sampled_from(["P1", "P2", "P4"]), TEXT, max_size=3),
       indicators=INDICATORS)
def test_accepted_projects_are_written_as_json_dumps_writes_them(
        goals: dict[str, str], indicators: list[Indicator]) -> None:
    targets = Targets(goals=goals, indicators=tuple(indicators))
    assert storing._project_rows("a" * 64, targets) == _dumped("a" * 64, targets)


def test_a_field_that_is_no_text_is_written_by_json_dumps_itself() -> None:
    odd = Indicator("P1", "产出指标", "数量指标", 7, "≥5次")
    targets = Targets(goals={"P1": "目标"}, indicators=(odd,))
    assert storing._project_rows("a" * 64, targets) == _dumped("a" * 64, targets)
    assert '"数量指标", 7, "≥5次"' in storing._project_rows("a" * 64, targets)[0][3]


# -- superseding -------------------------------------------------------------------------------


def _received(sha256: str, department: str = "001") -> ReceivedFile:
    return ReceivedFile(sha256, f"{sha256[:4]}.xlsx", 1, "2024-02-01T00:00:00+00:00", "xlsx",
                        "accepted", "T1", department, 2024, "")


def test_an_accepted_return_supersedes_the_current_one(tmp_path: Path) -> None:
    targets = Targets(goals={"P1": "目标"})
    with open_store(tmp_path / "x.db") as store:
        assert store.record_received(_received("a" * 64), [], targets) == []
        assert store.record_received(_received("c" * 64, "002"), [], targets) == []
        assert store.record_received(_received("b" * 64), [], targets) == ["a" * 64]
        statuses = dict(store.connection.execute("SELECT sha256, status FROM received_files"))
        superseded = dict(store.connection.execute(
            "SELECT sha256, superseded_by FROM accepted_returns"))
    assert statuses == {"a" * 64: "superseded", "b" * 64: "accepted", "c" * 64: "accepted"}
    assert superseded == {"a" * 64: "b" * 64, "b" * 64: None, "c" * 64: None}


def test_the_collector_thresholds_are_restored_after_a_run(issued: list[IssuedWorkbook],
                                                            tmp_path: Path) -> None:
    before, frozen = gc.get_threshold(), gc.get_freeze_count()
    collect([issued[0].path], store=tmp_path / "x.db")
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == frozen  # what was set aside for the run is back in play


def test_the_fields_made_without_constructors_are_all_the_fields() -> None:
    assert [f.name for f in fields(Indicator)] == list(vars(new_indicator("P", "a", "b", "c")))
    assert [f.name for f in fields(IssuedProject)] == list(vars(_project(
        "T", 1, "P", "n", "s", None, None, None, None)))
