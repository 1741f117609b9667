"""`xltool publish`: the disclosure workbook, checked cell by cell against the store."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from tests.conftest import SAMPLES, complete_values, ledger_row, write_ledger
from tests.fill import fill_with_openpyxl
from xltool.cli import main
from xltool.collect import collect
from xltool.money import AMOUNT_FORMAT
from xltool.profile import load_profile
from xltool.publish import PdfUnavailable, Publication, publish
from xltool.publish.pdf import require_cjk_font
from xltool.store import open_store
from xltool.targets import Indicator, Targets, read_targets, write_targets
from xltool.template import issue_templates
from xltool.values import parse_value

# -- accepted returns, made as departments make them ---------------------------------------


def fix_rejected(store: Path, issued: dict[str, Path], outdir: Path) -> list[Path]:
    """Collect the issued templates as returned; correct each error cell as a clerk would."""
    profile = load_profile("ningxia-2021")
    fixed = []
    returned = [fill_with_openpyxl(path, {}, outdir.parent / "returned" / path.name)
                for path in issued.values()]  # re-saved: the issued bytes are no return
    for outcome in collect(returned, store=store).files:
        if outcome.status != "rejected":
            continue
        with open_store(store) as opened:
            cells = {(c.sheet, c.cell): c for c in opened.issued_form(outcome.template_id).cells()}
            totals = {p.project_code: p.total for p in
                      opened.template_projects(outcome.template_id)}
        values: dict[str, object] = {}
        for finding in (f for f in outcome.findings if f.is_error):
            cell = cells[(finding.sheet, finding.cell)]
            category = profile.category_by_level2(cell.category)
            assert category is not None, finding
            values[cell.name.replace("_NAME", "_VALUE")] = {
                "cost": f"{totals[cell.project_code]}万元", "satisfaction": "≥95%"
            }.get(category.role or "", "1次")
            if cell.name.endswith("_NAME"):
                values[cell.name] = f"{category.level2}完成情况"
        source = issued[outcome.template_id]
        fixed.append(fill_with_openpyxl(source, values, outdir / source.name))
    return fixed


@pytest.fixture(scope="module")
def samples_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The three sample departments, prefilled from the sample targets, all accepted."""
    folder = tmp_path_factory.mktemp("samples")
    store = folder / "x.db"
    run = issue_templates(SAMPLES / "ledger.xlsx", folder / "templates", store=store,
                          prefill=SAMPLES / "targets.xlsx")
    issued = {w.template_id: w.path for w in run.workbooks}
    corrected = fix_rejected(store, issued, folder / "corrected")
    assert {f.status for f in collect(corrected, store=store).files} == {"accepted"}
    return store


@pytest.fixture(scope="module")
def published(samples_store: Path, tmp_path_factory: pytest.TempPathFactory
              ) -> tuple[Publication, Path]:
    output = tmp_path_factory.mktemp("published") / "公开.xlsx"
    return publish(store=samples_store, output=output), output


@dataclass(frozen=True)
class Expected:
    department_code: str
    department: str
    code: str
    name: str
    goal: str
    total: Decimal | None
    indicators: tuple[Indicator, ...]


def expected_projects(store: Path) -> list[Expected]:
    """Straight from the store: every accepted project with its indicators, in order."""
    projects = []
    with open_store(store) as opened:
        for current in opened.current_returns():
            template = opened.issued_form(current.template_id).template
            assert template is not None
            targets = opened.accepted_targets(current.sha256)
            for p in opened.template_projects(current.template_id):
                projects.append(Expected(template.department_code, template.department,
                                         p.project_code, p.project_name,
                                         targets.goals[p.project_code], p.total,
                                         targets.for_project(p.project_code)))
    return projects


# -- reading the workbook back -------------------------------------------------------------


@dataclass(frozen=True)
class Link:
    row: int
    shown: str
    sheet: str
    cell: str


def contents_links(book: Any) -> list[Link]:
    links = []
    for row in book["目录"].iter_rows(min_row=4):
        cell = row[1]
        if cell.hyperlink is not None:
            sheet, ref = cell.hyperlink.location.rsplit("!", 1)
            links.append(Link(cell.row, str(cell.value), sheet.strip("'"), ref))
    return links


