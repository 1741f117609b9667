"""Numbers are read as shown: the renderer of number formats, the scans that find a cell's
style and error value, and returns read through them (the LibreOffice oracle is in
tests/test_numfmt_oracle.py)."""

from __future__ import annotations

import json
import math
import re
import shutil
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from xml.etree.ElementTree import Element

import pytest
from defusedxml import ElementTree
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from tests.corpus import good_return, issue
from xltool.collect import collect
from xltool.collect.reader import open_xlsx
from xltool.collect.returns import identify_form, read_return
from xltool.collect.scans import cell_formats, cell_styles, error_cells, uses_1904
from xltool.numfmt import builtin_format, chinese_number, general, render
from xltool.store import open_store
from xltool.targets import Indicator, Targets
from xltool.template import IssuedWorkbook

# -- the renderer: what a cell shows --------------------------------------------------------

SHOWN = [
    # the issue's cases
    (0.95, "0%", "95%"), (1.2, "0%", "120%"), (1, "0%", "100%"),
    (45657, 'yyyy"年"m"月"d"日前"', "2024年12月31日前"), (5, '"≥"0"次"', "≥5次"),
    (0.955, "0.00%", "95.50%"), (1234567.891, "#,##0.00", "1,234,567.89"),
    (45657, '[$-804]yyyy"年"m"月"', "2024年12月"), (45657, "m/d/yyyy", "12/31/2024"),
    (12.34, '0.0"万元"', "12.3万元"),
    # numbers
    (0.1 + 0.2, "General", "0.3"), (123456789012, "General", "123456789012"),
    (1e16, "General", "1E+16"), (1.5e-10, "General", "1.5E-10"), (2.675, "0.00", "2.68"),
    (-0.001, "0", "0"), (5, "0,000", "0,005"), (0, "#,###", ""), (5, "#.##", "5"),
    (0.5, "#.##", ".5"), (45657, '0.0,"千"', "45.7千"), (0.001234, "0.00E+00", "1.23E-03"),
    (123456789012, "##0.0E+0", "123.5E+9"), (1.2, "# ?/?", "1 1/5"), (1, "# ?/?", "1    "),
    (1234567.891, "# ??/??", "1234567 49/55"), (0.95, "# ??/16", " 15/16"),
    (1.2, "?/?", "6/5"), (5, "0_)", "5 "), (5, "*-0", "5"),
    # sections, colours, conditions
    (-5, "#,##0_);[Red](#,##0)", "(5)"), (0, '0;-0;"零"', "零"), (-5, "0.00;[Red]-0.00", "-5.00"),
    (-5, "0;(0)", "(5)"), (150, '[>=100]"大";"小"', "大"), (-5, "[>=100]0;0", "5"),
    (-5, "[<=-1]0;[>=1]0;0.00", "-5"), (-0.5, "[<=-1]0;[>=1]0;0.00", "0.50"),
    (5, ";;;", ""), (-5, '"≥"0"次"', "-≥5次"), (1234.5, "[$¥-804]#,##0.00", "¥1,234.50"),
    # dates and times
    (45657.75, "yyyy-mm-dd hh:mm:ss", "2024-12-31 18:00:00"), (45657, "mmm", "12月"),
    (45657, "mmmm", "十二月"), (45657, "ddd", "周二"), (45657, "dddd", "星期二"),
    (45657, "aaa", "二"), (45657, "[$-409]mmmm d, yyyy", "December 31, 2024"),
    (0.75, "h:mm AM/PM", "6:00 下午"), (0.75, "[$-409]h:mm AM/PM", "6:00 PM"),
    (0.75, "h:mm A/P", "6:00 P"), (1.5, "[h]:mm:ss", "36:00:00"), (-0.5, "[h]:mm", "-12:00"),
    (0.001234, "h:mm:ss", "0:01:47"), (0.001234, "mm:ss.00", "01:46.62"),
    (45657.99999999, "yyyy-mm-dd hh:mm:ss", "2025-01-01 00:00:00"), (45657, "e年", "2024年"),
    (45657, '[DBNum1][$-804]yyyy"年"m"月"d"日"', "二〇二四年十二月三十一日"),
    (45657, '[DBNum2]m"月"d"日"', "拾贰月叁拾壹日"), (45657, "[$-F800]dddd, mmmm dd, yyyy",
                                                   "2024年12月31日"),
    (123456789012, "yyyy-mm-dd", "123456789012"), (-5, "yyyy-mm-dd", "1899-12-25"),
    # Chinese numerals
    (45657, "[DBNum1]0", "四万五千六百五十七"), (-5, "[DBNum2]0", "负伍"),
    (1.2, "[DBNum1]0.00", "一．二〇"), (12, "[DBNum3]0", "１２"),
    # booleans read as Excel shows them, whatever the format
    (True, "0%", "TRUE"), (False, "General", "FALSE"),
]


