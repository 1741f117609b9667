"""Empty means empty, control characters are refused, cost findings explain themselves.

A cell a clerk sees as empty is empty for every rule, whatever invisible characters it
holds; a control character inside text is an error naming the cell and the character; a
cost finding stands at the cell whose unit is doubtful and lists each cost as counted.
"""

from __future__ import annotations

import shutil
import subprocess
import unicodedata
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook

from tests.conftest import complete_values, ledger_row, weighted_values, write_ledger
from tests.fill import fill_with_openpyxl
from xltool.collect import collect
from xltool.collect.returns import ReturnedIndicator, ReturnedProject
from xltool.collect.rules import Sorted, cost_total
from xltool.findings import Finding
from xltool.profile import load_profile
from xltool.store import open_store
from xltool.template import IssuedWorkbook, issue_templates
from xltool.values import parse_value
from xltool.visible import (
    BLANK_GLYPHS,
    DEFAULT_IGNORABLE,
    control_characters,
    control_name,
    is_blank,
    is_invisible,
    spaced,
    without_controls,
)

# -- which characters are invisible: the definition, tested against Unicode itself ---------


def _ignorable(char: str) -> bool:
    return any(first <= ord(char) <= last for first, last in DEFAULT_IGNORABLE)


def _perl_default_ignorable() -> list[tuple[int, int]]:
    perl = shutil.which("perl")
    if perl is None:
        pytest.skip("perl is not installed")
    script = ('use Unicode::UCD "prop_invlist";'
              ' my @l = prop_invlist("Default_Ignorable_Code_Point");'
              ' while (@l) { my $s = shift @l; my $e = shift @l; printf "%d %d\\n", $s, $e - 1 }')
    done = subprocess.run([perl, "-e", script], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"perl has no Unicode::UCD: {done.stderr.strip()}")
    return [(int(a), int(b)) for a, b in (line.split() for line in done.stdout.splitlines())]


def test_the_default_ignorable_table_is_unicodes() -> None:
    """Python's unicodedata lacks the property: the table must be the Unicode database's."""
    assert list(DEFAULT_IGNORABLE) == _perl_default_ignorable()


# The categories the definition names; Cs (a lone surrogate) is no character of any text.
INVISIBLE_CATEGORIES = ["Cf", "Zs", "Zl", "Zp", "Cc"]
INVISIBLE = st.one_of(
    st.characters(categories=INVISIBLE_CATEGORIES),
    st.integers(0, len(DEFAULT_IGNORABLE) - 1).flatmap(
        lambda n: st.integers(*DEFAULT_IGNORABLE[n]).map(chr)),
    st.sampled_from(BLANK_GLYPHS),
)
VISIBLE = st.characters(exclude_categories=[*INVISIBLE_CATEGORIES, "Cs"]).filter(
    lambda char: not _ignorable(char) and char not in BLANK_GLYPHS)


@given(st.text(INVISIBLE, max_size=30))
def test_text_of_invisible_characters_only_is_blank(text: str) -> None:
    assert is_blank(text)
    assert spaced(text).strip() == ""
    assert parse_value(text).is_empty and parse_value(text).numbers == ()


@given(st.text(INVISIBLE, max_size=15), VISIBLE, st.text(INVISIBLE, max_size=15))
def test_one_visible_character_makes_text_not_blank(before: str, char: str, after: str) -> None:
    assert not is_invisible(char)
    assert not is_blank(before + char + after)
    assert spaced(before + char + after).strip(" ") == char


@given(st.text(INVISIBLE, max_size=5), st.text(INVISIBLE, max_size=5))
def test_invisible_characters_around_a_value_do_not_change_its_reading(before: str,
                                                                       after: str) -> None:
    parsed = parse_value(f"{before}≥95%{after}")
    assert (parsed.comparator, parsed.numbers, parsed.unit) == ("≥", (Decimal(95),), "%")


@pytest.mark.parametrize("char", [
    "\u200b", "\ufeff", "\u2060", "\u3164", "\u2800", "\u00ad", "\u200f", "\u180e", "\u115f",
    "\u1160", "\uffa0", "\u3000", "\u00a0", "\u2028", "\U000e0020", "\ufe0f", "\x1b", "\t",
])
def test_the_characters_seen_in_returns_are_invisible(char: str) -> None:
    assert is_blank(char * 3) and is_blank(f" {char}\u3000")


