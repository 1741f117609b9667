"""A return read against the template it was issued as.

The store's record of the issued template is the map and the authority: input
cells are read at the addresses recorded for them (their defined names must
still point there), and every locked cell must still hold its issued value.
Nothing inside the returned file is trusted as proof of that.
"""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from collections.abc import Callable, MutableMapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from itertools import chain, compress, repeat
from operator import add, itemgetter
from typing import Any, NamedTuple

from xlsxwriter.utility import quote_sheetname, xl_rowcol_to_cell

from xltool.codes import (
    CELL_ERROR_VALUE,
    CELL_FORMULA,
    CELL_TOO_LONG,
    ERROR_VALUE_MEANINGS,
    FILE_IDENTITY_MISMATCH,
    FILE_NOT_TEMPLATE,
    FILE_OTHER_YEAR,
    FILE_PROFILE_VERSION,
    FILE_UNKNOWN_TEMPLATE,
    FORM_LOCKED_CHANGED,
    FORM_OUTSIDE_CELLS,
    FORM_SHEET_MISSING,
    FORM_STRUCTURE_CHANGED,
    FORM_UNPROTECTED,
)
from xltool.collect.cells import rowcol
from xltool.collect.reader import XlsxContent
from xltool.errors import NotOurs
from xltool.findings import Finding
from xltool.limits import DEFAULT_LIMITS, Limits
from xltool.names import (
    DEPARTMENT,
    FIELD_NAME,
    FIELD_VALUE,
    FIELD_WEIGHT,
    TEMPLATE_ID,
    YEAR,
    identity_name,
    identity_property,
    indicator_slot,
)
from xltool.profile import Category, FormProfile
from xltool.store import (
    IssuedCell,
    IssuedForm,
    IssuedProject,
    IssuedTemplate,
    LayoutKey,
    Store,
)
from xltool.text import cell_text, normalise_text
from xltool.values import TargetValue, parse_value

IDENTITY_PROPERTY = identity_property(TEMPLATE_ID)
IDENTITY_NAME = identity_name(TEMPLATE_ID)


class ReturnedIndicator(NamedTuple):
    """One filled indicator row of a return (a named tuple: a return has dozens)."""

    project_code: str
    category: Category
    row: int
    name: str
    value: str
    weight_text: str
    sheet: str
    name_cell: str
    value_cell: str
    weight_cell: str
    raw: str | None = None
    """What the value cell holds when it holds no text (a number, date, time or boolean), as
    `cell_text` writes it (`0.95`); `value` is the text it shows (`95%`)."""

    @property
    def weight(self) -> Decimal | None:
        return decimal_or_none(self.weight_text)

    @property
    def clean_name(self) -> str:
        return normalised(self.name)

    @property
    def clean_value(self) -> str:
        return normalised(self.value)


# The rules ask about every indicator several times, and the same short texts (`≥95%`,
# `数量指标：…`) recur across a year's returns: each is worked out once. Long texts are
# few and not remembered, so the memory stays small whatever the returns hold.
_REMEMBERED_LENGTH = 100


@functools.lru_cache(maxsize=8192)
def _normalised_short(text: str) -> str:
    return normalise_text(text)


@functools.lru_cache(maxsize=8192)
def _parsed_short(text: str) -> TargetValue:
    return parse_value(text)


def normalised(text: str) -> str:
    """`normalise_text` of a returned cell's text."""
    return _normalised_short(text) if len(text) <= _REMEMBERED_LENGTH else normalise_text(text)


def parsed_value(text: str) -> TargetValue:
    """`parse_value` of a returned cell's text (a TargetValue is immutable: safe to share)."""
    return _parsed_short(text) if len(text) <= _REMEMBERED_LENGTH else parse_value(text)


@dataclass(frozen=True)
class ReturnedProject:
    code: str
    name: str
    sheet: str
    total: Decimal | None
    goal: str
    goal_cell: str
    indicators: tuple[ReturnedIndicator, ...]
    first_cells: dict[str, str]
    """Per 二级 category, the first input cell of its block (for pointing at an empty block)."""
    raw_values: dict[str, str] = field(default_factory=dict)
    """By cell, what each input cell holding no text holds (`0.95`), as `cell_text` writes
    it: the texts above are what such a cell shows (`95%`)."""