@pytest.mark.parametrize(("value", "code", "shown"), SHOWN)
def test_a_number_reads_as_its_format_shows_it(value: float, code: str, shown: str) -> None:
    assert render(value, code) == shown


@pytest.mark.parametrize(("number", "shown"), [
    (14, "2024/12/31"), (22, "2024/12/31 18:00"), (27, "2024年12月"), (28, "12月31日"),
    (31, "2024年12月31日"), (32, "18时00分"), (33, "18时00分00秒"), (34, "下午6时00分"),
    (35, "下午6时00分00秒"), (36, "2024年12月"), (50, "2024年12月"), (57, "2024年12月"),
    (58, "12月31日"), (9, "4565775%"), (4, "45,657.75"), (0, "45657.75"), (49, "45657.75"),
    (200, "45657.75"),
])
def test_built_in_ids_are_chinese_excels(number: int, shown: str) -> None:
    assert render(45657.75, builtin_format(number)) == shown


def test_a_workbook_of_the_1904_date_system_dates_from_1904() -> None:
    assert render(44195, "yyyy-mm-dd", date1904=True) == "2024-12-31"
    assert render(1.5, "[h]:mm", date1904=True) == "36:00"  # a length is no date
    assert render(0.95, "0%", date1904=True) == "95%"


@pytest.mark.parametrize(("number", "style", "shown"), [
    (0, 1, "〇"), (10, 1, "一十"), (15, 2, "壹拾伍"), (101, 1, "一百〇一"),
    (1010, 1, "一千〇一十"), (100000, 1, "一十万"), (1000001, 1, "一百万〇一"),
    (100010000, 1, "一亿〇一万"), (45657, 2, "肆万伍仟陆佰伍拾柒"), (2024, 3, "２０２４"),
])
def test_chinese_numbers(number: int, style: int, shown: str) -> None:
    assert chinese_number(number, style) == shown


_CHINESE_DIGITS = {c: n for digits in ("〇一二三四五六七八九", "零壹贰叁肆伍陆柒捌玖")
                   for n, c in enumerate(digits)}
_CHINESE_UNITS = {"十": 10, "百": 100, "千": 1000, "拾": 10, "佰": 100, "仟": 1000}


def _chinese_value(text: str) -> int:
    """A Chinese number read back, by the rules a reader of Chinese applies (not the
    renderer's): digits times units within a section, sections times 万 and 亿."""
    total = section = digit = 0
    for char in text:
        if char in _CHINESE_DIGITS:
            digit = _CHINESE_DIGITS[char]
        elif char in _CHINESE_UNITS:
            section += (digit or 1) * _CHINESE_UNITS[char]
            digit = 0
        elif char == "万":
            total += (section + digit) * 10_000
            section = digit = 0
        elif char == "亿":
            total = (total + section + digit) * 100_000_000
            section = digit = 0
    return total + section + digit


@settings(max_examples=400, deadline=None)
@given(number=st.integers(0, 10 ** 12 - 1), style=st.sampled_from([1, 2]),
       short_ten=st.booleans())
def test_a_chinese_number_reads_back_as_the_number(number: int, style: int,
                                                    short_ten: bool) -> None:
    shown = chinese_number(number, style, short_ten=short_ten)
    assert _chinese_value(shown) == number
    assert not re.search("[〇零]{2}", shown)  # one zero for a run of zeros


FORMAT_CHARACTERS = st.text(alphabet='0#?.,%Ee+-/"\\_*@;[]$<>=:ymdhsaAPM/GeneralBDNum12345 年月日',
                            max_size=30)
FINITE = st.floats(allow_nan=False, allow_infinity=False)


@settings(max_examples=1500, deadline=None)
@given(code=FORMAT_CHARACTERS, value=FINITE)
def test_any_format_renders_any_number_without_raising(code: str, value: float) -> None:
    assert isinstance(render(value, code), str)


def _half_up(value: float, places: int) -> Decimal:
    exact = Decimal(repr(value))
    if not exact.is_zero():
        exact = round(exact, 14 - exact.adjusted())
    return exact.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)


MONEY = st.floats(min_value=-1e12, max_value=1e12, allow_nan=False)