@pytest.mark.parametrize("text", ["0", "-", "。", "a", "明显", "\u0301", "\ue000", "\ufffd"])
def test_a_mark_a_letter_or_a_private_glyph_is_not_blank(text: str) -> None:
    assert not is_blank(text) and not is_blank(f"\u200b{text}\u200b")


def _controls(text: str) -> tuple[str, ...]:
    wanted = [c for c in text if unicodedata.category(c) == "Cc" and c not in "\t\n\r"]
    return tuple(dict.fromkeys(wanted))


@given(st.text(st.one_of(st.characters(categories=["Cc"]), st.characters()), max_size=40))
def test_control_characters_are_every_cc_but_tab_and_line_breaks(text: str) -> None:
    assert control_characters(text) == _controls(text)
    cleaned = without_controls(text)
    assert control_characters(cleaned) == () and len(cleaned) == len(text)


@pytest.mark.parametrize(("char", "name"), [
    ("\x00", "U+0000 NUL"), ("\x07", "U+0007 BEL"), ("\x1b", "U+001B ESC"),
    ("\x1f", "U+001F US"), ("\x7f", "U+007F DEL"), ("\x85", "U+0085"),
])
def test_a_control_character_is_named_as_a_technician_looks_it_up(char: str,
                                                                    name: str) -> None:
    assert control_name(char) == name


# -- returns ---------------------------------------------------------------------------------


@pytest.fixture
def issued(tmp_path: Path) -> list[IssuedWorkbook]:
    ledger = write_ledger(tmp_path / "ledger.csv", [
        ledger_row("001-01", "办公经费", total="2"),
        ledger_row("001-02", "宣传经费", total="5.5"),
        ledger_row("001-03", "培训经费", total="10"),
    ])
    return list(issue_templates(ledger, tmp_path / "templates", store=tmp_path / "x.db").workbooks)


def _collect(issued: list[IssuedWorkbook], tmp_path: Path, changes: dict[str, object],
             name: str = "return.xlsx", **options: object) -> tuple[str, list[Finding]]:
    store_path = tmp_path / "x.db"
    values = complete_values(store_path, issued[0].template_id)
    values.update(changes)
    path = fill_with_openpyxl(issued[0].path, values, tmp_path / name)
    [outcome] = collect([path], store=store_path, **options).files  # type: ignore[arg-type]
    return outcome.status, list(outcome.findings)


def _where(findings: list[Finding]) -> list[tuple[str, str, str]]:
    return sorted((f.code, f.project, f.cell) for f in findings)


def test_cells_of_invisible_characters_are_empty_for_every_rule(
        issued: list[IssuedWorkbook], tmp_path: Path) -> None:
    status, findings = _collect(issued, tmp_path, {
        "XT_P01_GOAL": "\u200b",                                   # the goal: empty
        "XT_P01_C01_R01_NAME": "\ufeff", "XT_P01_C01_R01_VALUE": "\u2060",   # 数量: empty
        "XT_P01_C02_R01_NAME": "\u3164", "XT_P01_C02_R01_VALUE": "\u2800",   # 质量: empty
        "XT_P01_C03_R01_NAME": "\u00ad\u200f", "XT_P01_C03_R01_VALUE": "\u180e",  # 时效
        "XT_P01_C06_R01_VALUE": "\u200b \u3000",                   # a name without a value
        "XT_P01_C08_R01_NAME": "\u2800",                           # a value without a name
        "XT_P01_C05_R01_NAME": "\u3164", "XT_P01_C05_R01_VALUE": "\ufeff",   # an empty row
        "XT_P01_C07_R01_NAME": "指标1：", "XT_P01_C07_R01_VALUE": "\u200b",  # a placeholder
    })
    assert status == "rejected"
    assert _where(findings) == sorted([
        ("rule.goal_empty", "001-01", "C12"),
        ("rule.required_empty", "001-01", "C14"),
        ("rule.required_empty", "001-01", "C17"),
        ("rule.required_empty", "001-01", "C19"),
        ("rule.value_missing", "001-01", "D25"),
        ("rule.name_missing", "001-01", "C28"),
        ("rule.placeholder", "001-01", "C27"),
    ])
    missing = next(f for f in findings if f.code == "rule.value_missing")
    assert missing.value == "社会效益指标的指标"