def project_blocks(book: Any) -> dict[str, tuple[Worksheet, int, int]]:
    """Project code → (sheet, first row, last row) of its table, found through the contents."""
    links = [link for link in contents_links(book) if link.cell != "A1"]
    starts: dict[str, list[int]] = {}
    for link in links:
        starts.setdefault(link.sheet, []).append(int(link.cell[1:]))
    blocks = {}
    for link in links:
        sheet = book[link.sheet]
        row = int(link.cell[1:])
        later = [r for r in starts[link.sheet] if r > row]
        last = min(later) - 1 if later else sheet.max_row
        code = str(sheet.cell(row + 1, 1).value).removeprefix("项目编码：")
        blocks[code] = (sheet, row, last)
    return blocks


def read_table(sheet: Worksheet, first: int, last: int) -> dict[str, Any]:
    """One published table: its header fields, funding rows, goal and indicator rows."""
    fields: dict[str, Any] = {"title": sheet.cell(first, 1).value}
    rows: list[tuple[str, str, str, Any]] = []
    level1 = level2 = ""
    in_indicators = False
    for row in range(first + 2, last + 1):
        a, b, c, d, e = (sheet.cell(row, col).value for col in range(1, 6))
        if a == "一级指标":
            in_indicators = True
            fields["indicator_head"] = (a, b, c, d, e)
            continue
        if not in_indicators:
            _header_cells(fields, a, b, c, d, e)
            continue
        if a == "合计":
            fields["weight_total"] = e
            continue
        if str(e).startswith("项目编码："):  # a continuation page: the name again, then the head
            assert a == f"{fields['项目名称']}（续）"
            continue
        if c is None and e is None:
            continue
        level1, level2 = a or level1, b or level2
        rows.append((level1, level2, c, e))
    fields["indicators"] = rows
    return fields


def _header_cells(fields: dict[str, Any], a: Any, b: Any, c: Any, d: Any, e: Any) -> None:
    if a and not b:
        fields[a] = c
        if d:
            fields[d] = e
    elif b:  # a funding row: its label in B, the amount in D
        fields[b] = d


def text_cells(book: Any) -> Iterator[tuple[str, str, Any]]:
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, str):
                    yield sheet.title, cell.coordinate, cell


# -- the workbook, cell by cell ------------------------------------------------------------


def test_every_accepted_project_is_published_in_its_department_sheet(
        published: tuple[Publication, Path], samples_store: Path) -> None:
    publication, output = published
    book = load_workbook(output)
    blocks = project_blocks(book)
    expected = expected_projects(samples_store)
    assert len(expected) == 16 and sorted(blocks) == sorted(p.code for p in expected)
    for project in expected:
        sheet, first, last = blocks[project.code]
        assert sheet.title == f"{project.department_code} {project.department}"
        table = read_table(sheet, first, last)
        assert table["title"] == "2023年部门项目支出预算绩效目标表"
        assert table["项目名称"] == project.name
        assert table["主管部门"] == project.department
        assert table["年度总体目标"] == project.goal
        assert Decimal(str(table["年度资金总额"])) == project.total
        assert table["indicators"] == [(i.level1, i.level2, i.name, i.value or None)
                                       for i in project.indicators]
    assert publication.projects == 16
    assert publication.indicators == sum(len(p.indicators) for p in expected)


def test_header_fields_come_from_the_issued_record(published: tuple[Publication, Path],
                                                   samples_store: Path) -> None:
    _, output = published
    book = load_workbook(output)
    sheet, first, last = project_blocks(book)["01100120230002"]
    table = read_table(sheet, first, last)
    assert (table["实施单位"], table["项目属性"], table["项目期"]) == \
        ("办公室（观摩考察）", "一次性项目", "2021")  # as in the ledger
    assert table["其他资金"] is None and table["结余结转"] is None  # not in the ledger: blank
    sheet, first, last = project_blocks(book)["01304220230001"]
    assert read_table(sheet, first, last)["项目期"] == "2021 年-2021 年"


def test_every_indicator_is_in_the_flat_sheet_as_written(published: tuple[Publication, Path],
                                                         samples_store: Path) -> None:
    _, output = published
    book = load_workbook(output)
    rows = list(book["绩效指标"].iter_rows(values_only=True))
    assert rows[0] == ("主管部门编码", "主管部门", "项目编码", "项目名称", "一级指标", "二级指标",
                       "三级指标", "指标值", "比较符", "数值", "数值2", "单位", "权重",
                       "审核说明")
    expected = [(p.department_code, p.department, p.code, p.name, i.level1, i.level2, i.name,
                 i.value or None) for p in expected_projects(samples_store) for i in p.indicators]
    assert [r[:8] for r in rows[1:]] == expected
    for row in rows[1:]:
        parsed = parse_value(row[7])
        assert row[8] == parsed.comparator and row[11] == parsed.unit
        numbers = tuple(Decimal(str(n)) for n in row[9:11] if n is not None)
        assert numbers == parsed.numbers[:2]
    goals = list(book["总体目标"].iter_rows(values_only=True))
    assert [(r[2], r[5]) for r in goals[1:]] == \
        [(p.code, p.goal) for p in expected_projects(samples_store)]


