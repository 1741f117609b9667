"""`reconcile`: what the store holds, against the master ledger as it is now.

The ledger keeps changing after the templates go out: budgets are adjusted,
projects added, withdrawn, moved between departments, renamed or given new
codes, and departments make mistakes the rules of one form cannot see.
`reconcile` compares the ledger now with the store — per department the
template in force (the one issued last) and the accepted return in force,
whose projects carry the amounts snapshot of the template it was filled in —
and lists every difference as one row with fixed columns (`DIFFERENCE_COLUMNS`).
The same rows feed the report workbook, `--json`, the console and the tests.

Kinds of difference: a stable code each, one report sheet each, declared in the
catalogue of codes (`xltool.codes.KINDS`, in the order of the report's sheets).

Decisions:

* The ledger's rows and the returned projects are paired by `xltool.matching`,
  the matching `publish --ledger` uses too (its docstring has the rules: code,
  then name within a department, one-to-one). A code twice in the ledger is one
  `duplicate` row (the ledger's own `ledger.duplicate_code` finding is folded
  into it rather than repeated as a `ledger_problem`), and neither row is
  matched; a code several departments returned, none of them the ledger's, is a
  `duplicate` too. Other departments' copies of a project its own department
  returned are `moved`. A project matched by name is one `code_changed` row (its
  message names both names), not also `renamed`.
* Amounts are `Decimal` in 万元; they differ when |ledger − issued| > tolerance.
  `budget_changed` compares the funding rows the form showed (the profile's):
  those are what a re-issued form would change. An empty optional amount is 0.
* Every message that speaks of publishing says what `xltool publish --ledger`
  does with the project — both take the same pairs and the same amounts rule
  from `xltool.matching`: a renamed project is published under the ledger's
  name; a withdrawn, moved or re-coded one is withheld, and so is one whose
  budget changed unless `--allow-stale` is given.
* `ledger` and `returned` hold the two values compared: amounts (`Decimal`),
  names, or codes (department codes for `moved`, project codes for
  `code_changed`); for the checks inside a return, `ledger` is the figure the
  return is measured against and `returned` what the return adds up to.
  `difference` is always ledger − returned, a missing side counting as 0, and
  empty where the values are not amounts.
* Checks inside a return measure it against the amounts its form was issued
  with: a ledger change since issue is `budget_changed` alone, so a raised budget
  is reported once and not again as costs falling short. They run only for
  returned projects matched to the ledger (a withdrawn project's targets are
  moot, a stale copy in another department's return is `moved` only). Costs are
  read as collect's cost rule reads them (`cost_in_wan`). "Far short" is less
  than `COST_SHORT_SHARE` (half) of the total. A sum at least 1,000 times the
  total or at most a thousandth of it is `unit_suspect` (a 元/万元 slip is
  10,000 times; a factor of ten either way still counts) instead of over/short.
  Weights must sum exactly to the profile's total, as the collect rule requires.
* Each row is listed under one department: the ledger's for what the ledger
  says (not issued, not returned, moved, code changed, renamed, budget changed),
  the returning department's for what only its return says (withdrawn, the
  checks inside a return). The summary counts rows per department that way.
* Ledger warnings count as differences too: the exit code is 1 whenever any row
  is reported.

From Python, `Reconciliation.differences` and `.summary` are the DataFrames;
`to_dict()` (what `--json` prints) gives each row with the `JSON_KEYS` —
codes, not names, which the message carries.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, fields, replace
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import pandas as pd
from xlsxwriter.utility import xl_rowcol_to_cell

from xltool.atomic import written_whole
from xltool.codes import (
    KINDS,
    LEDGER_DUPLICATE_CODE,
    RECONCILE_BUDGET_CHANGED,
    RECONCILE_CODE_CHANGED,
    RECONCILE_COST_OVER,
    RECONCILE_COST_SHORT,
    RECONCILE_DUPLICATE,
    RECONCILE_LEDGER_PROBLEM,
    RECONCILE_MOVED,
    RECONCILE_NOT_ISSUED,
    RECONCILE_NOT_RETURNED,
    RECONCILE_RENAMED,
    RECONCILE_UNIT_SUSPECT,
    RECONCILE_WEIGHTS,
    RECONCILE_WITHDRAWN,
    Kind,
)
from xltool.defaults import DEFAULT_STORE
from xltool.errors import ProfileNotKept, ReportUnwritable, WorkbookNotSaved
from xltool.findings import Finding
from xltool.ledger import COLUMNS_BY_KEY, AmountUnit, Ledger, LedgerProject, load_ledger
from xltool.matching import Pair, amounts_of, funding_changes, match
from xltool.money import AMOUNT_FORMAT, TOLERANCE, cost_in_wan, shown_wan
from xltool.names import Output
from xltool.outputs import refuse_clobbering
from xltool.profile import FormProfile
from xltool.states import NOT_RETURNED, TO_FIX, department_state
from xltool.store import (
    IssuedProject,
    IssuedTemplate,
    ReceivedFile,
    Store,
    in_force,
    open_store,
)
from xltool.store.reviews import waiver_of
from xltool.tables import (
    FONT,
    Column,
    Look,
    Page,
    lines_needed,
    print_page,
    report_height,
    snug_height,
    write_table,
)
from xltool.targets import Indicator
from xltool.text import normalise_key
from xltool.xlsxout import check, new_workbook

__all__ = ["DIFFERENCE_COLUMNS", "JSON_KEYS", "KINDS", "SUMMARY_COLUMNS", "Difference", "Kind",
           "Reconciliation", "ReportUnwritable", "reconcile", "write_report"]

DEFAULT_TOLERANCE = TOLERANCE
"""万元: ledgers print 0.01 万元; less than half of that is rounding."""
PUBLISH_WITH_LEDGER = "xltool publish --ledger"
"""What messages name when they say what publishing does: publish given the ledger."""
COST_SHORT_SHARE = Decimal("0.5")
"""Costs below this share of the total fall "far short" (less than half)."""
UNIT_OFF = Decimal(1000)
"""A cost sum this many times the total, or this fraction of it, looks like 元 for 万元."""


# ---------------------------------------------------------------------------
# The kinds and the rows
# ---------------------------------------------------------------------------


_KIND_ORDER = {code: number for number, code in enumerate(KINDS)}

Value = str | Decimal | None


@dataclass(frozen=True, kw_only=True)
class Difference:
    """One difference. `department`/`project` are codes; the names ride along for people."""

    kind: str
    department: str
    department_name: str
    project: str
    project_name: str
    field: str
    ledger: Value = None
    returned: Value = None
    difference: Decimal | None = None
    message: str


DIFFERENCE_COLUMNS = tuple(f.name for f in fields(Difference))
JSON_KEYS = ("kind", "department", "project", "field", "ledger", "returned", "difference",
             "message")
SUMMARY_COLUMNS = ("department", "department_name", "ledger_projects", "received_files",
                   "accepted_projects", "ledger_total", "returned_total", "total_difference",
                   "differences", "status", "waived")
MATCHED, DIFFERENT = "一致", "有差异"
"""A department's state in the summary: its state of the round (`xltool.states`) where it
has no return in force, else whether the return matches the ledger."""


# ---------------------------------------------------------------------------
# The result
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Reconciliation:
    """Every difference (one row each, `DIFFERENCE_COLUMNS`) and the picture per department."""

    differences: pd.DataFrame
    summary: pd.DataFrame
    ledger: Path
    year: int | None
    tolerance: Decimal
    report: Path | None = None

    @property
    def exit_code(self) -> int:
        return 1 if len(self.differences) else 0

    def kinds(self) -> dict[str, int]:
        """Rows per kind, in `KINDS` order, kinds with rows only."""
        counts = Counter(self.differences["kind"])
        return {code: counts[code] for code in KINDS if counts[code]}

    def to_dict(self) -> dict[str, Any]:
        """For `--json`: amounts stay `Decimal` (the encoder writes them as text)."""
        rows = self.differences.loc[:, list(JSON_KEYS)].to_dict("records")
        departments = self.summary.to_dict("records")
        return {"differences": rows, "summary": {
            "ledger": self.ledger.name, "year": self.year, "tolerance": self.tolerance,
            "projects": sum(int(d["ledger_projects"]) for d in departments),
            "departments": departments, "differences": len(rows), "kinds": self.kinds()}}


def reconcile(ledger: Ledger | Path | str, *, store: Path | str = DEFAULT_STORE,
              output: Path | str | None = None, tolerance: Decimal = DEFAULT_TOLERANCE,
              amounts_in: AmountUnit = "万元") -> Reconciliation:
    """Compare LEDGER (a loaded ledger or its file) with the store; write the report to OUTPUT."""
    if output is not None:  # before any work: the report may not replace what it is made of
        read = ledger.path if isinstance(ledger, Ledger) else ledger
        refuse_clobbering(files=[(output, "核对报告")], reads=[(read, "预算台账")], store=store)
    book = ledger if isinstance(ledger, Ledger) else load_ledger(ledger, amounts_in=amounts_in)
    with open_store(store, create=False) as opened, opened.snapshot():
        held = _read_store(opened, book.year)
    found = _differences(book, held, tolerance)
    result = Reconciliation(_frame(found), _summary(book, held, found), book.path, book.year,
                            tolerance)
    if output is None:
        return result
    return replace(result, report=write_report(result, output))


_VALUE_COLUMNS = ("ledger", "returned", "difference")


def _frame(found: Sequence[Difference]) -> pd.DataFrame:
    """Fixed columns and dtypes, empty or not: text as str, values as objects (Decimal, str)."""
    return pd.DataFrame({
        column: pd.Series([getattr(d, column) for d in found],
                          dtype="object" if column in _VALUE_COLUMNS else "str")
        for column in DIFFERENCE_COLUMNS})


# ---------------------------------------------------------------------------
# What the store holds for the year
# ---------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Form:
    """What reconciling needs of a profile."""

    profile: FormProfile
    funding: tuple[str, ...]
    costs: frozenset[tuple[str, str]]

    @classmethod
    def of(cls, profile: FormProfile) -> _Form:
        costs = frozenset((c.level1, c.level2) for c in profile.categories if c.role == "cost")
        return cls(profile, tuple(row.key for row in profile.funding), costs)

    def cost_amounts(self, indicators: Iterable[Indicator]) -> list[Decimal]:
        value_field = bool(self.profile.value_field)
        amounts = (cost_in_wan(i.value if value_field else i.name, value_field=value_field).wan
                   for i in indicators if (i.level1, i.level2) in self.costs)
        return [a for a in amounts if a is not None]


@dataclass(frozen=True, eq=False)
class _Returned:
    """One project of an accepted return in force, with the form it was issued on."""

    template: IssuedTemplate
    issued: IssuedProject
    form: _Form
    indicators: tuple[Indicator, ...]

    @property
    def project_code(self) -> str:
        return self.issued.project_code

    @property
    def project_name(self) -> str:
        return self.issued.project_name

    @property
    def department_code(self) -> str:
        return self.template.department_code


@dataclass(frozen=True)
class _Held:
    in_force: dict[str, IssuedTemplate]
    """Per department the template issued last: re-issuing replaces the earlier one."""
    in_force_codes: dict[str, frozenset[str]]
    returns: dict[str, ReceivedFile]
    """Per department its accepted return in force."""
    returned: tuple[_Returned, ...]
    received: Counter[str]
    """Files received per department, whatever became of them."""
    statuses: dict[str, list[str]]
    """Per department the status of every file received from it (its state: `xltool.states`)."""
    waived: dict[str, str] = field(default_factory=dict)
    """Per department the findings of its return in force the office waived, said with who
    and why (`xltool review --waive`): accepted as written, never hidden."""


def _read_store(store: Store, year: int | None) -> _Held:
    templates = {t.template_id: t for t in store.templates() if _same_year(t.year, year)}
    projects: dict[str, list[IssuedProject]] = defaultdict(list)
    for project in store.issued_projects():
        if project.template_id in templates:
            projects[project.template_id].append(project)
    latest = in_force(templates.values())
    returns = [r for r in store.current_returns() if r.template_id in templates]
    files = [r for r in store.received_files() if r.template_id in templates]
    received = Counter(r.department_code for r in files)
    statuses: dict[str, list[str]] = defaultdict(list)
    for file in files:
        statuses[file.department_code].append(file.status)
    codes = {department: frozenset(normalise_key(p.project_code)
                                   for p in projects[template.template_id])
             for department, template in latest.items()}
    returned = tuple(_returned(store, templates, projects, returns))
    return _Held(latest, codes, {r.department_code: r for r in returns}, returned, received,
                 dict(statuses), _waived(store, returns))


def _waived(store: Store, returns: Sequence[ReceivedFile]) -> dict[str, str]:
    said = {}
    for received in returns:
        waivers = store.waivers(received.department_code, received.year)
        lines = [f"{f.where} {f.code}：{waiver.note}" for f in store.findings(received.sha256)
                 if waivers and (waiver := waiver_of(f, waivers)) is not None]
        if lines:
            said[received.department_code] = "\n".join(lines)
    return said


def _same_year(year: int | None, ledger_year: int | None) -> bool:
    return ledger_year is None or year == ledger_year


def _returned(store: Store, templates: dict[str, IssuedTemplate],
              projects: dict[str, list[IssuedProject]],
              returns: Sequence[ReceivedFile]) -> Iterator[_Returned]:
    wanted = {r.sha256 for r in returns}
    indicators: dict[tuple[str, str], list[Indicator]] = defaultdict(list)
    # Within one return, indicators carry the code exactly as issued: no need to normalise.
    for sha256, indicator in store.current_indicators():
        if sha256 in wanted:
            indicators[sha256, indicator.project_code].append(indicator)
    profiles = store.issued_profiles()
    # By the profile's id: a profile kept once is one object, alive while PROFILES is.
    forms: dict[int, _Form] = {}
    for received in returns:
        template = templates[received.template_id]
        profile = profiles.get(template.template_id)
        if profile is None:
            raise ProfileNotKept(template, then="无法核对")
        if id(profile) not in forms:
            forms[id(profile)] = _Form.of(profile)
        form = forms[id(profile)]
        for project in projects[template.template_id]:
            own = indicators[received.sha256, project.project_code]
            yield _Returned(template, project, form, tuple(own))


# ---------------------------------------------------------------------------
# Matching the ledger with the returned projects
# ---------------------------------------------------------------------------


_Pair = Pair[LedgerProject, _Returned]


def _differences(book: Ledger, held: _Held, tolerance: Decimal) -> list[Difference]:
    matched = match(book.projects, held.returned)
    found = [*_ledger_problems(book), *map(_ledger_duplicate, matched.repeated.values()),
             *(_returned_duplicate(project, items) for project, items in matched.contested)]
    for pair in matched.pairs:
        found += _compare(pair, held, tolerance)
    found += [_missing(project, held) for project in matched.lone_projects]
    found += [_withdrawn(returned) for returned in matched.lone_returned]
    return sorted(found, key=lambda d: (_KIND_ORDER[d.kind], d.department, d.project, d.field))


# ---------------------------------------------------------------------------
# The comparisons
# ---------------------------------------------------------------------------


def _ledger_row(kind: Kind, project: LedgerProject, /, **values: Any) -> Difference:
    return Difference(kind=kind.code, department=project.department_code,
                      department_name=project.department, project=project.code,
                      project_name=project.name, **values)


def _returned_row(kind: Kind, item: _Returned, /, **values: Any) -> Difference:
    return Difference(kind=kind.code, department=item.department_code,
                      department_name=item.template.department,
                      project=item.issued.project_code,
                      project_name=item.issued.project_name, **values)


def _compare(pair: _Pair, held: _Held, tolerance: Decimal) -> list[Difference]:
    if pair.stale:
        return [_moved(pair, held)]
    found = []
    if pair.moved:
        found.append(_moved(pair, held))
    if pair.similarity is not None:
        found.append(_code_changed(pair))
    elif pair.renamed:
        found.append(_renamed(pair))
    found += _budget_changes(pair, tolerance)
    found += _costs(pair.returned, tolerance)
    found += _weights(pair.returned)
    return found


def _missing(project: LedgerProject, held: _Held) -> Difference:
    department = project.department or project.department_code
    total = _zero(project.total)
    values = {"field": _header("total"), "ledger": total, "difference": total}
    template = held.in_force.get(project.department_code)
    if template is None or normalise_key(project.code) not in held.in_force_codes[
            project.department_code]:
        return _ledger_row(RECONCILE_NOT_ISSUED, project, **values, message=(
            f"{department}下发的模板中没有本项目（总账新增或划入）：请为{department}下发"
            "（重新下发）模板"))
    accepted = held.returns.get(project.department_code)
    state = department_state(accepted=accepted is not None,
                             statuses=held.statuses.get(project.department_code, ()))
    if state == TO_FIX:
        message = (f"{department}{TO_FIX}：已报送的文件有错误，尚无已接受的绩效目标表；"
                   f"请督促{department}按反馈表修改后重新报送")
    elif accepted is None:
        message = f"{department}{NOT_RETURNED}：尚无已接受的绩效目标表；请督促{department}报送"
    else:
        message = (f"{department}已接受的报送是旧模板，其中没有本项目（{_day(template)}重新下发的"
                   f"模板中有）：请督促{department}按新模板报送")
    return _ledger_row(RECONCILE_NOT_RETURNED, project, **values, message=message)


def _withdrawn(returned: _Returned) -> Difference:
    total = _zero(returned.issued.total)
    return _returned_row(
        RECONCILE_WITHDRAWN, returned, field=_header("total"), returned=total, difference=-total,
        message=f"总账中已没有项目编码“{returned.issued.project_code}”（项目已撤销）："
                f"{returned.template.department}报送的本项目绩效目标不再使用，"
                f"公开时不予公开（{PUBLISH_WITH_LEDGER}）")


def _moved(pair: _Pair, held: _Held) -> Difference:
    project, returned = pair.project, pair.returned
    new, old = project.department or project.department_code, returned.template.department
    if pair.stale:
        action = f"{new}已报送本项目，{old}报送的本项目绩效目标不再使用"
    elif normalise_key(project.code) in held.in_force_codes.get(project.department_code, ()):
        action = f"已向{new}下发含本项目的模板，待{new}报送后以其为准"
    else:
        action = f"请向{new}下发含本项目的模板，{old}报送的绩效目标可供参考"
    return _ledger_row(
        RECONCILE_MOVED, project, field="主管部门", ledger=project.department_code,
        returned=returned.department_code,
        message=f"项目已由{old}（{returned.department_code}）划转至{new}"
                f"（{project.department_code}）：{action}；公开时不列入{old}"
                f"（{PUBLISH_WITH_LEDGER}）")


def _code_changed(pair: _Pair) -> Difference:
    project, issued = pair.project, pair.returned.issued
    names = ("名称相同" if normalise_key(issued.project_name) == normalise_key(project.name)
             else f"名称由“{issued.project_name}”改为“{project.name}”，相似度 "
                  f"{pair.similarity or 0:.2f}")
    return _ledger_row(
        RECONCILE_CODE_CHANGED, project, field=_header("project_code"), ledger=project.code,
        returned=issued.project_code,
        message=f"项目编码由“{issued.project_code}”改为“{project.code}”（按名称匹配，{names}）："
                f"公开时不予公开（{PUBLISH_WITH_LEDGER}）；请核对是否为同一项目，并重新下发模板")


def _renamed(pair: _Pair) -> Difference:
    project, issued = pair.project, pair.returned.issued
    return _ledger_row(
        RECONCILE_RENAMED, project, field=_header("project_name"), ledger=project.name,
        returned=issued.project_name,
        message=f"项目名称由下发时的“{issued.project_name}”改为“{project.name}”："
                f"公开时以总账名称为准（{PUBLISH_WITH_LEDGER}），请核对，必要时重新下发模板")


def _budget_changes(pair: _Pair, tolerance: Decimal) -> Iterator[Difference]:
    changes = funding_changes(amounts_of(pair.project), amounts_of(pair.returned.issued),
                              pair.returned.form.funding, tolerance)
    for change in changes:
        label = _header(change.key)
        yield _ledger_row(
            RECONCILE_BUDGET_CHANGED, pair.project, field=label, ledger=change.ledger,
            returned=change.issued, difference=change.difference,
            message=f"{change.said(label)}：报送的绩效目标是按下发时的金额制定的，"
                    f"公开时（{PUBLISH_WITH_LEDGER}）不予公开，除非加 --allow-stale"
                    "（按调整后的金额公开并逐项注明）；请重新下发模板")


def _costs(returned: _Returned, tolerance: Decimal) -> list[Difference]:
    amounts = returned.form.cost_amounts(returned.indicators)
    total = returned.issued.total
    if not amounts or total is None:
        return []
    spent = sum(amounts, Decimal(0))
    values = {"field": "成本指标合计", "ledger": total, "returned": spent,
              "difference": total - spent}
    said = f"成本指标合计 {shown_wan(spent)} 万元，年度资金总额 {shown_wan(total)} 万元"
    if total > 0 and spent > 0 and (spent >= total * UNIT_OFF or spent * UNIT_OFF <= total):
        return [_returned_row(RECONCILE_UNIT_SUSPECT, returned, **values, message=(
            f"{said}，相差约 {shown_wan(_magnitude(spent, total))} 倍：疑似把元当作万元"
            "（或把万元当作元）填写，请部门按万元改正"))]
    if spent > total + tolerance:
        return [_returned_row(RECONCILE_COST_OVER, returned, **values, message=(
            f"{said}，成本超出 {shown_wan(spent - total)} 万元：请部门核对成本金额"))]
    if spent < total * COST_SHORT_SHARE:
        return [_returned_row(RECONCILE_COST_SHORT, returned, **values, message=(
            f"{said}，成本不足总额的一半：请部门核对是否漏填成本"))]
    return []


def _weights(returned: _Returned) -> list[Difference]:
    spec = returned.form.profile.weights
    if spec is None:
        return []
    found = sum((i.weight for i in returned.indicators if i.weight is not None), Decimal(0))
    if found == spec.total:
        return []
    return [_returned_row(
        RECONCILE_WEIGHTS, returned, field=f"{spec.label}合计", ledger=spec.total, returned=found,
        difference=spec.total - found,
        message=f"{spec.label}合计为 {shown_wan(found)}，应为 {shown_wan(spec.total)}："
                f"请部门调整各项{spec.label}")]


def _ledger_problems(book: Ledger) -> Iterator[Difference]:
    by_row = {project.row: project for project in book.projects}
    for finding in book.problems:
        if finding.code == LEDGER_DUPLICATE_CODE.code:
            continue  # one `duplicate` row per code says it, with every row
        yield _ledger_problem(finding, by_row.get(finding.row or 0))


def _ledger_problem(finding: Finding, project: LedgerProject | None) -> Difference:
    where = f"总账第{finding.row}行：" if finding.row is not None else "总账："
    fix = f"。{finding.fix}" if finding.fix else ""
    return Difference(
        kind=RECONCILE_LEDGER_PROBLEM.code,
        department=project.department_code if project else "",
        department_name=project.department if project else finding.department,
        project=project.code if project else finding.project,
        project_name=project.name if project else "",
        field=finding.column, ledger=finding.value or None,
        message=f"{where}{finding.message}{fix}")


def _ledger_duplicate(group: list[LedgerProject]) -> Difference:
    rows = "、".join(str(p.row) for p in group)
    return _ledger_row(
        RECONCILE_DUPLICATE, group[0], field=_header("project_code"), ledger=group[0].code,
        message=f"总账中项目编码“{group[0].code}”出现 {len(group)} 次（第{rows}行），"
                "未与报送核对：每个项目只占一行，删除或合并重复的行")


def _returned_duplicate(project: LedgerProject, items: list[_Returned]) -> Difference:
    departments = "、".join(f"{r.template.department}（{r.department_code}）" for r in items)
    return _ledger_row(
        RECONCILE_DUPLICATE, project, field=_header("project_code"), ledger=project.code,
        returned=project.code,
        message=f"项目编码“{project.code}”同时出现在{departments}已接受的报送中，总账属于"
                f"{project.department}（{project.department_code}），无法确定以哪份为准，"
                f"公开时均不予公开（{PUBLISH_WITH_LEDGER}）：请核对项目归属")


def _header(key: str) -> str:
    return COLUMNS_BY_KEY[key].header


def _zero(amount: Decimal | None) -> Decimal:
    return Decimal(0) if amount is None else amount


def _magnitude(spent: Decimal, total: Decimal) -> Decimal:
    ratio = spent / total if spent >= total else total / spent
    return ratio.quantize(Decimal(1))


def _day(template: IssuedTemplate) -> str:
    return template.issued_at[:10]


# ---------------------------------------------------------------------------
# The picture per department
# ---------------------------------------------------------------------------


def _summary(book: Ledger, held: _Held, found: Sequence[Difference]) -> pd.DataFrame:
    names = dict(book.departments)
    for code in sorted({*held.in_force, *held.returns}):
        names.setdefault(code, held.in_force[code].department if code in held.in_force
                         else code)
    ledger = book.by_department()
    returned: dict[str, list[_Returned]] = defaultdict(list)
    for item in held.returned:
        returned[item.department_code].append(item)
    counts = Counter(d.department for d in found)
    rows = [_summary_row(code, name, ledger.get(code, ()), returned[code], held, counts[code])
            for code, name in names.items()]
    return pd.DataFrame({
        column: pd.Series([row[number] for row in rows], dtype=_SUMMARY_DTYPES[column])
        for number, column in enumerate(SUMMARY_COLUMNS)})


_SUMMARY_DTYPES = {"department": "str", "department_name": "str", "ledger_projects": "int64",
                   "received_files": "int64", "accepted_projects": "int64",
                   "ledger_total": "object", "returned_total": "object",
                   "total_difference": "object", "differences": "int64", "status": "str",
                   "waived": "str"}


def _summary_row(code: str, name: str, projects: Sequence[LedgerProject],
                 returned: Sequence[_Returned], held: _Held, differences: int) -> list[Any]:
    ledger_total = sum((_zero(p.total) for p in projects), Decimal(0))
    returned_total = sum((_zero(r.issued.total) for r in returned), Decimal(0))
    if differences == 0:
        status = MATCHED
    elif projects and code not in held.returns:
        status = department_state(accepted=False, statuses=held.statuses.get(code, ()))
    else:
        status = DIFFERENT
    return [code, name, len(projects), held.received[code], len(returned), ledger_total,
            returned_total, ledger_total - returned_total, differences, status,
            held.waived.get(code, "")]


# ---------------------------------------------------------------------------
# The report workbook
# ---------------------------------------------------------------------------

SUMMARY_SHEET = "汇总"


@dataclass(frozen=True, kw_only=True)
class _Keyed(Column):
    key: str  # the field of a summary or difference record the column shows


def _column(key: str, header: str, width: float, style: str = "text") -> _Keyed:
    return _Keyed(header, width, style, key=key)


_SUMMARY_LAYOUT = (
    _column("department", "主管部门编码", 14), _column("department_name", "主管部门", 26),
    _column("ledger_projects", "总账项目数", 11, "count"),
    _column("received_files", "收到文件数", 11, "count"),
    _column("accepted_projects", "已接受项目数", 12, "count"),
    _column("ledger_total", "总账资金（万元）", 16, "amount"),
    _column("returned_total", "报送资金（万元）", 16, "amount"),
    _column("total_difference", "差额（万元）", 14, "amount"),
    _column("differences", "差异数", 9, "count"),
    # as wide as the longest state: a state does not wrap, and a row is not made taller for it
    _column("status", "状态", 14, "center"),
    _column("waived", "已豁免的问题（按原文接受）", 26),
)
# Narrow enough to print one A4 landscape page wide at about 80 % in Excel (70 % in
# LibreOffice, whose columns come out wider): long texts wrap instead.
_DIFFERENCE_LAYOUT = (
    _column("department", "主管部门编码", 12), _column("department_name", "主管部门", 18),
    _column("project", "项目编码", 16), _column("project_name", "项目名称", 20),
    _column("field", "核对内容", 12), _column("ledger", "总账", 14, "amount"),
    _column("returned", "报送/下发", 14, "amount"),
    _column("difference", "差额（总账−报送）", 14, "amount"), _column("message", "说明", 40),
)
_TITLE_ROW, _HEADER_ROW = 0, 1  # a title, then the table's header, repeated on every page
_STYLES: dict[str, dict[str, Any]] = {
    "title": {"bold": True, "font_size": 14, "valign": "vcenter"},
    "header": {"bold": True, "border": 1, "align": "center", "valign": "vcenter",
               "text_wrap": True, "bg_color": "#EEF3F8"},
    "text": {"border": 1, "valign": "top", "text_wrap": True},
    "center": {"border": 1, "align": "center", "valign": "top"},
    "count": {"border": 1, "valign": "top", "num_format": "0"},
    "amount": {"border": 1, "valign": "top", "num_format": AMOUNT_FORMAT, "text_wrap": True},
    "weight": {"border": 1, "valign": "top"},
    "total": {"bold": True, "border": 1, "valign": "top", "bg_color": "#EEF3F8"},
    "total_count": {"bold": True, "border": 1, "num_format": "0", "bg_color": "#EEF3F8"},
    "total_amount": {"bold": True, "border": 1, "num_format": AMOUNT_FORMAT,
                     "bg_color": "#EEF3F8"},
    "bad": {"font_color": "#9C0006", "bg_color": "#FFC7CE"},
    "missing": {"font_color": "#9C5700", "bg_color": "#FFEB9C"},
    "good": {"font_color": "#006100", "bg_color": "#C6EFCE"},
}


def write_report(result: Reconciliation, path: Path | str) -> Path:
    """The summary sheet, then one sheet per kind present; complete or absent, never half."""
    path = Path(path)

    def write(draft: Path) -> Path:
        workbook = new_workbook(draft, output=Output.REPORT, title="绩效目标核对报告",
                                subject=f"{result.ledger.name} 与已接受报送的核对")
        formats = {name: workbook.add_format({"font_name": FONT, **spec})
                   for name, spec in _STYLES.items()}
        _write_summary(workbook, formats, result)
        for code in result.kinds():
            rows = result.differences[result.differences["kind"] == code]
            _write_kind(workbook, formats, KINDS[code], _records(rows),
                        _title(result, KINDS[code].sheet))
        workbook.close()
        return path

    try:
        return written_whole(path, write)
    except (WorkbookNotSaved, OSError) as error:
        raise ReportUnwritable(f"无法写出核对报告 {path}：{error}") from error


def _write_summary(workbook: Any, formats: dict[str, Any], result: Reconciliation) -> None:
    sheet = workbook.add_worksheet(SUMMARY_SHEET)
    rows = _records(result.summary)
    last = _write_table(sheet, formats, _SUMMARY_LAYOUT, rows, _title(result, "汇总"))
    _write_totals(sheet, formats, last + 1, rows)
    if rows:
        _mark_problems(sheet, formats, last, result.tolerance)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return cast(list[dict[str, Any]], frame.to_dict("records"))


def _write_kind(workbook: Any, formats: dict[str, Any], kind: Kind,
                rows: list[dict[str, Any]], title: str) -> None:
    sheet = workbook.add_worksheet(kind.sheet)
    _write_table(sheet, formats, _difference_layout(kind), rows, title)


def _difference_layout(kind: Kind) -> tuple[_Keyed, ...]:
    """The weights sheet compares scores, not 万元: its figures are shown as written."""
    if kind.code != RECONCILE_WEIGHTS.code:
        return _DIFFERENCE_LAYOUT
    return tuple(replace(c, style="weight") if c.style == "amount" else c
                 for c in _DIFFERENCE_LAYOUT)


def _title(result: Reconciliation, part: str) -> str:
    year = f"{result.year}年" if result.year is not None else ""
    return f"{year}项目支出预算绩效目标核对报告（{part}）"


def _write_table(sheet: Any, formats: dict[str, Any], layout: tuple[_Keyed, ...],
                 rows: list[dict[str, Any]], title: str) -> int:
    """TITLE, then the records as a table, landscape and one page wide; returns the last
    row written."""
    check(sheet.write_string(_TITLE_ROW, 0, title, formats["title"]), "title")
    check(sheet.set_row(_TITLE_ROW, 28), "title height")
    header_lines = max(lines_needed(column.header, column.width) for column in layout)
    look = Look(header=formats["header"], header_height=report_height(header_lines),
                cell=lambda column, value: formats[_style_of(column, value)],
                height=snug_height)
    last = write_table(sheet, look, layout, ([row[c.key] for c in layout] for row in rows),
                       top=_HEADER_ROW)
    print_page(sheet, Page(title, [c.width for c in layout], landscape=True,
                           repeat=(_HEADER_ROW, _HEADER_ROW)))
    return last


def _style_of(column: Column, value: object) -> str:
    """A name or code in an amount column (renamed, moved) is wrapped text like the rest."""
    return "text" if column.style == "amount" and isinstance(value, str) and value else column.style


def _write_totals(sheet: Any, formats: dict[str, Any], row: int,
                  rows: list[dict[str, Any]]) -> None:
    check(sheet.set_row(row, snug_height(1)), "total height")
    for col, column in enumerate(_SUMMARY_LAYOUT):
        if column.style in ("count", "amount"):
            total = sum((r[column.key] for r in rows), Decimal(0))
            check(sheet.write_number(row, col, float(total), formats[f"total_{column.style}"]),
                  "total")
        else:
            label = {"department": "合计", "department_name": f"{len(rows)} 个部门"}.get(
                column.key, "")
            check(sheet.write_string(row, col, label, formats["total"]), "total label")


def _mark_problems(sheet: Any, formats: dict[str, Any], last: int, tolerance: Decimal) -> None:
    """Status coloured, differences and a total off by more than the tolerance in red."""
    col = {column.key: number for number, column in enumerate(_SUMMARY_LAYOUT)}
    first = _HEADER_ROW + 1
    status = xl_rowcol_to_cell(first, col["status"], col_abs=True)
    for text, style in ((NOT_RETURNED, "missing"), (TO_FIX, "bad"), (DIFFERENT, "bad"),
                        (MATCHED, "good")):
        _conditional(sheet, first, col["status"], last, col["status"], formats[style],
                     f'={status}="{text}"')
    count = xl_rowcol_to_cell(first, col["differences"], col_abs=True)
    _conditional(sheet, first, col["differences"], last, col["differences"], formats["bad"],
                 f"={count}>0")
    amount = xl_rowcol_to_cell(first, col["total_difference"], col_abs=True)
    _conditional(sheet, first, col["total_difference"], last, col["total_difference"],
                 formats["bad"], f"=ABS({amount})>{shown_wan(tolerance)}")


def _conditional(sheet: Any, first: int, col: int, last: int, last_col: int, fmt: Any,
                 formula: str) -> None:
    check(sheet.conditional_format(first, col, last, last_col,
                                   {"type": "formula", "criteria": formula, "format": fmt}),
          f"conditional format {formula}")
