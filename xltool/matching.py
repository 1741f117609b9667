"""Which row of the ledger now each returned project is: one answer for reconcile and publish.

The ledger keeps changing after the templates go out: budgets are adjusted,
projects withdrawn, moved between departments, renamed or given new codes.
`reconcile` reports what changed and `publish --ledger` acts on it; both ask
this module, so what reconcile says publish will do is what publish does.

It knows nothing of either stage, nor of the ledger's reader: a ledger row is
anything with a `code`, a `name` and a `department_code` (`LedgerRow`), a
returned project anything with a `project_code`, a `project_name` and the
`department_code` that returned it (`ReturnedRow`).

Decisions:

* Keys are normalised as everywhere (`normalise_key`: NFKC, no spaces). A code
  twice in the ledger (`Matching.repeated`) is matched with nothing.
* A code in the returns of several departments is matched only when exactly
  one of them is the department the ledger names; the others are then `stale`
  pairs (the project moved, and its new department returned it too). Otherwise
  the code is `contested`: matched with nothing.
* Name matching finds codes changed since issue. It runs only on what the code
  match left, only within one department (where a project name means something:
  two departments may both have a 办公经费), and one-to-one: first equal names
  that are unique on both sides, then `difflib.SequenceMatcher` ratio of the
  normalised names at least `NAME_SIMILARITY`, best first; a tie for either side
  matches neither. Above `MAX_NAME_PAIRS` candidate pairs in one department only
  equal names are matched, so the work stays linear. A pair matched by name has
  its `similarity` set, and is not `renamed`: its code changed.
* Amounts are `Decimal` in 万元 and differ when |ledger − issued| > tolerance
  (`funding_changes`), on the funding rows the form showed (its profile's): those
  are the amounts the department set its targets against. An empty optional
  amount is 0; an empty required one in the ledger is the ledger's problem, not
  a change.
"""

from __future__ import annotations

import difflib
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Generic, Protocol, TypeVar

from xltool.money import shown_wan
from xltool.profile import FUNDING_KEYS
from xltool.text import normalise_key

NAME_SIMILARITY = 0.75
"""difflib ratio from which two normalised names count as the same project."""
MAX_NAME_PAIRS = 250_000
"""Candidate pairs per department above which only equal names are matched."""
REQUIRED_AMOUNTS = frozenset({"total", "fiscal"})
"""Required ledger columns: empty means missing (a ledger problem), not 0."""