def test_the_publication_reads_back_as_the_accepted_targets(
        published: tuple[Publication, Path], samples_store: Path, tmp_path: Path) -> None:
    _, output = published
    expected = expected_projects(samples_store)
    read = read_targets(output)
    assert read.problems == ()
    assert read.goals == {p.code: p.goal for p in expected}
    assert read.indicators == tuple(i for p in expected for i in p.indicators)
    again = publish(store=samples_store, output=tmp_path / "p.xlsx",
                    targets_out=tmp_path / "targets.xlsx")
    assert again.targets_out is not None and read_targets(again.targets_out) == read


def test_the_contents_links_point_at_each_table(published: tuple[Publication, Path],
                                                samples_store: Path) -> None:
    publication, output = published
    book = load_workbook(output)
    links = contents_links(book)
    departments = [link for link in links if link.cell == "A1"]
    assert [(link.sheet, link.shown) for link in departments] == \
        [(d.sheet, d.department) for d in publication.departments]
    for link in departments:
        assert book[link.sheet]["A1"].value == f"主管部门：{link.shown}（{link.sheet.split()[0]}）"
    projects = [link for link in links if link.cell != "A1"]
    assert [link.shown for link in projects] == [p.name for p in expected_projects(samples_store)]
    for link in projects:
        row = int(link.cell[1:])
        sheet = book[link.sheet]
        assert sheet.cell(row, 1).value == "2023年部门项目支出预算绩效目标表"
        assert sheet.cell(row + 2, 1).value == "项目名称"
        assert sheet.cell(row + 2, 3).value == link.shown
        code = book["目录"].cell(link.row, 3).value
        assert sheet.cell(row + 1, 1).value == f"项目编码：{code}"


def test_the_totals_add_up(published: tuple[Publication, Path], samples_store: Path) -> None:
    publication, output = published
    book = load_workbook(output)
    contents = book["目录"]
    expected = expected_projects(samples_store)
    by_department: dict[str, list[float]] = {}
    department_totals: dict[str, float] = {}
    current = ""
    for row in contents.iter_rows(min_row=4):
        number, _, code, total = (c.value for c in row[:4])
        if number == "合计":
            grand = total
        elif "." not in str(number):
            current = code
            department_totals[code] = total
        else:
            by_department.setdefault(current, []).append(total)
    for code, totals in by_department.items():
        assert sum(totals) == pytest.approx(department_totals[code])
    assert grand == pytest.approx(sum(department_totals.values()))
    assert Decimal(str(grand)) == sum((p.total or Decimal(0) for p in expected), Decimal(0))
    assert publication.total == Decimal("588")
    summary = list(book["汇总"].iter_rows(min_row=4, values_only=True))
    body, last = summary[:-1], summary[-1]
    assert [(r[1], r[3], r[5]) for r in body] == \
        [(d.department_code, d.projects, float(d.total)) for d in publication.departments]
    assert last[3] == sum(r[3] for r in body) == 16
    assert last[4] == sum(r[4] for r in body) == publication.indicators
    for col in range(5, 9):
        assert last[col] == pytest.approx(sum(r[col] for r in body))


def test_amounts_show_in_the_one_amount_format_and_stay_exact(tmp_path: Path) -> None:
    ledger = write_ledger(tmp_path / "ledger.csv", [
        ledger_row("001-01", "办公经费", total="10"),
        ledger_row("001-02", "宣传经费", total="5.5"),
        ledger_row("001-03", "印刷经费", total="2.345", fiscal="2.345"),
    ])
    store = accept_all(ledger, tmp_path)
    book = load_workbook(publish(store=store, output=tmp_path / "p.xlsx").output)
    blocks = project_blocks(book)
    formats = {}
    for code, (sheet, first, last) in blocks.items():
        row = next(r for r in range(first, last) if sheet.cell(r, 2).value == "年度资金总额")
        formats[code] = (sheet.cell(row, 4).value, sheet.cell(row, 4).number_format)
    assert formats == {"001-01": (10, AMOUNT_FORMAT), "001-02": (5.5, AMOUNT_FORMAT),
                       "001-03": (2.345, AMOUNT_FORMAT)}


