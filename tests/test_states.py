"""One vocabulary of department states: a department that returned a file with errors is
有错误待修改 in the collect summary and in the reconcile report alike, never 未报送."""

from __future__ import annotations

from pathlib import Path

from openpyxl import load_workbook

from tests.conftest import SAMPLES
from tests.fill import fill_with_openpyxl
from xltool.collect import collect
from xltool.collect.feedback import DEPARTMENTS_SHEET, SUMMARY_NAME
from xltool.reconcile import reconcile
from xltool.states import NOT_RETURNED, TO_FIX, department_state
from xltool.template import issue_templates


def test_states_from_statuses() -> None:
    assert department_state(accepted=False, statuses=["rejected"]) == TO_FIX
    assert department_state(accepted=False, statuses=["stale"]) == TO_FIX
    assert department_state(accepted=False, statuses=["unchanged"]) == NOT_RETURNED
    assert department_state(accepted=False, statuses=[]) == NOT_RETURNED
    assert department_state(accepted=True, statuses=["rejected", "accepted"]) == "已接受"


def test_a_department_whose_only_return_was_rejected_is_never_not_returned(
        tmp_path: Path) -> None:
    store = tmp_path / "x.db"
    run = issue_templates(SAMPLES / "ledger.xlsx", tmp_path / "templates", store=store)
    sent = {w.department_code: w for w in run.workbooks}["011001"]
    rejected = fill_with_openpyxl(sent.path, {}, tmp_path / "returns" / sent.path.name)
    (outcome,) = collect([rejected], store=store, feedback=tmp_path / "feedback").files
    assert outcome.status == "rejected"

    reconciled = reconcile(SAMPLES / "ledger.xlsx", store=store)
    differences = reconciled.differences
    messages = differences.set_index("department")["message"]
    report = reconciled.summary.set_index("department")["status"]
    assert (report["011001"], report["013042"]) == (TO_FIX, NOT_RETURNED)
    assert all(m.startswith(f"永宁县人民政府办公室{TO_FIX}") for m in messages["011001"])
    assert not any(NOT_RETURNED in m for m in messages["011001"])
    assert all(NOT_RETURNED in m for m in messages["013042"])

    summary = load_workbook(tmp_path / "feedback" / SUMMARY_NAME)[DEPARTMENTS_SHEET]
    states = {row[0]: row[6] for row in summary.iter_rows(min_row=2, values_only=True)}
    assert states["011001"] == TO_FIX and states["013042"] == NOT_RETURNED
