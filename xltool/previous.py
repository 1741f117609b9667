"""Last year's targets against this year's: a target lowered, an indicator dropped.

Practice expects a recurring project's targets not to fall below last year's. Projects are
matched by code (the targets workbook `publish --targets-out` writes has no names), and an
indicator by its 二级 category and its name, compared as a clerk reads them (white space
and full-width forms folded). A target is lowered only where that is certain: both read
as one number with the same unit, and comparators of the same direction — `≥`/`>` (more is
better: a smaller number is lower) or `≤`/`<` (less is better: a larger number is lower).
A bare `95%` or `=100%` says no direction and is never compared (`review.no_comparator`
asks for one).

`collect --previous` reports these in each return's feedback; the status board counts them
by calling `compare_with_previous` on the targets in force.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from xltool.codes import REVIEW_INDICATOR_DROPPED, REVIEW_TARGET_LOWERED
from xltool.findings import Finding
from xltool.targets import Indicator, Targets
from xltool.text import normalise_text
from xltool.values import TargetValue

_DIRECTION = {"≥": 1, ">": 1, "≤": -1, "<": -1}

IndicatorKey = tuple[str, str, str]
"""(project code, 二级 category, name as a clerk reads it)."""

Locate = Callable[[Indicator], tuple[str, str]]
"""Where an indicator stands on this year's form: (sheet, cell)."""


def _nowhere(_indicator: Indicator) -> tuple[str, str]:
    return "", ""


def indicator_key(project_code: str, level2: str, name: str) -> IndicatorKey:
    return project_code, normalise_text(level2), normalise_text(name)


def compare_with_previous(now: Targets, before: Targets, locate: Locate = _nowhere
                          ) -> list[Finding]:
    """For each project of NOW that BEFORE holds: every target lowered since, and every
    indicator of BEFORE that NOW no longer has, in BEFORE's order. Each finding names the
    project, and the sheet and cell LOCATE gives for this year's indicator (or last year's,
    for one dropped); its value is this year's target (none for one dropped: nothing is
    written this year, and the message says last year's)."""
    current = {_key(i): i for i in now.indicators}
    projects = set(now.project_codes)
    return [finding for old in before.indicators if old.project_code in projects
            for finding in _against(old, current.get(_key(old)), locate)]


def _key(indicator: Indicator) -> IndicatorKey:
    return indicator_key(indicator.project_code, indicator.level2, indicator.name)


def _against(old: Indicator, new: Indicator | None, locate: Locate) -> Iterator[Finding]:
    if new is None:
        sheet, cell = locate(old)
        yield REVIEW_INDICATOR_DROPPED.finding(
            {"category": old.level2, "name": old.name[:30], "before": old.value[:30]},
            project=old.project_code, sheet=sheet, cell=cell)
    elif is_lowered(old.parsed, new.parsed):
        sheet, cell = locate(new)
        yield REVIEW_TARGET_LOWERED.finding(
            {"name": new.name[:30], "before": old.value[:30], "now": new.value[:30]},
            project=new.project_code, sheet=sheet, cell=cell, value=new.value[:200])


def is_lowered(before: TargetValue, now: TargetValue) -> bool:
    """Whether NOW promises less than BEFORE: one number each, the same unit, comparators of
    the same direction, and the number moved against that direction."""
    direction = _DIRECTION.get(before.comparator or "")
    if (direction is None or direction != _DIRECTION.get(now.comparator or "")
            or len(before.numbers) != 1 or len(now.numbers) != 1 or before.unit != now.unit):
        return False
    return (now.numbers[0] - before.numbers[0]) * direction < 0