def test_internal_fields_stay_out_of_the_public_table(tmp_path: Path) -> None:
    ledger = write_ledger(tmp_path / "ledger.csv", [ledger_row("001-01", "办公经费")])
    store = accept_all(ledger, tmp_path, profile="ningxia-2023")
    output = publish(store=store, output=tmp_path / "p.xlsx").output
    book = load_workbook(output)
    sheet = book["001 示例局"]
    texts = [str(c.value) for row in sheet.iter_rows() for c in row if c.value is not None]
    assert not [t for t in texts if re.search(r"必填|选填|综合评定|^指标\s*\d+\s*[:：]?$", t)]
    level2 = {sheet.cell(r, 2).value for r in range(1, sheet.max_row + 1)}
    assert "经济效益指标" not in level2 and "生态效益指标" not in level2  # optional, left empty
    assert "数量指标" in level2
    assert sheet.cell(3, 1).value == "部门项目支出预算绩效目标申报表（2024年度）"
    assert sheet.cell(6, 1).value == "主管部门及代码" and sheet.cell(6, 3).value == "示例局（001）"


def test_a_weighted_profile_publishes_weights_and_its_header(tmp_path: Path) -> None:
    ledger = write_ledger(tmp_path / "ledger.csv", [
        ledger_row("W-1", "督查经费", total="20", 项目主管处室="行政政法科",
                   项目属性="0101-一年期项目")])
    run = issue_templates(ledger, tmp_path / "t", store=tmp_path / "x.db", profile="weighted")
    values: dict[str, object] = {"XT_P01_GOAL": "全年完成督查任务。", "XT_P01_SUPERVISOR": "办公室"}
    texts = {1: "全年督查不少于 50 次", 2: "督查完成率100%", 3: "12月底前完成",
             4: "督查经费≤20万元", 5: "本指标不适用", 6: "群众办事便利度明显提升",
             8: "长效机制逐步健全", 9: "服务对象满意度≥95%"}
    weights = {1: 20, 2: 15, 3: 15, 4: 15, 6: 15, 8: 10, 9: 10}
    for number, text in texts.items():
        values[f"XT_P01_C{number:02d}_R01_NAME"] = text
        values[f"XT_P01_C{number:02d}_R01_WEIGHT"] = weights.get(number)
    returned = fill_with_openpyxl(run.workbooks[0].path, values, tmp_path / "r.xlsx")
    assert collect([returned], store=tmp_path / "x.db").files[0].status == "accepted"
    book = load_workbook(publish(store=tmp_path / "x.db", output=tmp_path / "p.xlsx").output)
    sheet, first, last = project_blocks(book)["W-1"]
    table = read_table(sheet, first, last)
    assert table["indicator_head"] == \
        ("一级指标", "二级指标", "三级指标（含指标值）", None, "绩效值")
    assert [(r[2], r[3]) for r in table["indicators"]] == \
        [(text, weights.get(n)) for n, text in sorted(texts.items())]
    assert table["weight_total"] == 100
    assert table["项目年度金额"] == 20
    # the issued record has the ledger's 项目主管处室; what the department typed is not known
    assert table["项目主管处室"] == "行政政法科" and table["项目属性"] == "0101-一年期项目"
    assert "指标值" not in {table["indicator_head"][3], table["indicator_head"][4]}


def test_the_print_setup_of_a_department_sheet(published: tuple[Publication, Path]) -> None:
    publication, output = published
    book = load_workbook(output)
    sheet = book[publication.departments[0].sheet]
    assert sheet.page_setup.paperSize == 9 and sheet.page_setup.fitToWidth in (1, None)
    assert sheet.sheet_properties.pageSetUpPr.fitToPage
    assert sheet.page_setup.fitToHeight == 0
    assert sheet.print_title_rows == "$1:$1"
    # a break before each next project, and one where a table runs onto another page:
    # that page starts with the project's name again
    for brk in sheet.row_breaks.brk:
        first = sheet.cell(brk.id + 1, 1).value
        assert str(sheet.cell(brk.id + 2, 1).value).startswith("项目编码：") \
            or str(first).endswith("（续）"), (brk.id, first)
    assert len(sheet.row_breaks.brk) >= publication.departments[0].projects - 1
    assert sheet.oddHeader.left.text in publication.departments[0].sheet
    assert "&P" in sheet.oddFooter.center.text and "&N" in sheet.oddFooter.center.text


