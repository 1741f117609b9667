"""The office's review criteria (审核口径): a rules file that tunes the checks of a return.

The profiles ship the form and its rules; an office that reviews by other criteria —
satisfaction at least 85 %, three 三级 indicators per project, a finding it accepts as a
warning this year — says so in a rules file (`collect --rules RULES.toml`, or `xltool.toml`
beside the store), never by editing a profile. Without one the checks are exactly the
shipped ones (`DEFAULT_RULES`).

The file has two kinds of table, each holding the same settings::

    [all]                          # every profile
    satisfaction_floor = "≥85%"
    [all.severity]
    "review.input_as_output" = "warning"

    [profile."ningxia-2021"]       # one profile: its settings win over [all]'s
    min_indicators = 3
    [profile."ningxia-2021".severity]
    "rule.not_quantitative" = "off"

Loading is strict, as for profiles: an unknown table, key, code, profile or category is an
error naming the file and the key, and so is a value of the wrong type. What each setting
changes is in the README ("The office's review criteria").

A severity changes a finding's effect, never whether a finding that is on is reported: an
error set to `warning` is still told (with a note that the office accepts it), and the
return is accepted; `off` is the one way not to check a rule at all.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from xltool.codes import OFF_BY_DEFAULT, PROBLEMS
from xltool.errors import XltoolError
from xltool.findings import Finding, Severity
from xltool.profile import Category, available_profiles, load_profile
from xltool.values import parse_value

RULES_FILE_NAME = "xltool.toml"
"""The rules file collect reads by default: beside the store, when there is one."""

SEVERITIES = ("error", "warning", "off")
_SWITCHABLE_PREFIXES = ("rule.", "review.")
_DOWNGRADED_NOTE = "（本局审核口径：此项按提醒处理，不影响接收）"
_UPGRADED_NOTE = "（本局审核口径：此项按错误处理，须修改后重新报送）"


class OfficeRulesError(XltoolError):
    """A rules file that cannot be used as written: the file, the key and what is wrong."""

    def __init__(self, path: Path | str, key: str, problem: str) -> None:
        self.path, self.key, self.problem = Path(path), key, problem
        super().__init__(f"{self.path.name}：{key}：{problem}")


@dataclass(frozen=True)
class Criteria:
    """The settings in force for one profile: the shipped rules, as the office tuned them.

    SEVERITY holds only what differs from the catalogue: a code's severity, or None (off)."""

    severity: Mapping[str, Severity | None] = field(default_factory=dict)
    quantitative: frozenset[str] | None = None
    """The 二级 categories whose values must hold a number; None: the profile's own."""
    min_indicators: int = 0
    min_per_category: int = 1
    satisfaction_floor: Decimal | None = None

    def is_on(self, code: str) -> bool:
        return code not in self.severity or self.severity[code] is not None

    def is_quantitative(self, category: Category) -> bool:
        if self.quantitative is None:
            return category.quantitative
        return category.level2 in self.quantitative

    def effect(self, findings: Iterable[Finding]) -> list[Finding]:
        """FINDINGS with the office's severities: a finding switched off left out, one of
        another severity told so in its fix (a clerk sees why it does not count, or does)."""
        return [_with_severity(f, self.severity[f.code]) if f.code in self.severity else f
                for f in findings if self.is_on(f.code)]


def _with_severity(finding: Finding, severity: Severity | None) -> Finding:
    assert severity is not None  # switched-off findings are left out before
    if severity is finding.severity:
        return finding
    note = _DOWNGRADED_NOTE if severity is Severity.WARNING else _UPGRADED_NOTE
    return replace(finding, severity=severity, fix=finding.fix + note)


DEFAULT_CRITERIA = Criteria(severity=dict.fromkeys(OFF_BY_DEFAULT))


