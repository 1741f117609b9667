"""Target-value parser: every 指标值 in the seed tables, the documented forms, properties."""

from __future__ import annotations

import dataclasses
import re
import time
import unicodedata
from decimal import Decimal
from typing import NamedTuple

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xltool.values import COMPARATORS, TargetValue, is_label_placeholder, parse_value


class Case(NamedTuple):
    text: str
    comparator: str | None = None
    numbers: tuple[str, ...] = ()
    unit: str | None = None
    approximate: bool = False
    qualitative: bool = False


def q(text: str, comparator: str | None, numbers: str, unit: str | None) -> Case:
    """A quantitative case; `numbers` is space-separated."""
    return Case(text, comparator, tuple(numbers.split()), unit)


def about(text: str, numbers: str, unit: str | None) -> Case:
    return Case(text, None, tuple(numbers.split()), unit, approximate=True)


def qual(text: str) -> Case:
    return Case(text, qualitative=True)


def unread(text: str) -> Case:
    """Kept as text only: composite clauses, placeholders, spelled-out quantities."""
    return Case(text)


# Seed 000 (永宁县人民政府办公室, 2021), tables 1-7 in order, each value once.
SEED_000 = [
    q("100次", None, "100", "次"),
    q("30期", None, "30", "期"),
    q("12期", None, "12", "期"),
    q("41件", None, "41", "件"),
    q("8批次", None, "8", "批次"),
    qual("逐步提升"),
    qual("逐步完善"),
    qual("限时完成"),
    q("10万元", None, "10", "万元"),
    q("5万元", None, "5", "万元"),
    unread("指标1："),
    unread(" 指标1："),
    unread(" 指标2："),
    unread("指标2："),
    qual("有所提升"),
    qual("进一步"),
    q("≧95%", "≥", "95", "%"),
    about("100余次", "100", "次"),
    about("30余次", "30", "次"),
    unread("指标1:"),
    q("10万", None, "10", "万"),
    q("5万", None, "5", "万"),
    qual("进一步发展"),
    q("1次", None, "1", "次"),
    about("50余次", "50", "次"),
    q("≧90%", "≥", "90", "%"),
    q("20万", None, "20", "万"),
    q("313批/374人次", None, "313 374", "批/人次"),
    q("63批/1050人次", None, "63 1050", "批/人次"),
    about("10次/40余人", "10 40", "次/人"),
    q("9次", None, "9", "次"),
    q("35件", None, "35", "件"),
    q("≧91%", "≥", "91", "%"),
    qual("办结"),
    q("50万", None, "50", "万"),
    qual("有所下降"),
    about("45余条", "45", "条"),
    q("24小时", None, "24", "小时"),
    q("≧93%", "≥", "93", "%"),
    q("2小时内", "≤", "2", "小时"),
    q("1小时内", "≤", "1", "小时"),
    q("7万", None, "7", "万"),
    q("2万", None, "2", "万"),
    q("6万", None, "6", "万"),
    qual("长期"),
    qual("进一步加强"),
    unread("每年2-3次，每次24块"),
    unread("6期，每期500本"),
    q("达到100%", "≥", "100", "%"),
    unread("每年一次，每次3天"),
    q("≧92%", "≥", "92", "%"),
    unread("2022年年底前，基本建成全区统一的基层政务公开标准体系"),
    q("1万", None, "1", "万"),
    q("1套", None, "1", "套"),
    q("12个月", None, "12", "个月"),
    unread("8个页面+100多栏目"),
    q("1个平台", None, "1", "个平台"),
    qual("不断提升"),
    qual("及时更新"),
    q("3万", None, "3", "万"),
    q("≧8年", "≥", "8", "年"),
]

