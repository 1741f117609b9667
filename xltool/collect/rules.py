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

from xltool.codes import (
    RULE_BAD_WEIGHT,
    RULE_BAD_WEIGHT_RANGE,
    RULE_COST_BELOW_TOTAL,
    RULE_COST_EXCEEDS_TOTAL,
    RULE_COST_NO_UNIT,
    RULE_GOAL_EMPTY,
    RULE_NAME_MISSING,
    RULE_NOT_QUANTITATIVE,
    RULE_PLACEHOLDER,
    RULE_REQUIRED_EMPTY,
    RULE_SATISFACTION_RANGE,
    RULE_SATISFACTION_UNIT,
    RULE_VALUE_MISSING,
    RULE_VALUE_UNPARSED,
    RULE_WEIGHT_MISSING,
    RULE_WEIGHTS_SUM,
    Problem,
)
from xltool.collect.returns import (
    ReadReturn,
    ReturnedIndicator,
    ReturnedProject,
    normalised,
    parsed_value,
)
from xltool.findings import Finding
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


def _finding(problem: Problem, form: Sorted, cell: str, value: str, /,
             **facts: object) -> Finding:
    project = form.project
    return problem.finding(facts, department=form.department, project=project.code,
                           sheet=project.sheet, cell=cell, value=value[:200])


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
        yield _finding(RULE_GOAL_EMPTY, form, project.goal_cell, "", label=profile.goal_label)


def required_categories(form: Sorted, profile: FormProfile) -> Iterator[Finding]:
    project = form.project
    real = {i.category.level2 for i in form.real}
    for category in profile.categories:
        if category.required and category.level2 not in real:
            cell = project.first_cells.get(category.level2, "")
            yield _finding(RULE_REQUIRED_EMPTY, form, cell, "", category=category.level2,
                           examples="、".join(category.examples[:2]))


def names_and_values(form: Sorted, profile: FormProfile) -> Iterator[Finding]:
    if not profile.value_field:
        return
    for i in form.real:
        if i.name and not i.value:
            yield _finding(RULE_VALUE_MISSING, form, i.value_cell, i.name,
                           category=i.category.level2, name=i.name[:30])
        elif i.value and not i.name:
            yield _finding(RULE_NAME_MISSING, form, i.name_cell, i.value,
                           category=i.category.level2, value=i.value[:30])


def placeholders(form: Sorted, profile: FormProfile) -> Iterator[Finding]:
    for i in form.placeholders:
        yield _finding(RULE_PLACEHOLDER, form, i.name_cell, i.name,
                       category=i.category.level2, name=i.name[:30])


def quantitative_values(form: Sorted, profile: FormProfile) -> Iterator[Finding]:
    value_field = profile.value_field
    for i in form.real:
        if not i.category.quantitative:
            continue
        text, cell = (i.value, i.value_cell) if value_field else (i.name, i.name_cell)
        if not text:
            continue
        if not ANY_DIGIT.search(text):
            yield _finding(RULE_NOT_QUANTITATIVE, form, cell, text,
                           category=i.category.level2, text=text[:30])
        elif value_field and not parsed_value(text).numbers:
            yield _finding(RULE_VALUE_UNPARSED, form, cell, text, text=text[:30])


def satisfaction_range(form: Sorted, profile: FormProfile) -> Iterator[Finding]:
    for i in form.real:
        if i.category.role != "satisfaction":
            continue
        text, cell = _target_text(i, profile)
        parsed = parsed_value(text) if profile.value_field else None
        numbers = parsed.numbers if parsed else _percent_numbers(text)
        if any(n < 0 or n > 100 for n in numbers):
            yield _finding(RULE_SATISFACTION_RANGE, form, cell, text, text=text[:30])
        elif parsed and parsed.numbers and parsed.unit != "%":
            yield _finding(RULE_SATISFACTION_UNIT, form, cell, text, text=text[:30])


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
            yield _finding(RULE_COST_NO_UNIT, form, cell, text, text=text[:30])
        amounts.append(amount)
    if not amounts or project.total is None:
        return
    spent, total = sum(amounts, Decimal(0)), project.total
    cell = costs[0].value_cell or costs[0].name_cell
    if spent > total + COST_TOLERANCE:
        yield _finding(RULE_COST_EXCEEDS_TOTAL, form, cell, f"{spent:f}", spent=spent,
                       total=total)
    elif spent < total - COST_TOLERANCE:
        yield _finding(RULE_COST_BELOW_TOTAL, form, cell, f"{spent:f}", spent=spent,
                       total=total)


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
            yield _finding(RULE_BAD_WEIGHT, form, i.weight_cell, i.weight_text, label=label,
                           text=i.weight_text, span=span)
        elif weight is not None and not 0 <= weight <= total:
            yield _finding(RULE_BAD_WEIGHT_RANGE, form, i.weight_cell, i.weight_text,
                           label=label, weight=weight, span=span)
        elif weight is None and i.name and not _not_applicable(i, profile):
            yield _finding(RULE_WEIGHT_MISSING, form, i.weight_cell, i.name, name=i.name[:30],
                           label=label, span=span)
        if weight is not None:
            found.append(weight)
    if found and sum(found, Decimal(0)) != total:
        yield _finding(RULE_WEIGHTS_SUM, form, "", f"{sum(found, Decimal(0)):f}", label=label,
                       found=sum(found, Decimal(0)), total=total)


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