@pytest.mark.libreoffice
def test_invisible_characters_typed_in_libreoffice_fill_nothing(issued: list[IssuedWorkbook],
                                                                 tmp_path: Path) -> None:
    """A real client keeps what was typed: the zero-width space, the filler, the BOM come
    back in the xlsx it saves, and the rules see empty cells."""
    from tests.fill import fill_with_libreoffice

    store_path = tmp_path / "x.db"
    values = complete_values(store_path, issued[0].template_id)
    values.update({"XT_P01_GOAL": "\u200b", "XT_P01_C01_R01_NAME": "\u3164",
                   "XT_P01_C01_R01_VALUE": "\ufeff\u2060"})
    path = fill_with_libreoffice(issued[0].path, values, tmp_path / "lo.xlsx")
    sheet = load_workbook(path)[issued[0].sheets[0]]
    assert (sheet["C12"].value, sheet["C14"].value, sheet["D14"].value) == (
        "\u200b", "\u3164", "\ufeff\u2060")  # kept by LibreOffice, not emptied
    [outcome] = collect([path], store=store_path).files
    assert outcome.status == "rejected"
    assert _where(list(outcome.findings)) == [("rule.goal_empty", "001-01", "C12"),
                                              ("rule.required_empty", "001-01", "C14")]


def test_a_row_of_invisible_characters_is_not_kept(issued: list[IssuedWorkbook],
                                                   tmp_path: Path) -> None:
    status, findings = _collect(issued, tmp_path, {
        "XT_P01_C05_R01_NAME": "\u3164", "XT_P01_C05_R01_VALUE": "\u200b\ufeff",
        "XT_P01_C01_R02_NAME": "培训人次\u200b", "XT_P01_C01_R02_VALUE": "\u2060≥300人次",
    })
    assert status == "accepted", findings
    with open_store(tmp_path / "x.db") as store:
        [current] = store.current_returns()
        targets = store.accepted_targets(current.sha256)
    kept = [(i.level2, i.name, i.value) for i in targets.for_project("001-01")]
    assert ("经济效益指标", "\u3164", "\u200b\ufeff") not in kept
    assert [level2 for level2, _, _ in kept].count("经济效益指标") == 0
    # Visible text keeps what surrounds it, as written; its value still reads.
    assert ("数量指标", "培训人次\u200b", "\u2060≥300人次") in kept
    assert next(i for i in targets.for_project("001-01")
                if i.name == "培训人次\u200b").parsed.numbers == (Decimal(300),)


def test_a_weight_of_invisible_characters_is_a_missing_weight(tmp_path: Path) -> None:
    ledger = write_ledger(tmp_path / "w.csv", [ledger_row("W-1", "督查经费", total="20")])
    [issued] = issue_templates(ledger, tmp_path / "w", store=tmp_path / "x.db",
                               profile="weighted").workbooks
    values = weighted_values()
    values["XT_P01_C01_R02_NAME"] = "培训人次≥300人次"
    values["XT_P01_C01_R02_WEIGHT"] = 30
    values["XT_P01_C08_R01_WEIGHT"] = "\u200b"     # looks empty: missing, not "no number"
    values["XT_P01_C09_R01_WEIGHT"] = 20
    path = fill_with_openpyxl(issued.path, values, tmp_path / "w.xlsx")
    [outcome] = collect([path], store=tmp_path / "x.db").files
    assert sorted((f.code, f.cell) for f in outcome.findings) == [
        ("rule.weight_missing", "D25")]