# Seed 001 (中卫市沙坡头区人民政府办公室, 2023), projects 1-5 in order.
SEED_001 = [
    q("1个", None, "1", "个"),
    q("100%", None, "100", "%"),
    q("≤20万元", "≤", "20", "万元"),
    qual("明显"),
    qual("健全"),
    q("≥95%", "≥", "95", "%"),
    q("1次/年", None, "1", "次/年"),
    q("≥1次/月", "≥", "1", "次/月"),
    q("≥1次/天", "≥", "1", "次/天"),
    q("≥1次", "≥", "1", "次"),
    q("0%", None, "0", "%"),
    q("≤3万元", "≤", "3", "万元"),
    q("≤8万元", "≤", "8", "万元"),
    q("≤10万元", "≤", "10", "万元"),
    q("296条", None, "296", "条"),
    q("23条", None, "23", "条"),
    q("48个", None, "48", "个"),
    # A misaligned row puts an indicator label in the value column.
    unread("指标1: 新增线路接入完成及时性"),
    q("≤30分钟", "≤", "30", "分钟"),
    q("≤175万元", "≤", "175", "万元"),
    q("≤40万元", "≤", "40", "万元"),
    q("≤18万元", "≤", "18", "万元"),
    q("≤30万元", "≤", "30", "万元"),
    q("≥10次", "≥", "10", "次"),
    q("≥3次", "≥", "3", "次"),
    q("7天", None, "7", "天"),
    q("≤5万元", "≤", "5", "万元"),
    q("≤25万元", "≤", "25", "万元"),
    q("≤14万元", "≤", "14", "万元"),
]

# Seed 002 (固原市信访局, 2021), projects 1-4 in order, plus its 6-decimal amounts.
SEED_002 = [
    q("≥5 次", "≥", "5", "次"),
    qual("维稳"),
    qual("全年实施"),
    q("2 万元", None, "2", "万元"),
    qual("社会氛围良好"),
    qual("提升"),
    q("97%以上", "≥", "97", "%"),
    unread("制作宣传展板≥3 个，印制宣传折页≥10000 份"),
    qual("提高"),
    q("12 个月", None, "12", "个月"),
    q("1", None, "1", None),
    qual("越级访、缠访闹访等行为较上年度减少"),
    qual("法治信访建设得到加强"),
    q("98%", None, "98", "%"),
    # An indicator name typed into the value cell still reads as descriptive text.
    qual("全年各级交办重点信访事项数量"),
    q("2.5 万元", None, "2.5", "万元"),
    qual("促进社会和谐稳定"),
    q("99%", None, "99", "%"),
    q("0.5", None, "0.5", None),
    q("98%以上", "≥", "98", "%"),
    q("2.000000", None, "2.000000", None),
    q("1.000000", None, "1.000000", None),
    q("2.500000", None, "2.500000", None),
    q("0.500000", None, "0.500000", None),
]

# The forms listed in domain.md, and the comparator and number spellings the parser accepts.
DOMAIN_FORMS = [
    q("≥ 1次/月", "≥", "1", "次/月"),
    q("＜30分钟", "<", "30", "分钟"),
    q("365天", None, "365", "天"),
    q("不少于 50 次", "≥", "50", "次"),
    q("不超过5万元", "≤", "5", "万元"),
    q("９５％", None, "95", "%"),
    q("≧９５％", "≥", "95", "%"),
    about("30多", "30", None),
    about("100多栏目", "100", "栏目"),
    qual("及时"),
    qual("符合"),
    qual("有效提高"),
    q("≦10万元", "≤", "10", "万元"),
    q(">=90%", "≥", "90", "%"),
    q("<=5万元", "≤", "5", "万元"),
    q("⩾90%", "≥", "90", "%"),
    q("⩽3次", "≤", "3", "次"),
    q("＞95%", ">", "95", "%"),
    q("大于90%", ">", "90", "%"),
    q("超过10次", ">", "10", "次"),
    q("高于80%", ">", "80", "%"),
    q("小于5%", "<", "5", "%"),
    q("低于1%", "<", "1", "%"),
    q("=100%", "=", "100", "%"),
    q("等于100%", "=", "100", "%"),
    q("至少3次", "≥", "3", "次"),
    q("不低于95%", "≥", "95", "%"),
    q("大于等于90%", "≥", "90", "%"),
    q("小于等于20万元", "≤", "20", "万元"),
    q("不高于10万元", "≤", "10", "万元"),
    q("5%以下", "≤", "5", "%"),
    q("3天以内", "≤", "3", "天"),
    q("5个工作日内", "≤", "5", "个工作日"),
    q("≥95%以上", "≥", "95", "%"),
    q("1次/月以上", "≥", "1", "次/月"),
    q("10,000份", None, "10000", "份"),
    q("2-3次", None, "2 3", "次"),
    q("2～3次", None, "2 3", "次"),
    q("2至3次", None, "2 3", "次"),
    q("-5%", None, "-5", "%"),
    q("50000元", None, "50000", "元"),
    q("≥500㎡", "≥", "500", "m2"),
    about("10万余元", "10", "万元"),
    about("约100次", "100", "次"),
    about("100次左右", "100", "次"),
    Case("不少于100余次", "≥", ("100",), "次", approximate=True),
    q("100%；", None, "100", "%"),
]