@settings(max_examples=500, deadline=None)
@given(value=MONEY)
def test_fixed_decimals_round_half_away_from_zero(value: float) -> None:
    expected = _half_up(abs(value), 2)
    sign = "-" if value < 0 and expected else ""
    assert render(value, "0.00") == f"{sign}{expected:f}"


@settings(max_examples=500, deadline=None)
@given(value=MONEY)
def test_thousands_are_grouped_by_three(value: float) -> None:
    shown = render(value, "#,##0")
    digits = shown.lstrip("-")
    assert re.fullmatch(r"\d{1,3}(,\d{3})*", digits)
    assert int(shown.replace(",", "")) == int(_half_up(value, 0))


@settings(max_examples=300, deadline=None)
@given(hundredths=st.integers(-10 ** 9, 10 ** 9))
def test_a_percentage_shows_the_hundredths_typed(hundredths: int) -> None:
    assert render(hundredths / 100, "0%") == f"{hundredths}%"
    assert render(hundredths / 10000, "0.00%") == f"{hundredths / 100:.2f}%"


@settings(max_examples=300, deadline=None)
@given(value=st.floats(min_value=0.001, max_value=1e9))
def test_a_negative_section_shows_the_magnitude(value: float) -> None:
    assert render(-value, "0.0;(0.0)") == f"({render(value, '0.0')})"
    assert render(-value, "0.0") in (f"-{render(value, '0.0')}", "0.0")


@settings(max_examples=500, deadline=None)
@given(days=st.integers(61, 2958465), seconds=st.integers(0, 86399))
def test_a_date_and_time_read_as_the_calendar_says(days: int, seconds: int) -> None:
    serial = days + seconds / 86400
    moment = datetime(1899, 12, 30) + timedelta(days=days, seconds=seconds)
    assert render(serial, "yyyy-mm-dd hh:mm:ss") == moment.strftime("%Y-%m-%d %H:%M:%S")
    assert render(days, builtin_format(31)) == f"{moment.year}年{moment.month}月{moment.day}日"
    assert render(serial, "h:mm AM/PM").endswith("下午" if moment.hour >= 12 else "上午")


@settings(max_examples=500, deadline=None)
@given(value=st.floats(min_value=-1e14, max_value=1e14))
def test_general_shows_the_number_to_fifteen_digits(value: float) -> None:
    assume(value == 0 or abs(value) > 1e-9)
    shown = render(value, "General")
    assert math.isclose(float(shown), value, rel_tol=1e-14, abs_tol=1e-300)
    assert "E" not in shown and len(shown.lstrip("-").replace(".", "").lstrip("0")) <= 17
    assert shown == general(value)


@settings(max_examples=300, deadline=None)
@given(value=st.floats(min_value=-1e6, max_value=1e6))
def test_a_fraction_is_within_its_denominators_reach(value: float) -> None:
    shown = render(value, "# ??/??").strip()
    found = re.fullmatch(r"(-)?\s*(?:(\d+)(?:\s+|$))?(?:(\d+)/(\d+))?", shown)
    assert found is not None, shown
    whole = int(found[2] or 0) + (int(found[3]) / int(found[4]) if found[3] else 0)
    assert int(found[4] or 1) <= 99
    assert abs((-whole if found[1] else whole) - value) <= 1 / 99 + 1e-9


# -- the scans: a cell's style, its error value ---------------------------------------------

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


@st.composite
def sheet_xml(draw: st.DrawFn) -> bytes:
    """A sheet part of a few cells written in any of the ways the format allows: attributes
    in any order and quotes, styles or not, error values, self-closed cells, a prefix."""
    prefix = draw(st.sampled_from(["", "x:"]))
    cells = []
    for number in range(draw(st.integers(0, 12))):
        quote = draw(st.sampled_from(['"', "'"]))
        attributes = [f"r={quote}{draw(st.sampled_from('ABCD'))}{number + 1}{quote}"]
        if draw(st.booleans()):
            attributes.append(f"s={quote}{draw(st.integers(0, 40))}{quote}")
        kind = draw(st.sampled_from(["", "n", "e", "s", "str"]))
        if kind:
            attributes.append(f"t={quote}{kind}{quote}")
        attributes = draw(st.permutations(attributes))
        opening = f"<{prefix}c {' '.join(attributes)}"
        if draw(st.booleans()) and kind != "e":
            cells.append(opening + "/>")
            continue
        value = draw(st.sampled_from(["#N/A", "#DIV/0!", "#VALUE!", "#REF!"])) \
            if kind == "e" else str(draw(st.integers(0, 99)))
        formula = f"<{prefix}f>NA()</{prefix}f>" if draw(st.booleans()) else ""
        cells.append(f"{opening}>{formula}<{prefix}v>{value}</{prefix}v></{prefix}c>")
    namespace = f"xmlns:x=\"{MAIN}\"" if prefix else f"xmlns=\"{MAIN}\""
    return (f"<{prefix}worksheet {namespace}><{prefix}sheetData><{prefix}row r=\"1\">"
            f"{''.join(cells)}</{prefix}row></{prefix}sheetData></{prefix}worksheet>").encode()


