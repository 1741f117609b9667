"""Feedback workbooks: real templates issued from the samples, filled, collected, read back."""

from __future__ import annotations

import os
import re
import shutil
import zipfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from openpyxl.utils.cell import column_index_from_string, coordinate_from_string
from openpyxl.worksheet.worksheet import Worksheet

from tests.conftest import SAMPLES
from tests.fill import fill_with_openpyxl, set_cell
from xltool.collect import CollectRun, FileOutcome, collect
from xltool.collect.feedback import (
    FILE_TABLE,
    FINDING_TABLE,
    NOTHING_TO_FIX,
    OFFICE_SHEET,
    RECEIVED_TABLE,
    SUMMARY_NAME,
    cell_order,
    feedback_name,
)
from xltool.store import open_store
from xltool.template import IssuedWorkbook, issue_templates

FIXES_012001 = {"XT_P03_C03_R01_VALUE": "≤30天",   # the one missing value
                "XT_P02_C04_R04_VALUE": "≤19万元"}  # costs now add up to the total
HYPERLINK = '=HYPERLINK("http://x","y")'
DDE = "=cmd|'/c calc'!A1"
FINDING_HEADER = tuple(c.header for c in FINDING_TABLE)
FILE_NUMBER = FINDING_HEADER[1]  # a finding's file: its 序号 in the files table
LEVELS = {"error": "错误", "warning": "提醒"}
RESULTS = {"accepted": "已接受", "rejected": "退回修改", "superseded": "已被新版替代"}
T0 = 1_700_000_000


@dataclass(frozen=True)
class Office:
    tmp: Path
    store: Path
    workbooks: dict[str, IssuedWorkbook]

    def returned(self, name: str) -> Path:
        return self.tmp / "returns" / name


@pytest.fixture
def office(tmp_path: Path) -> Office:
    run = issue_templates(SAMPLES / "ledger.xlsx", tmp_path / "templates",
                          store=tmp_path / "x.db", prefill=SAMPLES / "targets.xlsx")
    return Office(tmp_path, tmp_path / "x.db", {w.department_code: w for w in run.workbooks})


def arrived(path: Path, offset: int) -> Path:
    """Files are collected oldest first: fix the order."""
    os.utime(path, (T0 + offset, T0 + offset))
    return path


def as_issued(office: Office, code: str, name: str) -> Path:
    """The issued template sent back with nothing filled in, re-saved (not the issued bytes)."""
    return fill_with_openpyxl(office.workbooks[code].path, {}, office.returned(name))


def clean_012001(office: Office, name: str, **more: object) -> Path:
    return fill_with_openpyxl(office.workbooks["012001"].path, {**FIXES_012001, **more},
                              office.returned(name))


def tampered_013042(office: Office, name: str) -> Path:
    """Formula-looking text in two locked cells and in an input cell."""
    issued = office.workbooks["013042"]
    out = office.returned(name)
    set_cell(issued.path, issued.sheets[0], "C3", HYPERLINK, out)
    set_cell(out, issued.sheets[1], "C4", DDE, out)
    return fill_with_openpyxl(out, {"XT_P01_C01_R01_VALUE": "=1+1"}, out)


def junk(office: Office, name: str = "=1+1.txt") -> Path:
    path = office.returned(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"not a workbook")
    return path


# -- reading the written workbooks ---------------------------------------------------------


def sheet_rows(sheet: Worksheet) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in sheet.iter_rows(values_only=True)]


def header_row(sheet: Worksheet, header: tuple[str, ...]) -> int:
    """1-based row of the table header."""
    for number, row in enumerate(sheet_rows(sheet), start=1):
        if row[:len(header)] == header:
            return number
    raise AssertionError(f"no header {header} on {sheet.title}")


def findings_table(path: Path) -> list[dict[str, Any]]:
    sheet = load_workbook(path).active
    top = header_row(sheet, FINDING_HEADER)
    rows = sheet_rows(sheet)[top:]
    return [{h: ("" if v is None else v) for h, v in zip(FINDING_HEADER, row, strict=True)}
            for row in rows]