@dataclass(frozen=True)
class ReadReturn:
    template: IssuedTemplate
    profile: FormProfile
    projects: tuple[ReturnedProject, ...]
    findings: tuple[Finding, ...]


# No amount or weight on a form has more digits before the point; a larger exponent
# (`1e999999999`) would overflow the arithmetic, or print as a billion digits.
MAX_ADJUSTED_EXPONENT = 15


def decimal_or_none(text: str) -> Decimal | None:
    if not text:
        return None
    try:
        number = Decimal(normalised(text).replace(",", ""))  # weights recur: folded once
    except InvalidOperation:
        return None
    if not number.is_finite() or number.adjusted() > MAX_ADJUSTED_EXPONENT:
        return None
    return number


def short(text: str, limit: int = 50) -> str:
    """TEXT for a message: a returned cell may hold a megabyte, a message should not."""
    return text if len(text) <= limit else text[:limit] + "…"


# -- identity ------------------------------------------------------------------------------


def identify_form(content: XlsxContent, store: Store,
                  known: MutableMapping[str, FormMap] | None = None
                  ) -> tuple[FormMap, FormProfile, list[Finding]]:
    """The issued template this file claims to be (the two identity places must agree), as
    its map, from one query of the store, and the profile it was issued with.

    KNOWN keeps the maps by template: a batch often holds several files of one template."""
    claimed, findings = _claimed(content)
    form_map = known.get(claimed) if known is not None else None
    if form_map is not None:
        return form_map, form_map.profile, findings
    issued = store.issued_form(claimed)
    if issued is None:
        raise _unknown_template(claimed, content, store)
    form_map = FormMap.of(issued, _accepted_profile(issued))
    if known is not None:
        known[claimed] = form_map
    return form_map, form_map.profile, findings


def _claimed(content: XlsxContent) -> tuple[str, list[Finding]]:
    """The template number the file claims, with a finding when its two places disagree."""
    from_property = content.properties.get(IDENTITY_PROPERTY, "").strip()
    from_name = content.defined_names.get(IDENTITY_NAME, "").strip().strip('"')
    claimed = from_property or from_name
    if not claimed:
        raise NotOurs(FILE_NOT_TEMPLATE)
    findings = []
    if from_property != from_name:
        findings.append(FILE_IDENTITY_MISMATCH.finding(
            value=f"{short(from_property) or '（无）'} / {short(from_name) or '（无）'}"))
    return claimed, findings


def _accepted_profile(issued: IssuedForm) -> FormProfile:
    """The profile the template was issued with. A store migrated from before profiles were
    kept may hold none for it: its returns cannot be checked, which is said of each file."""
    template, profile = issued.template, issued.profile
    if profile is None or not profile.accepts_version(template.profile_version):
        raise NotOurs(FILE_PROFILE_VERSION, {"profile": template.profile,
                                             "version": template.profile_version},
                      template.department_code)
    return profile


def _unknown_template(claimed: str, content: XlsxContent, store: Store) -> NotOurs:
    year = short(content.properties.get(identity_property(YEAR), ""), 20)
    department = short(content.properties.get(identity_property(DEPARTMENT), ""), 40)
    issued_years = {str(t.year) for t in store.templates()}
    if year and issued_years and year not in issued_years:
        return NotOurs(FILE_OTHER_YEAR, {"year": year}, department)
    return NotOurs(FILE_UNKNOWN_TEMPLATE, {"claimed": claimed[:60]}, department)


# -- reading the forms ---------------------------------------------------------------------


class LayoutCell(NamedTuple):
    """A cell of a form as every template of one layout has it. Its issued value and its
    sheet's name differ from template to template, so they are not here: the value is at
    `position` in the template's values, the sheet at `sheet` in its sheets."""

    position: int
    sheet: int
    cell: str
    row: int
    col: int
    absolute: str
    """`$C$12`: where the cell's defined name must point, on its sheet."""
    locked: bool
    name: str
    field: str
    category: str


class Slot(NamedTuple):
    """One indicator row of a form: its category's number, its row, and its input cells."""

    number: int
    row: int
    name: LayoutCell | None
    value: LayoutCell | None
    weight: LayoutCell | None


