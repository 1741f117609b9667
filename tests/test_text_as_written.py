"""Ledger text as written, everywhere; Excel's limits in Excel's own units.

Real names carry full-width punctuation (`办公经费（含会议、培训）`, `《》“”：`) and, for rare
place names, characters outside the Basic Multilingual Plane (𡐓, 𠀀) that Excel counts as
two units. A name reaches the template, the feedback, the reconciliation report and the
disclosure exactly as the ledger writes it; NFKC folding serves only to compare keys; and
whatever Excel limits (sheet names, print headers, input messages) is cut by its own count,
never through a character.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

import pytest
import xlsxwriter
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook

from tests.conftest import complete_values, ledger_row, write_ledger
from tests.fill import fill_with_libreoffice, fill_with_openpyxl
from xltool.collect import collect
from xltool.collect.chain import history
from xltool.errors import UnknownDepartment
from xltool.ledger import load_ledger
from xltool.publish import publish
from xltool.reconcile import reconcile
from xltool.store import open_store
from xltool.tables import HEADER_PART_LIMIT, header_text
from xltool.template import issue_templates
from xltool.text import excel_cut, excel_length
from xltool.xlsxout import SHEET_NAME_LIMIT, excel_sheet_name

OFFICE = ("001", "示例局（本级）")
OFFICE_PROJECTS = {"001-01": "办公经费（含会议、培训）",
                   "001-02": "《𡐓乡道路》“养护”：一期"}
COUNTY = ("002", "𡐓" * 16)  # 4 + 32 units as `002 …`: its sheet name must be cut
COUNTY_PROJECTS = {"002-01": "项" + "𠀀" * 20}  # `01 项` + 40 units: cut as well
ADDED = ("001-03", "新增：𠀀𡐓村（二期）")  # in the ledger after the templates went out

# What Excel shows as each sheet's name: cut by its own count, a character whole or not at all.
TEMPLATE_SHEETS = {"001-01": "01 办公经费（含会议、培训）", "001-02": "02 《𡐓乡道路》“养护”：一期",
                   "002-01": "01 项" + "𠀀" * 13}
DISCLOSURE_SHEETS = {"001": "001 示例局（本级）", "002": "002 " + "𡐓" * 13}

# Text as written, by alphabet: letters and marks of every plane, full-width punctuation,
# characters outside the BMP; never surrogates (no text holds half a pair).
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=80) | st.text(
    st.sampled_from("（）、：《》“”[]:*?/\\' &𡐓𠀀𪚥a1"), max_size=60)


# -- Excel's count -------------------------------------------------------------------------


@given(TEXT)
def test_excel_counts_utf16_units(text: str) -> None:
    assert excel_length(text) == len(text.encode("utf-16-le")) // 2


@given(TEXT, st.integers(min_value=0, max_value=90))
def test_a_cut_is_the_longest_start_within_the_limit(text: str, limit: int) -> None:
    cut = excel_cut(text, limit)
    assert text.startswith(cut) and excel_length(cut) <= limit
    assert cut == text or excel_length(text[:len(cut) + 1]) > limit
    cut.encode("utf-16-le")  # strict: no half of a surrogate pair


@given(st.lists(TEXT, max_size=6))
def test_sheet_names_are_what_excel_accepts(texts: list[str]) -> None:
    used: set[str] = set()
    names = [excel_sheet_name(text, used, fallback="表") for text in texts]
    workbook = xlsxwriter.Workbook(BytesIO(), {"in_memory": True})
    for name in names:
        assert 0 < excel_length(name) <= SHEET_NAME_LIMIT
        assert not set("[]:*?/\\") & set(name) and name[0] != "'" and name[-1] != "'"
        workbook.add_worksheet(name)  # xlsxwriter refuses what Excel refuses, twins included
    workbook.close()
    assert len({n.lower() for n in names}) == len(names)


def test_a_sheet_name_keeps_the_text_it_can_hold() -> None:
    used: set[str] = set()
    assert excel_sheet_name("01 办公经费（含会议、培训）", used, fallback="") == \
        "01 办公经费（含会议、培训）"
    assert excel_sheet_name("01 项" + "𠀀" * 20, used, fallback="") == "01 项" + "𠀀" * 13
    assert excel_sheet_name("01 项" + "𠀀" * 20, used, fallback="") == "01 项" + "𠀀" * 12 + "~2"
    assert excel_sheet_name("a[b]:c\r\n d", used, fallback="") == "a_b__c d"
    assert excel_sheet_name("01 办公经费　一期  ", used, fallback="") == "01 办公经费　一期"
    assert excel_sheet_name(" ' ", used, fallback="01 项目") == "01 项目"


@given(TEXT)
def test_a_print_header_part_fits_and_keeps_every_ampersand_doubled(text: str) -> None:
    part = header_text(text)
    assert excel_length(part) <= HEADER_PART_LIMIT
    assert " ".join(text.split()).startswith(part.replace("&&", "&"))  # on one line
    assert "&" not in part.replace("&&", "")


# -- the ledger: text as written, keys folded ---------------------------------------------


def test_ledger_names_are_kept_as_written_and_compared_folded(tmp_path: Path) -> None:
    ledger = load_ledger(write_ledger(tmp_path / "ledger.csv", [
        ledger_row("001-01", "办公经费（含会议、培训）", department=OFFICE),
        ledger_row("001-02", "项目", department=("001", "示例局(本级)")),  # same, folded
        ledger_row("００１-０１", "重复编码", department=OFFICE),  # the first code, full-width
    ]))
    assert [p.name for p in ledger.projects] == ["办公经费（含会议、培训）", "项目", "重复编码"]
    assert ledger.projects[0].department == ledger.projects[0].unit == "示例局（本级）"
    assert ledger.departments == (OFFICE,)
    assert [p.code for p in ledger.problems] == ["ledger.duplicate_code"]


# -- the year, end to end ------------------------------------------------------------------


@dataclass(frozen=True)
class Year:
    folder: Path
    ledger: Path
    store: Path
    templates: dict[str, Path]
    """Department code → the template issued to it."""


@pytest.fixture
def year(tmp_path: Path) -> Year:
    rows = [ledger_row(code, name, department=OFFICE) for code, name in OFFICE_PROJECTS.items()]
    rows += [ledger_row(code, name, department=COUNTY, total="30")
             for code, name in COUNTY_PROJECTS.items()]
    ledger = write_ledger(tmp_path / "ledger.csv", rows)
    run = issue_templates(ledger, tmp_path / "templates", store=tmp_path / "x.db")
    return Year(tmp_path, ledger, tmp_path / "x.db",
                {w.department_code: w.path for w in run.workbooks})


def texts(path: Path) -> Iterator[tuple[str, str]]:
    """(sheet, text) of every text cell of a workbook."""
    book = load_workbook(path)
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            yield from ((sheet.title, c.value) for c in row if isinstance(c.value, str))


def names_written(path: Path) -> set[str]:
    """Every name of the ledger that some cell of PATH holds whole, or within a longer text."""
    every = [*OFFICE_PROJECTS.values(), *COUNTY_PROJECTS.values(), OFFICE[1], COUNTY[1],
             ADDED[1]]
    cells = [text for _, text in texts(path)]
    return {name for name in every if any(name in text for text in cells)}


def folded_anywhere(path: Path) -> set[str]:
    """Texts of PATH that are the NFKC folding of a name, not the name itself."""
    folded = {unicodedata.normalize("NFKC", n) for n in [*OFFICE_PROJECTS.values(), OFFICE[1]]}
    return {text for _, text in texts(path) if any(f in text for f in folded)}


def test_templates_show_the_names_as_written(year: Year) -> None:
    office, county = (load_workbook(year.templates[code]) for code in ("001", "002"))
    assert office.sheetnames == ["填报说明", TEMPLATE_SHEETS["001-01"], TEMPLATE_SHEETS["001-02"],
                                 "下拉选项"]
    assert county.sheetnames == ["填报说明", TEMPLATE_SHEETS["002-01"], "下拉选项"]
    for code, name in {**OFFICE_PROJECTS, **COUNTY_PROJECTS}.items():
        book = office if code.startswith("001") else county
        sheet = book[TEMPLATE_SHEETS[code]]
        values = [c.value for row in sheet.iter_rows() for c in row]
        assert name in values and f"项目编码：{code}" in values
        assert sheet.oddHeader.right.text == name
        cover = [c.value for row in book["填报说明"].iter_rows() for c in row]
        assert name in cover
    assert "主管部门：" + COUNTY[1] + "（002）" in \
        [c.value for row in county["填报说明"].iter_rows() for c in row]
    assert names_written(year.templates["001"]) >= {*OFFICE_PROJECTS.values(), OFFICE[1]}
    assert folded_anywhere(year.templates["001"]) == set()
    assert year.templates["002"].name == f"2024年_002_{COUNTY[1]}_绩效目标表.xlsx"


def test_history_finds_a_department_by_its_name_however_its_brackets_are_typed(
        year: Year) -> None:
    for typed in (OFFICE[1], "示例局(本级)", " 示例局 （本级） "):
        found = history(typed, store=year.store)
        assert (found.department_code, found.department) == OFFICE  # shown as written
    with pytest.raises(UnknownDepartment):
        history("示例局", store=year.store)


def returned(year: Year, code: str, values: dict[str, object] | None = None) -> Path:
    with open_store(year.store) as store:
        template = next(t for t in store.templates() if t.department_code == code)
    filled = {**complete_values(year.store, template.template_id), **(values or {})}
    return fill_with_openpyxl(year.templates[code], filled,
                              year.folder / "returns" / year.templates[code].name)


def test_the_year_keeps_every_name_as_written(year: Year) -> None:
    """Collected, fed back, reconciled and published: the names are the ledger's."""
    # a cost under the total: a warning that names the sheet, the return still accepted
    returns = [returned(year, "001", {"XT_P02_C04_R01_VALUE": "1万元"}), returned(year, "002")]
    run = collect(returns, store=year.store, feedback=year.folder / "feedback")
    assert [f.status for f in run.files] == ["accepted", "accepted"]
    warned = {(f.sheet, f.project) for f in run.files[0].findings}
    assert warned == {(TEMPLATE_SHEETS["001-02"], "001-02")}

    feedback = year.folder / "feedback"
    office = feedback / f"2024年_001_{OFFICE[1]}_反馈表.xlsx"
    assert (f"001 {OFFICE[1]}") in {text for _, text in texts(office)}
    assert TEMPLATE_SHEETS["001-02"] in {text for _, text in texts(office)}
    assert (feedback / f"2024年_002_{COUNTY[1]}_反馈表.xlsx").is_file()
    assert names_written(feedback / "收取情况汇总.xlsx") >= {
        *OFFICE_PROJECTS.values(), *COUNTY_PROJECTS.values(), OFFICE[1], COUNTY[1]}
    assert folded_anywhere(feedback / "收取情况汇总.xlsx") == set()

    disclosure = year.folder / "disclosure.xlsx"
    published = publish(store=year.store, output=disclosure)
    assert {d.department_code: d.sheet for d in published.departments} == DISCLOSURE_SHEETS
    book = load_workbook(disclosure)
    assert book.sheetnames[2:4] == list(DISCLOSURE_SHEETS.values())
    assert book[DISCLOSURE_SHEETS["002"]]["A1"].value == f"主管部门：{COUNTY[1]}（002）"
    for code, name in {**OFFICE_PROJECTS, **COUNTY_PROJECTS}.items():
        sheet = book[DISCLOSURE_SHEETS[code.split("-")[0]]]
        values = [c.value for row in sheet.iter_rows() for c in row]
        assert name in values and f"项目编码：{code}" in values
    goals = [row for row in book["总体目标"].iter_rows(min_row=2, values_only=True)]
    assert [(r[1], r[3]) for r in goals] == [(OFFICE[1], n) for n in OFFICE_PROJECTS.values()] \
        + [(COUNTY[1], n) for n in COUNTY_PROJECTS.values()]
    assert folded_anywhere(disclosure) == set()

    report = year.folder / "reconcile.xlsx"
    write_ledger(year.ledger, [
        *(ledger_row(c, n, department=OFFICE) for c, n in [*OFFICE_PROJECTS.items(), ADDED]),
        *(ledger_row(c, n, department=COUNTY, total="30") for c, n in COUNTY_PROJECTS.items())])
    result = reconcile(year.ledger, store=year.store, output=report)
    found = result.differences
    assert set(zip(found["kind"], found["project_name"], strict=True)) == {
        ("not_issued", ADDED[1]), ("cost_short", OFFICE_PROJECTS["001-02"])}
    assert names_written(report) >= {ADDED[1], OFFICE[1], COUNTY[1]}
    assert folded_anywhere(report) == set()


@pytest.mark.libreoffice
def test_a_return_saved_by_libreoffice_keeps_names_outside_the_bmp(year: Year) -> None:
    """LibreOffice writes the sheet names back as it read them: the return is read by them."""
    with open_store(year.store) as store:
        template = next(t for t in store.templates() if t.department_code == "002")
    path = fill_with_libreoffice(year.templates["002"],
                                 complete_values(year.store, template.template_id),
                                 year.folder / "returns" / "county.xlsx")
    assert load_workbook(path).sheetnames[1] == TEMPLATE_SHEETS["002-01"]
    (outcome,) = collect([path], store=year.store).files
    assert outcome.status == "accepted", [f.message for f in outcome.findings]
