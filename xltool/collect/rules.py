"""The checks a return must pass, driven by its form profile.

Each rule is a small function over one project's returned form that yields
findings with a stable code; `check_return` runs them all and never stops at
the first (a department gets every problem in one round trip).

The office's review criteria (`xltool.officerules.Criteria`) tune them: which categories
must hold a number, how many indicators, the satisfaction floor, the practice's rules it
switched on (`review.*`), and each code's severity (applied once, to every finding, in
`check_return`).

The rules read a form as a clerk sees it (`as_seen`): a cell whose text draws nothing
— white space, zero-width and format characters, fillers — is empty for every one of
them. Control characters are a finding of their own, read from the text as written.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from decimal import Decimal
from itertools import chain
from operator import itemgetter
from typing import NamedTuple

from xltool.codes import (
    CELL_CONTROL_CHAR,
    FORM_NOT_FILLED,
    REVIEW_DATE_OUTSIDE_YEAR,
    REVIEW_INPUT_AS_OUTPUT,
    REVIEW_NO_COMPARATOR,
    REVIEW_TOO_FEW_INDICATORS,
    RULE_BAD_WEIGHT,
    RULE_BAD_WEIGHT_RANGE,
    RULE_COST_BELOW_TOTAL,
    RULE_COST_BELOW_TOTAL_YUAN,
    RULE_COST_EXCEEDS_TOTAL,
    RULE_COST_EXCEEDS_TOTAL_UNITLESS,
    RULE_COST_NO_UNIT,
    RULE_GOAL_EMPTY,
    RULE_NAME_MISSING,
    RULE_NOT_QUANTITATIVE,
    RULE_PLACEHOLDER,
    RULE_REQUIRED_EMPTY,
    RULE_REQUIRED_EMPTY_FEW,
    RULE_SATISFACTION_RANGE,
    RULE_SATISFACTION_RANGE_FLOOR,
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
    short,
)
from xltool.findings import Finding
from xltool.money import TOLERANCE, Cost, cost_in_wan, shown_wan
from xltool.officerules import DEFAULT_CRITERIA, Criteria
from xltool.previous import compare_with_previous, indicator_key
from xltool.profile import FormProfile
from xltool.targets import Indicator, Targets
from xltool.text import normalise_text
from xltool.values import is_label_placeholder
from xltool.visible import (
    control_characters,
    control_name,
    has_invisible,
    is_blank,
    without_controls,
)

COST_TOLERANCE = TOLERANCE
ANY_DIGIT = re.compile(r"[0-9０-９]")


# -- what a clerk sees ----------------------------------------------------------------------


# A row's texts, picked in C (`ReturnedIndicator` is a tuple).
_ROW_TEXTS = itemgetter(*map(ReturnedIndicator._fields.index, ("name", "value", "weight_text")))
_FIRSTS = itemgetter(slice(0, 1))


def _texts(project: ReturnedProject) -> Iterator[str]:
    """The goal and every indicator's name, value and weight, as read."""
    return chain((project.goal,), chain.from_iterable(map(_ROW_TEXTS, project.indicators)))


def _seen(text: str) -> str:
    return "" if is_blank(text) else text


def _indicator_seen(indicator: ReturnedIndicator) -> ReturnedIndicator:
    written = (indicator.name, indicator.value, indicator.weight_text)
    seen = tuple(map(_seen, written))
    if seen == written:  # nearly always: `is_blank` looks at one character of visible text
        return indicator
    return indicator._replace(name=seen[0], value=seen[1], weight_text=seen[2])