@dataclass(frozen=True)
class ProjectLayout:
    """One project's form in a layout: which cells are checked, read, and where the form ends."""

    locked: tuple[LayoutCell, ...]
    inputs: tuple[LayoutCell, ...]
    goal: LayoutCell | None
    slots: tuple[Slot, ...]
    first_cells: dict[str, str]
    """Per 二级 category, the first input cell of its block (for pointing at an empty block)."""
    last_row: int
    last_col: int
    """The form's last row and column (0-based): everything it holds lies within."""
    locked_at: tuple[tuple[int, int], ...]
    locked_positions: tuple[int, ...]
    inputs_at: tuple[tuple[int, int], ...]
    named: tuple[LayoutCell, ...]
    named_names: tuple[str, ...]
    named_at: tuple[tuple[int, str], ...]
    """The same cells as columns, to be compared whole: (row, column) of the locked cells and
    where their issued values are; (row, column) of the inputs; the inputs with a name,
    their names, and (sheet, `$C$12`) where each name must point."""

    @classmethod
    def build(cls, cells: list[LayoutCell]) -> ProjectLayout:
        inputs = tuple(c for c in cells if not c.locked)
        slots: dict[tuple[int, int], dict[str, LayoutCell]] = defaultdict(dict)
        first_cells: dict[str, str] = {}
        for c in inputs:
            slot = indicator_slot(c.name)
            if slot and c.field in (FIELD_NAME, FIELD_VALUE, FIELD_WEIGHT):
                slots[(slot[1], slot[2])][c.field] = c
            if c.field == FIELD_NAME:
                first_cells.setdefault(c.category, c.cell)
        locked = tuple(c for c in cells if c.locked and c.field not in UNCHECKED_FIELDS)
        named = tuple(c for c in inputs if c.name)
        return cls(
            locked,
            inputs,
            next((c for c in inputs if c.field == "goal"), None),
            tuple(Slot(number, row, fields.get(FIELD_NAME), fields.get(FIELD_VALUE),
                       fields.get(FIELD_WEIGHT))
                  for (number, row), fields in sorted(slots.items())),
            first_cells,
            max((c.row for c in cells), default=0),
            max((c.col for c in cells), default=0),
            tuple((c.row, c.col) for c in locked),
            tuple(c.position for c in locked),
            tuple((c.row, c.col) for c in inputs),
            named,
            tuple(c.name for c in named),
            tuple((c.sheet, c.absolute) for c in named),
        )

    @functools.cached_property
    def plan(self) -> ReadPlan:
        """How the form is read (see `ReadPlan`), worked out on first use."""
        return ReadPlan(self)


Getter = Callable[[Sequence[Any]], tuple[Any, ...]]


def _getter(indices: Sequence[int]) -> Getter:
    """`itemgetter`, always giving a tuple (of one index it gives the bare item)."""
    return itemgetter(*indices) if len(indices) > 1 else functools.partial(_few, tuple(indices))


def _few(indices: tuple[int, ...], values: Sequence[Any]) -> tuple[Any, ...]:
    return tuple(values[index] for index in indices)