def test_control_characters_are_refused_naming_cell_and_character(
        issued: list[IssuedWorkbook], tmp_path: Path) -> None:
    """openpyxl writes `_x001B_` as it stands, which every reader of xlsx takes for ESC: what
    Excel writes for an ESC pasted into a cell."""
    status, findings = _collect(issued, tmp_path, {
        "XT_P01_GOAL": "目标一：_x001B_[31m完成培训\n目标二：\t完成宣传",
        "XT_P01_C01_R01_VALUE": "≥5次_x0007_",
        "XT_P01_C02_R01_NAME": "_x0000_合格率_x001B_",
        "XT_P02_C01_R01_NAME": "_x001B_",
    }, feedback=tmp_path / "feedback")
    assert status == "rejected"
    controls = sorted((f.project, f.cell, f.value, f.message) for f in findings
                      if f.code == "cell.control_char")
    tail = "，这类字符不能保存，也无法正常显示和打印"
    assert controls == [
        ("001-01", "C12", "目标一：\ufffd[31m完成培训\n目标二：\t完成宣传",
         "单元格中有不可见的控制字符 U+001B ESC" + tail),
        ("001-01", "C17", "\ufffd合格率\ufffd",
         "单元格中有不可见的控制字符 U+0000 NUL、U+001B ESC" + tail),
        ("001-01", "D14", "≥5次\ufffd", "单元格中有不可见的控制字符 U+0007 BEL" + tail),
        ("001-02", "C14", "\ufffd", "单元格中有不可见的控制字符 U+001B ESC" + tail),
    ]
    assert all(f.is_error and "删除不可见的控制字符后重新报送" in f.fix for f in findings
               if f.code == "cell.control_char")
    # A cell of one ESC looks empty too: both are said in one round.
    assert ("rule.name_missing", "001-02", "C14") in _where(findings)
    with open_store(tmp_path / "x.db") as store:
        assert store.current_returns() == []
    [feedback] = (tmp_path / "feedback").glob("*反馈表.xlsx")
    texts = [str(cell) for sheet in load_workbook(feedback).worksheets
             for row in sheet.iter_rows(values_only=True) for cell in row if cell is not None]
    assert any("U+001B ESC" in text for text in texts)
    assert not any(control_characters(text) or "_x001B_" in text for text in texts)


def test_tabs_and_line_breaks_are_text(issued: list[IssuedWorkbook], tmp_path: Path) -> None:
    # XML reads a bare carriage return as a line feed: Excel writes it `_x000D_`.
    status, findings = _collect(issued, tmp_path, {
        "XT_P01_GOAL": "目标一：完成培训。_x000D_\n目标二：\t完成宣传。"})
    assert status == "accepted", findings
    with open_store(tmp_path / "x.db") as store:
        [current] = store.current_returns()
        goal = store.accepted_targets(current.sha256).goals["001-01"]
    assert goal == "目标一：完成培训。\r\n目标二：\t完成宣传。"


# -- costs -----------------------------------------------------------------------------------

COST_CODES = {"rule.cost_exceeds_total", "rule.cost_below_total", "rule.cost_no_unit"}


def test_a_cost_finding_names_the_doubtful_cell_and_every_cost_as_counted(
        issued: list[IssuedWorkbook], tmp_path: Path) -> None:
    status, findings = _collect(issued, tmp_path, {
        # 办公经费, 2 万元: 15000元 is 1.5 万元; 5000 without a unit was 5000 元, not 万元
        "XT_P01_C04_R01_VALUE": "15000元",
        "XT_P01_C04_R02_NAME": "印刷费", "XT_P01_C04_R02_VALUE": "5000",
        # 宣传经费, 5.5 万元: 5元 is 0.0005 万元; as 万元 the costs are the total
        "XT_P02_C04_R01_VALUE": "0.5万元",
        "XT_P02_C04_R02_NAME": "制作费", "XT_P02_C04_R02_VALUE": "5元",
    })
    assert status == "rejected"
    costs = [f for f in findings if f.code in COST_CODES]
    assert _where(costs) == [("rule.cost_below_total", "001-02", "D22"),
                             ("rule.cost_exceeds_total", "001-01", "D22")]
    over = next(f for f in costs if f.code == "rule.cost_exceeds_total")
    assert (over.cell, over.value, over.severity.value) == ("D22", "5000", "error")
    assert over.message == (
        "D22“5000”没有写单位，按万元计为 5000 万元，成本指标合计 5001.5 万元，超过年度资金"
        "总额 2 万元；如按元计，合计为 2 万元。各项成本：D21“15000元” → 1.5 万元；"
        "D22“5000”（未写单位） → 5000 万元")
    assert over.fix.startswith("“5000”如是元，请写成“5000元”")
    under = next(f for f in costs if f.code == "rule.cost_below_total")
    assert (under.cell, under.value, under.severity.value) == ("D22", "5元", "warning")
    assert under.message == (
        "D22“5元”按元计为 0.0005 万元，成本指标合计 0.5005 万元，少于年度资金总额 5.5 "
        "万元；如按万元计，合计为 5.5 万元。各项成本：D21“0.5万元” → 0.5 万元；"
        "D22“5元” → 0.0005 万元")