def heading(path: Path) -> dict[str, Any]:
    """The verdict and the files block of a 反馈表."""
    rows = sheet_rows(load_workbook(path).active)
    labels = {row[0]: row[2] for row in rows[1:4]}
    headers = tuple(span.header for span in FILE_TABLE)
    start = next(i for i, row in enumerate(rows)
                 if tuple(row[span.first] for span in FILE_TABLE) == headers)
    files = []
    for row in rows[start + 1:]:
        if not isinstance(row[0], int):
            break
        files.append({span.header: row[span.first] for span in FILE_TABLE[1:]})
    return {**labels, "files": files, "rows": rows}


def table(path: Path, sheet: str) -> list[dict[str, Any]]:
    """A summary sheet's rows under its header, the row under the sheet's title."""
    rows = sheet_rows(load_workbook(path)[sheet])[1:]
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def by_department(run: CollectRun) -> dict[str, list[FileOutcome]]:
    grouped: dict[str, list[FileOutcome]] = {}
    for outcome in run.files:
        if outcome.department:
            grouped.setdefault(outcome.department, []).append(outcome)
    return grouped


def expected_rows(outcomes: Sequence[FileOutcome]) -> Counter[tuple[str, ...]]:
    """The findings of a department's OUTCOMES, each file by its number in the files table."""
    return Counter((str(number), f.project, f.sheet, f.cell, f.value, f.message, f.fix,
                    LEVELS[f.severity.value])
                   for number, o in enumerate(outcomes, start=1) for f in o.findings)


def written_rows(rows: list[dict[str, Any]]) -> Counter[tuple[str, ...]]:
    return Counter(tuple(str(r[h]) for h in FINDING_HEADER[1:]) for r in rows)


def natural(cell: str) -> tuple[int, int, int]:
    if not cell:
        return (0, 0, 0)
    column, row = coordinate_from_string(cell)
    return (1, row, column_index_from_string(column))


# -- one run: two departments return, one does not, one foreign file ---------------------------


@pytest.fixture
def first_run(office: Office) -> tuple[Office, CollectRun]:
    files = [arrived(as_issued(office, "011001", "永宁县.xlsx"), 1),
             arrived(clean_012001(office, "沙坡头区.xlsx"), 2),
             arrived(junk(office), 3)]
    return office, collect(files, store=office.store, feedback=office.tmp / "fb")


def test_one_feedback_per_department_then_the_summary(first_run: tuple[Office, CollectRun]) -> None:
    _, run = first_run
    assert [p.name for p in run.feedback] == [
        "2023年_011001_永宁县人民政府办公室_反馈表.xlsx",
        "2023年_012001_中卫市沙坡头区人民政府办公室_反馈表.xlsx",
        SUMMARY_NAME,
    ]
    assert sorted(p.name for p in run.feedback[0].parent.iterdir()) == sorted(
        p.name for p in run.feedback)


def test_every_finding_appears_once_with_where_what_and_how(
        first_run: tuple[Office, CollectRun]) -> None:
    _, run = first_run
    outcomes = by_department(run)["011001"]
    rows = findings_table(run.feedback[0])
    assert len(rows) == 20
    assert written_rows(rows) == expected_rows(outcomes)
    assert [r["序号"] for r in rows] == list(range(1, 21))
    codes = {f.code for f in outcomes[0].findings}
    assert {"rule.placeholder", "rule.value_unparsed", "rule.required_empty"} <= codes
    assert "file.unchanged_template" not in codes  # re-saved: not the issued bytes
    unparsed = next(r for r in rows if r["填写内容"] == "每年2-3次，每次24块")
    assert (unparsed["工作表"], unparsed["单元格"], unparsed["级别"]) == (
        "06 政务公开工作经费", "D14", "提醒")
    assert "无法自动读出一个目标值" in unparsed["问题"] and unparsed["修改方法"]