class ReadPlan:
    """How a layout's cells are read from a sheet's values, worked out once per layout
    (every template of the layout shares it): each group of cells is picked, converted
    and compared whole, so a cell costs no step of Python unless something differs.

    The cells are picked locked text cells first, then the locked amounts (a return holds
    an amount as a number, the store as text: they compare by how they read), then the
    inputs. A slot's cells are read from the inputs' texts as a name is read (the last input
    of that name), a cell the form lacks at `len(inputs)`, one past them."""

    def __init__(self, layout: ProjectLayout) -> None:
        amounts = [n for n, c in enumerate(layout.locked) if c.field.startswith("funding.")]
        order = [n for n in range(len(layout.locked)) if n not in amounts] + amounts
        self.at = (*(layout.locked_at[n] for n in order), *layout.inputs_at)
        self.height = max((row for row, _ in self.at), default=-1) + 1
        self.breadth = max((col for _, col in self.at), default=-1) + 1
        self.texts = len(order) - len(amounts)
        self.locked = len(order)
        self.issued_texts = _getter([layout.locked_positions[n] for n in order[:self.texts]])
        self.issued_amounts = _getter([layout.locked_positions[n] for n in amounts])
        self.in_layout_order = _getter(sorted(range(len(order)), key=order.__getitem__))
        read_at = {c.name: number for number, c in enumerate(layout.inputs)}
        missing = len(layout.inputs)

        def at_input(cell: LayoutCell | None) -> int:
            return read_at.get(cell.name, missing) if cell else missing

        self.goal = at_input(layout.goal)
        self.slot_names = _getter([at_input(s.name) for s in layout.slots])
        self.slot_values = _getter([at_input(s.value) for s in layout.slots])
        self.slot_weights = _getter([at_input(s.weight) for s in layout.slots])
        self.slot_rows = tuple(s.row for s in layout.slots)
        self.name_cells = tuple(s.name.cell if s.name else "" for s in layout.slots)
        self.value_cells = tuple(s.value.cell if s.value else "" for s in layout.slots)
        self.weight_cells = tuple(s.weight.cell if s.weight else "" for s in layout.slots)
        self.numbers = tuple(s.number for s in layout.slots)
        self._widths: dict[int, Getter] = {}
        self._categories: dict[int, tuple[FormProfile, tuple[Category, ...] | None]] = {}

    def picker(self, width: int) -> Getter:
        """A getter of the cells from the sheet's rows laid end to end, WIDTH cells each."""
        found = self._widths.get(width)
        if found is None:
            if len(self._widths) >= 16:
                self._widths.clear()
            found = self._widths[width] = _getter([row * width + col for row, col in self.at])
        return found

    def categories(self, profile: FormProfile) -> tuple[Category, ...] | None:
        """Each slot's category in PROFILE; None when a slot's number is not one of its
        categories (a profile changed since): then only a filled slot's is looked up."""
        known = self._categories.get(id(profile))
        if known is None or known[0] is not profile:  # kept, the profile's id stays its own
            if len(self._categories) >= 8:
                self._categories.clear()
            try:
                found = tuple(profile.categories[number - 1] for number in self.numbers)
            except IndexError:
                found = None
            known = self._categories[id(profile)] = (profile, found)
        return known[1]


def compiled_layout(key: LayoutKey) -> tuple[ProjectLayout, ...]:
    """Per form, in project order, its layout (see `layout_key`)."""
    cells, locked, names, fields, categories, sheets, groups, forms = key
    by_group: dict[int, list[LayoutCell]] = defaultdict(list)
    for position, ref in enumerate(cells):
        row, col = rowcol(ref)
        by_group[groups[position]].append(LayoutCell(
            position, sheets[position], ref, row, col, _absolute(ref), locked[position],
            names[position], fields[position], categories[position]))
    return tuple(ProjectLayout.build(by_group.get(group, []) if group is not None else [])
                 for group in forms)


class _Layouts:
    """Compiled layouts by fingerprint: a year's templates of one profile share a few, so
    each is compiled once and every return of those templates reuses it."""

    def __init__(self, most: int = 64) -> None:
        self.most = most
        self.compiled: dict[str, tuple[ProjectLayout, ...]] = {}

    def of(self, fingerprint: str, key: LayoutKey) -> tuple[ProjectLayout, ...]:
        """The layout KEY compiled, known by its FINGERPRINT (as the store names it)."""
        compiled = self.compiled.get(fingerprint)
        if compiled is None:
            if len(self.compiled) >= self.most:
                self.compiled.clear()
            compiled = self.compiled[fingerprint] = compiled_layout(key)
        return compiled


LAYOUTS = _Layouts()


@dataclass(frozen=True)
class ProjectMap:
    """One project's form of one template: its layout, with this template's values and sheets."""

    project: IssuedProject
    layout: ProjectLayout
    sheets: tuple[str, ...]
    values: tuple[str, ...]
    quoted_sheets: tuple[str, ...]
    """Each sheet as a reference names it, with its `!`: `'01 项目'!`."""

    def issued(self, cell: LayoutCell) -> IssuedCell:
        return IssuedCell(self.project.template_id, self.sheets[cell.sheet], cell.cell,
                          cell.locked, cell.name, self.project.project_code, cell.field,
                          cell.category, self.values[cell.position])


