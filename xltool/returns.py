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
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cached_property
from typing import Any, NamedTuple

from xlsxwriter.utility import quote_sheetname, xl_rowcol_to_cell

from xltool.findings import Finding, Severity
from xltool.profile import Category, FormProfile, load_profile
from xltool.reader import DEFAULT_LIMITS, Limits, XlsxContent, cell_text, rowcol
from xltool.store import IssuedCell, IssuedProject, IssuedTemplate, Store
from xltool.template.layout import FIELD_NAME, FIELD_VALUE, FIELD_WEIGHT, indicator_slot
from xltool.text import normalise_text
from xltool.values import TargetValue, parse_value

IDENTITY_PROPERTY = "xltool.template_id"
IDENTITY_NAME = "XT_TEMPLATE_ID"


@dataclass(frozen=True)
class ReturnedIndicator:
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

    @property
    def weight(self) -> Decimal | None:
        return decimal_or_none(self.weight_text)

    @cached_property
    def clean_name(self) -> str:
        return normalise_text(self.name)

    @cached_property
    def clean_value(self) -> str:
        return normalise_text(self.value)

    @cached_property
    def parsed(self) -> TargetValue:
        return parse_value(self.value)


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


@dataclass(frozen=True)
class ReadReturn:
    template: IssuedTemplate
    profile: FormProfile
    projects: tuple[ReturnedProject, ...]
    findings: tuple[Finding, ...]


class NotOurs(Exception):
    """The file is no template issued from this store (or one we no longer accept)."""

    def __init__(self, code: str, message: str, fix: str, department: str = "") -> None:
        super().__init__(message)
        self.code, self.message, self.fix, self.department = code, message, fix, department


# No amount or weight on a form has more digits before the point; a larger exponent
# (`1e999999999`) would overflow the arithmetic, or print as a billion digits.
MAX_ADJUSTED_EXPONENT = 15


def decimal_or_none(text: str) -> Decimal | None:
    try:
        number = Decimal(normalise_text(text).replace(",", ""))
    except InvalidOperation:
        return None
    if not number.is_finite() or number.adjusted() > MAX_ADJUSTED_EXPONENT:
        return None
    return number


def short(text: str, limit: int = 50) -> str:
    """TEXT for a message: a returned cell may hold a megabyte, a message should not."""
    return text if len(text) <= limit else text[:limit] + "…"


# -- identity ------------------------------------------------------------------------------


def identify(content: XlsxContent, store: Store,
             profiles: Callable[[str], FormProfile] = load_profile
             ) -> tuple[IssuedTemplate, FormProfile, list[Finding]]:
    """The issued template this file claims to be; the two identity places must agree."""
    from_property = content.properties.get(IDENTITY_PROPERTY, "").strip()
    from_name = content.defined_names.get(IDENTITY_NAME, "").strip().strip('"')
    claimed = from_property or from_name
    if not claimed:
        raise NotOurs("file.not_template", "文件不是财政部门下发的绩效目标模板（找不到模板编号）",
                      "请使用下发的模板填写后报送，不要新建或复制到新工作簿")
    findings = []
    if from_property != from_name:
        findings.append(Finding(
            code="file.identity_mismatch", severity=Severity.ERROR,
            value=f"{short(from_property) or '（无）'} / {short(from_name) or '（无）'}",
            message="模板编号在文件中的两处记录不一致，文件可能被改动或拼接",
            fix="请使用下发的原模板重新填写后报送"))
    template = store.template(claimed)
    if template is None:
        raise _unknown_template(claimed, content, store)
    profile = profiles(template.profile)
    if not profile.accepts_version(template.profile_version):
        raise NotOurs("file.profile_version",
                      f"模板使用的表式“{template.profile}”第{template.profile_version}版已停止受理",
                      "请向财政部门索取新版模板重新填写", template.department_code)
    return template, profile, findings


def _unknown_template(claimed: str, content: XlsxContent, store: Store) -> NotOurs:
    year = short(content.properties.get("xltool.year", ""), 20)
    department = short(content.properties.get("xltool.department", ""), 40)
    issued_years = {str(t.year) for t in store.templates()}
    if year and issued_years and year not in issued_years:
        return NotOurs("file.other_year", f"这是{year}年度的模板，不是本年度下发的模板",
                       "请使用本年度下发的模板填写", department)
    return NotOurs("file.unknown_template", f"模板编号“{claimed[:60]}”不是本存储下发的模板",
                   "请确认报送对象，或使用财政部门下发的模板", department)


# -- reading the forms ---------------------------------------------------------------------


class MappedCell(NamedTuple):
    """An issued cell with its position resolved once per template, not once per return."""

    cell: IssuedCell
    row: int
    col: int
    reference: str
    """Where its defined name must point: `'Sheet'!$C$12`."""


Slot = tuple[int, int, dict[str, IssuedCell]]
"""(category number, row, the slot's cells by field): one indicator row of a form."""


