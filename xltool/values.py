"""Target values (指标值): keep what was written, derive only what the text supports.

Every value is read into one of five kinds, tried in this order:

``empty``
    Blank text (``None`` counts as blank).
``placeholder``
    An unfilled row label (``指标1：`` / ``指标1:``) or a not-applicable marker
    (``本指标不适用``, ``不适用``, ``无``, ``/``, ``-`` …). It is not a value, so nothing
    is derived; :attr:`TargetValue.is_placeholder` says so.
``quantitative``
    The *whole* text matches the grammar below: ``comparator``, ``numbers``,
    ``unit`` and ``approximate`` are filled in.
``qualitative``
    A ``str`` with letters, no digit and no spelled-out quantity: ``明显``,
    ``有所提升``, ``全年实施``, ``维稳`` …; ``qualitative`` is True.
``unreadable``
    Anything else: composite clauses (``6期，每期500本``, ``每年2-3次，每次24块``,
    ``制作宣传展板≥3 个，印制宣传折页≥10000 份``, ``8个页面+100多栏目``), dates and
    deadlines (``2022年年底前…``), spelled-out quantities (``一次``,
    ``每年一次，每次3天``, ``百分之百``), words after a percentage (``100%完成``), and
    non-``str`` inputs that do not render as a plain number (``1e+16``, ``nan``,
    ``True``). Only the text is kept: no number, comparator or unit, and
    ``qualitative`` is False. Refusing is better than guessing a number.

Grammar, matched against an internal copy that is NFKC-folded (``９５％`` → ``95%``,
``＜`` → ``<``), has ``≧ ≦ >= <= ⩾ ⩽`` folded to ``≥ ≤`` (NFKC leaves those alone),
invisible characters (``xltool.visible.is_invisible``: zero-width spaces, fillers, …)
turned into spaces, runs of white space collapsed and a trailing ``;`` ``,`` ``。`` ``、``
dropped. A single space may stand between any two parts, never inside a number::

    value   = [prefix] [约 | 大约] figure [suffix] [左右]      (suffix and 左右 in either order)
    figure  = pair | number [sep number] [余 | 多] [unit]
    pair    = number [余 | 多] unit1 "/" number [余 | 多] unit2   -> unit "unit1/unit2"
    number  = ["-"] (d{1,3} ("," ddd)+ | d+) ["." d+]
    sep     = - ~ 〜 – — 至 到                                  (a range: two numbers)
    prefix  = ≥ 大于等于 不低于 不少于 不小于 至少 达到 …  |  ≤ 小于等于 不超过 不高于 …
            | > 大于 超过 高于 多于  |  < 小于 低于 少于  |  = 等于
    suffix  = 以上 (≥) | 以内 之内 以下 内 (≤)
    unit    = at most 8 characters: letters, CJK, ``% ‰ ° ·`` and one "/" for a
              rate (``次/月``); ``%`` and ``‰`` stand alone; no connective or
              time-point words (的 前 后 底 和 以 不 每 …) so a clause is never a unit.

A prefix and a suffix comparator may both appear only when they agree (``≥95%以上``).
``余`` / ``多`` / ``约`` / ``左右`` set ``approximate`` and never a comparator. In a
pair, ``approximate`` is True if either figure carries ``余``/``多`` (``10次/40余人``).

Decisions worth knowing:

* Numbers are ``Decimal`` exactly as written, scale included: ``2.000000`` gives
  ``Decimal("2.000000")``. Decimal compares numerically (``== Decimal(2)``, equal
  hashes), so callers compare amounts with ``==``/``<``; call ``.normalize()`` for a
  canonical form. Thousands separators are dropped (``10,000`` → ``10000``).
* Every number comes from ASCII digits of the folded text (``①`` folds to ``1``).
  Chinese numerals are never converted; a value that spells its quantity out is
  unreadable, not qualitative.
* The unit is reported in its folded form: ``㎡`` reads ``m2``, ``℃`` reads ``°C``.
* A rate ``1次/月`` has one number and unit ``次/月``; ``313批/374人次`` has two
  numbers and unit ``批/人次``; a range ``2-3次`` has two numbers and unit ``次``.
* Money with no unit is left alone: :meth:`TargetValue.money_in_wan` returns None
  for a bare number; what a bare number in a cost row means is the caller's call.
* Parsing is linear in the input: the grammar only runs on texts of at most 80
  folded characters (a real value is a few), so a longer text with digits is
  unreadable; the scans that classify long texts are single-pass regexes.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal

from xltool.visible import spaced

__all__ = ["COMPARATORS", "TargetValue", "parse_value"]

COMPARATORS: tuple[str, ...] = ("≥", "≤", "=", ">", "<")

# A quantitative value is a few characters; anything longer is prose and skipping
# the grammar for it keeps the parser linear on pathological input.
_MAX_GRAMMAR_LENGTH = 80
_MAX_UNIT_LENGTH = 8

# NFKC keeps these distinct from ≥/≤, but they mean the same on these forms.
_SYMBOL_FOLDS: tuple[tuple[str, str], ...] = (
    (">=", "≥"),
    ("<=", "≤"),
    ("≧", "≥"),
    ("≦", "≤"),
    ("⩾", "≥"),
    ("⩽", "≤"),
    ("−", "-"),  # U+2212 MINUS SIGN survives NFKC
)

# Longest first so that 大于等于 wins over 大于.
_PREFIXES: tuple[tuple[str, str], ...] = tuple(
    sorted(
        (
            ("大于或等于", "≥"),
            ("大于等于", "≥"),
            ("不低于", "≥"),
            ("不少于", "≥"),
            ("不小于", "≥"),
            ("至少", "≥"),
            ("最少", "≥"),
            ("达到", "≥"),
            ("达", "≥"),
            ("≥", "≥"),
            ("小于或等于", "≤"),
            ("小于等于", "≤"),
            ("不超过", "≤"),
            ("不高于", "≤"),
            ("不大于", "≤"),
            ("不多于", "≤"),
            ("最多", "≤"),
            ("≤", "≤"),
            ("大于", ">"),
            ("超过", ">"),
            ("高于", ">"),
            ("多于", ">"),
            (">", ">"),
            ("小于", "<"),
            ("低于", "<"),
            ("少于", "<"),
            ("<", "<"),
            ("等于", "="),
            ("=", "="),
        ),
        key=lambda pair: -len(pair[0]),
    )
)

_SUFFIXES: tuple[tuple[str, str], ...] = (
    ("及以上", "≥"),
    ("或以上", "≥"),
    ("以上", "≥"),
    ("及以下", "≤"),
    ("或以下", "≤"),
    ("以下", "≤"),
    ("以内", "≤"),
    ("之内", "≤"),
    ("内", "≤"),
)

_ABOUT_PREFIXES = ("大约", "约")
_ABOUT_SUFFIX = "左右"
_TRAILING_PUNCTUATION = ";,。、"

_NUM = r"-?(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?"
# Single or range; the unit may hold a letter-attached 2/3 (m2, m3 after NFKC of ㎡ ㎥).
_FIGURE = re.compile(
    rf"(?P<a>{_NUM})(?: ?(?P<sep>[-~〜–—至到]) ?(?P<b>{_NUM}))? ?(?P<about>[余多])?"
    r"(?P<unit>(?:[^0-9]|(?<=[A-Za-z])[23](?![0-9]))*)"
)
_PAIR = re.compile(
    rf"(?P<a>{_NUM}) ?(?P<ax>[余多])?(?P<u1>[^0-9/]+)/ ?"
    rf"(?P<b>{_NUM}) ?(?P<bx>[余多])?(?P<u2>[^0-9/]+)"
)
_UNIT_WORD = re.compile(r"(?:[\u3400-\u4dbf\u4e00-\u9fff%‰°·]|[A-Za-z]+[23]?)+")
# Connectives, time points and comparator/approximation characters: a "unit" holding
# one of these is the tail of a clause (年底前, 的项目, 每期), not a unit.
_UNIT_DENY = re.compile(
    "[的前后底初末和及与并且或在为是将已未不被对从每以至超达于约余多内之最等左右]"
)
_MAGNITUDES = "万千百亿"

_PLACEHOLDER = re.compile(r"指标 ?[0-9一二三四五六七八九十]+ ?:?")
_NOT_APPLICABLE = frozenset(
    {
        "无",
        "暂无",
        "不适用",
        "本指标不适用",
        "该指标不适用",
        "此指标不适用",
        "不涉及",
        "n/a",
        "na",
        "/",
        "-",
        "--",
        "—",
        "——",
    }
)

_SPACE_RUN = re.compile(r"\s+")
_LETTER = re.compile(r"[^\W\d_]")
_ANY_DIGIT = re.compile(r"\d")
_NUMERALS = "零〇一二两三四五六七八九十百千万亿半壹贰叁肆伍陆柒捌玖拾佰仟"
_MEASURES = (
    "次个件期批人户家所条篇套台辆份本册块张场项名位"
    "元天日周月年季座处间倍吨亩米页轮节类种部支组班队栋"
    "十百千万亿"
)
# A numeral followed by a measure word spells out a quantity (一次, 三天, 百分之九十);
# 进一步 / 统一 / 一致 do not match because 步/致 are not measure words here.
_SPELLED_QUANTITY = re.compile(
    rf"[{_NUMERALS}](?:小时|分钟|学时|课时|公里|平方|公顷|公斤|[{_MEASURES}])|[百千]分之|百分百"
)


@dataclass(frozen=True, slots=True)
class TargetValue:
    """One target value: the text as written plus what could be read from it."""

    text: str
    comparator: str | None = None
    numbers: tuple[Decimal, ...] = ()
    unit: str | None = None
    approximate: bool = False
    qualitative: bool = False

    @property
    def is_empty(self) -> bool:
        return not _fold(self.text)

    @property
    def is_quantitative(self) -> bool:
        return bool(self.numbers)

    @property
    def is_placeholder(self) -> bool:
        """An unfilled `指标N：` label or a not-applicable marker: no target at all."""
        return _is_placeholder(_fold(self.text))

    @property
    def number(self) -> Decimal | None:
        return self.numbers[0] if self.numbers else None

    def money_in_wan(self) -> Decimal | None:
        """The single money figure in 万元; None when the value is not one sum of money."""
        if len(self.numbers) != 1:
            return None
        if self.unit in ("万元", "万"):
            return self.numbers[0]
        if self.unit == "元":
            return _shift_point(self.numbers[0], -4)
        return None


def parse_value(text: object) -> TargetValue:
    """Read a 指标值 cell; never raises, never invents a number (see module docstring)."""
    raw = _as_text(text)
    folded = _fold(raw)
    if not folded or _is_placeholder(folded):
        return TargetValue(raw)
    if len(folded) <= _MAX_GRAMMAR_LENGTH:
        reading = _read_quantity(folded.rstrip(_TRAILING_PUNCTUATION).rstrip())
        if reading is not None:
            comparator, numbers, unit, approximate = reading
            return TargetValue(raw, comparator, numbers, unit, approximate)
    # Only typed text can be descriptive; a number cell that rendered oddly is not.
    return TargetValue(raw, qualitative=isinstance(text, str) and _is_qualitative(folded))


_Reading = tuple[str | None, tuple[Decimal, ...], str | None, bool]


def _as_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return str.__str__(value)  # a plain str even for subclasses
    try:
        return str(value)
    except Exception:  # a broken __str__ must not break a whole import
        return object.__repr__(value)


def _fold(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text)
    for old, new in _SYMBOL_FOLDS:
        folded = folded.replace(old, new)
    # Invisible characters become spaces, not nothing, so `1\u200b2` cannot turn into 12.
    folded = spaced(folded)
    return _SPACE_RUN.sub(" ", folded).strip()


def is_label_placeholder(text: str) -> bool:
    """An unfilled `指标1：` / `指标一：` label of a form: the one definition collect, its rules
    and the disclosure share."""
    folded = _fold(text)
    return len(folded) <= _MAX_GRAMMAR_LENGTH and _PLACEHOLDER.fullmatch(folded) is not None


def _is_placeholder(folded: str) -> bool:
    if len(folded) > _MAX_GRAMMAR_LENGTH:
        return False
    if _PLACEHOLDER.fullmatch(folded):
        return True
    return folded.replace(" ", "").casefold() in _NOT_APPLICABLE


def _is_qualitative(folded: str) -> bool:
    return (
        _LETTER.search(folded) is not None
        and _ANY_DIGIT.search(folded) is None
        and _SPELLED_QUANTITY.search(folded) is None
    )


def _read_quantity(folded: str) -> _Reading | None:
    affixes = _strip_affixes(folded)
    if affixes is None:
        return None
    comparator, about, core = affixes
    figure = _read_pair(core) or _read_figure(core)
    if figure is None:
        return None
    numbers, unit, figure_about = figure
    return comparator, numbers, unit, about or figure_about


def _strip_affixes(folded: str) -> tuple[str | None, bool, str] | None:
    """Peel comparator and approximation words off both ends; None if they conflict."""
    prefix, core = _take_prefix(folded)
    about = False
    for word in _ABOUT_PREFIXES:
        if core.startswith(word):
            about, core = True, core[len(word) :].lstrip()
            break
    suffix, core = _take_suffix(core)
    if core.endswith(_ABOUT_SUFFIX):
        about, core = True, core[: -len(_ABOUT_SUFFIX)].rstrip()
        if suffix is None:
            suffix, core = _take_suffix(core)
    if prefix is not None and suffix is not None and prefix != suffix:
        return None
    return prefix or suffix, about, core


def _take_prefix(text: str) -> tuple[str | None, str]:
    for word, symbol in _PREFIXES:
        if text.startswith(word):
            return symbol, text[len(word) :].lstrip()
    return None, text


def _take_suffix(text: str) -> tuple[str | None, str]:
    for word, symbol in _SUFFIXES:
        if text.endswith(word):
            return symbol, text[: -len(word)].rstrip()
    return None, text


def _read_pair(core: str) -> tuple[tuple[Decimal, ...], str, bool] | None:
    match = _PAIR.fullmatch(core)
    if match is None:
        return None
    first, second = match["u1"].replace(" ", ""), match["u2"].replace(" ", "")
    unit = f"{first}/{second}"
    if not (_is_unit_word(first) and _is_unit_word(second) and len(unit) <= _MAX_UNIT_LENGTH):
        return None
    numbers = (_decimal(match["a"]), _decimal(match["b"]))
    return numbers, unit, bool(match["ax"] or match["bx"])


def _read_figure(core: str) -> tuple[tuple[Decimal, ...], str | None, bool] | None:
    match = _FIGURE.fullmatch(core)
    if match is None:
        return None
    about = match["about"] is not None
    unit = match["unit"].replace(" ", "")
    # 10万余元 / 1万多: the approximation sits between magnitude and currency.
    if len(unit) >= 2 and unit[0] in _MAGNITUDES and unit[1] in "余多":
        about, unit = True, unit[0] + unit[2:]
    if unit and not _is_unit(unit):
        return None
    numbers: tuple[Decimal, ...] = (_decimal(match["a"]),)
    if match["b"] is not None:
        numbers += (_decimal(match["b"]),)
    return numbers, unit or None, about


def _is_unit(unit: str) -> bool:
    if len(unit) > _MAX_UNIT_LENGTH:
        return False
    sides = unit.split("/")
    return len(sides) <= 2 and all(_is_unit_word(side) for side in sides)


def _is_unit_word(word: str) -> bool:
    if not word or len(word) > _MAX_UNIT_LENGTH or _UNIT_DENY.search(word):
        return False
    # `100%完成` says something beyond a percentage: leave it unread.
    if ("%" in word or "‰" in word) and word not in ("%", "‰"):
        return False
    return _UNIT_WORD.fullmatch(word) is not None


def _shift_point(number: Decimal, places: int) -> Decimal:
    # Exact for any length, where division or scaleb would round to the context precision.
    sign, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int)  # parsed numbers are always finite
    return Decimal((sign, digits, exponent + places))


def _decimal(digits: str) -> Decimal:
    return Decimal(digits.replace(",", ""))
