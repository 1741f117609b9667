"""One vocabulary of department states: a department that returned a file with errors is
有错误待修改 in the collect summary and in the reconcile report alike, never 未报送."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from openpyxl import load_workbook

from tests.conftest import SAMPLES
from tests.fill import fill_with_openpyxl
from tests.test_feedback import FIXES_012001
from xltool.cli import main
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


def _line(output: str, *words: str) -> str:
    """The first line of OUTPUT holding every one of WORDS (a table's row)."""
    lines = [line for line in output.splitlines() if all(w in line for w in words)]
    assert lines, (words, output)
    return lines[0]


def test_the_console_speaks_the_same_states(tmp_path: Path) -> None:
    """collect, reconcile, history and publish name a department's state as the workbooks
    do: 011001 returned a form with errors, 013042 sent nothing."""
    store = tmp_path / "x.db"
    run = issue_templates(SAMPLES / "ledger.xlsx", tmp_path / "templates", store=store,
                          prefill=SAMPLES / "targets.xlsx")
    sent = {w.department_code: w for w in run.workbooks}
    rejected = fill_with_openpyxl(sent["011001"].path, {}, tmp_path / "returns" / "a.xlsx")
    accepted = fill_with_openpyxl(sent["012001"].path, FIXES_012001,
                                  tmp_path / "returns" / "b.xlsx")
    cli = CliRunner()
    outputs = {
        "collect": cli.invoke(main, ["collect", str(rejected), str(accepted), "--store",
                                     str(store)]),
        "reconcile": cli.invoke(main, ["reconcile", str(SAMPLES / "ledger.xlsx"), "--store",
                                       str(store), "-o", str(tmp_path / "r.xlsx")]),
        "publish": cli.invoke(main, ["publish", "--store", str(store), "-o",
                                     str(tmp_path / "p.xlsx")]),
    }
    for name, result in outputs.items():
        assert result.exit_code in (0, 1), (name, result.output)
        assert _line(result.output, "011001", "永宁县人民政府办公室", TO_FIX), name
        assert _line(result.output, "013042", "固原市信访局", NOT_RETURNED), name
        assert "退回修改（有错误）" not in result.output and "有错误 " not in result.output
    assert "状态" in _line(outputs["collect"].output, "主管部门编码", "已收到文件数")

    rejected_history = cli.invoke(main, ["history", "011001", "--store", str(store)])
    assert rejected_history.output.rstrip().splitlines()[-1].startswith(f"{TO_FIX}：")
    silent_history = cli.invoke(main, ["history", "013042", "--store", str(store)])
    assert silent_history.output.rstrip().splitlines()[-1].startswith(f"{NOT_RETURNED}：")
    assert "SHA-256" not in rejected_history.output
