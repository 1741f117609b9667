"""Rendering a department's plan into one protected, guided xlsx workbook.

The layout decides what goes where (`layout.py`); this module decides how it
looks and behaves in Excel: formats, merged cells, validations with input
messages, conditional highlights, protection, print setup, defined names and
the identity properties.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from functools import lru_cache
from itertools import groupby
from operator import itemgetter
from pathlib import Path
from typing import Any

from xlsxwriter.utility import quote_sheetname, xl_rowcol_to_cell

from xltool.atomic import written_whole
from xltool.errors import FrameMismatch
from xltool.money import AMOUNT_FORMAT
from xltool.names import identity_name, identity_property
from xltool.profile import Category, FormProfile
from xltool.tables import FONT, Page, print_page
from xltool.template.cover import write_cover
from xltool.template.layout import LANDSCAPE, Cell, ProjectForm
from xltool.template.plan import DepartmentPlan
from xltool.template.stamp import Formula, SheetFrame, StampedSheet, frame_of
from xltool.text import excel_cut
from xltool.xlsxout import check, define_names, new_workbook, strict

INPUT_FILL = "#FFF7D6"
WARNING_FILL = "#FFC7CE"
LABEL_FILL = "#EEF3F8"
LISTS_SHEET = "下拉选项"

_STYLES: dict[str, dict[str, Any]] = {
    "title": {"bold": True, "font_size": 16, "align": "center", "valign": "vcenter"},
    "note": {"font_size": 10, "valign": "vcenter", "text_wrap": True},
    "note_right": {"font_size": 10, "align": "right", "valign": "vcenter"},
    "label": {"bold": True, "border": 1, "valign": "vcenter", "text_wrap": True,
              "bg_color": LABEL_FILL},
    "label_center": {"bold": True, "border": 1, "align": "center", "valign": "vcenter",
                     "text_wrap": True, "bg_color": LABEL_FILL},
    "ledger_text": {"border": 1, "valign": "vcenter", "text_wrap": True},
    "amount": {"border": 1, "valign": "vcenter", "align": "left", "num_format": AMOUNT_FORMAT},
    "input_text": {"border": 1, "valign": "top", "text_wrap": True, "locked": False,
                   "bg_color": INPUT_FILL},
    "input_name": {"border": 1, "valign": "vcenter", "text_wrap": True, "locked": False,
                   "bg_color": INPUT_FILL},
    "input_value": {"border": 1, "valign": "vcenter", "text_wrap": True, "locked": False,
                    "bg_color": INPUT_FILL, "num_format": "@"},
    "input_weight": {"border": 1, "valign": "vcenter", "align": "center", "locked": False,
                     "bg_color": INPUT_FILL, "num_format": "0.##"},
    "total": {"bold": True, "border": 1, "align": "center", "valign": "vcenter",
              "num_format": "0.##"},
    "warning": {"bg_color": WARNING_FILL, "font_color": "#9C0006"},
}

PROTECTION = {
    "select_locked_cells": True,
    "select_unlocked_cells": True,
    "format_rows": True,
    "format_columns": True,
}


def write_workbook(plan: DepartmentPlan, path: Path, password: str, *,
                   stamped: bool = True) -> None:
    """The workbook at PATH, complete or not at all (a clerk may email whatever is there).
    `stamped=False` writes every form through xlsxwriter's API: the same bytes, slower."""
    def write(draft: Path) -> None:
        with strict():
            _write_workbook(plan, draft, password, stamped)

    written_whole(path, write)


def _write_workbook(plan: DepartmentPlan, path: Path, password: str, stamped: bool) -> None:
    workbook = new_workbook(path, title=plan.title, subject="项目支出预算绩效目标",
                            author=plan.issuer, company=plan.issuer)
    formats = _formats(workbook)
    columns = _list_columns(plan.profile)
    lists = _list_sources(columns)
    write_cover(workbook, plan, formats, password)
    for form in plan.forms:
        sheet = workbook.add_worksheet(form.sheet, worksheet_class=StampedSheet)
        frame = _frame(plan.profile, form, lists) if stamped else None
        try:
            if frame is None:
                raise FrameMismatch("no frame")
            sheet.stamp(frame, formats, _values(form), form.row_heights)
        except FrameMismatch:
            _write_form(sheet, plan.profile, form, formats, lists)
        _define_names(workbook, form)
        print_page(sheet, _page(plan, form))
        sheet.protect(password, PROTECTION)
    _write_lists(workbook, columns, formats, password)
    _write_identity(workbook, plan)
    workbook.close()