@dataclass(frozen=True)
class ProjectMap:
    project: IssuedProject
    locked: tuple[MappedCell, ...]
    inputs: tuple[MappedCell, ...]
    goal: IssuedCell | None
    slots: tuple[Slot, ...]
    first_cells: dict[str, str]
    last_row: int = 0
    last_col: int = 0
    """The form's last row and column (0-based): everything it holds lies within."""

    @classmethod
    def build(cls, project: IssuedProject, cells: list[MappedCell]) -> ProjectMap:
        inputs = tuple(m for m in cells if not m.cell.locked)
        slots: dict[tuple[int, int], dict[str, IssuedCell]] = defaultdict(dict)
        first_cells: dict[str, str] = {}
        for m in inputs:
            slot = indicator_slot(m.cell.name)
            if slot and m.cell.field in (FIELD_NAME, FIELD_VALUE, FIELD_WEIGHT):
                slots[(slot[1], slot[2])][m.cell.field] = m.cell
            if m.cell.field == FIELD_NAME:
                first_cells.setdefault(m.cell.category, m.cell.cell)
        return cls(
            project,
            tuple(m for m in cells if m.cell.locked and m.cell.field not in UNCHECKED_FIELDS),
            inputs,
            next((m.cell for m in inputs if m.cell.field == "goal"), None),
            tuple((number, row, fields) for (number, row), fields in sorted(slots.items())),
            first_cells,
            max((m.row for m in cells), default=0),
            max((m.col for m in cells), default=0),
        )


@dataclass(frozen=True)
class FormMap:
    """What collect needs of an issued template, compiled once and reused for every return."""

    template: IssuedTemplate
    projects: tuple[ProjectMap, ...]

    @classmethod
    def load(cls, store: Store, template: IssuedTemplate) -> FormMap:
        by_project: dict[str, list[MappedCell]] = defaultdict(list)
        for cell in store.template_cells(template.template_id):
            row, col = rowcol(cell.cell)
            reference = f"{_quoted(cell.sheet)}!{_absolute(cell.cell)}"
            by_project[cell.project_code].append(MappedCell(cell, row, col, reference))
        projects = tuple(ProjectMap.build(p, by_project[p.project_code])
                         for p in store.template_projects(template.template_id))
        return cls(template, projects)


@functools.lru_cache(maxsize=4096)
def _quoted(sheet: str) -> str:
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
    for mapped in form_map.projects:
        project = mapped.project
        if project.sheet not in content.sheets:
            findings.append(_missing_sheet(template, project))
            continue
        rows = content.values(project.sheet)
        findings += _structure_findings(content, rows, template, mapped)
        findings += _outside_findings(rows, template, mapped)
        projects.append(_read_project(content, rows, template, profile, mapped, findings,
                                      limits.max_text_chars))
    return ReadReturn(template, profile, tuple(projects), tuple(findings))


def _at(rows: list[list[Any]], mapped: MappedCell) -> Any:
    if mapped.row < len(rows) and mapped.col < len(rows[mapped.row]):
        value = rows[mapped.row][mapped.col]
        return None if value == "" else value
    return None


def _missing_sheet(template: IssuedTemplate, project: IssuedProject) -> Finding:
    return Finding(code="form.sheet_missing", severity=Severity.ERROR,
                   department=template.department_code, project=project.project_code,
                   sheet=project.sheet, value=project.sheet,
                   message=f"找不到项目“{project.project_name}”的工作表“{project.sheet}”（被删除或改名）",
                   fix="请使用下发的原模板重新填写，不要删除或重命名工作表")


def _structure_findings(content: XlsxContent, rows: list[list[Any]], template: IssuedTemplate,
                        mapped: ProjectMap) -> list[Finding]:
    project = mapped.project
    findings = []
    for locked in mapped.locked:
        found = _at(rows, locked)
        if found != locked.cell.value and not _same_locked(locked.cell, cell_text(found)):
            findings.append(_locked_changed(template, project, locked.cell, cell_text(found)))
    names = content.defined_names
    moved = [m.cell for m in mapped.inputs if m.cell.name and names.get(m.cell.name) != m.reference
             and not _name_points_at(content, m.cell)]
    if moved:
        first = moved[0]
        findings.append(Finding(
            code="form.structure_changed", severity=Severity.ERROR,
            department=template.department_code, project=project.project_code,
            sheet=project.sheet, cell=first.cell, value=first.name,
            message=f"表格结构被改动（插入或删除了行列），{len(moved)} 个填写单元格已不在原位置",
            fix="请使用下发的原模板重新填写，不要插入或删除行、列"))
    if not content.sheets[project.sheet].protected:
        findings.append(Finding(
            code="form.unprotected", severity=Severity.WARNING,
            department=template.department_code, project=project.project_code,
            sheet=project.sheet, message="工作表保护已被取消",
            fix="无需处理；锁定内容已逐格核对，如有改动会另行列出"))
    return findings