def test_the_cover_says_what_is_published(published: tuple[Publication, Path],
                                          samples_store: Path, tmp_path: Path) -> None:
    publication, output = published
    cover = [c for c in load_workbook(output)["封面"]["A"] if c.value]
    assert cover[0].value == "2023年项目支出预算绩效目标" == publication.title
    note = cover[1].value
    assert note.startswith("　　根据《中华人民共和国预算法》")
    assert "现将2023年部门项目支出预算绩效目标予以公开。" in note
    assert cover[2].value == "　　附件：2023年部门项目支出预算绩效目标表"
    assert re.fullmatch(r"\d{4}年\d{1,2}月\d{1,2}日", cover[-1].value)
    custom = publish(store=samples_store, output=tmp_path / "c.xlsx", issuer="示例市财政局",
                     date="2024-02-20", basis="《示例市预算绩效管理办法》")
    values = [c.value for c in load_workbook(custom.output)["封面"]["A"] if c.value]
    assert values[0] == "示例市财政局2023年项目支出预算绩效目标"
    assert values[1].startswith("　　根据《示例市预算绩效管理办法》有关要求，现将")
    assert values[-2:] == ["示例市财政局", "2024年2月20日"]


# -- small stores: tricky text, missing projects -------------------------------------------


def accept_all(ledger: Path, tmp_path: Path, profile: str = "ningxia-2021") -> Path:
    store = tmp_path / "x.db"
    run = issue_templates(ledger, tmp_path / "templates", store=store, profile=profile)
    returns = [fill_with_openpyxl(w.path, complete_values(store, w.template_id),
                                  tmp_path / "returns" / w.path.name) for w in run.workbooks]
    assert {f.status for f in collect(returns, store=store).files} == {"accepted"}
    return store


RISKY = {"XT_P01_GOAL": "=HYPERLINK(\"http://example.com\",\"点击\")",
         "XT_P01_C01_R02_NAME": "+1 培训", "XT_P01_C01_R02_VALUE": "-5次",
         "XT_P01_C02_R02_NAME": "@SUM(A1)", "XT_P01_C02_R02_VALUE": "=1+1",
         "XT_P01_C03_R02_NAME": "http://example.com/x", "XT_P01_C03_R02_VALUE": "及时"}


def test_returned_text_is_never_a_formula_or_a_link(tmp_path: Path,
                                                    small_ledger: Path) -> None:
    store = tmp_path / "x.db"
    run = issue_templates(small_ledger, tmp_path / "templates", store=store)
    returns = []
    for w in run.workbooks:
        values = complete_values(store, w.template_id)
        if w.department_code == "001":
            values.update(RISKY)
        returns.append(fill_with_openpyxl(w.path, values, tmp_path / "r" / w.path.name))
    assert {f.status for f in collect(returns, store=store).files} == {"accepted"}
    output = publish(store=store, output=tmp_path / "p.xlsx").output
    with zipfile.ZipFile(output) as archive:
        parts = {n: archive.read(n).decode() for n in archive.namelist()}
    assert not [n for n, xml in parts.items() if "<f>" in xml or "<f " in xml]
    assert not [n for n in parts if "externalLink" in n]
    assert not [n for n, xml in parts.items() if n.endswith(".rels") and "External" in xml]
    book = load_workbook(output)
    risky = {c.value: c for _, _, c in text_cells(book) if c.value in {*RISKY.values(), "=1+1"}}
    assert set(risky) == {*RISKY.values(), "=1+1"}  # "=1+1" is also a project name
    for value, cell in risky.items():
        assert cell.data_type == "s", value
        if value[0] in "=+-@":
            assert cell.quotePrefix, (cell.parent.title, cell.coordinate)
    from tests.corpus import assert_inert_workbook

    assert_inert_workbook(output, texts=RISKY.values(), internal_links=True)


def test_missing_projects_are_listed_with_the_reason(tmp_path: Path) -> None:
    ledger = write_ledger(tmp_path / "ledger.csv", [
        ledger_row("001-01", "办公经费"), ledger_row("001-02", "宣传经费"),
        ledger_row("002-01", "运维经费", department=("002", "第二局")),
        ledger_row("003-01", "培训经费", department=("003", "第三局")),
    ])
    store = tmp_path / "x.db"
    run = issue_templates(ledger, tmp_path / "templates", store=store)
    first, second = run.workbooks[0], run.workbooks[1]
    good = fill_with_openpyxl(first.path, complete_values(store, first.template_id),
                              tmp_path / "r" / "good.xlsx")
    empty = fill_with_openpyxl(second.path, {}, tmp_path / "r" / "empty.xlsx")
    collect([good, empty], store=store)  # 002 returns its template empty: rejected
    publication = publish(store=store, output=tmp_path / "p.xlsx")
    assert [(m.project_code, m.reason) for m in publication.missing] == [
        ("002-01", "有错误待修改"), ("003-01", "未报送")]
    frame = publication.missing_frame()
    assert list(frame.columns) == ["主管部门编码", "主管部门", "项目编码", "项目名称", "原因",
                                   "说明"]
    assert frame["项目名称"].tolist() == ["运维经费", "培训经费"]
    asked = publish(store=store, output=tmp_path / "q.xlsx", departments=["001", "009"])
    assert [(m.department_code, m.reason_code) for m in asked.missing] == [("009", "not_issued")]
    assert [d.department_code for d in asked.departments] == ["001"]