@dataclass(frozen=True)
class OfficeRules:
    """A rules file as read: its text and digest (recorded in the store with each collect),
    the settings for every profile, and those of each profile named."""

    source: str = ""
    text: str = ""
    every: Mapping[str, Any] = field(default_factory=dict)
    profiles: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @property
    def digest(self) -> str | None:
        """The rules' identity in the store; None for the defaults (no file)."""
        if not self.source:
            return None
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    def criteria(self, profile: str) -> Criteria:
        """The settings in force for PROFILE: the defaults, then [all], then its own table."""
        settings = {**self.every, **self.profiles.get(profile, {})}
        severity: dict[str, Severity | None] = dict.fromkeys(OFF_BY_DEFAULT)
        for table in (self.every, self.profiles.get(profile, {})):
            severity.update(_severities(table.get("severity", {})))
        catalogue = {code: s for code, s in severity.items()
                     if s is None or s is not PROBLEMS[code].severity}
        return Criteria(
            severity=catalogue,
            quantitative=frozenset(settings["quantitative"]) if "quantitative" in settings
            else None,
            min_indicators=settings.get("min_indicators", 0),
            min_per_category=settings.get("min_per_category", 1),
            satisfaction_floor=_floor(settings.get("satisfaction_floor")))


DEFAULT_RULES = OfficeRules()


def _severities(table: Mapping[str, str]) -> dict[str, Severity | None]:
    return {code: None if word == "off" else Severity(word) for code, word in table.items()}


def _floor(value: str | int | float | None) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, str):
        return parse_value(value).numbers[0]
    return Decimal(str(value))


# -- finding the rules file ----------------------------------------------------------------


def rules_in_force(store: Path | str, given: Path | str | None = None) -> OfficeRules:
    """The rules a collect into STORE runs under: GIVEN, or `xltool.toml` beside the store
    when there is one, or the defaults."""
    if given is not None:
        return load_rules(given)
    beside = Path(store).parent / RULES_FILE_NAME
    return load_rules(beside) if beside.is_file() else DEFAULT_RULES


def load_rules(path: Path | str) -> OfficeRules:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise OfficeRulesError(path, "文件", f"无法读取（{error}）") from error
    return rules_from_text(text, path=path)


def rules_from_text(text: str, *, path: Path) -> OfficeRules:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise OfficeRulesError(path, "文件", f"不是有效的 TOML（{error}）") from error
    unknown = set(data) - {"all", "profile"}
    if unknown:
        raise OfficeRulesError(path, sorted(unknown)[0],
                               "未知的设置（顶层只能有 [all] 和 [profile.\"表式名\"]）")
    every = _settings(path, _table(path, data, "all"), "all", _all_categories())
    profiles = {name: _settings(path, table, f'profile."{name}"', _categories_of(path, name))
                for name, table in _table(path, data, "profile").items()}
    return OfficeRules(source=str(path), text=text, every=every, profiles=profiles)