def test_a_sum_no_unit_explains_is_told_at_the_largest_cost(issued: list[IssuedWorkbook],
                                                             tmp_path: Path) -> None:
    _, findings = _collect(issued, tmp_path, {
        "XT_P03_C04_R01_VALUE": "12万元",
        "XT_P03_C04_R02_NAME": "资料费", "XT_P03_C04_R02_VALUE": "3",
        "XT_P03_C04_R03_NAME": "其他", "XT_P03_C04_R03_VALUE": "按实际发生",
    })
    costs = sorted((f.code, f.cell, f.value, f.message) for f in findings
                   if f.code in COST_CODES)
    assert costs == [
        ("rule.cost_exceeds_total", "D21", "12万元",
         "成本指标合计 15 万元，超过年度资金总额 10 万元。各项成本：D21“12万元” → 12 万元；"
         "D22“3”（未写单位） → 3 万元；D23“按实际发生”未计入（读不出一个金额）"),
        ("rule.cost_no_unit", "D22", "3", "成本“3”没有写单位，已按万元计为 3 万元"),
    ]


COST_CELLS = ("D21", "D22", "D23")
AMOUNTS = st.decimals(min_value=0, max_value=100000, places=2)
COSTS = st.lists(st.tuples(AMOUNTS, st.sampled_from(["", "元", "万元"])), min_size=1,
                 max_size=len(COST_CELLS))


def _cost_form(costs: list[tuple[Decimal, str]], total: Decimal) -> tuple[Sorted, list[str]]:
    profile = load_profile("ningxia-2021")
    category = next(c for c in profile.categories if c.role == "cost")
    texts = [f"{amount:f}{unit}" for amount, unit in costs]
    indicators = tuple(ReturnedIndicator("P", category, 21 + n, f"成本{n}", text, "", "01 P",
                                         f"C{21 + n}", cell, "")
                       for n, (text, cell) in enumerate(zip(texts, COST_CELLS, strict=False)))
    project = ReturnedProject("P", "项目", "01 P", total, "目标", "C12", indicators, {})
    return Sorted.of(project, profile), texts


@given(COSTS, AMOUNTS)
def test_cost_findings_stand_at_a_cost_cell_and_list_every_cost(
        costs: list[tuple[Decimal, str]], total: Decimal) -> None:
    form, texts = _cost_form(costs, total)
    findings = list(cost_total(form, load_profile("ningxia-2021")))
    in_wan = [amount / 10000 if unit == "元" else amount for amount, unit in costs]
    spent = sum(in_wan, Decimal(0))
    sums = [f for f in findings if f.code != "rule.cost_no_unit"]
    expected = ("rule.cost_exceeds_total" if spent > total + Decimal("0.005") else
                "rule.cost_below_total" if spent < total - Decimal("0.005") else None)
    assert [f.code for f in sums] == ([expected] if expected else [])
    told_at = set()
    for finding in sums:
        at = COST_CELLS.index(finding.cell)
        assert finding.value == texts[at]  # a cell's own text, never a sum
        told_at.add(finding.cell)
        for cell, text, amount in zip(COST_CELLS, texts, in_wan, strict=False):
            shown = format(amount, "f").rstrip("0").rstrip(".") if "." in format(amount, "f") \
                else format(amount, "f")
            assert f"{cell}“{text}”" in finding.message and f"→ {shown} 万元" in finding.message
    for finding in sums:  # at the cost whose other unit explains the sum, else as documented
        tolerance, rows = Decimal("0.005"), list(zip(COST_CELLS, costs, in_wan, strict=False))
        if finding.code == "rule.cost_exceeds_total":
            explains = {cell for cell, (_, unit), wan in rows
                        if not unit and spent - wan + wan / 10000 <= total + tolerance}
            fallback = {cell for cell, _, wan in rows if wan == max(in_wan)}
        else:
            explains = {cell for cell, (_, unit), wan in rows
                        if unit == "元" and abs(spent - wan + wan * 10000 - total) <= tolerance}
            fallback = {COST_CELLS[0]}
        assert finding.cell in (explains or fallback)
        assert finding.message.startswith(f"{finding.cell}“") == bool(explains)
    unitless = {cell for cell, (_, unit) in zip(COST_CELLS, costs, strict=False) if not unit}
    no_unit = {f.cell for f in findings if f.code == "rule.cost_no_unit"}
    # Each cost without a unit is said so once: by its own warning, or by the sum's finding.
    assert no_unit == unitless - told_at
    assert all(f.value == texts[COST_CELLS.index(f.cell)] for f in findings)