def _cells(xml: bytes) -> list[Element]:
    return list(ElementTree.fromstring(xml).iter(f"{{{MAIN}}}c"))


@settings(max_examples=400, deadline=None)
@given(xml=sheet_xml(), wanted=st.sets(st.sampled_from([f"{c}{n}" for c in "ABCD"
                                                          for n in range(1, 13)])))
def test_cell_styles_are_read_as_the_parser_reads_them(xml: bytes, wanted: set[str]) -> None:
    expected = {c.get("r", ""): int(c.get("s", "0")) for c in _cells(xml)
                if c.get("r") in wanted}
    assert cell_styles(xml, wanted) == expected


@settings(max_examples=400, deadline=None)
@given(xml=sheet_xml())
def test_error_cells_are_read_as_the_parser_reads_them(xml: bytes) -> None:
    expected = {c.get("r", ""): c.findtext(f"{{{MAIN}}}v") for c in _cells(xml)
                if c.get("t") == "e"}
    assert error_cells(xml) == expected


def test_the_styles_part_gives_each_cell_style_its_format() -> None:
    styles = (b'<styleSheet xmlns="' + MAIN.encode() + b'"><numFmts count="2">'
              b'<numFmt numFmtId="164" formatCode="&quot;\xe2\x89\xa5&quot;0"/>'
              b"<numFmt numFmtId='9' formatCode='0.0%'/></numFmts>"
              b'<cellStyleXfs count="1"><xf numFmtId="3"/></cellStyleXfs>'
              b'<cellXfs count="3"><xf numFmtId="0" xfId="0"/><xf xfId="0" numFmtId="164">'
              b'<alignment wrapText="1"/></xf><xf numFmtId="31"/></cellXfs></styleSheet>')
    assert cell_formats(styles) == ((0, 164, 31), {164: '"≥"0', 9: "0.0%"})
    assert uses_1904(b'<workbook><workbookPr date1904="1"/></workbook>')
    assert not uses_1904(b'<workbook><workbookPr defaultThemeVersion="1"/></workbook>')


# -- returns read as shown --------------------------------------------------------------------


@pytest.fixture(scope="module")
def issued(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, IssuedWorkbook]:
    root = tmp_path_factory.mktemp("numfmt")
    return root / "x.db", issue(root)["001"]


def _typed(issued: tuple[Path, IssuedWorkbook], out: Path,
           cells: dict[str, tuple[object, str | None]]) -> Path:
    """A complete return with CELLS (defined name → value, number format) typed over it."""
    store, workbook = issued
    path = good_return(store, workbook, out.with_suffix(".good.xlsx"))
    book = load_workbook(path)
    for name, (value, code) in cells.items():
        sheet, ref = next(iter(book.defined_names[name].destinations))
        cell = book[sheet][ref.replace("$", "")]
        cell.value = value
        if code:
            cell.number_format = code
    book.save(out)
    return out


def _collected(issued: tuple[Path, IssuedWorkbook], path: Path, folder: Path) -> Path:
    store = Path(shutil.copyfile(issued[0], folder / "collect.db"))
    collect([path], store=store)
    return store


SATISFACTION, QUANTITY, TIMELINESS = "XT_P01_C09_R01_VALUE", "XT_P01_C01_R01_VALUE", \
    "XT_P01_C03_R01_VALUE"