def _formats(workbook: Any) -> dict[str, Any]:
    return {name: workbook.add_format({"font_name": FONT, **spec})
            for name, spec in _STYLES.items()}


def _write_form(sheet: Any, profile: FormProfile, form: ProjectForm, formats: dict[str, Any],
                lists: dict[str, str]) -> None:
    """Everything of a form but its names, print setup and protection, through the API."""
    for col, width in enumerate(form.columns):
        check(sheet.set_column(col, col, width), "column width")
    for row, height in form.row_heights.items():
        check(sheet.set_row(row, height), "row height")
    for cell in form.cells:
        _write_cell(sheet, cell, formats)
    _add_validations(sheet, profile, form, lists)
    _add_highlights(sheet, profile, form, formats["warning"])


def _define_names(workbook: Any, form: ProjectForm) -> None:
    sheet = quote_sheetname(form.sheet)
    define_names(workbook, [
        *((cell.name, f"={sheet}!{_absolute(cell.row, cell.col)}")
          for cell in form.cells if cell.name),
        (f"{form.prefix}CODE", _constant(form.project.code)),
    ])


def _write_cell(sheet: Any, cell: Cell, formats: dict[str, Any]) -> None:
    fmt = formats[cell.style]
    if cell.merge_to:
        last_row, last_col = cell.merge_to
        check(sheet.merge_range(cell.row, cell.col, last_row, last_col, "", fmt), "merge")
    value = _value(cell)
    if isinstance(value, Decimal):
        check(sheet.write_number(cell.row, cell.col, float(value), fmt), "number")
    elif isinstance(value, Formula):
        check(sheet.write_formula(cell.row, cell.col, value.text, fmt), "formula")
    elif value:
        check(sheet.write_string(cell.row, cell.col, value, fmt), "text")
    else:
        check(sheet.write_blank(cell.row, cell.col, None, fmt), "blank")


def _value(cell: Cell) -> str | Decimal | Formula | None:
    if cell.role == "formula" and isinstance(cell.value, str):
        return Formula(cell.value)
    return cell.value


def _values(form: ProjectForm) -> Iterator[tuple[int, int, str | Decimal | Formula | None]]:
    return ((cell.row, cell.col, _value(cell)) for cell in form.cells)


# -- frames: a form's shape rendered once ---------------------------------------------------

_FRAMES: dict[tuple[FormProfile, tuple[Any, ...]], SheetFrame | None] = {}
_FRAME_CACHE_SIZE = 256


def _frame(profile: FormProfile, form: ProjectForm, lists: dict[str, str]) -> SheetFrame | None:
    """The frame of FORM's shape: what its sheet holds apart from values and row heights.

    Made once per shape from a prototype written the ordinary way; None when the
    shape cannot be framed, so its forms are written the ordinary way too.
    """
    key = (profile, _shape(form))
    if key not in _FRAMES:
        if len(_FRAMES) >= _FRAME_CACHE_SIZE:
            _FRAMES.clear()
        _FRAMES[key] = _prototype_frame(profile, form, lists)
    return _FRAMES[key]


# Everything about a cell but its value and name: (row, col, style, merge_to, role,
# validation, category, field), taken at C speed (a thousand forms, seventy cells each).
_CELL_SHAPE = itemgetter(Cell._fields.index("row"), Cell._fields.index("col"),
                         Cell._fields.index("style"), Cell._fields.index("merge_to"),
                         Cell._fields.index("role"), Cell._fields.index("validation"),
                         Cell._fields.index("category"), Cell._fields.index("field"))


def _shape(form: ProjectForm) -> tuple[Any, ...]:
    """The page breaks are in the frame too: xlsxwriter writes them after the header."""
    return form.columns, form.weight_col, form.breaks, tuple(map(_CELL_SHAPE, form.cells))


