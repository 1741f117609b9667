"""The master ledger: real .xlsx and .csv files in, exact values and located problems out."""

from __future__ import annotations

import csv
import json
import os
import zipfile
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xltool.cli import main
from xltool.codes import LEDGER_PROBLEMS
from xltool.errors import LedgerUnreadable
from xltool.findings import Severity
from xltool.ledger import (
    AMOUNT_TOLERANCE,
    LEDGER_COLUMNS,
    Ledger,
    LedgerProject,
    column_reference,
    load_ledger,
    match_header,
)

HEADER = ["年度", "主管部门编码", "主管部门", "实施单位", "项目编码", "项目名称", "项目属性",
          "项目期", "年度资金总额", "财政拨款", "其他资金", "结余结转"]
SHORT = ["年度", "主管部门编码", "主管部门", "项目编码", "项目名称", "年度资金总额", "财政拨款",
         "其他资金", "结余结转", "联系邮箱"]

Cells = Sequence[object]


def write_xlsx(path: Path, rows: Sequence[Cells], *, before: Sequence[str] = ()) -> Path:
    """A workbook whose ledger sheet comes after the sheets named in `before`."""
    workbook = openpyxl.Workbook()
    first = workbook.active
    assert first is not None
    sheets = [first, *(workbook.create_sheet() for _ in before)]
    for sheet, title in zip(sheets, before, strict=False):
        sheet.title = title
        sheet.append(["填表说明：金额单位为万元"])
    for row in rows:
        sheets[-1].append(list(row))
    workbook.save(path)
    return path


