"""Excel number formats: the text a spreadsheet shows for a number in a cell.

A department that types 95% into a cell stores 0.95 formatted `0%`; a date picked
from a calendar is the serial 45657 formatted `yyyy"年"m"月"d"日前"`. What the
department saw, and means, is the text Excel, WPS and LibreOffice show for it —
`95%`, `2024年12月31日前` — so collect reads a number in an input cell through its
format (`render`). LibreOffice's CSV export writes every cell as shown: it is the
oracle this module is tested against (`tests/test_numfmt_oracle.py`), run in its
Chinese locale, the departments' own.

Why no library does it: the Python port of SheetJS's renderer, `ssf` (0.2.2, last
released in 2020), needs Babel, pytz, python-dateutil, PyYAML, six, ummalqura and
convertdate, carries a megabyte of calendar tables, and fails on every format with
the Babel of today (`KeyError: 'decimal'`); its republished forks (`ssf-coco`,
`ssf-reducto`) are the same code. `xlfmt` (one release, no public repository) knows
neither the Chinese keywords (`上午/下午`, `aaaa`, `[DBNum1]`) nor the built-in ids
Chinese Excel writes, and shows General as Excel's narrow column does; `q2numfmt`
leans on `strftime` directives that exist on Windows only. What collect needs is the
few hundred lines below.

What is read, in the order a format is read:

- **Built-in ids** (`BUILTIN`): ECMA-376's table as Chinese Excel shows it: its date and
  time formats (27–36, 50–58), and 14 and 22, the system's short date, as Chinese
  Windows writes it (`2024/12/31`).
- **Sections** `positive;negative;zero;text` and **conditions** (`[>=100]`): the section
  a number falls in shows it; a negative number is shown without its minus sign by a
  section of its own (the second, or one without a condition of its own).
- **Brackets**: colours (`[Red]`, `[Color 3]`) are painted, not written, so dropped; a
  locale tag (`[$-804]`) picks the language of month and day names and of AM/PM —
  Chinese for a Chinese tag and for none (the office's locale), English for any other;
  `[$¥-804]` writes its currency sign; `[$-F800]` / `[$-x-sysdate]` and `[$-F400]` /
  `[$-x-systime]` are the system's long date and time, as Chinese Windows writes them
  (`2024年12月31日`, `18:00:00`); `[DBNum1]` and `[DBNum2]` write a number's whole part
  and a date's fields in Chinese numerals (`四万五千六百五十七`, `二〇二四年十二月三十一日`,
  `壹拾贰`), its decimals digit by digit after `．`; `[DBNum3]` in full-width digits.
- **Numbers**: `General` (15 significant digits as LibreOffice shows them: Excel's
  General depends on the column's width), digit placeholders `0 # ?`, the point (not
  shown when no digit follows it, `#.##`), thousands separators (the padding zeros too:
  `0,000`), a comma after the digits dividing by a thousand, `%` (one or more: a
  hundredfold), scientific `E+ E-` (engineering too: `##0.0E+0`), fractions `# ?/?` and
  fixed denominators `# ?/8`, literal text in quotes, `\\x`, `_x` (a space) and `*x` (a
  fill, which writes nothing in text). Rounding is half away from zero, after the
  number is cut to 15 significant digits as both programs cut it (2.675 shows 2.68).
- **Dates and times**: `yyyy yyy` (the year), `yy y` (its last two digits), `e` (the
  year, as Chinese Excel reads it), `m mm mmm mmmm mmmmm`, `d dd ddd dddd`, `aaa aaaa`,
  `h hh`, `m mm` as minutes (after an hour or before a second), `s ss` and fractions
  `.0 .00 .000`, elapsed `[h] [m] [s]`, `AM/PM`, `A/P` and `上午/下午`. Days count from
  1899-12-30 both ways, as LibreOffice counts them (or from 1904-01-01, `date1904`).
- **Booleans** read `TRUE` / `FALSE`, whatever the format, as Excel shows them.

Where Excel and LibreOffice differ, this module follows Excel, the departments' usual
program, and the oracle test lists each difference: a time is rounded to the second
(LibreOffice 7 cuts it); 14 and 22 are `2024/12/31` (LibreOffice: `2024-12-31`); `ddd`
is `周二` (LibreOffice: `二`); a bare `上午/下午` in a custom format is AM/PM (LibreOffice
cannot read such a format and shows the number). Where neither shows the number — a date
after 9999-12-31 (Excel fills the cell with `#`, LibreOffice writes `#FMT`) — it is
written as General writes it. Serials before 1900-03-01 are dated as LibreOffice dates
them (Excel invents a 1900-02-29, and shows no negative date at all).

Not read: other calendars and eras (`B1`, `B2`, `g`: written as they stand), other
languages' month and day names (English stands in), a text section `@` (text cells are
read as typed, never through this module).
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

# -- built-in formats ------------------------------------------------------------------------
#
# A style names its format by id; ids below 164 need not be written in the file, and mean
# what the program that shows the file says they mean. These are Chinese Excel's.

BUILTIN: dict[int, str] = {
    0: "General", 1: "0", 2: "0.00", 3: "#,##0", 4: "#,##0.00",
    9: "0%", 10: "0.00%", 11: "0.00E+00", 12: "# ?/?", 13: "# ??/??",
    14: "yyyy/m/d", 15: "d-mmm-yy", 16: "d-mmm", 17: "mmm-yy", 18: "h:mm AM/PM",
    19: "h:mm:ss AM/PM", 20: "h:mm", 21: "h:mm:ss", 22: "yyyy/m/d h:mm",
    27: 'yyyy"年"m"月"', 28: 'm"月"d"日"', 29: 'm"月"d"日"', 30: "m-d-yy",
    31: 'yyyy"年"m"月"d"日"', 32: 'h"时"mm"分"', 33: 'h"时"mm"分"ss"秒"',
    34: '上午/下午h"时"mm"分"', 35: '上午/下午h"时"mm"分"ss"秒"', 36: 'yyyy"年"m"月"',
    37: "#,##0;-#,##0", 38: "#,##0;[Red]-#,##0", 39: "#,##0.00;-#,##0.00",
    40: "#,##0.00;[Red]-#,##0.00", 45: "mm:ss", 46: "[h]:mm:ss", 47: "mm:ss.0",
    48: "##0.0E+0", 49: "@",
    50: 'yyyy"年"m"月"', 51: 'm"月"d"日"', 52: 'yyyy"年"m"月"', 53: 'm"月"d"日"',
    54: 'm"月"d"日"', 55: '上午/下午h"时"mm"分"', 56: '上午/下午h"时"mm"分"ss"秒"',
    57: 'yyyy"年"m"月"', 58: 'm"月"d"日"',
}
LONG_DATE = 'yyyy"年"m"月"d"日"'
LONG_TIME = "h:mm:ss"


def builtin_format(number_format_id: int) -> str:
    """The format a built-in id stands for; General for an id no table gives."""
    return BUILTIN.get(number_format_id, "General")


# -- the words a format writes, by language ------------------------------------------------


@dataclass(frozen=True)
class Words:
    months: tuple[str, ...]
    months_short: tuple[str, ...]
    days: tuple[str, ...]  # Monday first, as `date.weekday` counts
    days_short: tuple[str, ...]
    am_pm: tuple[str, str]


_ZH_MONTHS = ("一月", "二月", "三月", "四月", "五月", "六月", "七月", "八月", "九月", "十月",
              "十一月", "十二月")
_ZH_DAYS = ("一", "二", "三", "四", "五", "六", "日")
CHINESE = Words(_ZH_MONTHS, tuple(f"{n}月" for n in range(1, 13)),
                tuple(f"星期{d}" for d in _ZH_DAYS), tuple(f"周{d}" for d in _ZH_DAYS),
                ("上午", "下午"))
ENGLISH = Words(
    ("January", "February", "March", "April", "May", "June", "July", "August", "September",
     "October", "November", "December"),
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
    ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"), ("AM", "PM"))


def _words(locale: int | None) -> Words:
    """A locale tag's words: Chinese for a Chinese language id (primary language 0x04) and
    for no tag at all (the office's own locale), English for any other."""
    return CHINESE if locale is None or locale & 0x3FF == 0x04 else ENGLISH


# -- reading a format: sections of tokens --------------------------------------------------
#
# A token is (kind, text). Kinds: literal text, a digit placeholder (`0 # ?`), the decimal
# point, a comma, `%`, an exponent (`E+`/`E-`), the fraction slash, a date or time field,
# `@`, and `General`.

LIT, DIGIT, POINT, COMMA, PERCENT, EXP, SLASH, FIELD, AT, GENERAL = range(10)
_ONE_CHARACTER = {"0": DIGIT, "#": DIGIT, "?": DIGIT, ".": POINT, ",": COMMA, "%": PERCENT,
                  "@": AT}
"""The tokens a single character of a format is, whatever follows it."""
Token = tuple[int, str]

_COLOURS = re.compile(r"(?i)black|blue|cyan|green|magenta|red|white|yellow|colou?r\s*\d+")
_CONDITION = re.compile(r"(<>|<=|>=|<|>|=)\s*(-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)")
_ELAPSED = re.compile(r"(?i)(h+|m+|s+)")
_DBNUM = re.compile(r"(?i)DBNum([1-4])")
_LOCALE = re.compile(r"\$([^-\]]*)(?:-([^\]]*))?")
_SYSTEM_LONG_DATE = frozenset({"F800", "X-SYSDATE"})
_SYSTEM_LONG_TIME = frozenset({"F400", "X-SYSTIME"})
# Date and time fields, longest first where one begins another.
_FIELD = re.compile(r"(?i)AM/PM|A/P|上午/下午|y+|m+|d+|h+|s+|e+|a{3,}|g+|b[12]")


@dataclass(frozen=True)
class Section:
    """One `;`-separated part of a format, read."""

    tokens: tuple[Token, ...]
    condition: tuple[str, float] | None = None
    locale: int | None = None
    numerals: int = 0
    """`[DBNumN]`: 1 Chinese numerals, 2 financial numerals, 3 full-width digits."""
    system: str = ""
    """`long_date` or `long_time` for the system's format (`[$-F800]`, `[$-F400]`)."""

    @functools.cached_property
    def shows(self) -> str:
        kinds = {kind for kind, _ in self.tokens}
        if self.system or FIELD in kinds:
            return "date"
        if GENERAL in kinds:
            return "general"
        if DIGIT in kinds:
            return "number"
        return "text" if AT in kinds else "literal"


def sections(code: str) -> tuple[Section, ...]:
    """CODE's sections as read (cached: a workbook repeats a handful of formats)."""
    return _sections(code)


@functools.lru_cache(maxsize=1024)
def _sections(code: str) -> tuple[Section, ...]:
    return tuple(_section(part) for part in _split(code))


def _split(code: str) -> list[str]:
    """CODE cut at each `;` that is not quoted, escaped or bracketed."""
    parts, start, at = [], 0, 0
    while at < len(code):
        char = code[at]
        if char == '"':
            end = code.find('"', at + 1)
            at = len(code) if end < 0 else end + 1
            continue
        if char in "\\_*":
            at += 2
            continue
        if char == "[":
            end = code.find("]", at)
            at = len(code) if end < 0 else end + 1
            continue
        if char == ";":
            parts.append(code[start:at])
            start = at + 1
        at += 1
    parts.append(code[start:])
    return parts


def _section(text: str) -> Section:
    tokens: list[Token] = []
    condition: tuple[str, float] | None = None
    locale: int | None = None
    numerals, system = 0, ""
    at = 0
    while at < len(text):
        char = text[at]
        if char == '"':
            end = text.find('"', at + 1)
            end = len(text) if end < 0 else end
            tokens.append((LIT, text[at + 1:end]))
            at = end + 1
        elif char == "\\":
            tokens.append((LIT, text[at + 1:at + 2]))
            at += 2
        elif char == "_":
            tokens.append((LIT, " "))  # the width of the next character: a space in text
            at += 2
        elif char == "*":
            at += 2  # a fill repeats to the cell's width: nothing in text
        elif char == "[":
            end = text.find("]", at)
            end = len(text) if end < 0 else end
            inside = text[at + 1:end]
            at = end + 1
            if _COLOURS.fullmatch(inside):
                continue
            if found := _CONDITION.fullmatch(inside):
                condition = (found[1], float(found[2]))
            elif found := _DBNUM.fullmatch(inside):
                numerals = int(found[1])
            elif _ELAPSED.fullmatch(inside):
                tokens.append((FIELD, f"[{inside.lower()}]"))
            elif found := _LOCALE.fullmatch(inside):
                if found[1]:
                    tokens.append((LIT, found[1]))
                tag = (found[2] or "").upper()
                if tag in _SYSTEM_LONG_DATE:
                    system = "long_date"
                elif tag in _SYSTEM_LONG_TIME:
                    system = "long_time"
                elif tag:
                    locale = _locale_id(tag)
            # anything else in brackets (`[NatNum1]`, `[~buddhist]`) is not shown
        elif text[at:at + 7].lower() == "general":
            tokens.append((GENERAL, "General"))
            at += 7
        elif char in _ONE_CHARACTER:
            tokens.append((_ONE_CHARACTER[char], char))
            at += 1
        elif char in "eE" and text[at + 1:at + 2] in ("+", "-"):
            tokens.append((EXP, text[at:at + 2].upper()))
            at += 2
        elif char == "/":
            tokens.append((SLASH, char))
            at += 1
        elif found := _FIELD.match(text, at):
            tokens.append((FIELD, found[0]))
            at = found.end()
        else:
            tokens.append((LIT, char))
            at += 1
    return Section(tuple(tokens), condition, locale, numerals, system)


def _locale_id(tag: str) -> int | None:
    """The language id of a locale tag's hexadecimal LCID (its low 16 bits)."""
    try:
        return int(tag, 16) & 0xFFFF
    except ValueError:
        return None


# -- choosing the section ------------------------------------------------------------------


def _chosen(parts: tuple[Section, ...], number: float) -> tuple[Section, bool] | None:
    """The section NUMBER is shown by, and whether a minus sign goes before it; None when
    no section takes it (a format of conditions only, none of them met)."""
    numeric = [s for s in parts[:3] if s.shows != "text"] or [Section(((GENERAL, "General"),))]
    if any(s.condition for s in numeric):
        return _by_condition(numeric, number)
    if number < 0 and len(numeric) >= 2:
        return numeric[1], False
    if number == 0 and len(numeric) >= 3:
        return numeric[2], False
    return numeric[0], number < 0


_COMPARE = {"<": float.__lt__, "<=": float.__le__, ">": float.__gt__, ">=": float.__ge__,
            "=": float.__eq__, "<>": float.__ne__}
_DEFAULT_CONDITIONS = ((">", 0.0), ("<", 0.0))


def _by_condition(numeric: list[Section], number: float) -> tuple[Section, bool] | None:
    """Sections with conditions: the first whose condition the number meets. A section
    without one takes `>0` as the first and `<0` as the second of several, and as the last
    whatever is left; only a section with a condition of its own writes the minus sign
    (`[>=100]0;0` shows -5 as 5, `[<=-1]0;0` as -5)."""
    for index, section in enumerate(numeric):
        condition = section.condition
        if condition is None:
            if index == len(numeric) - 1 or index >= len(_DEFAULT_CONDITIONS):
                return section, False
            condition = _DEFAULT_CONDITIONS[index]
        if _COMPARE[condition[0]](float(number), condition[1]):
            return section, number < 0 and section.condition is not None
    return None


# -- numbers -------------------------------------------------------------------------------

SIGNIFICANT = 15  # Excel and LibreOffice show no more significant digits than this


def _decimal(number: float) -> Decimal:
    """NUMBER to 15 significant digits, as both programs round before they show it."""
    exact = Decimal(repr(number))
    if exact.is_zero() or not exact.is_finite():
        return exact
    return round(exact, SIGNIFICANT - 1 - exact.adjusted())


def general(number: float) -> str:
    """`General`: up to 15 significant digits, trailing zeros dropped; whole numbers below
    2⁵³ in full, other numbers from 10¹⁵ on and below 10⁻⁹ in scientific notation."""
    if not math.isfinite(number):
        return "INF" if number > 0 else "-INF" if number < 0 else "NaN"
    if number == int(number) and abs(number) < 2 ** 53:
        return str(int(number))
    value = _decimal(number)
    if abs(value) >= Decimal("1e15") or (not value.is_zero() and value.adjusted() < -9):
        mantissa = value.scaleb(-value.adjusted()).normalize()
        sign = "+" if value.adjusted() >= 0 else "-"
        return f"{format(mantissa, 'f')}E{sign}{abs(value.adjusted()):02d}"
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


@dataclass(frozen=True)
class NumberLayout:
    """A number section taken apart: the placeholders of each part and what they mean."""

    before: tuple[Token, ...]
    """Literals before the first placeholder (`"≥"0"次"`: `≥`)."""
    integer: tuple[Token, ...]
    decimals: tuple[Token, ...]
    after: tuple[Token, ...]
    """Literals after the last placeholder (`"≥"0"次"`: `次`)."""
    has_point: bool = False
    grouped: bool = False
    scale: int = 0
    """Powers of ten: two for a `%`, minus three for each comma after the digits."""
    exponent: tuple[Token, ...] = ()
    exponent_sign: str = ""
    numerator: tuple[Token, ...] = ()
    denominator: tuple[Token, ...] = ()
    fixed_denominator: int = 0
    fraction: bool = False


@functools.lru_cache(maxsize=1024)
def _layout(tokens: tuple[Token, ...]) -> NumberLayout:
    """TOKENS of a number section, taken apart."""
    placed = [n for n, (kind, _) in enumerate(tokens) if kind in (DIGIT, POINT, EXP, SLASH)]
    first, last = placed[0], placed[-1]
    if any(kind == SLASH for kind, _ in tokens):  # a fixed denominator's digits are literals
        while last + 1 < len(tokens) and tokens[last + 1][0] == LIT and \
                tokens[last + 1][1].isdigit():
            last += 1
    before, body, after = tokens[:first], list(tokens[first:last + 1]), tokens[last + 1:]
    # One `%` or more multiplies by a hundred (LibreOffice's reading of `0%%`).
    scale = 2 if any(kind == PERCENT for kind, _ in tokens) else 0
    while after and after[0][0] == COMMA:  # commas right after the digits: thousands off
        scale -= 3
        after = after[1:]
    if any(kind == SLASH for kind, _ in body):
        return _fraction_layout(before, body, after, scale)
    exponent: list[Token] = []
    sign = ""
    for n, (kind, text) in enumerate(body):
        if kind == EXP:
            sign, exponent, body = text[1], body[n + 1:], body[:n]
            break
    point = next((n for n, (kind, _) in enumerate(body) if kind == POINT), None)
    integer = body if point is None else body[:point]
    decimals = [] if point is None else body[point + 1:]
    while integer and integer[-1][0] == COMMA:  # `#,##0,.0`: commas before the point
        scale -= 3
        integer = integer[:-1]
    while decimals and decimals[-1][0] == COMMA:
        scale -= 3
        decimals = decimals[:-1]
    grouped = any(kind == COMMA for kind, _ in integer)
    return NumberLayout(
        tuple(before), tuple(t for t in integer if t[0] != COMMA),
        tuple(t for t in decimals if t[0] != COMMA), tuple(after), point is not None,
        grouped, scale, tuple(exponent), sign)


def _fraction_layout(before: tuple[Token, ...], body: list[Token], after: tuple[Token, ...],
                     scale: int) -> NumberLayout:
    """`# ?/?`: a whole part and its separator, the numerator's places, and the
    denominator's places or its fixed value (`# ?/8`). Without a whole part (`?/?`) the
    fraction is improper."""
    slash = next(n for n, (kind, _) in enumerate(body) if kind == SLASH)
    left, right = body[:slash], body[slash + 1:]
    start = slash
    while start > 0 and left[start - 1][0] == DIGIT:
        start -= 1
    fixed = "".join(text for kind, text in right if kind == LIT)
    return NumberLayout(
        before, tuple(left[:start]), (), after, scale=scale, numerator=tuple(left[start:]),
        denominator=tuple(t for t in right if t[0] == DIGIT),
        fixed_denominator=int(fixed) if fixed else 0, fraction=True)


def _number(section: Section, number: float) -> tuple[str, bool]:
    """NUMBER's magnitude by a number section, and whether what shows is other than 0."""
    layout = _layout(section.tokens)
    value = _decimal(abs(number)).scaleb(layout.scale)
    if layout.fraction:
        body, nonzero = _fraction(layout, value)
    elif layout.exponent_sign:
        body, nonzero = _scientific(layout, value)
    else:
        body, nonzero = _fixed(layout, value, section.numerals)
    return _literals(layout.before) + body + _literals(layout.after), nonzero


def _literals(tokens: tuple[Token, ...] | list[Token]) -> str:
    """Tokens that show as themselves (a `%`, a stray comma or slash among them)."""
    return "".join(text for kind, text in tokens if kind != FIELD)


def _places(tokens: tuple[Token, ...] | list[Token]) -> list[str]:
    return [text for kind, text in tokens if kind == DIGIT]


_PAD = {"0": "0", "?": " ", "#": ""}


def _fixed(layout: NumberLayout, value: Decimal, numerals: int) -> tuple[str, bool]:
    """`#,##0.00`: the number rounded half away from zero to its decimal places."""
    places = _places(layout.decimals)
    rounded = value.quantize(Decimal(1).scaleb(-len(places)), ROUND_HALF_UP)
    whole, _, fraction = format(rounded, "f").partition(".")
    integer = _whole(layout.integer, whole.lstrip("0"), layout.grouped)
    decimals = _decimal_places(layout.decimals, fraction)
    # A point shows when a digit may follow it: `#.##` shows 5 as `5` (LibreOffice's way;
    # Excel writes `5.`), `0.0#` as `5.0`.
    point = "." if layout.has_point and (
        decimals.strip() or any(place != "#" for place in places)) else ""
    if numerals:
        integer, point, decimals = _in_numerals(integer, point, decimals, numerals)
    return integer + point + decimals, not rounded.is_zero()


def _whole(tokens: tuple[Token, ...], digits: str, grouped: bool) -> str:
    """DIGITS (no leading zeros, "" for none) in the integer part's placeholders, right to
    left: `0` pads with a zero, `?` with a space, `#` with nothing; digits beyond the
    placeholders go before the first one, and literals among them stay where they are.
    GROUPED: a comma between each three digits (the padding zeros too: `0,000` shows 5 as
    `0,005`)."""
    places = _places(tokens)
    if grouped and len(places) == len(tokens):
        padded = "".join(_PAD[p] for p in places[:max(len(places) - len(digits), 0)]) + digits
        core = padded.lstrip(" ")
        return padded[:len(padded) - len(core)] + _thousands(core)
    out: list[str] = []
    remaining = digits
    left = len(places)
    for kind, text in reversed(tokens):
        if kind != DIGIT:
            out.append(text)
            continue
        left -= 1
        if left == 0:  # the first placeholder takes every digit still to place
            out.append(remaining or _PAD[text])
            remaining = ""
        elif remaining:
            out.append(remaining[-1])
            remaining = remaining[:-1]
        else:
            out.append(_PAD[text])
    return remaining + "".join(reversed(out))


def _thousands(digits: str) -> str:
    head = len(digits) % 3 or 3
    return ",".join([digits[:head]] + [digits[n:n + 3] for n in range(head, len(digits), 3)])


def _decimal_places(tokens: tuple[Token, ...], fraction: str) -> str:
    """FRACTION's digits in the decimal places: a trailing zero at `#` is dropped, at `?`
    becomes a space; literals among the places stay."""
    places = _places(tokens)
    shown = list(fraction.ljust(len(places), "0"))
    for n in range(len(places) - 1, -1, -1):
        if shown[n] != "0" or places[n] == "0":
            break
        shown[n] = _PAD[places[n]]
    out, n = [], 0
    for kind, text in tokens:
        if kind == DIGIT:
            out.append(shown[n])
            n += 1
        else:
            out.append(text)
    return "".join(out)


def _in_numerals(integer: str, point: str, decimals: str, numerals: int
                 ) -> tuple[str, str, str]:
    """`[DBNumN]`: the whole part as a Chinese number (一百二十三), the point and each decimal
    as characters of their own (`．`, 〇一二…); `[DBNum3]` in full-width digits."""
    if not integer.strip().isdigit():
        return integer, point, decimals
    if numerals == 3:
        return _full_width(integer), "．" if point else "", _full_width(decimals)
    digits = _DIGITS[1 if numerals != 2 else 2]
    return (chinese_number(int(integer), numerals), "．" if point else "",
            "".join(digits[int(d)] if d.isdigit() else d for d in decimals))


def _scientific(layout: NumberLayout, value: Decimal) -> tuple[str, bool]:
    """`0.00E+00`, `##0.0E+0`: a mantissa with as many whole digits as it has places (in
    engineering notation, where a `#` leads, an exponent that is a multiple of them)."""
    whole_places = _places(layout.integer)
    decimals = len(_places(layout.decimals))
    width = max(len(whole_places), 1)
    engineering = len(whole_places) > 1 and whole_places[0] == "#"
    quantum = Decimal(1).scaleb(-decimals)
    power = 0
    if not value.is_zero():
        power = value.adjusted()
        power = power - power % width if engineering else power - (width - 1)
    mantissa = value.scaleb(-power).quantize(quantum, ROUND_HALF_UP)
    if mantissa >= Decimal(10) ** width:  # rounding carried a digit over
        power += width if engineering else 1
        mantissa = value.scaleb(-power).quantize(quantum, ROUND_HALF_UP)
    whole, _, fraction = format(mantissa, "f").partition(".")
    shown = _whole(layout.integer, whole.lstrip("0"), False)
    if decimals:
        shown += "." + _decimal_places(layout.decimals, fraction)
    exponent_places = _places(layout.exponent)
    digits = str(abs(power)).rjust(max(exponent_places.count("0"), 1), "0")
    sign = "-" if power < 0 else "+" if layout.exponent_sign == "+" else ""
    return shown + "E" + sign + digits, not mantissa.is_zero()


def _fraction(layout: NumberLayout, value: Decimal) -> tuple[str, bool]:
    """`# ?/?`: the whole part, then the nearest fraction with no more denominator digits
    than it has places (or over the fixed denominator, unreduced: `# ?/8` shows 2/8);
    blanks where the fraction is 0."""
    exact = Fraction(value)
    has_whole = bool(_places(layout.integer))
    whole = int(exact) if has_whole else 0
    rest = exact - whole
    if layout.fixed_denominator:
        denominator = layout.fixed_denominator
        numerator = int(rest * denominator + Fraction(1, 2))
    else:
        most = 10 ** max(len(_places(layout.denominator)), 1) - 1
        nearest = rest.limit_denominator(most)
        numerator, denominator = nearest.numerator, nearest.denominator
    if has_whole and numerator == denominator:
        whole, numerator = whole + 1, 0
    whole_places = tuple(t for t in layout.integer if t[0] == DIGIT)
    separator = _literals([t for t in layout.integer if t[0] != DIGIT])
    numerator_width = len(_places(layout.numerator))
    if has_whole and numerator == 0:
        denominator_width = 0 if layout.fixed_denominator else len(_places(layout.denominator))
        blank = " " * (numerator_width + 1 + denominator_width)
        return _whole(whole_places, str(whole), False) + separator + blank, whole != 0
    whole_text = _whole(whole_places, str(whole) if whole else "", False)
    top = _whole(layout.numerator, str(numerator), False).rjust(numerator_width)
    bottom = str(denominator)
    if not layout.fixed_denominator:
        bottom = bottom.ljust(len(_places(layout.denominator)))
    return whole_text + separator + top + "/" + bottom, whole != 0 or numerator != 0


# -- dates and times -----------------------------------------------------------------------

EPOCH = datetime(1899, 12, 30)
FIRST_DAY = (datetime(1, 1, 1) - EPOCH).days
LAST_DAY = 2958466  # 10000-01-01: past Excel's calendar (and Python's)
DAYS_1900_TO_1904 = 1462
SECONDS_A_DAY = 86400
_HOUR_FIELDS = frozenset({"h", "hh", "[h]", "[hh]"})
_SECOND_FIELDS = frozenset({"s", "ss", "[s]", "[ss]"})


def _date(section: Section, serial: float, date1904: bool) -> str:
    """SERIAL by a date or time section. Days count from 1899-12-30 both ways, as
    LibreOffice counts them (from 1904-01-01 in a workbook of the 1904 date system); a
    negative elapsed time (`[h]`) is its length with a minus."""
    tokens = _date_tokens(section)
    if serial < 0 and any(text.startswith("[") for kind, text in tokens if kind == FIELD):
        return "-" + _date(section, -serial, date1904)
    places = _second_places(tokens)
    steps = (Decimal(repr(serial)) * SECONDS_A_DAY * 10 ** places).quantize(
        Decimal(1), ROUND_HALF_UP)
    total, part = divmod(int(steps), 10 ** places)
    days, seconds = divmod(total, SECONDS_A_DAY)
    days += DAYS_1900_TO_1904 if date1904 else 0
    if _has_date(tokens) and not FIRST_DAY <= days < LAST_DAY:
        return general(serial)  # past the calendar: Excel fills the cell with #
    moment = _moment(days, seconds)
    words = _words(section.locale)
    twelve = any(kind == FIELD and (text.upper() in ("AM/PM", "A/P") or text == "上午/下午")
                 for kind, text in tokens)
    out = []
    after_seconds = False
    for kind, text in tokens:
        if kind == FIELD:
            out.append(_field(text, moment, total, words, twelve, section.numerals))
            after_seconds = text.lower() in _SECOND_FIELDS
        elif kind == POINT and after_seconds and places:
            out.append("." + str(part).rjust(places, "0"))
        elif kind == DIGIT and after_seconds and places:
            continue  # the fraction's places, written with the point
        else:
            out.append(text)
            after_seconds = False
    return "".join(out)


_DATE_LETTERS = frozenset("ymdeag")


def _has_date(tokens: tuple[Token, ...]) -> bool:
    """Whether the fields show a day (a year, month, day or weekday), not a time alone."""
    return any(kind == FIELD and text[0].lower() in _DATE_LETTERS and
               text.upper() not in ("AM/PM", "A/P") and not text.startswith("minute")
               for kind, text in tokens)


def _moment(days: int, seconds: int) -> datetime:
    """The day DAYS after 1899-12-30 at SECONDS past midnight; a day outside Python's
    calendar gives its time on an arbitrary day (a format that shows it has no date)."""
    try:
        return EPOCH + timedelta(days=days, seconds=seconds)
    except OverflowError:
        return EPOCH + timedelta(seconds=seconds)


@functools.lru_cache(maxsize=1024)
def _date_tokens(section: Section) -> tuple[Token, ...]:
    """The section's tokens with each `m` read as a month or a minute: a minute right after
    an hour, or right before a second (literals between do not count)."""
    if section.system:
        system = LONG_DATE if section.system == "long_date" else LONG_TIME
        return _date_tokens(_sections(system)[0])
    tokens = list(section.tokens)
    fields = [n for n, (kind, _) in enumerate(tokens) if kind == FIELD]
    for at, n in enumerate(fields):
        text = tokens[n][1]
        if text.lower() not in ("m", "mm"):
            continue
        previous = tokens[fields[at - 1]][1].lower() if at > 0 else ""
        following = tokens[fields[at + 1]][1].lower() if at + 1 < len(fields) else ""
        if previous in _HOUR_FIELDS or following in _SECOND_FIELDS:
            tokens[n] = (FIELD, "minute" + text.lower())
    return tuple(tokens)


def _second_places(tokens: tuple[Token, ...]) -> int:
    """Decimal places of the seconds (`ss.00`: 2), at most three."""
    for n, (kind, text) in enumerate(tokens):
        if kind == FIELD and text.lower() in _SECOND_FIELDS and n + 1 < len(tokens) and \
                tokens[n + 1][0] == POINT:
            places = 0
            for later_kind, later in tokens[n + 2:]:
                if later_kind != DIGIT or later != "0":
                    break
                places += 1
            return min(places, 3)
    return 0


def _field(text: str, moment: datetime, total: int, words: Words, twelve: bool,
           numerals: int) -> str:
    """One date or time field of MOMENT (TOTAL: its whole seconds since the epoch)."""
    lower = text.lower()
    if lower.startswith("["):  # elapsed: whole hours, minutes or seconds since day 0
        unit = {"h": 3600, "m": 60, "s": 1}[lower[1]]
        return str(total // unit).rjust(len(lower) - 2, "0")
    if lower in ("am/pm", "a/p") or text == "上午/下午":
        after_noon = moment.hour >= 12
        if text == "上午/下午":
            return CHINESE.am_pm[after_noon]
        if lower == "a/p":
            return (text[2] if after_noon else text[0])
        return words.am_pm[after_noon]
    letter, count = lower[0], len(lower)
    if lower.startswith("minute"):
        return _numeral(moment.minute, count - 6 >= 2, numerals)
    if letter == "y":
        if count <= 2:
            return _numeral(moment.year % 100, True, numerals, by_digit=True)
        return _numeral(moment.year, False, numerals, by_digit=True)
    if letter == "e":
        return _numeral(moment.year, False, numerals, by_digit=True)
    if letter == "m":
        if count >= 4:
            return words.months[moment.month - 1] if count == 4 else \
                words.months[moment.month - 1][0]
        if count == 3:
            return words.months_short[moment.month - 1]
        return _numeral(moment.month, count == 2, numerals)
    if letter == "d":
        if count >= 4:
            return words.days[moment.weekday()]
        if count == 3:
            return words.days_short[moment.weekday()]
        return _numeral(moment.day, count == 2, numerals)
    if letter == "a":
        day = _ZH_DAYS[moment.weekday()]
        return f"星期{day}" if count >= 4 else day
    if letter == "h":
        hour = (moment.hour % 12 or 12) if twelve else moment.hour
        return _numeral(hour, count >= 2, numerals)
    if letter == "s":
        return _numeral(moment.second, count >= 2, numerals)
    return text  # another calendar's field (`g`, `b1`): written as it stands


def _numeral(number: int, two_digits: bool, numerals: int, *, by_digit: bool = False) -> str:
    """A date field's number: padded to two digits, or in Chinese numerals (a year digit
    by digit, as `二〇二四`; a month or a day as a number, as `十二`)."""
    if numerals in (1, 2):
        if by_digit:
            return "".join(_DIGITS[numerals][int(d)] for d in str(number))
        return chinese_number(number, numerals, short_ten=True)
    text = f"{number:02d}" if two_digits else str(number)
    return _full_width(text) if numerals == 3 else text


# -- Chinese numerals ----------------------------------------------------------------------

_DIGITS = {1: "〇一二三四五六七八九", 2: "零壹贰叁肆伍陆柒捌玖"}
_SMALL_UNITS = {1: ("", "十", "百", "千"), 2: ("", "拾", "佰", "仟")}
_LARGE_UNITS = ("", "万", "亿", "万亿")


def chinese_number(number: int, style: int, *, short_ten: bool = False) -> str:
    """NUMBER (≥ 0) in Chinese numerals, as `[DBNum1]` (一百二十三) or `[DBNum2]` (壹佰贰拾叁)
    write it: by groups of four digits under 万 and 亿, one zero for each run of zeros
    between digits. SHORT_TEN: 10–19 without their leading one (十二, 拾贰), as a month or
    a day is written. `[DBNum3]` gives full-width digits."""
    if style == 3:
        return _full_width(str(number))
    digits, small = _DIGITS.get(style, _DIGITS[1]), _SMALL_UNITS.get(style, _SMALL_UNITS[1])
    zero = "〇" if style == 1 else "零"
    number_given = number
    if number == 0:
        return zero
    groups = []
    while number:
        number, group = divmod(number, 10000)
        groups.append(group)
    out, pending_zero = "", False
    for index in range(len(groups) - 1, -1, -1):
        group = groups[index]
        if group == 0:
            pending_zero = bool(out)
            continue
        text = _group(group, digits, small, zero)
        if out and (pending_zero or group < 1000):
            out += zero
        out += text + _LARGE_UNITS[index % 4 if index < 4 else 3]
        pending_zero = False
    if short_ten and 10 <= number_given < 20:
        out = out[1:]
    return out


def _group(group: int, digits: str, small: tuple[str, ...], zero: str) -> str:
    """One group of four digits (1–9999) with its units, a zero for each run of zeros
    inside."""
    text, zeros = "", False
    for place in range(3, -1, -1):
        digit = group // 10 ** place % 10
        if digit == 0:
            zeros = bool(text)
            continue
        if zeros:
            text += zero
            zeros = False
        text += digits[digit] + small[place]
    return text


def _full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "0" <= c <= "9" else c for c in text)


# -- the text of a value -------------------------------------------------------------------

Value = float | int | bool | datetime | date | time | timedelta


def serial(value: Value) -> float:
    """A cell's value as the number a spreadsheet keeps: a date or time as days since
    1899-12-30 and the fraction of a day."""
    if isinstance(value, datetime):
        delta = value.replace(tzinfo=None) - EPOCH
        return delta.days + delta.seconds / SECONDS_A_DAY + delta.microseconds / 8.64e10
    if isinstance(value, date):
        return float((value - EPOCH.date()).days)
    if isinstance(value, time):
        seconds = value.hour * 3600 + value.minute * 60 + value.second
        return (seconds + value.microsecond / 1e6) / SECONDS_A_DAY
    if isinstance(value, timedelta):
        return value.total_seconds() / SECONDS_A_DAY
    return float(value)


def render(value: Value, code: str = "General", *, date1904: bool = False) -> str:
    """VALUE as a cell formatted CODE shows it (see the module's docstring for what is
    read of CODE); DATE1904 for a workbook that counts its dates from 1904. Never raises:
    a format it cannot read shows the number as General does."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    number = serial(value)
    if not math.isfinite(number):
        return general(number)
    try:
        chosen = _chosen(sections(code or "General"), number)
    except (ValueError, IndexError, ArithmeticError):
        return general(number)
    if chosen is None:
        return "#" * 4  # Excel's ####: no section of the format shows this number
    section, minus = chosen
    try:
        shown, nonzero = _shown(section, number, date1904)
    except (ValueError, IndexError, ArithmeticError, OverflowError):
        return general(number)
    if minus and nonzero:
        return _MINUS.get(section.numerals, "-") + shown
    return shown


# The minus sign of Chinese numerals, as LibreOffice writes it.
_MINUS = {1: "－", 2: "负", 3: "－"}


def _shown(section: Section, number: float, date1904: bool) -> tuple[str, bool]:
    """NUMBER by SECTION (its magnitude, where the section takes the sign elsewhere), and
    whether what shows is other than zero: -0.001 by `0` shows 0, not -0."""
    kind = section.shows
    if kind == "date":
        return _date(section, number, date1904), False
    if kind == "number":
        return _number(section, number)
    if kind == "general":
        text = general(abs(number))
        shown = "".join(text if token_kind == GENERAL else _literals([(token_kind, token)])
                        for token_kind, token in section.tokens)
        return shown, text != "0"
    return _literals(section.tokens), False