def _prototype_frame(profile: FormProfile, form: ProjectForm,
                     lists: dict[str, str]) -> SheetFrame | None:
    scratch = new_workbook("prototype.xlsx")
    try:
        formats = _formats(scratch)
        scratch.add_worksheet("cover")  # the prototype must not be the selected first sheet
        prototype = scratch.add_worksheet(form.sheet)
        _write_form(prototype, profile, form, formats, lists)
        # the frame keeps the page setup; the header's text is each sheet's own
        print_page(prototype, _page_of(form, "h", "h"))
        prototype.protect("prototype", PROTECTION)
        return frame_of(prototype, formats)
    except FrameMismatch:
        return None
    finally:
        scratch.fileclosed = True  # never written: nothing to close


@lru_cache(maxsize=4096)
def _absolute(row: int, col: int) -> str:
    return str(xl_rowcol_to_cell(row, col, row_abs=True, col_abs=True))


def _constant(text: str) -> str:
    return '="' + text.replace('"', '""') + '"'


# -- guidance: validations with input messages, highlights ---------------------------------


def _runs(cells: list[Cell]) -> Iterator[tuple[Cell, Cell]]:
    """Contiguous vertical runs of input cells sharing column, validation and category."""
    def key(c: Cell) -> tuple[str, str, int]:
        return c.validation, c.category, c.col
    for _, group in groupby(sorted(cells, key=lambda c: (key(c), c.row)), key=key):
        run = list(group)
        start = run[0]
        for previous, current in zip(run, [*run[1:], None], strict=True):
            if current is None or current.row != previous.row + 1:
                yield start, previous
                if current is not None:
                    start = current


INPUT_TITLE_LIMIT, INPUT_MESSAGE_LIMIT = 32, 255  # Excel's, in its units (UTF-16)


def _add_validations(sheet: Any, profile: FormProfile, form: ProjectForm,
                     lists: dict[str, str]) -> None:
    """One validation per contiguous run of like input cells; a formula in it names the
    run's top-left cell, the anchor Excel, WPS and LibreOffice all read it from."""
    inputs = [c for c in form.cells if c.role == "input"]
    for first, last in _runs(inputs):
        options = _validation(profile, first, lists)
        status = sheet.data_validation(first.row, first.col, last.row, last.col, options)
        check(status, f"validation {first.validation} at {form.sheet}")


def _validation(profile: FormProfile, cell: Cell, lists: dict[str, str]) -> dict[str, Any]:
    category = profile.category_by_level2(cell.category) if cell.category else None
    title, message = _input_message(profile, cell, category)
    options: dict[str, Any] = {"validate": "any",
                               "input_title": excel_cut(title, INPUT_TITLE_LIMIT),
                               "input_message": excel_cut(message, INPUT_MESSAGE_LIMIT)}
    kind = cell.validation
    if kind == "indicator.weight" and profile.weights:
        weights = profile.weights
        options.update(validate="decimal", criteria="between", minimum=0,
                       maximum=weights.total_number, error_title=f"{weights.label}超出范围",
                       error_message=f"{weights.label}应为0到{weights.total}之间的数字。")
    elif kind == "indicator.value.satisfaction":
        ref = xl_rowcol_to_cell(cell.row, cell.col)
        options.update(validate="custom",
                       value=f'=OR({ref}="",ISNUMBER(FIND("%",{ref})),ISNUMBER(FIND("％",{ref})))',
                       error_type="warning", error_title="满意度应为百分比",
                       error_message="满意度指标值应为0–100%的百分比，如 ≥95%。")
    elif kind.startswith("header.") and kind.removeprefix("header.") in lists:
        options.update(validate="list", source=lists[kind.removeprefix("header.")],
                       error_title="请从下拉列表选择", error_message="请从下拉列表中选择一项。")
    return options


VALUE_HOWTO = ("指标值写法：比较符号+数字+单位，如 ≥95%、≤20万元、100次、2小时内；"
               "定性指标写 明显、有所提升 等。")