def write_csv(path: Path, rows: Sequence[Cells], *, encoding: str = "utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


def located(ledger: Ledger) -> set[tuple[str, int | None, str]]:
    return {(p.code, p.row, p.column) for p in ledger.problems}


def codes(ledger: Ledger) -> list[str]:
    return [p.code for p in ledger.problems]


# --- reading values ----------------------------------------------------------


def test_xlsx_values_are_read_exactly(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "总账.xlsx", [
        ["2024年项目支出预算台账"],
        HEADER,
        [2024, 812, "财政局", "信息中心", "0812001", "信息化运维", "经常性项目", "1年",
         0.3, 0.1, 0.2, None],
        [2024.0, 812.0, "财政局", None, 81200000002, " 办公楼  维修 ", "一次性项目", None,
         "1,234.50", "１２３４.５", None, None],
        [],
        ["2024", "0813", "信访局", "信访局", "0813001", "信访接待", None, None, 20, 18, "", 2],
    ])
    ledger = load_ledger(path)
    assert ledger.problems == ()
    assert ledger.projects == (
        LedgerProject(year=2024, department_code="812", department="财政局", unit="信息中心",
                      code="0812001", name="信息化运维", attribute="经常性项目", period="1年",
                      total=Decimal("0.3"), fiscal=Decimal("0.1"), other=Decimal("0.2"),
                      carryover=None, row=3),
        LedgerProject(year=2024, department_code="812", department="财政局",
                      code="81200000002", name="办公楼  维修", attribute="一次性项目",  # trimmed
                      total=Decimal("1234.50"), fiscal=Decimal("1234.5"), row=4),
        LedgerProject(year=2024, department_code="0813", department="信访局", unit="信访局",
                      code="0813001", name="信访接待", total=Decimal(20), fiscal=Decimal(18),
                      other=None, carryover=Decimal(2), row=6),
    )
    assert str(ledger.projects[0].fiscal) == "0.1"


def test_the_header_row_may_sit_on_a_later_sheet(tmp_path: Path) -> None:
    rows: list[Cells] = [HEADER, [2024, "001", "民政局", "", "001001", "低保", "", "", 5, 5, 0, 0]]
    ledger = load_ledger(write_xlsx(tmp_path / "l.xlsx", rows, before=["说明"]))
    assert ledger.problems == ()
    assert [(p.code, p.row) for p in ledger.projects] == [("001001", 2)]


def test_a_two_row_header_under_a_merged_amount_cell(tmp_path: Path) -> None:
    rows: list[Cells] = [
        ["年度", "主管部门编码", "主管部门", "项目编码", "项目名称", "项目资金（万元）"],
        [None, None, None, None, None, "年度资金总额", "财政拨款", "其他资金"],
        [2024, "101", "教育局", "P1", "校舍维修", 10, 8, 2],
    ]
    ledger = load_ledger(write_xlsx(tmp_path / "l.xlsx", rows))
    assert ledger.problems == ()
    assert ledger.projects[0].total == Decimal(10)
    assert ledger.projects[0].row == 3


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_csv_in_every_encoding_reads_the_same(tmp_path: Path, encoding: str) -> None:
    rows = [SHORT, ["2024", "0101", "教育局（本级）", "0101001", "营养餐", "１２.５", "12.5",
                    "", "", "jyj@example.gov.cn"]]
    ledger = load_ledger(write_csv(tmp_path / "l.csv", rows, encoding=encoding))
    assert ledger.problems == ()
    (project,) = ledger.projects
    assert (project.department_code, project.code) == ("0101", "0101001")
    assert project.department == "教育局（本级）"  # as written: NFKC folds keys only
    assert project.total == project.fiscal == Decimal("12.5")
    assert project.other is None and project.email == "jyj@example.gov.cn"


def test_encoding_can_be_forced(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "l.csv", [SHORT, ["2024", "1", "部门", "P", "项目", "1", "1"]],
                     encoding="gb18030")
    assert load_ledger(path, encoding="gb18030").projects[0].department == "部门"


def test_tab_separated_text_named_csv(tmp_path: Path) -> None:
    path = tmp_path / "l.csv"
    path.write_text("\t".join(SHORT[:7]) + "\n2024\t1\t部门\tP\t项目\t1\t1\n", encoding="utf-8")
    assert load_ledger(path).projects[0].code == "P"


def test_english_and_variant_headers(tmp_path: Path) -> None:
    english = ["Year", "Department Code", "DEPARTMENT", "project_code", "Project Name", "Total",
               "fiscal", "Other", "carry_over", "Supervisor", "Email", "remarks"]
    variants = ["预算年度", "主管部门代码", "部门名称", "项目代码", "项目名称",
                "年度资金总额（万元）", "其中：财政拨款", "其他资金(万元)", "结余结转",
                "项目主管处室", "联系邮箱", "备注"]
    data = ["2024", "9", "审计局", "A1", "审计", "3", "1", "1", "1", "预算处", "a@b.cn", "x"]
    for headers in (english, variants):
        ledger = load_ledger(write_csv(tmp_path / "l.csv", [headers, data]))
        assert ledger.problems == ()
        project = ledger.projects[0]
        assert (project.supervisor, project.carryover) == ("预算处", Decimal(1))


def test_header_matching_ignores_decoration() -> None:
    assert match_header("*项目编码") is match_header("project code")
    assert match_header("其中:财政拨款") is match_header("财政拨款")
    assert match_header("年度资金总额（万元）") is match_header("TOTAL")
    assert match_header("备注") is None


def test_amounts_in_yuan_are_converted_to_wan(tmp_path: Path) -> None:
    rows = [SHORT, ["2024", "1", "部门", "P", "项目", "123450", "100000", "23450"]]
    ledger = load_ledger(write_csv(tmp_path / "l.csv", rows), amounts_in="元")
    assert ledger.problems == ()
    assert ledger.projects[0].total == Decimal("12.345")
    assert ledger.projects[0].other == Decimal("2.345")


def test_rounding_within_tolerance_is_not_a_mismatch(tmp_path: Path) -> None:
    within = str(Decimal("3.33") + AMOUNT_TOLERANCE)
    rows = [SHORT, ["2024", "1", "部门", "P", "项目", within, "1.11", "1.11", "1.11"]]
    assert load_ledger(write_csv(tmp_path / "l.csv", rows)).problems == ()


def test_total_and_note_rows_are_not_projects(tmp_path: Path) -> None:
    rows = [SHORT, ["2024", "1", "部门", "P", "项目", "1", "1"], [],
            ["", "", "合 计", "", "", "1", "1"], ["注：金额单位为万元"]]
    ledger = load_ledger(write_csv(tmp_path / "l.csv", rows))
    assert ledger.problems == ()
    assert len(ledger.projects) == 1


# --- problems ------------------------------------------------------------------

PROBLEM_ROWS: list[Cells] = [
    SHORT,
    ["2024", "101", "教育局", "P1", "项目一", "10", "6", "3", "1", "a@b.cn"],     # 2 fine
    ["2024", "101", "教育局", "P1", "项目重复", "5", "5"],                         # 3
    ["2024", "101", "教育厅", "P3", "项目三", "10", "5"],                          # 4
    ["2024", "102", "教育局", "P4", "项目四", "abc", ""],                          # 5
    ["2024", "103", "卫健委", "P5", "项目五", "-1", "-1"],                         # 6
    ["", "103", "卫健委", "P6", "项目六", "1", "1"],                               # 7
    ["二〇二四", "103", "卫健委", "P7", "项目七", "1", "1"],                       # 8
    ["2023", "103", "卫健委", "P8", "项目八", "1", "1"],                           # 9
    ["2024", "", "卫健委", "P9", "项目九", "1", "1"],                              # 10
    ["2024", "103", "卫健委", "", "项目十", "1", "1"],                             # 11
    ["2024", "103", "卫健委", "P11", "", "1", "1"],                                # 12
    [],                                                                            # 13
    ["2024", "103", "", "P12", "项目十二", "1", "1"],                              # 14
    ["2024", "103", "卫健委", "P13", "项目十三", "1", "1", "", "", "not-an-email"],  # 15
    ["", "", "合计", "", "", "100", "100"],                                        # 16
    ["", "", "", "", "", "5", "5"],                                                # 17
]


def test_every_problem_is_found_and_located(tmp_path: Path) -> None:
    ledger = load_ledger(write_csv(tmp_path / "l.csv", PROBLEM_ROWS))
    assert located(ledger) == {
        ("ledger.duplicate_code", 3, "项目编码"),
        ("ledger.total_mismatch", 4, "年度资金总额"),
        ("ledger.department_name_conflict", 4, "主管部门"),
        ("ledger.bad_amount", 5, "年度资金总额"),
        ("ledger.missing_amount", 5, "财政拨款"),
        ("ledger.department_code_conflict", 5, "主管部门编码"),
        ("ledger.negative_amount", 6, "年度资金总额"),
        ("ledger.negative_amount", 6, "财政拨款"),
        ("ledger.missing_year", 7, "年度"),
        ("ledger.bad_year", 8, "年度"),
        ("ledger.mixed_years", 9, "年度"),
        ("ledger.empty_department_code", 10, "主管部门编码"),
        ("ledger.empty_code", 11, "项目编码"),
        ("ledger.empty_name", 12, "项目名称"),
        ("ledger.empty_department", 14, "主管部门"),
        ("ledger.bad_email", 15, "联系邮箱"),
        ("ledger.row_without_project", 17, ""),
    }
    assert len(ledger.problems) == 18 - 1  # one finding per (code, row, column): none doubled
    assert [p.row for p in ledger.problems] == sorted(p.row or 0 for p in ledger.problems)
    assert ledger.has_errors and ledger.warning_count == 4
    assert all(p.file == "l.csv" and p.message and p.fix for p in ledger.problems)


def test_problem_messages_carry_the_facts(tmp_path: Path) -> None:
    ledger = load_ledger(write_csv(tmp_path / "l.csv", PROBLEM_ROWS))
    by_code = {p.code: p for p in ledger.problems}
    mismatch = by_code["ledger.total_mismatch"]
    assert (mismatch.value, mismatch.project, mismatch.department) == ("10", "P3", "教育厅")
    assert "10" in mismatch.message and "5" in mismatch.message and "相差 5" in mismatch.message
    assert "第2行" in by_code["ledger.duplicate_code"].message
    conflict = by_code["ledger.department_name_conflict"].message
    assert "教育局" in conflict and "教育厅" in conflict and "第2行" in conflict
    assert by_code["ledger.bad_amount"].value == "abc"
    assert by_code["ledger.mixed_years"].severity is Severity.WARNING


def test_missing_columns_are_all_reported_without_row_noise(tmp_path: Path) -> None:
    rows = [["标题"], ["主管部门编码", "主管部门", "项目编码", "项目名称", "年度资金总额"],
            ["1", "部门", "P", "项目", ""], ["1", "部门", "Q", "项目二", "3"]]
    ledger = load_ledger(write_csv(tmp_path / "l.csv", rows))
    assert located(ledger) == {("ledger.missing_column", 2, "年度"),
                               ("ledger.missing_column", 2, "财政拨款"),
                               ("ledger.missing_amount", 3, "年度资金总额")}
    year = next(p for p in ledger.problems if p.column == "年度")
    assert "预算年度" in year.message and "year" in year.message
    assert len(ledger.projects) == 2


def test_a_file_without_any_header(tmp_path: Path) -> None:
    ledger = load_ledger(write_csv(tmp_path / "l.csv", [["a", "b"], ["1", "2"]]))
    assert codes(ledger) == ["ledger.missing_column"] * 7
    assert {p.row for p in ledger.problems} == {1}


def test_a_header_without_projects_is_empty(tmp_path: Path) -> None:
    ledger = load_ledger(write_xlsx(tmp_path / "l.xlsx", [HEADER, [], [None, None]]))
    assert located(ledger) == {("ledger.empty", None, "")}


def test_a_stated_unit_must_match_how_amounts_are_read(tmp_path: Path) -> None:
    rows = [["年度", "主管部门编码", "主管部门", "项目编码", "项目名称", "年度资金总额（元）",
             "财政拨款（元）"], ["2024", "1", "部门", "P", "项目", "10000", "10000"]]
    path = write_csv(tmp_path / "l.csv", rows)
    assert located(load_ledger(path)) == {("ledger.amount_unit", 1, "年度资金总额（元）"),
                                          ("ledger.amount_unit", 1, "财政拨款（元）")}
    in_yuan = load_ledger(path, amounts_in="元")
    assert in_yuan.problems == () and in_yuan.projects[0].total == Decimal(1)


def test_a_long_code_saved_as_a_number(tmp_path: Path) -> None:
    rows: list[Cells] = [HEADER, [2024, 1, "部门", "", 6.4042121e19, "项目", "", "", 1, 1]]
    ledger = load_ledger(write_xlsx(tmp_path / "l.xlsx", rows))
    (problem,) = ledger.problems
    assert (problem.code, problem.row, problem.value) == (
        "ledger.code_as_number", 2, "64042121000000000000")


def test_a_repeated_header_column_is_a_warning(tmp_path: Path) -> None:
    rows = [[*SHORT[:7], "项目编码"], ["2024", "1", "部门", "P", "项目", "1", "1", "X"]]
    ledger = load_ledger(write_csv(tmp_path / "l.csv", rows))
    assert located(ledger) == {("ledger.duplicate_column", 1, "项目编码")}
    assert ledger.projects[0].code == "P"


def test_the_problem_table_is_well_formed() -> None:
    problem_codes = [p.code for p in LEDGER_PROBLEMS]
    assert len(set(problem_codes)) == len(problem_codes)
    assert all(code.startswith("ledger.") for code in problem_codes)
    assert {c.key for c in LEDGER_COLUMNS if c.required} == {
        "year", "department_code", "department", "project_code", "project_name", "total",
        "fiscal"}
    reference = column_reference()
    assert all(column.header in reference for column in LEDGER_COLUMNS)


# --- the Ledger API ------------------------------------------------------------


def test_ledger_views(tmp_path: Path) -> None:
    rows = [SHORT, ["2024", "0101", "教育局", "P1", "一", "1.5", "1", "0.5"],
            ["2024", "0201", "卫健委", "P2", "二", "2", "2"],
            ["2024", "0101", "教育局", "P3", "三", "0.25", "0", "", "0.25"]]
    ledger = load_ledger(write_csv(tmp_path / "l.csv", rows))
    assert ledger.year == 2024
    assert ledger.departments == (("0101", "教育局"), ("0201", "卫健委"))
    assert [p.code for p in ledger.by_department()["0101"]] == ["P1", "P3"]
    assert ledger.project("P3") is ledger.projects[2]
    assert ledger.project("P9") is None
    frame = ledger.frame()
    assert frame["项目编码"].tolist() == ["P1", "P2", "P3"]
    assert frame["主管部门编码"].tolist() == ["0101", "0201", "0101"]
    assert frame["年度资金总额"].tolist() == [Decimal("1.5"), Decimal(2), Decimal("0.25")]
    assert frame["行号"].tolist() == [2, 3, 4]
    summary = ledger.summary()
    assert summary.to_dict("records") == [
        {"主管部门编码": "0101", "主管部门": "教育局", "项目数": 2, "年度资金总额": Decimal("1.75"),
         "财政拨款": Decimal(1), "其他资金": Decimal("0.5"), "结余结转": Decimal("0.25")},
        {"主管部门编码": "0201", "主管部门": "卫健委", "项目数": 1, "年度资金总额": Decimal(2),
         "财政拨款": Decimal(2), "其他资金": Decimal(0), "结余结转": Decimal(0)},
    ]
    assert all(isinstance(v, Decimal) for v in summary["年度资金总额"])


def test_year_is_none_when_years_are_mixed(tmp_path: Path) -> None:
    rows = [SHORT, ["2024", "1", "部门", "P1", "一", "1", "1"],
            ["2025", "1", "部门", "P2", "二", "1", "1"]]
    ledger = load_ledger(write_csv(tmp_path / "l.csv", rows))
    assert ledger.year is None
    assert located(ledger) == {("ledger.mixed_years", 3, "年度")}  # a tie: the first year wins


def test_an_empty_ledger_frame_has_the_columns(tmp_path: Path) -> None:
    ledger = load_ledger(write_csv(tmp_path / "l.csv", [SHORT]))
    assert list(ledger.frame().columns) == ["行号", *(c.header for c in LEDGER_COLUMNS)]
    assert ledger.summary().empty


# --- files that cannot be read ---------------------------------------------------


def test_random_bytes_named_xlsx(tmp_path: Path) -> None:
    path = tmp_path / "坏文件.xlsx"
    path.write_bytes(os.urandom(512))
    with pytest.raises(LedgerUnreadable, match=r"坏文件\.xlsx：不是有效的 \.xlsx 文件"):
        load_ledger(path)


def test_a_zip_that_is_not_a_workbook(tmp_path: Path) -> None:
    path = tmp_path / "l.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "not a workbook")
    with pytest.raises(LedgerUnreadable, match="不是有效的"):
        load_ledger(path)


@pytest.mark.parametrize(("name", "reason"), [
    ("ledger.txt", "不支持"), ("ledger.xls", "另存为 .xlsx"), ("ledger", "不支持"),
])
def test_unknown_extensions(tmp_path: Path, name: str, reason: str) -> None:
    path = tmp_path / name
    path.write_text("年度,项目编码\n", encoding="utf-8")
    with pytest.raises(LedgerUnreadable, match=reason):
        load_ledger(path)


def test_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(LedgerUnreadable, match="不存在"):
        load_ledger(tmp_path / "nope.xlsx")


@pytest.mark.parametrize(("encoding", "reason"), [("ascii", "无法按 ascii 解码"),
                                                  ("no-such-codec", "不认识的编码")])
def test_a_wrong_encoding(tmp_path: Path, encoding: str, reason: str) -> None:
    path = write_csv(tmp_path / "l.csv", [SHORT])
    with pytest.raises(LedgerUnreadable, match=reason):
        load_ledger(path, encoding=encoding)


# --- the command ------------------------------------------------------------------


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["ledger", *args])
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def test_cli_clean_ledger(tmp_path: Path) -> None:
    rows = [SHORT, ["2024", "0101", "教育局[本级]", "P1", "一", "1.5", "1", "0.5"]]
    code, output = run(str(write_csv(tmp_path / "l.csv", rows)))
    assert code == 0
    assert "教育局[本级]" in output and "1.5" in output
    assert "总账可以使用：1 个项目，1 个主管部门。" in output