UNREADABLE = [
    unread(""),
    unread("   "),
    unread("本指标不适用"),
    unread("无"),
    unread("/"),
    unread("一次"),  # Chinese numerals are never converted
    unread("百分之百"),
    unread("100%完成"),
    unread("- 5%"),  # a minus sign must touch its digits
    unread("2 3次"),  # separate figures never merge into 23
    unread("≥95%以下"),  # conflicting comparators
    unread("12月底前"),
    unread("1e+16"),
    unread("10/20"),
    unread("≥"),
]

ALL_CASES = SEED_000 + SEED_001 + SEED_002 + DOMAIN_FORMS + UNREADABLE


def expected(case: Case) -> TargetValue:
    numbers = tuple(Decimal(n) for n in case.numbers)
    return TargetValue(
        case.text, case.comparator, numbers, case.unit, case.approximate, case.qualitative
    )


@pytest.mark.parametrize("case", ALL_CASES, ids=[c.text or "<blank>" for c in ALL_CASES])
def test_table(case: Case) -> None:
    value = parse_value(case.text)
    assert value == expected(case)
    # Decimal == is numeric; the scale as written must survive too (2.000000 stays 2.000000).
    assert [str(n) for n in value.numbers] == list(case.numbers)


def test_seed_values_are_distinct_in_the_table() -> None:
    texts = [c.text for c in ALL_CASES]
    assert len(texts) == len(set(texts))


@pytest.mark.parametrize(
    "text", ["指标1：", "指标1:", " 指标2：", "指标 3 :", "本指标不适用", "无", "-", "N/A"]
)
def test_placeholders(text: str) -> None:
    value = parse_value(text)
    assert value.is_placeholder
    assert not value.numbers
    assert (value.comparator, value.unit, value.qualitative) == (None, None, False)


@pytest.mark.parametrize("text", ["明显", "≥95%", "指标1: 新增线路", "", "6期，每期500本"])
def test_not_placeholders(text: str) -> None:
    assert not parse_value(text).is_placeholder


@pytest.mark.parametrize(("text", "label"), [
    ("指标1：", True), ("指标一：", True), ("指标 十 :", True), ("指标12", True),
    ("指标１：", True),
    ("指标1: 新增线路", False), ("指标完成率", False), ("本指标不适用", False), ("无", False),
])
def test_a_form_label_left_unfilled_is_one_thing_everywhere(text: str, label: bool) -> None:
    """The one definition collect's rules and the disclosure use: `指标一：` too."""
    assert is_label_placeholder(text) is label
    if label:
        assert parse_value(text).is_placeholder


@pytest.mark.parametrize(
    ("value", "numbers", "text"),
    [
        (None, (), ""),
        (1, (Decimal(1),), "1"),
        (0.5, (Decimal("0.5"),), "0.5"),
        (Decimal("2.000000"), (Decimal("2.000000"),), "2.000000"),
        (-3, (Decimal(-3),), "-3"),
        (1e16, (), "1e+16"),
        (float("nan"), (), "nan"),
        (True, (), "True"),
    ],
)
def test_non_str_inputs(value: object, numbers: tuple[Decimal, ...], text: str) -> None:
    parsed = parse_value(value)
    assert parsed.text == text
    assert parsed.numbers == numbers
    # A cell that was not typed text is never descriptive prose.
    assert not parsed.qualitative


def test_broken_str_does_not_raise() -> None:
    class Broken:
        def __str__(self) -> str:
            raise RuntimeError("broken")

    parsed = parse_value(Broken())
    assert parsed.numbers == ()
    assert "Broken" in parsed.text