def as_seen(project: ReturnedProject) -> ReturnedProject:
    """PROJECT as a clerk sees it: a cell whose text draws nothing (`is_blank`: white space,
    zero-width and format characters, fillers, blank glyphs) is empty, and an indicator row
    left with nothing in it is no row. Every rule asks "is it filled" of this, and
    `accepted_targets` keeps it: a zero-width space fills nothing anywhere."""
    # Text that draws nothing starts with a character that draws nothing: when no text
    # does, the project is as written (nearly always; one look per text, in C).
    if not has_invisible("".join(map(_FIRSTS, _texts(project)))):
        return project
    indicators = tuple(seen for seen in map(_indicator_seen, project.indicators)
                       if seen.name or seen.value or seen.weight_text)
    goal = _seen(project.goal)
    if goal == project.goal and indicators == project.indicators:
        return project
    return replace(project, goal=goal, indicators=indicators)


@dataclass(frozen=True)
class Sorted:
    """One project's indicators sorted once for every rule: placeholders, and the real
    ones (neither a placeholder nor marked not applicable); and the department whose
    return it is, that every finding carries. PROJECT is the form as a clerk sees it
    (`as_seen`), WRITTEN as the department wrote it; CRITERIA the office's review criteria
    for its profile, YEAR the budget year of its template."""

    project: ReturnedProject
    placeholders: tuple[ReturnedIndicator, ...]
    real: tuple[ReturnedIndicator, ...]
    written: ReturnedProject
    department: str = ""
    criteria: Criteria = DEFAULT_CRITERIA
    year: int | None = None

    @classmethod
    def of(cls, written: ReturnedProject, profile: FormProfile, department: str = "",
           criteria: Criteria = DEFAULT_CRITERIA, year: int | None = None) -> Sorted:
        project = as_seen(written)
        marker = _marker(profile)
        placeholders, real = [], []
        for i in project.indicators:  # `is_placeholder`, `_not_applicable`: texts folded once
            name = normalised(i.name)
            if not i.value and is_label_placeholder(name):
                placeholders.append(i)
            elif name != marker and normalised(i.value) != marker:
                real.append(i)
        return cls(project, tuple(placeholders), tuple(real), written, department, criteria,
                   year)


Rule = Callable[[Sorted, FormProfile], Iterable[Finding]]


def _finding(problem: Problem, form: Sorted, cell: str, value: str, /,
             **facts: object) -> Finding:
    project = form.project
    # A control character in a value would reach the feedback workbook (`cell.control_char`
    # names it): shown as `�` there, as in the console.
    return problem.finding(facts, department=form.department, project=project.code,
                           sheet=project.sheet, cell=cell, value=without_controls(value[:200]))


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


def control_chars(form: Sorted, profile: FormProfile) -> Iterator[Finding]:
    """Text holding a control character other than tab and line breaks: no font shows it,
    XML cannot hold it, so it is never stored (the value shows each as `�`)."""
    written = form.written
    if not control_characters("".join(_texts(written))):  # nearly always: one scan, in C
        return
    cells = [(written.goal_cell, written.goal)] + [
        pair for i in written.indicators
        for pair in ((i.name_cell, i.name), (i.value_cell, i.value),
                     (i.weight_cell, i.weight_text))]
    for cell, text in cells:
        found = control_characters(text)
        if found:
            yield _finding(CELL_CONTROL_CHAR, form, cell, text,
                           chars="、".join(map(control_name, found)))


def goal_filled(form: Sorted, profile: FormProfile) -> Iterator[Finding]:
    project = form.project
    if not project.goal:  # as seen: white space or invisible characters only is empty
        yield _finding(RULE_GOAL_EMPTY, form, project.goal_cell, "", label=profile.goal_label)