def test_cli_reports_problems_and_fails(tmp_path: Path) -> None:
    code, output = run(str(write_csv(tmp_path / "l.csv", PROBLEM_ROWS)))
    assert code == 1
    assert "第3行 项目编码" in output and "ledger.duplicate_code" in output
    assert "13 个错误、4 个警告" in output


def test_cli_json(tmp_path: Path) -> None:
    rows = [SHORT, ["2024", "0101", "教育局", "P1", "一", "123450", "100000", "23450"],
            ["2024", "0101", "教育局", "P1", "二", "10000", "10000"]]
    code, output = run(str(write_csv(tmp_path / "l.csv", rows)), "--yuan", "--json")
    assert code == 1
    data = json.loads(output)
    assert data["file"] == "l.csv" and data["year"] == 2024
    assert data["departments"] == [{"code": "0101", "name": "教育局", "projects": 2,
                                    "total": "13.345", "fiscal": "11", "other": "2.345",
                                    "carryover": "0"}]
    assert data["summary"] == {"projects": 2, "departments": 1, "total": "13.345", "errors": 1,
                               "warnings": 0}
    (problem,) = data["problems"]
    assert (problem["code"], problem["row"], problem["severity"]) == (
        "ledger.duplicate_code", 3, "error")


def test_cli_encoding_option(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "l.csv", [SHORT, ["2024", "1", "部门", "P", "项目", "1", "1"]],
                     encoding="gb18030")
    code, output = run(str(path), "--encoding", "gb18030", "--json")
    assert code == 0 and json.loads(output)["departments"][0]["name"] == "部门"


def test_cli_unreadable_file_is_a_clean_error(tmp_path: Path) -> None:
    path = tmp_path / "坏文件.xlsx"
    path.write_bytes(b"\x00\x01not a zip")
    code, output = run(str(path))
    assert code == 2
    assert output.startswith("Error: 无法读取总账 坏文件.xlsx")


# --- never raises on content ------------------------------------------------------

cells = st.one_of(st.text(max_size=12), st.integers(), st.decimals(allow_nan=False),
                  st.floats(), st.sampled_from(["", " ", "合计", "-", "1,000.5", "２０", "2024年"]))
rows_of_cells = st.lists(st.lists(cells, max_size=12), max_size=8)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=rows_of_cells, with_header=st.booleans())
def test_arbitrary_csv_content_never_raises(tmp_path: Path, rows: list[list[object]],
                                            with_header: bool) -> None:
    path = write_csv(tmp_path / "any.csv", [SHORT, *rows] if with_header else rows)
    ledger = load_ledger(path)
    assert all(p.code in {q.code for q in LEDGER_PROBLEMS} for p in ledger.problems)
    ledger.frame()
    ledger.summary()
    json.dumps(ledger.to_dict(), default=str)