def _table(path: Path, data: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise OfficeRulesError(path, key, "应为一个表（[...]）")
    return value


# -- one table of settings, checked key by key ---------------------------------------------


def _settings(path: Path, table: Any, where: str, categories: frozenset[str]) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise OfficeRulesError(path, where, "应为一个表（[...]）")
    for key, value in table.items():
        if key not in _SETTINGS:
            raise OfficeRulesError(path, f"{where}.{key}",
                                   f"未知的设置（可用：{'、'.join(_SETTINGS)}）")
        _SETTINGS[key](path, f"{where}.{key}", value, categories)
    return dict(table)


Check = Callable[[Path, str, Any, frozenset[str]], None]


def _severity_table(path: Path, key: str, value: Any, _categories: frozenset[str]) -> None:
    if not isinstance(value, dict):
        raise OfficeRulesError(path, key,
                               "应为一个表：问题代码 = \"error\"、\"warning\" 或 \"off\"")
    for code, word in value.items():
        if code not in PROBLEMS:
            raise OfficeRulesError(path, f"{key}.{code}", "没有这个问题代码（见 README 的代码表）")
        if not code.startswith(_SWITCHABLE_PREFIXES):
            raise OfficeRulesError(path, f"{key}.{code}",
                                   "只有 rule.* 和 review.* 的审核规则可以调整；文件和表格"
                                   "结构的问题说明无法按模板读取，不能调整")
        if word not in SEVERITIES:
            raise OfficeRulesError(path, f"{key}.{code}", "应为 \"error\"、\"warning\" 或 \"off\"")


def _category_list(path: Path, key: str, value: Any, categories: frozenset[str]) -> None:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise OfficeRulesError(path, key, "应为二级指标名称的列表，如 [\"数量指标\", \"成本指标\"]")
    unknown = [v for v in value if v not in categories]
    if unknown:
        raise OfficeRulesError(path, key, f"表式中没有二级指标“{unknown[0]}”")


def _count(least: int) -> Check:
    def check(path: Path, key: str, value: Any, _categories: frozenset[str]) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise OfficeRulesError(path, key, f"应为不小于 {least} 的整数")
    return check


def _satisfaction_floor(path: Path, key: str, value: Any, _categories: frozenset[str]) -> None:
    if isinstance(value, str):
        parsed = parse_value(value)
        fits = (len(parsed.numbers) == 1 and parsed.comparator in (None, "≥")
                and parsed.unit in (None, "%"))
        number = parsed.numbers[0] if fits else None
    elif isinstance(value, int | float) and not isinstance(value, bool):
        number = Decimal(str(value))
    else:
        number = None
    if number is None or not number.is_finite() or not 0 <= number <= 100:
        raise OfficeRulesError(path, key, "应为 0–100 的百分比，如 \"≥85%\" 或 85")
    if 0 < number < 1:  # a share written as a fraction: 0.85 would be a floor of 0.85 %
        meant = f"{(number * 100).normalize():f}"
        raise OfficeRulesError(path, key, f"{number} 会被当作 {number}%；满意度不低于 {meant}% "
                                          f"请写 {meant} 或 \"≥{meant}%\"")


def _calculation_method(path: Path, key: str, value: Any, _categories: frozenset[str]) -> None:
    if not isinstance(value, bool):
        raise OfficeRulesError(path, key, "应为 true 或 false")
    if value:  # no shipped form has the column: a rule that cannot be checked is refused
        raise OfficeRulesError(path, key, "现有表式都没有“计算方法”列，无法检查；请设为 false")


_SETTINGS: dict[str, Check] = {
    "severity": _severity_table,
    "quantitative": _category_list,
    "min_indicators": _count(0),
    "min_per_category": _count(1),
    "satisfaction_floor": _satisfaction_floor,
    "calculation_method": _calculation_method,
}


def _categories_of(path: Path, profile: str) -> frozenset[str]:
    if profile not in available_profiles():
        raise OfficeRulesError(path, f'profile."{profile}"',
                               f"没有这个表式（可用：{'、'.join(available_profiles())}）")
    return frozenset(c.level2 for c in load_profile(profile).categories)


def _all_categories() -> frozenset[str]:
    return frozenset().union(*(_categories_of(Path(), name) for name in available_profiles()))


# -- the rules in force, shown -------------------------------------------------------------


def described(rules: OfficeRules) -> dict[str, Any]:
    """The rules in force, for people and scripts: where they were read from (nothing: the
    defaults), their digest, and per shipped profile what each setting is (severities: the
    practice's rules, on or off, and every code the office changed)."""
    return {"source": rules.source, "digest": rules.digest,
            "profiles": {name: _described(rules.criteria(name), name)
                         for name in available_profiles()}}


def _described(criteria: Criteria, profile: str) -> dict[str, Any]:
    categories = load_profile(profile).categories
    floor = criteria.satisfaction_floor
    return {
        "quantitative": [c.level2 for c in categories if criteria.is_quantitative(c)],
        "min_indicators": criteria.min_indicators,
        "min_per_category": criteria.min_per_category,
        "satisfaction_floor": None if floor is None else f"{floor.normalize():f}",
        "severity": {code: _severity_word(criteria, code)
                     for code in sorted({*OFF_BY_DEFAULT, *criteria.severity})},
    }


def _severity_word(criteria: Criteria, code: str) -> str:
    """What CODE counts as: its office severity, or the catalogue's, or `off`."""
    severity = criteria.severity.get(code, PROBLEMS[code].severity)
    return "off" if severity is None else severity.value