@dataclass(frozen=True)
class FormMap:
    """What collect needs of an issued template: its layout, compiled once per layout, with
    the template's own values, and the profile its returns are checked by."""

    template: IssuedTemplate
    profile: FormProfile
    projects: tuple[ProjectMap, ...]

    @classmethod
    def of(cls, issued: IssuedForm, profile: FormProfile) -> FormMap:
        """The map of what was ISSUED, its returns checked by PROFILE."""
        layouts = LAYOUTS.of(issued.layout, issued.key)
        sheets, values = issued.sheets, issued.values
        quoted = tuple(f"{_quoted(sheet)}!" for sheet in sheets)
        return cls(issued.template, profile, tuple(
            ProjectMap(project, layout, sheets, values, quoted)
            for project, layout in zip(issued.projects, layouts, strict=True)))


@functools.lru_cache(maxsize=4096)
def _quoted(sheet: str) -> str:
    # A project's sheet has a space, which always needs the quotes: known without the
    # rules quote_sheetname works through for every name.
    if " " in sheet and not sheet.startswith("'"):
        return "'" + sheet.replace("'", "''") + "'"
    return str(quote_sheetname(sheet))


@functools.lru_cache(maxsize=65536)
def _absolute(ref: str) -> str:
    row, col = rowcol(ref)
    return str(xl_rowcol_to_cell(row, col, row_abs=True, col_abs=True))


# A formula's cached result changes legitimately as the department types.
UNCHECKED_FIELDS = frozenset({"weight.total"})


def read_return(content: XlsxContent, form_map: FormMap, profile: FormProfile,
                limits: Limits = DEFAULT_LIMITS) -> ReadReturn:
    template = form_map.template
    findings: list[Finding] = []
    projects = []
    content.prepare(p.project.sheet for p in form_map.projects if p.project.sheet in content.sheets)
    for mapped in form_map.projects:
        project = mapped.project
        if project.sheet not in content.sheets:
            findings.append(_missing_sheet(template, project))
            continue
        rows = content.values(project.sheet)
        cells, width = _picked(rows, mapped.layout.plan)
        findings += _structure_findings(content, cells, template, mapped)
        findings += _outside_findings(rows, width, template, mapped)
        projects.append(_read_project(content, cells, template, profile, mapped, findings,
                                      limits.max_text_chars))
    return ReadReturn(template, profile, tuple(projects), tuple(findings))


def _picked(rows: list[list[Any]], plan: ReadPlan) -> tuple[tuple[Any, ...], int | None]:
    """The values of the cells in the plan's order (`""` or None where a cell is empty or
    beyond the sheet), and the sheet's width when all its rows have one.

    The value reader gives a rectangle; when it covers the form, no cell needs a bounds test.
    """
    widths = set(map(len, rows))
    width = widths.pop() if len(widths) == 1 else None
    if width is not None and len(rows) >= plan.height and width >= plan.breadth:
        return plan.picker(width)(list(chain.from_iterable(rows[:plan.height]))), width
    return tuple(rows[row][col] if row < len(rows) and col < len(rows[row]) else None
                 for row, col in plan.at), width


def _missing_sheet(template: IssuedTemplate, project: IssuedProject) -> Finding:
    return FORM_SHEET_MISSING.finding(
        {"project": project.project_name, "sheet": project.sheet},
        department=template.department_code, project=project.project_code,
        sheet=project.sheet, value=project.sheet)


def _structure_findings(content: XlsxContent, cells: tuple[Any, ...], template: IssuedTemplate,
                        mapped: ProjectMap) -> list[Finding]:
    """CELLS: the values `_picked`."""
    project, values, layout = mapped.project, mapped.values, mapped.layout
    plan = layout.plan
    findings = []
    found = cells[:plan.locked]
    if found[:plan.texts] != plan.issued_texts(values) or \
            tuple(map(cell_text, found[plan.texts:])) != plan.issued_amounts(values):
        issued = list(map(values.__getitem__, layout.locked_positions))
        for locked, value, text in zip(layout.locked, plan.in_layout_order(found), issued,
                                       strict=True):
            if value != text and not _same_locked(locked.field, text, cell_text(value)):
                findings.append(_locked_changed(template, project, mapped.issued(locked),
                                                cell_text(value)))
    names, sheets = content.defined_names, mapped.quoted_sheets
    pointing = list(map(names.get, layout.named_names))
    if pointing != [sheets[sheet] + absolute for sheet, absolute in layout.named_at]:
        moved = [m for m in layout.named
                 if names.get(m.name) != sheets[m.sheet] + m.absolute
                 and not _name_points_at(content, mapped.issued(m))]
    else:
        moved = []
    if moved:
        first = moved[0]
        findings.append(FORM_STRUCTURE_CHANGED.finding(
            {"count": len(moved)}, department=template.department_code,
            project=project.project_code, sheet=project.sheet, cell=first.cell,
            value=first.name))
    if not content.sheets[project.sheet].protected:
        findings.append(FORM_UNPROTECTED.finding(
            department=template.department_code, project=project.project_code,
            sheet=project.sheet))
    return findings