def _input_message(profile: FormProfile, cell: Cell,
                   category: Category | None) -> tuple[str, str]:
    examples = "、".join(category.examples) if category else ""
    help_text = category.help if category else ""
    if cell.field == "goal":
        return profile.goal_label, profile.goal_help or "填写本项目的年度总体目标。"
    if cell.field.startswith("header."):
        field = profile.header_field(cell.field.removeprefix("header."))
        label = field.label if field else "表头"
        return label, f"请填写{label}。" + ("可从下拉列表选择。" if field and field.choices else "")
    assert category is not None
    if cell.field == "name":
        extra = "（目标值写在指标内容中）" if not profile.value_field else ""
        return category.level2, f"{help_text}{extra} 示例：{examples}"
    if cell.field == "weight" and profile.weights:
        return profile.weights.label, (f"本行指标的{profile.weights.label}"
                                       f"（{profile.weights.range_text}），各项合计应为"
                                       f"{profile.weights.total}；不适用的填0或留空。")
    return f"{category.level2}指标值", f"{VALUE_HOWTO} 示例：{examples}"


DIGITS = ",".join(f'"{d}"' for d in "0123456789０１２３４５６７８９")


def _add_highlights(sheet: Any, profile: FormProfile, form: ProjectForm, warning: Any) -> None:
    """A quantitative value with no digit in it turns red as it is typed.

    One rule per contiguous range, its formula naming the range's top-left cell: a rule over
    several ranges has no anchor every program agrees on (LibreOffice takes the top-left of
    them all, Excel the first listed), and each cell would test another cell's value.
    """
    numeric = [c for c in form.cells if c.role == "input" and
               c.validation in ("indicator.value.quantitative", "indicator.value.cost",
                                "indicator.value.satisfaction")]
    for first, last in _runs(numeric):
        ref = xl_rowcol_to_cell(first.row, first.col)
        check(sheet.conditional_format(first.row, first.col, last.row, last.col, {
            "type": "formula",
            "criteria": f"=AND(LEN({ref})>0,SUMPRODUCT(--ISNUMBER(FIND({{{DIGITS}}},{ref})))=0)",
            "format": warning}), "highlight")
    total = next((c for c in form.cells if c.field == "weight.total"), None)
    if total is not None and form.weight_col is not None and profile.weights:
        check(sheet.conditional_format(total.row, total.col, total.row, total.col, {
            "type": "cell", "criteria": "!=", "value": profile.weights.total_number,
            "format": warning}), "weight total")


def _page(plan: DepartmentPlan, form: ProjectForm) -> Page:
    return _page_of(form, plan.profile.title_for(plan.year), plan.department)


def _page_of(form: ProjectForm, title: str, department: str) -> Page:
    """The form's print standard: its title and department, the project at the header's
    right, the indicator header on every page, pages broken where the layout says."""
    return Page(title, form.columns, department, repeat=(form.indicator_row,) * 2,
                landscape=LANDSCAPE, detail=form.project.name, breaks=form.breaks)


# -- the hidden list sheet and the identity ------------------------------------------------


def _list_columns(profile: FormProfile) -> list[tuple[str, tuple[str, ...]]]:
    columns: list[tuple[str, tuple[str, ...]]] = [
        (f.key, f.choices) for f in profile.header if f.choices]
    return [*columns, ("units", profile.units)]


def _list_sources(columns: list[tuple[str, tuple[str, ...]]]) -> dict[str, str]:
    """Dropdown lists live on a hidden sheet: inline lists are cut at 255 characters."""
    return {
        key: f"={quote_sheetname(LISTS_SHEET)}!{_absolute(1, col)}:{_absolute(len(values), col)}"
        for col, (key, values) in enumerate(columns) if values
    }


def _write_lists(workbook: Any, columns: list[tuple[str, tuple[str, ...]]],
                 formats: dict[str, Any], password: str) -> None:
    sheet = workbook.add_worksheet(LISTS_SHEET)
    for col, (key, values) in enumerate(columns):
        check(sheet.write_string(0, col, key, formats["label"]), "list header")
        for row, value in enumerate(values, start=1):
            check(sheet.write_string(row, col, value), "list value")
    sheet.hide()
    sheet.protect(password, PROTECTION)


def _write_identity(workbook: Any, plan: DepartmentPlan) -> None:
    """Identity in two places that survive re-saving: custom properties and defined names."""
    for key, value in plan.identity.items():
        check(workbook.set_custom_property(identity_property(key), value), f"property {key}")
        check(workbook.define_name(identity_name(key), _constant(value)), f"name {key}")
