"""Matching a targets workbook to the projects and categories of the forms being issued.

Nothing prefilled is ever dropped silently: an indicator whose project is not
in the ledger, or whose category the profile does not have, becomes a finding.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from xltool.codes import PREFILL_UNKNOWN_CATEGORY, PREFILL_UNKNOWN_PROJECT
from xltool.findings import Finding
from xltool.profile import FormProfile
from xltool.targets import Indicator, Targets
from xltool.text import normalise_key


@dataclass(frozen=True)
class Prefill:
    """Per project code: the goal and the indicators to write, in order."""

    goals: dict[str, str] = field(default_factory=dict)
    indicators: dict[str, tuple[Indicator, ...]] = field(default_factory=dict)
    findings: tuple[Finding, ...] = ()

    def for_project(self, code: str) -> tuple[str, tuple[Indicator, ...]]:
        return self.goals.get(code, ""), self.indicators.get(code, ())


def match_prefill(targets: Targets, project_codes: Iterable[str], profile: FormProfile,
                  *, source: str = "") -> Prefill:
    known = set(project_codes)
    findings = list(targets.problems)
    by_project: dict[str, list[Indicator]] = {}
    for indicator in targets.indicators:
        finding = _refusal(indicator, known, profile, source)
        if finding:
            findings.append(finding)
            continue
        by_project.setdefault(indicator.project_code, []).append(indicator)
    for code in targets.goals:
        if code not in known:
            findings.append(_unknown_project(code, source, "总体目标"))
    goals = {code: goal for code, goal in targets.goals.items() if code in known}
    return Prefill(goals, {c: tuple(i) for c, i in by_project.items()}, tuple(findings))


def _refusal(indicator: Indicator, known: set[str], profile: FormProfile,
             source: str) -> Finding | None:
    if indicator.project_code not in known:
        return _unknown_project(indicator.project_code, source, indicator.name)
    category = profile.category_by_level2(normalise_key(indicator.level2))
    if category is None:
        return PREFILL_UNKNOWN_CATEGORY.finding(
            {"profile": profile.name, "level2": indicator.level2, "name": indicator.name},
            file=source, project=indicator.project_code,
            value=f"{indicator.level1}/{indicator.level2}")
    return None


def _unknown_project(code: str, source: str, what: str) -> Finding:
    return PREFILL_UNKNOWN_PROJECT.finding({"code": code, "what": what}, file=source,
                                           project=code, value=what)