class LedgerRow(Protocol):
    """A project of the ledger as it is now."""

    @property
    def code(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def department_code(self) -> str: ...


class ReturnedRow(Protocol):
    """A project as issued on a template, and returned by the department it was issued to."""

    @property
    def project_code(self) -> str: ...

    @property
    def project_name(self) -> str: ...

    @property
    def department_code(self) -> str: ...


L = TypeVar("L", bound=LedgerRow)
R = TypeVar("R", bound=ReturnedRow)


@dataclass(frozen=True)
class Pair(Generic[L, R]):
    """A ledger row and the returned project it is now."""

    project: L
    returned: R
    similarity: float | None = None
    """Set when matched by name: the code changed."""
    stale: bool = False
    """Another department's copy of a project its own department returned too."""

    @property
    def moved(self) -> bool:
        """The project belongs to another department now than the one that returned it."""
        return self.stale or self.returned.department_code != self.project.department_code

    @property
    def renamed(self) -> bool:
        """Same code, another name (a pair matched by name is `code_changed` instead)."""
        return self.similarity is None and (normalise_key(self.returned.project_name)
                                            != normalise_key(self.project.name))


@dataclass(frozen=True)
class Matching(Generic[L, R]):
    pairs: list[Pair[L, R]]
    lone_projects: list[L]
    """Ledger rows with no returned project: new, or not returned."""
    lone_returned: list[R]
    """Returned projects with no ledger row: withdrawn."""
    repeated: dict[str, list[L]]
    """Codes the ledger holds twice, with their rows: matched with nothing."""
    contested: list[tuple[L, list[R]]]
    """A ledger row whose code several departments returned, none of them (or several)
    the ledger's department: matched with nothing."""


def match(projects: Iterable[L], returned: Sequence[R]) -> Matching[L, R]:
    """Pair the ledger's PROJECTS with the RETURNED projects: by code, then by name."""
    unique, repeated = _ledger_keys(projects)
    by_key: dict[str, list[R]] = defaultdict(list)
    for item in returned:
        by_key[normalise_key(item.project_code)].append(item)
    pairs: list[Pair[L, R]] = []
    contested: list[tuple[L, list[R]]] = []
    lone_returned: list[R] = []
    done: set[str] = set(repeated)
    for key, items in by_key.items():
        if key in repeated:
            continue  # the ledger must say first which row is the project
        project = unique.get(key)
        if project is None:
            lone_returned += items
            continue
        done.add(key)
        own = [r for r in items if r.department_code == project.department_code]
        if len(items) > 1 and len(own) != 1:
            contested.append((project, items))
            continue
        pairs += [Pair(project, r, stale=bool(own) and r is not own[0]) for r in items]
    lone_projects = [project for key, project in unique.items() if key not in done]
    named, lone_projects, lone_returned = _match_names(lone_projects, lone_returned)
    return Matching([*pairs, *named], lone_projects, lone_returned, repeated, contested)


def _ledger_keys(projects: Iterable[L]) -> tuple[dict[str, L], dict[str, list[L]]]:
    """Projects by code, and the codes the ledger repeats (never matched)."""
    groups: dict[str, list[L]] = {}
    for project in projects:
        if key := normalise_key(project.code):  # no code: the ledger reports it
            groups.setdefault(key, []).append(project)
    unique = {key: group[0] for key, group in groups.items() if len(group) == 1}
    return unique, {key: group for key, group in groups.items() if len(group) > 1}


def _match_names(projects: list[L], returned: list[R]
                 ) -> tuple[list[Pair[L, R]], list[L], list[R]]:
    """Pairs by name within each department; what stays unmatched on either side."""
    by_department: dict[str, tuple[list[L], list[R]]] = defaultdict(lambda: ([], []))
    for project in projects:
        by_department[project.department_code][0].append(project)
    for item in returned:
        by_department[item.department_code][1].append(item)
    pairs = [pair for ledger_side, returned_side in by_department.values()
             if ledger_side and returned_side for pair in _name_pairs(ledger_side, returned_side)]
    paired_projects = {id(pair.project) for pair in pairs}
    paired_returned = {id(pair.returned) for pair in pairs}
    return (pairs, [p for p in projects if id(p) not in paired_projects],
            [r for r in returned if id(r) not in paired_returned])


def _name_pairs(projects: list[L], returned: list[R]) -> list[Pair[L, R]]:
    names = [normalise_key(p.name) for p in projects]
    issued = [normalise_key(r.project_name) for r in returned]
    scored = sorted(_candidates(names, issued), key=lambda c: (-c[0], c[1], c[2]))
    pairs: list[Pair[L, R]] = []
    taken_projects: set[int] = set()
    taken_returned: set[int] = set()
    for ratio, group in _by_ratio(scored):
        open_ = [(i, j) for i, j in group if i not in taken_projects and j not in taken_returned]
        uses = Counter([("p", i) for i, _ in open_] + [("r", j) for _, j in open_])
        for i, j in open_:
            if uses["p", i] == 1 and uses["r", j] == 1:
                pairs.append(Pair(projects[i], returned[j], similarity=ratio))
            # A tie is ambiguous: neither side is matched, now or at a lower ratio.
            taken_projects.add(i)
            taken_returned.add(j)
    return pairs


def _candidates(names: list[str], issued: list[str]) -> Iterator[tuple[float, int, int]]:
    """(ratio, project, returned) of every pair similar enough; an empty name is like none."""
    if len(names) * len(issued) > MAX_NAME_PAIRS:
        where: dict[str, list[int]] = defaultdict(list)
        for j, name in enumerate(issued):
            where[name].append(j)
        yield from ((1.0, i, j) for i, name in enumerate(names) if name
                    for j in where.get(name, ()))
        return
    for i, name in enumerate(names):
        # SequenceMatcher caches what it learns about its second sequence: fix that one.
        matcher = difflib.SequenceMatcher(None, b=name, autojunk=False)
        for j, other in enumerate(issued):
            if not (name and other):
                continue
            matcher.set_seq1(other)
            if (matcher.real_quick_ratio() >= NAME_SIMILARITY
                    and matcher.quick_ratio() >= NAME_SIMILARITY
                    and (ratio := matcher.ratio()) >= NAME_SIMILARITY):
                yield ratio, i, j


def _by_ratio(scored: list[tuple[float, int, int]]
              ) -> Iterator[tuple[float, list[tuple[int, int]]]]:
    group: list[tuple[int, int]] = []
    for number, (ratio, i, j) in enumerate(scored):
        group.append((i, j))
        if number + 1 == len(scored) or scored[number + 1][0] != ratio:
            yield ratio, group
            group = []


# ---------------------------------------------------------------------------
# Amounts
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class AmountChange:
    """One funding row (`total`, `fiscal`, `other`, `carryover`) changed since issue, 万元."""

    key: str
    issued: Decimal
    ledger: Decimal

    @property
    def difference(self) -> Decimal:
        return self.ledger - self.issued

    def said(self, label: str) -> str:
        """`年度资金总额由下发时的 10 万元调整为 12 万元（+2 万元）`, LABEL naming the row."""
        sign = "+" if self.difference > 0 else ""
        return (f"{label}由下发时的 {shown_wan(self.issued)} 万元调整为 "
                f"{shown_wan(self.ledger)} 万元（{sign}{shown_wan(self.difference)} 万元）")


def amounts_of(record: object) -> dict[str, Decimal | None]:
    """A ledger row's or an issued project's funding amounts by key (`FUNDING_KEYS`)."""
    return {key: getattr(record, key) for key in FUNDING_KEYS}


def funding_changes(now: Mapping[str, Decimal | None], issued: Mapping[str, Decimal | None],
                    keys: Iterable[str], tolerance: Decimal) -> tuple[AmountChange, ...]:
    """The rows KEYS (the form's funding rows) whose ledger amount NOW differs from the ISSUED
    one by more than TOLERANCE."""
    changes = []
    for key in keys:
        ledger, then = now.get(key), issued.get(key)
        if ledger is None and key in REQUIRED_AMOUNTS:
            continue  # a missing required amount is a ledger problem, reported as such
        change = AmountChange(key, _zero(then), _zero(ledger))
        if abs(change.difference) > tolerance:
            changes.append(change)
    return tuple(changes)


def _zero(amount: Decimal | None) -> Decimal:
    return Decimal(0) if amount is None else amount
