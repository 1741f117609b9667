"""A return with nothing filled in: the template sent back re-saved, untouched, gets the one
finding that says so (`form.not_filled`), not one "missing" finding per empty cell."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import SAMPLES
from tests.fill import fill_with_openpyxl
from tests.test_feedback import findings_table
from xltool.codes import FORM_NOT_FILLED
from xltool.collect import collect
from xltool.collect.feedback import feedback_name
from xltool.template import issue_templates


def test_an_untouched_template_resaved_gets_one_finding(tmp_path: Path) -> None:
    run = issue_templates(SAMPLES / "ledger.xlsx", tmp_path / "templates",
                          store=tmp_path / "x.db", departments=["011001"])
    issued = run.workbooks[0]
    blank = fill_with_openpyxl(issued.path, {}, tmp_path / "returns" / issued.path.name)
    assert blank.read_bytes() != issued.path.read_bytes()  # not the issued bytes: a return

    collected = collect([blank], store=tmp_path / "x.db", feedback=tmp_path / "feedback")

    (outcome,) = collected.files
    assert outcome.status == "rejected"
    assert [f.code for f in outcome.findings] == [FORM_NOT_FILLED.code]
    feedback = tmp_path / "feedback" / feedback_name("011001", issued.department, 2023)
    rows = [row for row in findings_table(feedback) if any(row.values())]
    assert len(rows) == 1
    assert "未填写任何内容" in str(rows[0]["问题"]) and "7 个项目" in str(rows[0]["问题"])


def test_one_filled_cell_makes_a_return_filled(tmp_path: Path) -> None:
    run = issue_templates(SAMPLES / "ledger.xlsx", tmp_path / "templates",
                          store=tmp_path / "x.db", departments=["011001"])
    issued = run.workbooks[0]
    partial = fill_with_openpyxl(issued.path, {"XT_P01_GOAL": "保障外事工作顺利开展"},
                                 tmp_path / "returns" / issued.path.name)

    (outcome,) = collect([partial], store=tmp_path / "x.db").files

    codes = {f.code for f in outcome.findings}
    assert FORM_NOT_FILLED.code not in codes and "rule.required_empty" in codes


def test_a_prefilled_template_resaved_is_filled(tmp_path: Path) -> None:
    run = issue_templates(SAMPLES / "ledger.xlsx", tmp_path / "templates",
                          store=tmp_path / "x.db", prefill=SAMPLES / "targets.xlsx",
                          departments=["012001"])
    issued = run.workbooks[0]
    resaved = fill_with_openpyxl(issued.path, {}, tmp_path / "returns" / issued.path.name)

    (outcome,) = collect([resaved], store=tmp_path / "x.db").files

    assert FORM_NOT_FILLED.code not in {f.code for f in outcome.findings}