def test_findings_sorted_by_file_project_then_cell_in_natural_order(
        first_run: tuple[Office, CollectRun]) -> None:
    _, run = first_run
    rows = findings_table(run.feedback[0])
    keys = [(r[FILE_NUMBER], r["项目编码"], natural(r["单元格"])) for r in rows]
    assert keys == sorted(keys)
    project6 = [r["单元格"] for r in rows if r["项目编码"] == "01100120230006"]
    assert project6 == ["D14", "D15", "D17", "C30"]  # by row, not as text


def test_cell_order_is_row_then_column_with_no_cell_first() -> None:
    cells = ["D12", "B12", "", "D9", "AA3", "C21", "C3"]
    assert sorted(cells, key=cell_order) == ["", "C3", "AA3", "D9", "B12", "D12", "C21"]


def test_heading_gives_verdict_and_each_file(first_run: tuple[Office, CollectRun]) -> None:
    _, run = first_run
    rejected, accepted = heading(run.feedback[0]), heading(run.feedback[1])
    assert rejected["主管部门"] == "011001 永宁县人民政府办公室"
    assert rejected["审核结论"] == "需修改后重新报送"
    assert rejected["files"] == [{"文件": "永宁县.xlsx", "收取结果": "退回修改", "错误数": 1,
                                  "提醒数": 19, "说明": "请按问题清单修改后重新报送"}]
    assert accepted["审核结论"] == "已接受"
    assert [(f["收取结果"], f["错误数"], f["提醒数"]) for f in accepted["files"]] == [
        ("已接受", 0, 0)]


def test_no_findings_says_so(first_run: tuple[Office, CollectRun]) -> None:
    _, run = first_run
    info = heading(run.feedback[1])
    assert (NOTHING_TO_FIX,) + (None,) * 8 in info["rows"]
    assert all(row[:len(FINDING_HEADER)] != FINDING_HEADER for row in info["rows"])


def test_print_ready(first_run: tuple[Office, CollectRun]) -> None:
    _, run = first_run
    sheet = load_workbook(run.feedback[0]).active
    top = header_row(sheet, FINDING_HEADER)
    assert sheet.page_setup.orientation == "landscape"
    assert str(sheet.page_setup.paperSize) == "9"
    assert sheet.sheet_properties.pageSetUpPr.fitToPage
    assert sheet.page_setup.fitToWidth in (None, 1)  # 1 is the default, left out of the file
    assert sheet.page_setup.fitToHeight == 0
    assert sheet.print_title_rows == f"${top}:${top}"
    assert sheet.freeze_panes == f"A{top + 1}"
    assert sheet.auto_filter.ref == f"A{top}:I{top + 20}"
    assert all(sheet.column_dimensions[c].width >= 20 for c in "FGH")
    assert sheet[f"G{top + 1}"].alignment.wrap_text
    rules = [rule for cf in sheet.conditional_formatting for rule in cf.rules]
    assert any('"错误"' in formula for rule in rules for formula in rule.formula)


def test_summary_departments(first_run: tuple[Office, CollectRun]) -> None:
    _, run = first_run
    rows = table(run.feedback[-1], "部门")
    assert [tuple(r.values())[:7] for r in rows] == [
        ("011001", "永宁县人民政府办公室", 7, 1, 0, 1, "有错误待修改"),
        ("012001", "中卫市沙坡头区人民政府办公室", 5, 1, 1, 0, "已接受"),
        ("013042", "固原市信访局", 4, 0, 0, 0, "未报送"),
        ("合计", "3 个部门", 16, 2, 1, 1, "已接受 1，有错误待修改 1，未报送 1"),
    ]
    assert rows[0]["最近收到时间"] is not None and rows[2]["最近收到时间"] is None


def test_summary_projects(first_run: tuple[Office, CollectRun]) -> None:
    office, run = first_run
    rows = table(run.feedback[-1], "项目")
    with open_store(office.store) as store:
        issued = {t.department_code: store.template_projects(t.template_id)
                  for t in store.templates()}
    expected_state = {"011001": "有错误待修改", "012001": "已接受", "013042": "未报送"}
    assert [(r["主管部门编码"], r["项目编码"], r["项目名称"], r["状态"]) for r in rows] == [
        (code, p.project_code, p.project_name, expected_state[code])
        for code, projects in issued.items() for p in projects]
    totals = [Decimal(str(r["年度资金总额（万元）"])) for r in rows]
    assert totals == [p.total for projects in issued.values() for p in projects]
    sheet = load_workbook(run.feedback[-1])["项目"]
    assert sheet["E3"].number_format == "#,##0.00"


