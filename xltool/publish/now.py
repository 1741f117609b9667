"""`publish --ledger`: the edition as the ledger has it now.

`gather` makes the edition from the store: names and amounts as the templates
were issued. Given the ledger, each returned project is found in it by the
matching reconcile reports with (`xltool.matching`), and it is:

* published under the ledger's names now — the project's, the department's, and
  every header field the form takes from the ledger (实施单位, 项目属性, 项目期 …) —
  with the ledger's amounts;
* withheld, and listed among the missing with its reason, when the ledger no
  longer has it (`withdrawn`); gives it to another department (`moved`, also when
  several departments returned its code and none is the ledger's); has it only
  under a new code, found by its name (`code_changed`: a guess is not
  published); or changed a funding row of its form by more than the tolerance
  (`budget_changed`: its targets were set against another amount; the old and
  new amounts are in the listing);
* with `allow_stale`, a `budget_changed` project is published all the same, with
  the ledger's amounts rather than the issued ones. The disclosure states the
  budget: an amount the budget no longer has would be published as true. The
  mismatch the clerk accepts is between those amounts and targets set against
  the earlier ones, and a 说明 row under the project's table says so, with both.

A department left with no project to publish is left out of the workbook.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from decimal import Decimal

from xltool.codes import (
    PUBLISH_BUDGET_CHANGED,
    PUBLISH_CODE_CHANGED,
    PUBLISH_MOVED,
    PUBLISH_WITHDRAWN,
    Reason,
)
from xltool.ledger import COLUMNS_BY_KEY, Ledger, LedgerProject
from xltool.matching import AmountChange, Pair, amounts_of, funding_changes, match
from xltool.money import TOLERANCE
from xltool.publish.gather import (
    Edition,
    MissingProject,
    PublishedDepartment,
    PublishedProject,
    StaleProject,
)


@dataclass(frozen=True, eq=False)
class _Returned:
    """A project of an accepted return, as the matching sees it."""

    department: PublishedDepartment
    project: PublishedProject

    @property
    def project_code(self) -> str:
        return self.project.code

    @property
    def project_name(self) -> str:
        return self.project.name

    @property
    def department_code(self) -> str:
        return self.department.code


_Verdict = PublishedProject | MissingProject
WITHDRAWN = "总账中已没有本项目编码（项目已撤销）"


def as_the_ledger_has_it(edition: Edition, book: Ledger, *, allow_stale: bool = False,
                         tolerance: Decimal = TOLERANCE) -> Edition:
    """EDITION with the names and amounts of BOOK, and without what BOOK no longer backs."""
    judge = _Judge(dict(book.departments), allow_stale, tolerance)
    returned = [_Returned(d, p) for d, p in edition.projects]
    verdicts = dict(judge.verdicts(book, returned))
    departments: list[PublishedDepartment] = []
    withheld: list[MissingProject] = []
    for department in edition.departments:
        mine = [verdicts[id(department), project.code] for project in department.projects]
        withheld += [verdict for verdict in mine if isinstance(verdict, MissingProject)]
        if kept := tuple(verdict for verdict in mine if isinstance(verdict, PublishedProject)):
            departments.append(replace(department, name=judge.department_name(department),
                                       projects=kept))
    # What gather found missing keeps its issued project names, under the department's now.
    issued = [replace(m, department=judge.names.get(m.department_code, m.department))
              for m in edition.missing]
    missing = sorted([*withheld, *issued], key=lambda m: m.department_code)
    return Edition(edition.year, tuple(departments), tuple(missing))


def stale_projects(edition: Edition) -> tuple[StaleProject, ...]:
    """The projects published under `allow_stale` although their funding changed."""
    return tuple(StaleProject(d.code, d.name, p.code, p.name, changes_said(p.changes),
                              p.changes)
                 for d, p in edition.projects if p.changes)


@dataclass(frozen=True)
class _Judge:
    """Decides, per returned project, what is published of it or why it is withheld."""

    names: dict[str, str]
    """The ledger's department names by code."""
    allow_stale: bool
    tolerance: Decimal

    def verdicts(self, book: Ledger, returned: list[_Returned]
                 ) -> Iterator[tuple[tuple[int, str], _Verdict]]:
        """Keyed by (id of the department, project code): codes are unique in a template."""
        matching = match(book.projects, returned)
        decided: dict[int, _Verdict] = {}
        for pair in matching.pairs:
            decided[id(pair.returned)] = self.verdict(pair)
        for project, items in matching.contested:
            for item in items:
                decided[id(item)] = self.withheld(item, PUBLISH_MOVED, (
                    f"总账中本项目属于{project.department}（{project.department_code}），"
                    f"{len(items)} 个部门的报送中都有本项目编码"))
        for item in returned:  # what the matching pairs with nothing is no longer in the ledger
            verdict = decided.get(id(item)) or self.withheld(item, PUBLISH_WITHDRAWN, WITHDRAWN)
            yield (id(item.department), item.project_code), verdict

    def verdict(self, pair: Pair[LedgerProject, _Returned]) -> _Verdict:
        project, item = pair.project, pair.returned
        if pair.moved:
            return self.withheld(item, PUBLISH_MOVED, f"总账中本项目已划转至{project.department}"
                                                      f"（{project.department_code}）")
        if pair.similarity is not None:
            return self.withheld(item, PUBLISH_CODE_CHANGED,
                                 f"总账中编码已改为“{project.code}”（项目名称“{project.name}”，"
                                 "按名称匹配）：请核对是否为同一项目，并重新下发模板")
        funding = (row.key for row in item.department.profile.funding)
        changes = funding_changes(amounts_of(project), item.project.amounts, funding,
                                  self.tolerance)
        if changes and not self.allow_stale:
            return MissingProject(item.department_code, self.department_name(item.department),
                                  item.project_code, project.name, PUBLISH_BUDGET_CHANGED.code,
                                  changes_said(changes), changes)
        return _published(item, project, changes)

    def withheld(self, item: _Returned, reason: Reason, detail: str) -> MissingProject:
        return MissingProject(item.department_code, self.department_name(item.department),
                              item.project_code, item.project_name, reason.code, detail)

    def department_name(self, department: PublishedDepartment) -> str:
        return self.names.get(department.code, department.name)


def _published(item: _Returned, project: LedgerProject,
               changes: tuple[AmountChange, ...]) -> PublishedProject:
    header = dict(item.project.header, project_name=project.name)
    for spec in item.department.profile.header:
        now = project.header_text(spec.key)
        # A field with choices the ledger leaves empty was the department's to fill in.
        if spec.source == "ledger" and (now or not spec.choices):
            header[spec.key] = now
    note = (f"本项目资金在绩效目标下发后已调整：{changes_said(changes)}。表中为调整后的金额，"
            "绩效目标是按调整前的金额制定的。") if changes else ""
    return replace(item.project, name=project.name, header=header,
                   amounts=amounts_of(project), changes=changes, note=note)


def changes_said(changes: tuple[AmountChange, ...]) -> str:
    """`年度资金总额由下发时的 10 万元调整为 12 万元（+2 万元）；财政拨款由…`."""
    return "；".join(c.said(COLUMNS_BY_KEY[c.key].header) for c in changes)