def _outside_findings(rows: list[list[Any]], width: int | None, template: IssuedTemplate,
                      mapped: ProjectMap) -> list[Finding]:
    """Text beyond the form is never read: say so, rather than drop it without a word.
    WIDTH: the rows' one length, if they have one."""
    last_row, last_col = mapped.layout.last_row, mapped.layout.last_col
    if len(rows) <= last_row + 1 and width is not None and width <= last_col + 1:
        return []
    filled = []
    for number, values in enumerate(rows):
        start = 0 if number > last_row else last_col + 1
        if len(values) > start:
            filled += [(number, col) for col, value in enumerate(values[start:], start)
                       if value is not None and value != ""]
    if not filled:
        return []
    project = mapped.project
    row, col = filled[0]
    return [FORM_OUTSIDE_CELLS.finding(
        {"count": len(filled)}, department=template.department_code,
        project=project.project_code, sheet=project.sheet,
        cell=str(xl_rowcol_to_cell(row, col)), value=cell_text(rows[row][col])[:50])]


def _same_locked(field: str, issued: str, found: str) -> bool:
    if found == issued:
        return True
    if field.startswith("funding."):
        issued_number, returned = decimal_or_none(issued), decimal_or_none(found)
        if issued_number is None or returned is None:
            return issued_number is None and found == ""
        return abs(issued_number - returned) < Decimal("0.000001")
    return normalise_text(found) == normalise_text(issued)


def _locked_changed(template: IssuedTemplate, project: IssuedProject, cell: IssuedCell,
                    found: str) -> Finding:
    return FORM_LOCKED_CHANGED.finding(
        {"issued": short(cell.value), "found": short(found)},
        department=template.department_code, project=project.project_code,
        sheet=project.sheet, cell=cell.cell, value=short(found, 200))


_REF = re.compile(r"^(?:'((?:[^']|'')+)'|([^!]+))!\$?([A-Z]+)\$?(\d+)$")


def _name_points_at(content: XlsxContent, cell: IssuedCell) -> bool:
    match = _REF.match(content.defined_names.get(cell.name, ""))
    if not match:
        return False
    sheet = (match[1] or "").replace("''", "'") or match[2]
    return sheet == cell.sheet and f"{match[3]}{match[4]}" == cell.cell


def _read_project(content: XlsxContent, cells: tuple[Any, ...], template: IssuedTemplate,
                  profile: FormProfile, mapped: ProjectMap, findings: list[Finding],
                  max_text: int) -> ReturnedProject:
    """CELLS: the values `_picked`."""
    project, layout = mapped.project, mapped.layout
    plan = layout.plan
    sheet = content.sheets[project.sheet]
    formulas = sheet.formula_cells
    values = cells[plan.locked:]
    raws: dict[int, str] = {}
    try:  # text cells, nearly all, are only trimmed (`str.strip` trims the full-width space)
        texts = list(map(str.strip, values))
    except TypeError:  # a number, a date, a cell beyond the sheet
        texts, raws = _shown_texts(content, project.sheet, layout.inputs, values)
    if sheet.error_cells:
        findings += _error_findings(template, project, layout.inputs, texts, sheet.error_cells)
    # No text is too long when all of them together are not.
    if formulas or (len("".join(texts)) > max_text and max(map(len, texts)) > max_text):
        findings += _input_findings(template, project, layout.inputs, texts, formulas, max_text)
    texts.append("")  # what a cell the form lacks reads as
    goal = layout.goal
    return ReturnedProject(
        code=project.project_code, name=project.project_name, sheet=project.sheet,
        total=project.total, goal=texts[plan.goal] if goal else "",
        goal_cell=goal.cell if goal else "",
        indicators=_indicators(profile, project, layout, texts, raws),
        first_cells=layout.first_cells,
        raw_values={layout.inputs[n].cell: raw for n, raw in raws.items()})


