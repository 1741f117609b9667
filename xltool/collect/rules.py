"""The checks a return must pass, driven by its form profile.

Each rule is a small function over one project's returned form that yields
findings with a stable code; `check_return` runs them all and never stops at
the first (a department gets every problem in one round trip).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal

from xltool.collect.returns import (
    ReadReturn,
    ReturnedIndicator,
    ReturnedProject,
    normalised,
    parsed_value,
)
from xltool.findings import Finding, Severity
from xltool.money import TOLERANCE, cost_in_wan
from xltool.profile import FormProfile
from xltool.text import normalise_text
from xltool.values import is_label_placeholder

COST_TOLERANCE = TOLERANCE
ANY_DIGIT = re.compile(r"[0-9０-９]")


@dataclass(frozen=True)
class Sorted:
    """One project's indicators sorted once for every rule: placeholders, and the real
    ones (neither a placeholder nor marked not applicable); and the department whose
    return it is, that every finding carries."""

    project: ReturnedProject
    placeholders: tuple[ReturnedIndicator, ...]
    real: tuple[ReturnedIndicator, ...]
    department: str = ""

    @classmethod
    def of(cls, project: ReturnedProject, profile: FormProfile, department: str = "") -> Sorted:
        marker = _marker(profile)
        placeholders, real = [], []
        for i in project.indicators:  # `is_placeholder`, `_not_applicable`: texts folded once
            name = normalised(i.name)
            if not i.value and is_label_placeholder(name):
                placeholders.append(i)
            elif name != marker and normalised(i.value) != marker:
                real.append(i)
        return cls(project, tuple(placeholders), tuple(real), department)


Rule = Callable[[Sorted, FormProfile], Iterable[Finding]]


def _finding(code: str, severity: Severity, form: Sorted, cell: str, value: str,
             message: str, fix: str) -> Finding:
    project = form.project
    return Finding(code=code, severity=severity, department=form.department,
                   project=project.code, sheet=project.sheet, cell=cell, value=value[:200],
                   message=message, fix=fix)


def _error(code: str, form: Sorted, cell: str, value: str, message: str, fix: str) -> Finding:
    return _finding(code, Severity.ERROR, form, cell, value, message, fix)


def _marker(profile: FormProfile) -> str:
    return profile.weights.not_applicable if profile.weights else "本指标不适用"


def _not_applicable(indicator: ReturnedIndicator, profile: FormProfile) -> bool:
    return _marker(profile) in (indicator.clean_name, indicator.clean_value)


def is_placeholder(indicator: ReturnedIndicator) -> bool:
    return not indicator.value and is_label_placeholder(indicator.clean_name)


def _target_text(indicator: ReturnedIndicator, profile: FormProfile) -> tuple[str, str]:
    """The target and its cell: the value column, or the indicator text where there is none."""
    if profile.value_field:
        return indicator.value, indicator.value_cell
    return indicator.name, indicator.name_cell


# -- the rules -----------------------------------------------------------------------------


def goal_filled(form: Sorted, profile: FormProfile) -> Iterator[Finding]:
    project = form.project
    # Blank exactly when `normalise_text` would leave nothing (NFKC turns white space, and
    # nothing else, into white space), without the cost of folding a whole paragraph.
    if not project.goal.strip():
        yield _error("rule.goal_empty", form, project.goal_cell, "",
                     f"“{profile.goal_label}”未填写", f"填写本项目的{profile.goal_label}")


def required_categories(form: Sorted, profile: FormProfile) -> Iterator[Finding]:
    project = form.project
    real = {i.category.level2 for i in form.real}
    for category in profile.categories:
        if category.required and category.level2 not in real:
            cell = project.first_cells.get(category.level2, "")
            yield _error("rule.required_empty", form, cell, "",
                         f"必填的“{category.level2}”没有填写指标",
                         f"至少填写一条{category.level2}及其指标值，例如 "
                         f"{'、'.join(category.examples[:2])}")


def names_and_values(form: Sorted, profile: FormProfile) -> Iterator[Finding]:
    if not profile.value_field:
        return
    for i in form.real:
        if i.name and not i.value:
            yield _error("rule.value_missing", form, i.value_cell, i.name,
                         f"“{i.category.level2}”的指标“{i.name[:30]}”没有填写指标值",
                         "在右侧填写指标值，如 ≥95%、100次、明显")
        elif i.value and not i.name:
            yield _error("rule.name_missing", form, i.name_cell, i.value,
                         f"“{i.category.level2}”有指标值“{i.value[:30]}”但没有指标名称",
                         "在左侧填写三级指标名称")


def placeholders(form: Sorted, profile: FormProfile) -> Iterator[Finding]:
    for i in form.placeholders:
        yield _finding("rule.placeholder", Severity.WARNING, form, i.name_cell, i.name,
                       f"“{i.category.level2}”中留有占位文字“{i.name[:30]}”，已忽略",
                       "删除占位文字；不适用的选填指标留空即可")


def quantitative_values(form: Sorted, profile: FormProfile) -> Iterator[Finding]:
    value_field = profile.value_field
    for i in form.real:
        if not i.category.quantitative:
            continue
        text, cell = (i.value, i.value_cell) if value_field else (i.name, i.name_cell)
        if not text:
            continue
        if not ANY_DIGIT.search(text):
            yield _error("rule.not_quantitative", form, cell, text,
                         f"“{i.category.level2}”须为可量化的数值，“{text[:30]}”中没有数字",
                         "写成 比较符号+数字+单位，如 ≥95%、≤20万元、100次")
        elif value_field and not parsed_value(text).numbers:
            yield _finding("rule.value_unparsed", Severity.WARNING, form, cell, text,
                           f"“{text[:30]}”含有多个数值或说明文字，无法自动读出一个目标值",
                           "尽量写成一个目标值，如 ≥3次；说明放在三级指标名称中")


def satisfaction_range(form: Sorted, profile: FormProfile) -> Iterator[Finding]:
    for i in form.real:
        if i.category.role != "satisfaction":
            continue
        text, cell = _target_text(i, profile)
        parsed = parsed_value(text) if profile.value_field else None
        numbers = parsed.numbers if parsed else _percent_numbers(text)
        if any(n < 0 or n > 100 for n in numbers):
            yield _error("rule.satisfaction_range", form, cell, text,
                         f"满意度“{text[:30]}”不在 0–100% 之间",
                         "满意度填写 0–100% 的百分比，如 ≥95%")
        elif parsed and parsed.numbers and parsed.unit != "%":
            yield _finding("rule.satisfaction_unit", Severity.WARNING, form, cell, text,
                           f"满意度“{text[:30]}”没有写成百分比", "写成百分比，如 ≥95%")


def _percent_numbers(text: str) -> tuple[Decimal, ...]:
    folded = normalise_text(text)
    return tuple(Decimal(m) for m in re.findall(r"([0-9]+(?:\.[0-9]+)?)\s*%", folded))


def cost_total(form: Sorted, profile: FormProfile) -> Iterator[Finding]:
    project = form.project
    costs = [i for i in form.real if i.category.role == "cost"]
    amounts: list[Decimal] = []
    for i in costs:
        text, cell = _target_text(i, profile)
        amount, bare = cost_in_wan(text, value_field=bool(profile.value_field),
                                   parse=parsed_value)
        if amount is None:
            continue
        if bare:
            yield _finding("rule.cost_no_unit", Severity.WARNING, form, cell, text,
                           f"成本“{text[:30]}”没有写单位，已按万元计算", "金额后写明单位，如 2万元")
        amounts.append(amount)
    if not amounts or project.total is None:
        return
    spent, total = sum(amounts, Decimal(0)), project.total
    cell = costs[0].value_cell or costs[0].name_cell
    if spent > total + COST_TOLERANCE:
        yield _error("rule.cost_exceeds_total", form, cell, f"{spent:f}",
                     f"成本指标合计 {spent:f} 万元，超过年度资金总额 {total:f} 万元",
                     "核对各项成本的金额和单位（万元），合计不应超过年度资金总额")
    elif spent < total - COST_TOLERANCE:
        yield _finding("rule.cost_below_total", Severity.WARNING, form, cell, f"{spent:f}",
                       f"成本指标合计 {spent:f} 万元，少于年度资金总额 {total:f} 万元",
                       "核对是否漏填成本项目")


def weights(form: Sorted, profile: FormProfile) -> Iterator[Finding]:
    if profile.weights is None:
        return
    label, total, span = profile.weights.label, profile.weights.total, profile.weights.range_text
    found: list[Decimal] = []
    placeholders = {id(i) for i in form.placeholders}
    for i in form.project.indicators:
        if id(i) in placeholders:
            continue
        weight = i.weight
        if i.weight_text and weight is None:
            yield _error("rule.bad_weight", form, i.weight_cell, i.weight_text,
                         f"{label}“{i.weight_text}”不是数字", f"{label}填写 {span} 之间的数字")
        elif weight is not None and not 0 <= weight <= total:
            yield _error("rule.bad_weight", form, i.weight_cell, i.weight_text,
                         f"{label} {weight} 不在 {span} 之间", f"{label}填写 {span} 之间的数字")
        elif weight is None and i.name and not _not_applicable(i, profile):
            yield _error("rule.weight_missing", form, i.weight_cell, i.name,
                         f"指标“{i.name[:30]}”没有填写{label}", f"填写{label}（{span}）")
        if weight is not None:
            found.append(weight)
    if found and sum(found, Decimal(0)) != total:
        yield _error("rule.weights_sum", form, "", f"{sum(found, Decimal(0)):f}",
                     f"{label}合计为 {sum(found, Decimal(0)):f}，应为 {total}",
                     f"调整各项{label}，使合计等于 {total}")


RULES: tuple[Rule, ...] = (goal_filled, required_categories, names_and_values, placeholders,
                           quantitative_values, satisfaction_range, cost_total, weights)


def check_return(read: ReadReturn) -> list[Finding]:
    """Every rule over every project; findings carry the department of the template."""
    department, profile = read.template.department_code, read.profile
    findings: list[Finding] = []
    for project in read.projects:
        form = Sorted.of(project, profile, department)
        for rule in RULES:
            findings += rule(form, profile)
    return findings