def required_categories(form: Sorted, profile: FormProfile) -> Iterator[Finding]:
    """Every required category filled, with as many indicators as the office asks for
    (`min_per_category`, one by default)."""
    project, minimum = form.project, form.criteria.min_per_category
    counted = Counter(i.category.level2 for i in form.real)
    for category in profile.categories:
        found = counted[category.level2]
        if category.required and found < minimum:
            problem = RULE_REQUIRED_EMPTY_FEW if found else RULE_REQUIRED_EMPTY
            yield _finding(problem, form, project.first_cells.get(category.level2, ""), "",
                           category=category.level2, found=found, minimum=minimum,
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
        if not form.criteria.is_quantitative(i.category):
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
    """Satisfaction a percentage from 0 to 100, and not under the office's floor."""
    floor = form.criteria.satisfaction_floor
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
        elif floor is not None and numbers and min(numbers) < floor:
            yield _finding(RULE_SATISFACTION_RANGE_FLOOR, form, cell, text, text=text[:30],
                           floor=f"{floor.normalize():f}")


def _percent_numbers(text: str) -> tuple[Decimal, ...]:
    folded = normalise_text(text)
    return tuple(Decimal(m) for m in re.findall(r"([0-9]+(?:\.[0-9]+)?)\s*%", folded))


class CountedCost(NamedTuple):
    """A cost row as the cost rules counted it: its cell, its text as written, its amount."""

    cell: str
    text: str
    cost: Cost

    @property
    def wan(self) -> Decimal:
        assert self.cost.wan is not None  # asked of counted costs only
        return self.cost.wan

    def shown(self) -> str:
        """How it was counted, for the clerk: `D21“15000元” → 1.5 万元`."""
        written = f"{self.cell}“{short(self.text, 20)}”"
        if self.cost.wan is None:
            return f"{written}未计入（读不出一个金额）"
        unit = "（未写单位）" if self.cost.unitless else ""
        return f"{written}{unit} → {shown_wan(self.wan)} 万元"


def _costs(form: Sorted, profile: FormProfile) -> list[CountedCost]:
    value_field = bool(profile.value_field)
    return [CountedCost(cell, text, cost_in_wan(text, value_field=value_field,
                                                parse=parsed_value))
            for i in form.real if i.category.role == "cost"
            for text, cell in (_target_text(i, profile),) if text]


def cost_total(form: Sorted, profile: FormProfile) -> Iterator[Finding]:
    """The costs against the project's total. A finding about the sum stands at the cost
    most likely wrong and lists every cost as counted; a sum is never shown as a cell's
    value. A cost without a unit is said so where the sum finding does not say it."""
    costs = _costs(form, profile)
    counted = [c for c in costs if c.cost.wan is not None]
    total = form.project.total
    spent = sum((c.wan for c in counted), Decimal(0))
    against = _against_total(counted, spent, total) if counted and total is not None else None
    named: CountedCost | None = None
    if against and total is not None:
        problem, named, fitted = against
        yield _finding(problem, form, named.cell, named.text, cell=named.cell,
                       text=short(named.text, 30), wan=shown_wan(named.wan),
                       spent=shown_wan(spent), total=shown_wan(total),
                       fitted=shown_wan(fitted), counted="；".join(c.shown() for c in costs))
    for c in counted:
        if c.cost.unitless and c is not named:
            yield _finding(RULE_COST_NO_UNIT, form, c.cell, c.text, text=short(c.text, 30),
                           wan=shown_wan(c.wan))


def _against_total(counted: list[CountedCost], spent: Decimal, total: Decimal
                   ) -> tuple[Problem, CountedCost, Decimal] | None:
    """Which problem the sum SPENT has against TOTAL, the cost it is told at, and the sum
    with that cost read in its other unit.

    Over the total, the doubtful cost is one without a unit (taken as 万元) that read as 元
    brings the sum within the total: `5000` beside `15000元` meant 5000 元. Under it, one
    written in 元 that read as 万元 makes the sum the total. Else the sum is told at the
    largest cost (over) or the first (under: a missing cost belongs beside it)."""
    if spent > total + COST_TOLERANCE:
        doubtful = _closest(total, [(c, spent - c.wan + c.wan / 10000) for c in counted
                                    if c.cost.unitless],
                            fits=lambda fitted: fitted <= total + COST_TOLERANCE)
        if doubtful is not None:
            return RULE_COST_EXCEEDS_TOTAL_UNITLESS, *doubtful
        return RULE_COST_EXCEEDS_TOTAL, max(counted, key=lambda c: c.wan), spent
    if spent < total - COST_TOLERANCE:
        doubtful = _closest(total, [(c, spent - c.wan + c.wan * 10000) for c in counted
                                    if c.cost.in_yuan],
                            fits=lambda fitted: abs(fitted - total) <= COST_TOLERANCE)
        if doubtful is not None:
            return RULE_COST_BELOW_TOTAL_YUAN, *doubtful
        return RULE_COST_BELOW_TOTAL, counted[0], spent
    return None


def _closest(total: Decimal, rereadings: list[tuple[CountedCost, Decimal]],
             fits: Callable[[Decimal], bool]) -> tuple[CountedCost, Decimal] | None:
    """Of the costs each with the sum it gives read in its other unit, the one whose sum
    FITS and comes closest to TOTAL (the first of equals); None when none fits."""
    fitting = [pair for pair in rereadings if fits(pair[1])]
    return min(fitting, key=lambda pair: abs(pair[1] - total)) if fitting else None


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


# -- the practice's review criteria, each on when the office switches it on ---------------


def too_few_indicators(form: Sorted, profile: FormProfile) -> Iterator[Finding]:
    """Fewer named 三级 indicators in the project than the office's `min_indicators`."""
    minimum = form.criteria.min_indicators
    found = sum(1 for i in form.real if i.name)
    if found < minimum:
        yield _finding(REVIEW_TOO_FEW_INDICATORS, form, "", "", found=found, minimum=minimum)


# Inputs — funds, staff, equipment bought — named in an indicator. A result about them
# (`资金到位率`, `经费支出合规性`, `设备完好率`) is no input: a name with a word of a result
# is never one. Bare `人员` and `设备` are not inputs (`工作人员24小时值班`, `设备完好`).
INPUT_WORDS = re.compile("资金|经费|费用|投入|购置|购买|采购|工资|薪酬|聘用|聘请|人力|物力|财力|"
                         "人员数|配备人员|人员配备")
RESULT_WORDS = re.compile("率|度|性|及时|合规|到位|完成|执行|节约|覆盖|达标|合格|效益|效果|受益")
MONEY_UNITS = ("万元", "元", "万")
_MONEY_IN_TEXT = re.compile(r"[0-9]\s*(?:万元|元)")


def input_as_output(form: Sorted, profile: FormProfile) -> Iterator[Finding]:
    """An 产出 or 效益 indicator (not a cost) that states an input instead of a result: its
    name names one, or its target is a sum of money."""
    if not form.criteria.is_on(REVIEW_INPUT_AS_OUTPUT.code):
        return
    for i in form.real:
        category = i.category
        if category.role == "cost" or not ("产出" in category.level1 or "效益" in category.level1):
            continue
        if names_an_input(i.name) or _is_money(i, profile):
            yield _finding(REVIEW_INPUT_AS_OUTPUT, form, i.name_cell, i.name,
                           category=category.level2, text=short(i.name, 30))


def names_an_input(name: str) -> bool:
    folded = normalise_text(name)
    return bool(INPUT_WORDS.search(folded)) and not RESULT_WORDS.search(folded)


def _is_money(indicator: ReturnedIndicator, profile: FormProfile) -> bool:
    if not profile.value_field:
        return bool(_MONEY_IN_TEXT.search(normalise_text(indicator.name)))
    return parsed_value(indicator.value).unit in MONEY_UNITS


def no_comparator(form: Sorted, profile: FormProfile) -> Iterator[Finding]:
    """A number in a quantitative category without `≥ ≤ = > <` or words for them. A cost is
    an amount not to exceed, and needs none. Only where the value has a column of its own:
    a target written inside the indicator's text carries its comparator in words the
    grammar does not read (`全年督查不少于 50 次`)."""
    if not profile.value_field or not form.criteria.is_on(REVIEW_NO_COMPARATOR.code):
        return
    for i in form.real:
        if (i.value and i.category.role != "cost"
                and form.criteria.is_quantitative(i.category)):
            parsed = parsed_value(i.value)
            if parsed.numbers and parsed.comparator is None:
                yield _finding(REVIEW_NO_COMPARATOR, form, i.value_cell, i.value,
                               text=short(i.value, 30))


_YEAR = re.compile(r"(20[0-9]{2})\s*(?:年|[-./][0-9]{1,2})")


def date_outside_year(form: Sorted, profile: FormProfile) -> Iterator[Finding]:
    """A 时效 indicator naming a year other than the budget year of its template."""
    year = form.year
    if year is None or not form.criteria.is_on(REVIEW_DATE_OUTSIDE_YEAR.code):
        return
    for i in form.real:
        if "时效" not in i.category.level2:
            continue
        text, cell = (i.value, i.value_cell) if i.value else (i.name, i.name_cell)
        other = [found for found in _YEAR.findall(normalise_text(text)) if int(found) != year]
        if other:
            yield _finding(REVIEW_DATE_OUTSIDE_YEAR, form, cell, text, text=short(text, 30),
                           found=other[0], year=year)


RULES: tuple[Rule, ...] = (control_chars, goal_filled, required_categories, names_and_values,
                           placeholders, quantitative_values, satisfaction_range, cost_total,
                           weights, too_few_indicators, input_as_output, no_comparator,
                           date_outside_year)


def not_filled(read: ReadReturn) -> Finding | None:
    """One finding for a return whose every input cell is empty as a clerk sees it (the goal,
    every indicator's name, value and weight of every project): the template sent back
    untouched. Told once, it says what happened; each rule's "missing" would say it dozens
    of times. A prefilled template sent back untouched is filled (its targets are there),
    and is checked as any return."""
    projects = read.projects
    if not projects or any(any(map(_seen, _texts(p))) for p in projects):
        return None
    first = projects[0]
    return FORM_NOT_FILLED.finding({"projects": len(projects)},
                                   department=read.template.department_code,
                                   project=first.code, sheet=first.sheet, cell=first.goal_cell)


def check_return(read: ReadReturn, criteria: Criteria = DEFAULT_CRITERIA) -> list[Finding]:
    """Every rule over every project, with the office's severities (CRITERIA); findings
    carry the department of the template. A return with nothing filled in gets the one
    finding that says so (`not_filled`)."""
    empty = not_filled(read)
    if empty is not None:
        return [empty]
    department, profile, year = read.template.department_code, read.profile, read.template.year
    findings: list[Finding] = []
    for project in read.projects:
        form = Sorted.of(project, profile, department, criteria, year)
        for rule in RULES:
            findings += rule(form, profile)
    return criteria.effect(findings)


def check_against_previous(read: ReadReturn, now: Targets, before: Targets,
                           criteria: Criteria = DEFAULT_CRITERIA) -> list[Finding]:
    """This return's targets (NOW, as accepted from READ) against last year's (BEFORE), with
    the office's severities, each finding at its cell: a lowered target at its value, a
    dropped indicator at the first cell of its category's block."""
    profile = read.profile
    cells = {indicator_key(p.code, i.category.level2, i.name):
             (p.sheet, _target_text(i, profile)[1]) for p in read.projects for i in p.indicators}
    blocks = {(p.code, level2): (p.sheet, cell) for p in read.projects
              for level2, cell in p.first_cells.items()}

    def locate(indicator: Indicator) -> tuple[str, str]:
        key = indicator_key(indicator.project_code, indicator.level2, indicator.name)
        return cells.get(key) or blocks.get((indicator.project_code, indicator.level2), ("", ""))

    department = read.template.department_code
    return [replace(f, department=department)
            for f in criteria.effect(compare_with_previous(now, before, locate))]