def _shown_texts(content: XlsxContent, sheet: str, inputs: tuple[LayoutCell, ...],
                 values: tuple[Any, ...]) -> tuple[list[str], dict[int, str]]:
    """Each input's text, a number (date, time, boolean) as its cell shows it by its number
    format (`0.95` formatted `0%` reads `95%`); and, by input, what each of those holds."""
    texts = list(map(cell_text, values))
    held = {inputs[n].cell: value for n, value in enumerate(values)
            if value is not None and value.__class__ is not str}
    if not held:
        return texts, {}
    shown = content.shown(sheet, held)
    raws = {}
    for n, cell in enumerate(inputs):
        if cell.cell in held:
            raws[n] = texts[n]
            texts[n] = shown[cell.cell].strip()
    return texts, raws


def _error_findings(template: IssuedTemplate, project: IssuedProject,
                    inputs: tuple[LayoutCell, ...], texts: list[str],
                    errors: dict[str, str]) -> list[Finding]:
    """Input cells showing an error value (read as the error they show, `#N/A`: not as an
    empty cell, which the value reader makes of them)."""
    findings = []
    for n, cell in enumerate(inputs):
        error = errors.get(cell.cell)
        if error is None:
            continue
        texts[n] = error
        findings.append(CELL_ERROR_VALUE.finding(
            {"error": error, "meaning": ERROR_VALUE_MEANINGS.get(error, "公式出错")},
            department=template.department_code, project=project.project_code,
            sheet=project.sheet, cell=cell.cell, value=short(error)))
    return findings


def _input_findings(template: IssuedTemplate, project: IssuedProject,
                    inputs: tuple[LayoutCell, ...], texts: list[str],
                    formulas: frozenset[str], max_text: int) -> list[Finding]:
    """Input cells too long (cut to the limit in TEXTS: checked so, never accepted) or
    holding a formula."""
    findings = []
    for number, m in enumerate(inputs):
        if len(texts[number]) > max_text:
            findings.append(_too_long(template, project, m, texts[number], max_text))
            texts[number] = texts[number][:max_text]
        if m.cell in formulas:
            findings.append(CELL_FORMULA.finding(
                department=template.department_code, project=project.project_code,
                sheet=project.sheet, cell=m.cell, value=short(texts[number], 200)))
    return findings


def _too_long(template: IssuedTemplate, project: IssuedProject, cell: LayoutCell, text: str,
              limit: int) -> Finding:
    return CELL_TOO_LONG.finding(
        {"length": len(text), "limit": limit}, department=template.department_code,
        project=project.project_code, sheet=project.sheet, cell=cell.cell,
        value=text[:50] + "…")


_indicator = functools.partial(tuple.__new__, ReturnedIndicator)


def _indicators(profile: FormProfile, project: IssuedProject, layout: ProjectLayout,
                texts: list[str], raws: dict[int, str]) -> tuple[ReturnedIndicator, ...]:
    """The filled slots' indicators. TEXTS: the inputs' texts, and a missing cell's last;
    RAWS: by input, what an input holding no text holds.

    Made column by column (all names, all values, all weights; the filled slots kept),
    not slot by slot: a return has dozens of slots, and steps of Python per slot were
    most of the cost of reading it."""
    plan = layout.plan
    names, values = plan.slot_names(texts), plan.slot_values(texts)
    weights = plan.slot_weights(texts)
    filled = map(add, map(add, names, values), weights)  # empty only when all three are
    raw_values = plan.slot_values([raws.get(n) for n in range(len(texts))]) if raws \
        else (None,) * len(plan.slot_rows)
    categories = plan.categories(profile)
    if categories is None:
        return tuple(_indicator((project.project_code, profile.categories[slot.number - 1],
                                 slot.row, name, value, weight, project.sheet,
                                 slot.name.cell if slot.name else "",
                                 slot.value.cell if slot.value else "",
                                 slot.weight.cell if slot.weight else "", raw))
                     for slot, name, value, weight, raw in compress(
                         zip(layout.slots, names, values, weights, raw_values, strict=True),
                         filled))
    return tuple(map(_indicator, compress(zip(
        repeat(project.project_code), categories, plan.slot_rows, names, values, weights,
        repeat(project.sheet), plan.name_cells, plan.value_cells, plan.weight_cells,
        raw_values), filled)))