@pytest.mark.parametrize(
    ("text", "wan"),
    [
        ("10万元", Decimal(10)),
        ("10万", Decimal(10)),
        ("≤20万元", Decimal(20)),
        ("2.5 万元", Decimal("2.5")),
        ("50000元", Decimal(5)),
        ("1", None),
        ("2.000000", None),
        ("2-3万元", None),
        ("95%", None),
        ("313批/374人次", None),
        ("明显", None),
        ("", None),
    ],
)
def test_money_in_wan(text: str, wan: Decimal | None) -> None:
    assert parse_value(text).money_in_wan() == wan


def test_convenience_properties() -> None:
    value = parse_value("2-3次")
    assert value.number == Decimal(2)
    assert value.is_quantitative
    assert not value.is_empty
    blank = parse_value(" \u3000\u200b")
    assert blank.is_empty
    assert blank.number is None
    assert not blank.is_quantitative
    assert not parse_value("明显").is_quantitative


# --- properties -------------------------------------------------------------------

# Characters the grammar cares about, so generated text reaches the interesting paths.
GRAMMAR_ALPHABET = list(
    "0123456789.,-~/%万元次个月年天小时余多以上内下约左右至"
    "≥≤><=≧≦＞＜９５％，；:指标一两 \u3000\u200b"
)
grammar_text = st.text(alphabet=GRAMMAR_ALPHABET, max_size=24)
any_text = st.one_of(st.text(), grammar_text)
any_object = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.decimals(),
    st.binary(max_size=8),
    any_text,
)

_NUMERIC_RUN = re.compile(r"(?P<sign>[-−]?)(?P<run>[0-9][0-9,.]*)")


def _numbers_written_in(text: str) -> list[tuple[bool, Decimal]]:
    """Every maximal digit run of the NFKC text, as (has minus sign, value)."""
    runs = []
    for match in _NUMERIC_RUN.finditer(unicodedata.normalize("NFKC", text)):
        digits = match["run"].rstrip(".,").replace(",", "")
        if re.fullmatch(r"[0-9]+(?:\.[0-9]+)?", digits):
            runs.append((bool(match["sign"]), Decimal(digits)))
    return runs


def _is_backed(number: Decimal, written: list[tuple[bool, Decimal]]) -> bool:
    # Same written digits, scale included (2.000000 from "2.000000"); copy_abs is exact
    # where abs() would round to the context precision.
    for negative, value in written:
        if format(value, "f") == format(number.copy_abs(), "f") and (
            not number.is_signed() or negative
        ):
            return True
    return False


@given(any_object)
def test_never_raises_and_text_round_trips(value: object) -> None:
    parsed = parse_value(value)
    if value is None:
        assert parsed.text == ""
    else:
        assert parsed.text == str(value)


@given(any_text)
def test_numbers_are_backed_by_written_digits(text: str) -> None:
    written = _numbers_written_in(text)
    for number in parse_value(text).numbers:
        assert _is_backed(number, written), (text, number)


@given(any_object)
def test_field_invariants(value: object) -> None:
    parsed = parse_value(value)
    assert parsed.comparator is None or parsed.comparator in COMPARATORS
    assert len(parsed.numbers) <= 2
    if parsed.qualitative:
        assert (parsed.numbers, parsed.comparator, parsed.unit) == ((), None, None)
        assert not parsed.approximate
    if not parsed.numbers:
        assert (parsed.comparator, parsed.unit, parsed.approximate) == (None, None, False)
    if parsed.is_placeholder or parsed.is_empty:
        assert not parsed.numbers
        assert not parsed.qualitative


@given(any_text)
def test_reading_ignores_width_and_compatibility_forms(text: str) -> None:
    folded = unicodedata.normalize("NFKC", text)
    assert dataclasses.replace(parse_value(text), text=folded) == parse_value(folded)


PREFIX_WORDS = {
    "≥": ["≥", "≧", ">=", "不少于", "不低于", "至少", "达到", "大于等于"],
    "≤": ["≤", "≦", "<=", "不超过", "不高于", "小于等于"],
    ">": [">", "＞", "大于", "超过", "高于"],
    "<": ["<", "＜", "小于", "低于"],
    "=": ["=", "等于"],
}
SUFFIX_WORDS = {"≥": ["以上"], "≤": ["以内", "以下", "内"]}
UNITS = [
    "%",
    "万元",
    "万",
    "元",
    "次",
    "次/月",
    "次/年",
    "小时",
    "个月",
    "天",
    "件",
    "人次",
    "分钟",
]
SPACE = st.sampled_from(["", " "])