def test_the_cli_prints_json_and_refuses_an_empty_store(tmp_path: Path) -> None:
    ledger = write_ledger(tmp_path / "ledger.csv", [
        ledger_row("001-01", "办公经费"),
        ledger_row("002-01", "运维经费", department=("002", "第二局"))])
    store = tmp_path / "x.db"
    run = issue_templates(ledger, tmp_path / "templates", store=store)
    runner = CliRunner()
    empty = runner.invoke(main, ["publish", "--store", str(store), "-o", str(tmp_path / "e.xlsx")])
    assert empty.exit_code == 2 and "没有已接受的报送表" in empty.output
    assert not (tmp_path / "e.xlsx").exists()
    w = run.workbooks[0]
    collect([fill_with_openpyxl(w.path, complete_values(store, w.template_id),
                                tmp_path / "r.xlsx")], store=store)
    result = runner.invoke(main, ["publish", "--store", str(store), "-o", str(tmp_path / "p.xlsx"),
                                  "--targets-out", str(tmp_path / "t.xlsx"), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["summary"] == {"departments": 1, "projects": 1, "indicators": 7, "total": "10",
                               "missing": 1}
    assert data["missing"] == [{"department_code": "002", "department": "第二局",
                                "project_code": "002-01", "project_name": "运维经费",
                                "reason_code": "not_returned", "reason": "未报送",
                                "detail": "", "changes": []}]
    assert data["ledger"] is None and data["allow_stale"] is False and data["stale"] == []
    assert data["issuer"] == "示例局" and data["title"] == "示例局2024年项目支出预算绩效目标"
    assert Path(data["output"]).is_file() and Path(data["targets_out"]).is_file()
    people = runner.invoke(main, ["publish", "--store", str(store), "-o", str(tmp_path / "h.xlsx")])
    assert people.exit_code == 0 and "未报送" in people.output and "运维经费" in people.output


def test_publishing_is_deterministic(samples_store: Path, tmp_path: Path) -> None:
    outputs = [publish(store=samples_store, output=tmp_path / f"{n}" / "公开.xlsx",
                       targets_out=tmp_path / f"{n}" / "t.xlsx") for n in (1, 2)]
    for kind in ("output", "targets_out"):
        first, second = (getattr(p, kind) for p in outputs)
        assert first.read_bytes() == second.read_bytes(), kind
    assert not list(tmp_path.rglob(".*part*"))  # no draft left behind


# -- the round trip ------------------------------------------------------------------------

LONG_GOAL = "\n".join(f"目标{n}：" + "加强预算绩效管理，提高财政资金使用效益，" * 12
                      for n in range(1, 6))
ROWS = [  # (project, 二级, 三级, 指标值): in form order, as template --prefill places them
    ("001-01", "数量指标", "=1+1", "不少于 50 次"),
    ("001-01", "数量指标", "接待来访", "313批/374人次"),
    ("001-01", "质量指标", "ＡＢＣ全角合格率（１００％）", "１００％"),
    ("001-01", "时效指标", "信息报送时限", "2小时内"),
    ("001-01", "成本指标", "+办公经费", "≤10万元"),
    ("001-01", "社会效益指标", "@社会影响", "明显"),
    ("001-01", "可持续影响指标", "-持续运行", "长期"),
    ("001-01", "服务对象满意度指标", "群众满意度", "≧95%"),
    ("002-01", "数量指标", "运维线路数量", "296条"),
    ("002-01", "质量指标", "畅通率", "100%"),
    ("002-01", "时效指标", "故障处理时限", "≤30分钟"),
    ("002-01", "成本指标", "运维服务费", "30万元"),
    ("002-01", "经济效益指标", "节约成本", "有所提升"),
    ("002-01", "社会效益指标", "保障政务外网畅通", "明显"),
    ("002-01", "可持续影响指标", "提升电子政务水平", "进一步发展"),
    ("002-01", "服务对象满意度指标", "使用者满意度", "97%以上"),
]


def test_targets_survive_template_return_collect_publish(tmp_path: Path) -> None:
    profile = load_profile("ningxia-2021")
    targets = Targets(
        goals={"001-01": LONG_GOAL, "002-01": "目标1：确保电子政务外网畅通使用。"},
        indicators=tuple(Indicator(code, profile.category_by_level2(l2).level1,  # type: ignore[union-attr]
                                   l2, name, value) for code, l2, name, value in ROWS))
    given = write_targets(targets, tmp_path / "targets.xlsx")
    ledger = write_ledger(tmp_path / "ledger.csv", [
        ledger_row("001-01", "办公经费", total="10"),
        ledger_row("002-01", "运维经费", department=("002", "第二局"), total="30")])
    store = tmp_path / "x.db"
    run = issue_templates(ledger, tmp_path / "templates", store=store, prefill=given)
    assert run.findings == ()
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for w in run.workbooks:  # each department returns its prefilled template, re-saved
        fill_with_openpyxl(w.path, {}, inbox / w.path.name)
    outcomes = collect([inbox], store=store).files
    assert {o.status for o in outcomes} == {"accepted"}, [o.findings for o in outcomes]
    publication = publish(store=store, output=tmp_path / "p.xlsx",
                          targets_out=tmp_path / "next.xlsx")
    assert publication.targets_out is not None
    put_in = read_targets(given)
    assert read_targets(publication.targets_out) == put_in
    assert read_targets(publication.output) == put_in


# -- PDF -----------------------------------------------------------------------------------


def test_pdf_without_libreoffice_fails_before_writing(tmp_path: Path, samples_store: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("xltool.publish.pdf.shutil.which", lambda name: None)
    monkeypatch.setattr("xltool.publish.pdf._install_places", lambda: [])
    result = CliRunner().invoke(main, ["publish", "--store", str(samples_store), "-o",
                                       str(tmp_path / "p.xlsx"), "--pdf"])
    assert result.exit_code == 2
    assert "未找到 LibreOffice（soffice），无法生成 PDF" in result.output
    assert not (tmp_path / "p.xlsx").exists()


def require_in_ci(present: bool, what: str) -> None:
    """In CI .ci/run installs these, so their absence is a failure there, not a skip."""
    if not present:
        if os.environ.get("CI"):
            pytest.fail(f"{what} is missing: .ci/run must install it")
        pytest.skip(f"{what} is not installed")


def has_cjk_font() -> bool:
    try:
        require_cjk_font()
    except PdfUnavailable:
        return False
    return True


def silent_tool(folder: Path, name: str) -> None:
    """An executable that prints nothing and succeeds, as fc-list does when no font matches."""
    tool = folder / name
    tool.write_text("#!/bin/sh\nexit 0\n")
    tool.chmod(0o755)


def chinese_font_names() -> tuple[str, ...]:
    """PostScript names of the Chinese fonts fontconfig lists; none where there is no fc-list."""
    if shutil.which("fc-list") is None:
        return ()
    listed = subprocess.run(["fc-list", ":lang=zh", "postscriptname"], capture_output=True,
                            text=True, timeout=60, check=True).stdout
    return tuple(line.split("=", 1)[1] for line in listed.splitlines() if "=" in line)


def embedded_fonts(pdf: Path) -> list[str]:
    """The PDF's font names without the subset tag: BAAAAA+NotoSansCJKjp-Regular → NotoSans…"""
    listed = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, timeout=60,
                            check=True).stdout
    return [line.split()[0].split("+")[-1] for line in listed.splitlines()[2:] if line.strip()]


@pytest.mark.skipif(sys.platform in ("win32", "darwin"),
                    reason="a Chinese font ships with the system: not checked there")
def test_pdf_without_a_chinese_font_fails_before_writing(
        tmp_path: Path, samples_store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tools = tmp_path / "bin"
    tools.mkdir()
    for name in ("fc-list", "soffice"):  # soffice is found, and must never be run
        silent_tool(tools, name)
    monkeypatch.setenv("PATH", f"{tools}{os.pathsep}{os.environ['PATH']}")
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(PdfUnavailable, match="fonts-noto-cjk") as raised:
        publish(store=samples_store, output=out / "公开.xlsx", targets_out=out / "t.xlsx",
                pdf=True)
    assert "未找到中文字体" in str(raised.value) and "去掉 --pdf" in str(raised.value)
    assert list(out.iterdir()) == []


def test_the_font_is_not_checked_where_it_cannot_or_need_not_be(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No fc-list: nothing to ask. Windows and macOS: a Chinese font ships with the system."""
    monkeypatch.setenv("PATH", str(tmp_path))
    require_cjk_font()
    silent_tool(tmp_path, "fc-list")
    for platform in ("win32", "darwin"):
        monkeypatch.setattr(sys, "platform", platform)
        require_cjk_font()


@pytest.fixture(scope="module")
def published_pdf(samples_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Publication:
    """One real conversion, shared: LibreOffice takes seconds per run."""
    from tests.libreoffice import require_soffice

    require_soffice()
    require_in_ci(has_cjk_font(), "A Chinese font (fonts-noto-cjk)")
    output = tmp_path_factory.mktemp("pdf") / "公开.xlsx"
    return publish(store=samples_store, output=output, pdf=True)


@pytest.mark.libreoffice
def test_the_workbook_converts_to_pdf(published_pdf: Publication) -> None:
    publication = published_pdf
    assert publication.pdf == publication.output.with_suffix(".pdf")
    data = publication.pdf.read_bytes()
    assert data.startswith(b"%PDF")
    # cover, contents, one page or two per project, summary: not the flat data sheets
    pages = len(re.findall(rb"/Type\s*/Page[^s]", data))
    assert 16 + 3 <= pages <= 40, pages


@pytest.mark.libreoffice
def test_the_pdf_shows_the_chinese_text(published_pdf: Publication) -> None:
    require_in_ci(bool(shutil.which("pdftotext") and shutil.which("pdffonts")),
                  "pdftotext and pdffonts (poppler-utils)")
    pdf = published_pdf.pdf
    assert pdf is not None
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                          timeout=60, check=True).stdout.decode()
    assert published_pdf.title == "2023年项目支出预算绩效目标"
    assert published_pdf.title in text
    assert published_pdf.departments[0].department in text
    # the text is extractable even when drawn as empty boxes: the glyphs need a Chinese font
    chinese = chinese_font_names()
    if chinese:
        assert any(font.startswith(chinese) for font in embedded_fonts(pdf)), embedded_fonts(pdf)


def test_libreoffice_is_found_where_its_installer_puts_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Windows' installer does not put soffice on the PATH."""
    import shutil

    from xltool.publish import pdf

    monkeypatch.setattr(shutil, "which", lambda name: None)
    for variable in ("ProgramFiles", "ProgramW6432", "ProgramFiles(x86)"):
        monkeypatch.delenv(variable, raising=False)
    if not Path("/Applications/LibreOffice.app/Contents/MacOS/soffice").is_file():
        assert pdf.find_soffice() is None
    installed = tmp_path / "LibreOffice" / "program" / "soffice.exe"
    installed.parent.mkdir(parents=True)
    installed.write_bytes(b"")
    monkeypatch.setenv("ProgramFiles", str(tmp_path))
    assert pdf.find_soffice() == str(installed)


def test_a_killed_publish_runs_drafts_go_with_the_next_run(tmp_path: Path,
                                                           samples_store: Path) -> None:
    from tests.test_drafts import _stale

    stale = _stale(tmp_path, "公开.xlsx")
    publish(store=samples_store, output=tmp_path / "公开.xlsx")
    assert not stale.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["公开.xlsx"]


def test_the_office_that_issued_the_templates_signs_the_disclosure(tmp_path: Path) -> None:
    """Without --issuer the cover names the office recorded with the year's templates; a
    department publishing its own set still signs it itself."""
    ledger = write_ledger(tmp_path / "ledger.csv", [
        ledger_row("001-01", "办公经费", total="10"),
        ledger_row("002-01", "运维经费", department=("002", "第二局"), total="30")])
    store = tmp_path / "x.db"
    run = issue_templates(ledger, tmp_path / "templates", store=store, issuer="示例县财政局")
    collect([fill_with_openpyxl(w.path, complete_values(store, w.template_id),
                                tmp_path / f"{w.department_code}.xlsx") for w in run.workbooks],
            store=store)
    office = publish(store=store, output=tmp_path / "all.xlsx")
    assert office.issuer == "示例县财政局"
    assert office.title == "示例县财政局2024年项目支出预算绩效目标"
    cover = load_workbook(tmp_path / "all.xlsx").worksheets[0]
    assert "示例县财政局" in [c.value for row in cover.iter_rows() for c in row]
    own = publish(store=store, output=tmp_path / "own.xlsx", departments=["002"])
    assert own.issuer == "第二局"