def test_a_satisfaction_typed_as_a_percentage_is_read_as_shown(
        issued: tuple[Path, IssuedWorkbook], tmp_path: Path) -> None:
    over = _typed(issued, tmp_path / "over.xlsx", {SATISFACTION: (1.2, "0%")})
    [outcome] = collect([over], store=shutil.copyfile(issued[0], tmp_path / "a.db")).files
    assert outcome.status == "rejected"
    [finding] = [f for f in outcome.findings if f.is_error]
    assert (finding.code, finding.value) == ("rule.satisfaction_range", "120%")

    good = _typed(issued, tmp_path / "good.xlsx", {
        SATISFACTION: (0.95, "0%"), QUANTITY: (5, '"≥"0"次"'),
        TIMELINESS: (45657, 'yyyy"年"m"月"d"日前"')})
    store = _collected(issued, good, tmp_path)
    with open_store(store) as opened:
        [current] = opened.current_returns()
        indicators = {i.value: i.raw for i in opened.accepted_targets(current.sha256).indicators
                      if i.project_code == "001-01"}
        listed = [json.loads(row[0]) for row in opened.connection.execute(
            "SELECT indicators FROM accepted_projects WHERE project_code = '001-01'")]
    assert {value: indicators[value] for value in ("95%", "≥5次", "2024年12月31日前")} == {
        "95%": "0.95", "≥5次": "5", "2024年12月31日前": "45657"}
    rows = {row[4]: row for project in listed for row in project}
    assert rows["95%"][6:] == ["0.95"] and rows["≥5次"][6:] == ["5"]
    assert all(len(row) == 6 for value, row in rows.items()
               if value not in ("95%", "≥5次", "2024年12月31日前"))  # text: as before


@pytest.mark.parametrize(("error", "meaning"), [
    ("#N/A", "公式或引用出错"), ("#DIV/0!", "除数为零"), ("#VALUE!", "值类型不对"),
    ("#REF!", "已被删除"), ("#NAME?", "无法识别"), ("#NUM!", "超出范围"), ("#NULL!", "没有交集"),
])
def test_an_error_value_is_named_not_taken_for_an_empty_cell(
        issued: tuple[Path, IssuedWorkbook], tmp_path: Path, error: str, meaning: str) -> None:
    path = _typed(issued, tmp_path / "error.xlsx", {TIMELINESS: (error, None)})
    [outcome] = collect([path], store=shutil.copyfile(issued[0], tmp_path / "e.db")).files
    assert outcome.status == "rejected"
    found = {f.code: f for f in outcome.findings}
    assert "rule.value_missing" not in found
    finding = found["cell.error_value"]
    assert finding.is_error and finding.value == error and finding.cell
    assert finding.message.startswith(f"单元格显示错误值 {error}（") and meaning in finding.message
    assert finding.fix


def test_rows_kept_before_the_raw_value_read_back_unchanged(tmp_path: Path) -> None:
    """An accepted project written before: six elements an indicator, read as then."""
    from xltool.store.received import _indicators_in_order, _project_rows

    old = json.dumps([[0, "产出指标", "数量指标", "培训人次", "≥5次", "20"],
                      [1, "满意度指标", "服务对象满意度指标", "满意度", "95%", None]],
                     ensure_ascii=False)
    [first, second] = _indicators_in_order([("P1", old)])
    assert (first.value, first.weight, first.raw) == ("≥5次", Decimal(20), None)
    assert (second.value, second.weight, second.raw) == ("95%", None, None)
    targets = Targets({"P1": "目标"}, (first, second))
    assert json.loads(_project_rows("a" * 64, targets)[0][3]) == json.loads(old)
    with_raw = Targets({}, (Indicator("P1", "满意度指标", "服务对象满意度指标", "满意度",
                                      "95%", raw="0.95"),))
    [row] = _project_rows("a" * 64, with_raw)
    assert json.loads(row[3]) == [[0, "满意度指标", "服务对象满意度指标", "满意度", "95%", None,
                                   "0.95"]]
    assert _indicators_in_order([("P1", row[3])])[0].raw == "0.95"


def test_a_number_past_the_calendar_is_read_not_refused(
        issued: tuple[Path, IssuedWorkbook], tmp_path: Path) -> None:
    """The value reader is not given the styles: with them it turned such a number into a
    duration it could not hold, and failed on the whole sheet."""
    path = _typed(issued, tmp_path / "far.xlsx", {
        QUANTITY: (1e10, "[h]:mm:ss"), TIMELINESS: (60, "yyyy-mm-dd")})
    content = open_xlsx(path.read_bytes())
    with open_store(issued[0]) as store:
        form_map, profile, _ = identify_form(content, store)
        read = read_return(content, form_map, profile)
    content.close()
    values = {i.value_cell: (i.value, i.raw) for i in read.projects[0].indicators}
    assert sorted(values.values()) == sorted([
        ("240000000000:00:00", "10000000000"), ("1900-02-28", "60"),
        *((v, None) for cell, (v, raw) in values.items() if raw is None)])