@st.composite
def decimals_as_written(draw: st.DrawFn) -> tuple[str, Decimal]:
    """A non-negative number and one way people write it (thousands separators, scale)."""
    places = draw(st.integers(min_value=0, max_value=6))
    number = draw(st.decimals(min_value=0, max_value=10**9, places=places, allow_nan=False))
    written = format(number, ",f" if draw(st.booleans()) else "f")
    return written, number


@st.composite
def quantitative_forms(draw: st.DrawFn) -> tuple[str, str | None, Decimal, str | None]:
    written, number = draw(decimals_as_written())
    if draw(st.booleans()):
        written, number = "-" + written, -number
    unit = draw(st.one_of(st.none(), st.sampled_from(UNITS)))
    comparator = draw(st.one_of(st.none(), st.sampled_from(COMPARATORS)))
    body = written + draw(SPACE) + (unit or "")
    if comparator is None:
        text = body
    elif comparator in SUFFIX_WORDS and unit is not None and draw(st.booleans()):
        text = body + draw(st.sampled_from(SUFFIX_WORDS[comparator]))
    else:
        text = draw(st.sampled_from(PREFIX_WORDS[comparator])) + draw(SPACE) + body
    return text, comparator, number, unit


@given(quantitative_forms())
def test_generated_forms_parse_back(form: tuple[str, str | None, Decimal, str | None]) -> None:
    text, comparator, number, unit = form
    parsed = parse_value(text)
    assert parsed == TargetValue(text, comparator, (number,), unit)


@given(
    decimals_as_written(),
    decimals_as_written(),
    st.sampled_from(["-", "~", "～", "至", "到"]),
    st.sampled_from(UNITS),
    SPACE,
)
def test_generated_ranges_parse_back(
    low: tuple[str, Decimal],
    high: tuple[str, Decimal],
    separator: str,
    unit: str,
    space: str,
) -> None:
    text = f"{low[0]}{space}{separator}{space}{high[0]}{unit}"
    assert parse_value(text) == TargetValue(text, None, (low[1], high[1]), unit)


@given(
    st.integers(min_value=0, max_value=10**6),
    st.integers(min_value=0, max_value=10**6),
    st.sampled_from(["批", "次", "件"]),
    st.sampled_from(["人次", "人", "户"]),
    st.sampled_from(["", "余", "多"]),
)
def test_generated_pairs_parse_back(
    first: int, second: int, first_unit: str, second_unit: str, approx: str
) -> None:
    text = f"{first}{first_unit}/{second}{approx}{second_unit}"
    assert parse_value(text) == TargetValue(
        text, None, (Decimal(first), Decimal(second)), f"{first_unit}/{second_unit}", bool(approx)
    )


@given(decimals_as_written(), st.sampled_from(["余", "多"]), st.sampled_from(["次", "条", None]))
def test_generated_approximations_parse_back(
    number: tuple[str, Decimal], marker: str, unit: str | None
) -> None:
    text = f"{number[0]}{marker}{unit or ''}"
    assert parse_value(text) == TargetValue(text, None, (number[1],), unit, approximate=True)


# --- size -------------------------------------------------------------------------

MEGABYTE = 1_000_000


@pytest.mark.parametrize(
    "text",
    [
        "字" * MEGABYTE,
        "1" * MEGABYTE,
        "≥" + "9" * MEGABYTE + "%",
        "一" * MEGABYTE,
        "1," * (MEGABYTE // 2),
        "指标" + "1" * MEGABYTE,
        "9" * 70 + "次" * MEGABYTE,
        " " * MEGABYTE,
    ],
    ids=["cjk", "digits", "percent", "numerals", "separators", "label", "units", "spaces"],
)
def test_a_megabyte_parses_quickly(text: str) -> None:
    started = time.perf_counter()
    parsed = parse_value(text)
    elapsed = time.perf_counter() - started
    assert parsed.text == text
    assert not parsed.numbers
    assert elapsed < 2.0  # typically a few hundredths of a second