def _outside_findings(rows: list[list[Any]], template: IssuedTemplate,
                      mapped: ProjectMap) -> list[Finding]:
    """Text beyond the form is never read: say so, rather than drop it without a word."""
    filled = []
    for number, values in enumerate(rows):
        start = 0 if number > mapped.last_row else mapped.last_col + 1
        filled += [(number, col) for col, value in enumerate(values[start:], start)
                   if value is not None and value != ""]
    if not filled:
        return []
    project = mapped.project
    row, col = filled[0]
    return [Finding(
        code="form.outside_cells", severity=Severity.WARNING,
        department=template.department_code, project=project.project_code,
        sheet=project.sheet, cell=str(xl_rowcol_to_cell(row, col)),
        value=cell_text(rows[row][col])[:50],
        message=f"表格范围以外有 {len(filled)} 个单元格填写了内容，这些内容不会被读取",
        fix="需要报送的内容请填在表格内的相应栏目；表格外的内容请删除")]


def _same_locked(cell: IssuedCell, found: str) -> bool:
    if found == cell.value:
        return True
    if cell.field.startswith("funding."):
        issued, returned = decimal_or_none(cell.value), decimal_or_none(found)
        if issued is None or returned is None:
            return issued is None and found == ""
        return abs(issued - returned) < Decimal("0.000001")
    return normalise_text(found) == normalise_text(cell.value)


def _locked_changed(template: IssuedTemplate, project: IssuedProject, cell: IssuedCell,
                    found: str) -> Finding:
    return Finding(
        code="form.locked_changed", severity=Severity.ERROR,
        department=template.department_code, project=project.project_code,
        sheet=project.sheet, cell=cell.cell, value=short(found, 200),
        message=f"锁定内容被改动：原为“{short(cell.value)}”，现为“{short(found)}”",
        fix="锁定内容来自预算台账，不能修改；如确有错误请联系财政部门")


_REF = re.compile(r"^(?:'((?:[^']|'')+)'|([^!]+))!\$?([A-Z]+)\$?(\d+)$")


def _name_points_at(content: XlsxContent, cell: IssuedCell) -> bool:
    match = _REF.match(content.defined_names.get(cell.name, ""))
    if not match:
        return False
    sheet = (match[1] or "").replace("''", "'") or match[2]
    return sheet == cell.sheet and f"{match[3]}{match[4]}" == cell.cell


def _read_project(content: XlsxContent, rows: list[list[Any]], template: IssuedTemplate,
                  profile: FormProfile, mapped: ProjectMap, findings: list[Finding],
                  max_text: int) -> ReturnedProject:
    project = mapped.project
    formulas = content.sheets[project.sheet].formula_cells
    texts: dict[str, str] = {}
    for m in mapped.inputs:
        texts[m.cell.name] = cell_text(_at(rows, m))
        if len(texts[m.cell.name]) > max_text:
            findings.append(_too_long(template, project, m.cell, texts[m.cell.name], max_text))
            texts[m.cell.name] = texts[m.cell.name][:max_text]  # checked so, never accepted
        if m.cell.cell in formulas:
            findings.append(Finding(
                code="cell.formula", severity=Severity.WARNING,
                department=template.department_code, project=project.project_code,
                sheet=project.sheet, cell=m.cell.cell, value=short(texts[m.cell.name], 200),
                message="填写单元格中是公式，已按其计算结果读取",
                fix="请直接填写文字或数字，不要使用公式"))
    goal = mapped.goal
    return ReturnedProject(
        code=project.project_code, name=project.project_name, sheet=project.sheet,
        total=project.total, goal=texts.get(goal.name, "") if goal else "",
        goal_cell=goal.cell if goal else "",
        indicators=tuple(_indicators(profile, project, mapped.slots, texts)),
        first_cells=mapped.first_cells)


def _too_long(template: IssuedTemplate, project: IssuedProject, cell: IssuedCell, text: str,
              limit: int) -> Finding:
    return Finding(
        code="cell.too_long", severity=Severity.ERROR, department=template.department_code,
        project=project.project_code, sheet=project.sheet, cell=cell.cell,
        value=text[:50] + "…", message=f"填写内容过长（{len(text):,} 字，上限 {limit:,} 字）",
        fix="请精简为要点；详细材料请另行报送")


def _indicators(profile: FormProfile, project: IssuedProject, slots: tuple[Slot, ...],
                texts: dict[str, str]) -> list[ReturnedIndicator]:
    indicators = []
    for number, row, fields in slots:
        parts = {f: texts.get(c.name, "") for f, c in fields.items()}
        if not any(parts.values()):
            continue
        indicators.append(ReturnedIndicator(
            project_code=project.project_code, category=profile.categories[number - 1], row=row,
            name=parts.get(FIELD_NAME, ""), value=parts.get(FIELD_VALUE, ""),
            weight_text=parts.get(FIELD_WEIGHT, ""), sheet=project.sheet,
            name_cell=fields[FIELD_NAME].cell if FIELD_NAME in fields else "",
            value_cell=fields[FIELD_VALUE].cell if FIELD_VALUE in fields else "",
            weight_cell=fields[FIELD_WEIGHT].cell if FIELD_WEIGHT in fields else ""))
    return indicators