def test_summary_files(first_run: tuple[Office, CollectRun]) -> None:
    office, run = first_run
    sheet = load_workbook(run.feedback[-1])["文件"]
    assert sheet_rows(sheet)[1] == tuple(c.header for c in RECEIVED_TABLE)
    rows = table(run.feedback[-1], "文件")
    with open_store(office.store) as store:
        received = store.received_files()
        counts = [(sum(f.is_error for f in store.findings(r.sha256)),
                   sum(not f.is_error for f in store.findings(r.sha256))) for r in received]
    assert [(r["原文件名"], r["主管部门编码"] or "", r["结果"], r["错误数"], r["提醒数"],
             r["SHA-256"]) for r in rows] == [
        (r.original_name, r.department_code, RESULTS[r.status], errors, warnings, r.sha256[:12])
        for r, (errors, warnings) in zip(received, counts, strict=True)]
    assert [r["原文件名"] for r in rows] == ["永宁县.xlsx", "沙坡头区.xlsx", "=1+1.txt"]
    assert sheet["B5"].data_type == "s"
    assert all(Path(r["存档位置"]).is_file() for r in rows)


# -- hostile text --------------------------------------------------------------------------


def formulas_links_or_dde(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as archive:
        found = [n for n in archive.namelist() if re.search(r"externalLink|hyperlink", n, re.I)]
        for name in archive.namelist():
            if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                xml = archive.read(name).decode()
                found += [f"{name}: {tag}" for tag in re.findall(r"<(?:f|hyperlink)[ >]", xml)]
    return found


def test_formula_looking_values_stay_text(office: Office) -> None:
    files = [arrived(tampered_013042(office, "=SUM(1).xlsx"), 1)]
    run = collect(files, store=office.store, feedback=office.tmp / "fb")
    path = run.feedback[0]
    rows = findings_table(path)
    assert written_rows(rows) == expected_rows(run.files[0:1])
    sheet = load_workbook(path).active
    top = header_row(sheet, FINDING_HEADER)
    values = {sheet.cell(row, 6).value: sheet.cell(row, 6)
              for row in range(top + 1, top + 1 + len(rows))}
    for text in (HYPERLINK, DDE, "=1+1"):
        assert values[text].data_type == "s"
    assert all(sheet.cell(row, 2).value == 1 for row in range(top + 1, top + 1 + len(rows)))
    [named] = [c for row in sheet.iter_rows() for c in row if c.value == "=SUM(1).xlsx"]
    assert named.data_type == "s"  # the file, named once in the files table
    assert not sheet._hyperlinks
    for written in run.feedback:
        assert formulas_links_or_dde(written) == []


def test_locked_cell_first_then_cells_in_row_order(office: Office) -> None:
    run = collect([arrived(tampered_013042(office, "信访局.xlsx"), 1)], store=office.store,
                  feedback=office.tmp / "fb")
    rows = findings_table(run.feedback[0])
    first = [r["单元格"] for r in rows if r["工作表"] == "01 维稳经费"]
    assert first == sorted(first, key=natural) and first[0] == "C3"


# -- determinism, later runs, duplicates ------------------------------------------------------


def test_same_input_gives_byte_identical_feedback(office: Office) -> None:
    files = [arrived(as_issued(office, "011001", "永宁县.xlsx"), 1),
             arrived(clean_012001(office, "沙坡头区.xlsx"), 2),
             arrived(tampered_013042(office, "信访局.xlsx"), 3)]
    written = []
    for attempt in ("a", "b"):
        store = office.tmp / attempt / "x.db"
        store.parent.mkdir()
        shutil.copyfile(office.store, store)
        written.append(collect(files, store=store, feedback=office.tmp / attempt / "fb").feedback)
    first, second = written
    assert [p.name for p in first] == [p.name for p in second]
    assert len(first) == 4
    for one, other in zip(first[:-1], second[:-1], strict=True):
        assert one.read_bytes() == other.read_bytes()


def test_later_run_duplicates_and_superseded(office: Office) -> None:
    rejected = arrived(as_issued(office, "011001", "永宁县.xlsx"), 1)
    collect([rejected], store=office.store)
    first = arrived(clean_012001(office, "沙坡头区.xlsx"), 2)
    second = arrived(clean_012001(office, "沙坡头区v2.xlsx", XT_P01_GOAL="完成疫情防控任务"), 3)
    again = office.returned("copy") / "沙坡头区v2.xlsx"
    again.parent.mkdir()
    arrived(Path(shutil.copyfile(second, again)), 4)
    run = collect([rejected, first, second, again], store=office.store,
                  feedback=office.tmp / "fb")
    # The resent copies tell the departments nothing new: they are the office's to note.
    assert [p.name for p in run.feedback] == [
        "2023年_012001_中卫市沙坡头区人民政府办公室_反馈表.xlsx", SUMMARY_NAME]
    fixed = heading(run.feedback[0])
    assert fixed["审核结论"] == "已接受"
    assert [f["收取结果"] for f in fixed["files"]] == ["已被新版替代", "已接受"]
    assert (NOTHING_TO_FIX,) + (None,) * 8 in fixed["rows"]

    noted = table(run.feedback[-1], OFFICE_SHEET)
    copies = [(r["原文件名"], r["主管部门编码"], r["收到时间"]) for r in noted
              if "重复收到" in r["问题"]]
    assert copies == [("永宁县.xlsx", "011001", "本次收取"),
                      ("沙坡头区v2.xlsx", "012001", "本次收取")]
    assert "退回修改" in next(r["问题"] for r in noted if r["原文件名"] == "永宁县.xlsx")

    departments = {r["主管部门编码"]: r for r in table(run.feedback[-1], "部门")}
    assert (departments["011001"]["已收到文件数"], departments["011001"]["状态"]) == (
        1, "有错误待修改")
    assert (departments["012001"]["已收到文件数"], departments["012001"]["已接受"],
            departments["012001"]["状态"]) == (2, 2, "已接受")
    results = [(r["原文件名"], r["结果"]) for r in table(run.feedback[-1], "文件")]
    assert results == [("永宁县.xlsx", "退回修改"), ("沙坡头区.xlsx", "已被新版替代"),
                       ("沙坡头区v2.xlsx", "已接受")]


def test_reissued_department_is_listed_once(office: Office) -> None:
    issue_templates(SAMPLES / "ledger.xlsx", office.tmp / "reissued", store=office.store,
                    prefill=SAMPLES / "targets.xlsx", departments=["011001"])
    run = collect([arrived(junk(office, "readme.txt"), 1)], store=office.store,
                  feedback=office.tmp / "fb")
    assert [p.name for p in run.feedback] == [SUMMARY_NAME]
    departments = table(run.feedback[0], "部门")
    assert [r["主管部门编码"] for r in departments[:-1]] == ["011001", "012001", "013042"]
    projects = [r["项目编码"] for r in table(run.feedback[0], "项目")]
    assert len(projects) == len(set(projects)) == 16


# -- file names ----------------------------------------------------------------------------


@pytest.mark.parametrize(("code", "name", "year", "expected"), [
    ("011001", "永宁县人民政府办公室", 2023, "2023年_011001_永宁县人民政府办公室_反馈表.xlsx"),
    ("01/2", 'a:b*c?"d"<e>|f\\g', 2024, "2024年_01_2_a_b_c__d__e__f_g_反馈表.xlsx"),
    ("../..", "..", None, "__反馈表.xlsx"),
    ("009", "局" * 80, None, "009_" + "局" * 40 + "_反馈表.xlsx"),
])
def test_feedback_name_is_safe(code: str, name: str, year: int | None, expected: str) -> None:
    assert feedback_name(code, name, year) == expected

