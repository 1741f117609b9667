"""The cover's live 填报状态: what collect would still find unfilled in a project's form, as
formulas the spreadsheet recalculates while the department types.

Collect decides what is filled (`xltool.collect.rules`: `as_seen`, `Sorted.of` and the
filling rules): a cell whose text draws nothing is empty; an indicator row whose name is
only a label placeholder (`指标1：`) and that has no value is no indicator, nor is a row
marked not applicable (`本指标不适用`); a required category without an indicator is
`rule.required_empty`, an indicator without its value or its name `rule.value_missing` /
`rule.name_missing`, an empty goal `rule.goal_empty`. The status names the same things:
`待填：年度总体目标 数量指标 质量指标（缺指标值）`, or `已填齐必填项`.

Decisions:

* Helper cells, one formula per question. One formula asking everything of a form was
  over 10,000 characters, beyond the 8,192 Excel accepts, and collect's questions need a
  cell's text several times over. So the project's row of the cover carries, in columns
  hidden right of the list (`HelperCell`), what each name and value (or weight) cell of
  the form shows (`seen_formula`), each indicator row's state (`RowState`), the goal as
  seen, and the text of the status; the visible status cell only words it. Every
  formula stays far below Excel's limit (`MAX_FORMULA`, held by the tests).
* Only functions Excel (2007 on), WPS and LibreOffice all have, none needing an array
  formula: IF, AND, OR, LEN, LEFT, MID, RIGHT, FIND, ISNUMBER, SUBSTITUTE, CLEAN, TRIM,
  COUNTIF, CHOOSE.
* Invisible characters: CLEAN drops the controls (tab, line breaks), SUBSTITUTE each
  character of `INVISIBLE`: the white space, zero-width, filler and blank characters
  people paste. Collect knows more (`xltool.visible.is_invisible`, by Unicode property);
  one only it knows (a tag character, a variation selector) still fills a cell here.
* Placeholders: `指标`, one to three numerals (0–9, full-width too, 一 … 十) and an
  optional colon, spaces anywhere. Collect takes any number of numerals; no form has a
  thousandth row, nor a `二十一` one.
* The cached results are computed here by the same rules (`seen`, `row_state`,
  `is_placeholder`), so a reader that does not recalculate shows the file as issued.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import IntEnum

from xlsxwriter.utility import quote_sheetname, xl_col_to_name, xl_rowcol_to_cell

from xltool.profile import FormProfile
from xltool.template.layout import ProjectForm

COMPLETE = "已填齐必填项"
PENDING = "待填："
MAX_FORMULA = 8192  # Excel's limit on a formula's length, in characters

INVISIBLE = (
    " \u00a0\u3000\u2002\u2003\u2009\u202f\u205f\u2028\u2029\u0085"  # white space
    "\u200b\u200c\u200d\u200e\u200f\u2060\ufeff\u00ad\u180e"  # zero-width and format
    "\u115f\u1160\u3164\uffa0\u2800"  # Hangul fillers, the braille blank
)
NUMERALS = "0123456789０１２３４５６７８９一二三四五六七八九十"
MOST_NUMERALS = 3
COLONS = ":："
PLACEHOLDER_START = "指标"
# collect's marker of a row that does not apply, on a form without weights (whose profile
# names its own): `xltool.collect.rules._marker`
NOT_APPLICABLE = "本指标不适用"


class RowState(IntEnum):
    """An indicator row as collect counts it."""

    NONE = 0  # blank, a placeholder, or marked not applicable: no indicator
    FILLED = 1
    NO_VALUE = 2
    NO_NAME = 3


@dataclass(frozen=True)
class HelperCell:
    """A formula on the project's cover row, in column COL, and its result as issued."""

    col: int
    formula: str
    cached: str | float


@dataclass(frozen=True)
class ProjectStatus:
    """A project's visible status (formula and result as issued) and the helpers it reads."""

    formula: str
    cached: str
    helpers: tuple[HelperCell, ...]


# -- what a cell shows -----------------------------------------------------------------------


_SEEN_OPENING = "SUBSTITUTE(" * len(INVISIBLE) + "CLEAN("
_SEEN_CLOSING = ")" + "".join(f',"{char}","")' for char in INVISIBLE)


def seen_formula(ref: str) -> str:
    """The text of the cell REF without what draws nothing: "" for a cell that looks empty
    (CLEAN, then one SUBSTITUTE per character of INVISIBLE)."""
    return _SEEN_OPENING + ref + _SEEN_CLOSING


_DROPPED = frozenset(INVISIBLE) | frozenset(map(chr, range(32)))


def seen(value: str | Decimal | None) -> str:
    """What `seen_formula` gives for a cell holding VALUE."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else f"{value.normalize():f}"
    return "".join(char for char in text if char not in _DROPPED)


def is_placeholder(text: str) -> bool:
    """Whether the seen TEXT is a label placeholder: `指标1：`, `指标十一`, `指标１２:`."""
    body = text[len(PLACEHOLDER_START):]
    if body[-1:] in tuple(COLONS):
        body = body[:-1]
    return (text.startswith(PLACEHOLDER_START) and 1 <= len(body) <= MOST_NUMERALS
            and all(char in NUMERALS for char in body))


def _placeholder_formula(name: str) -> str:
    """`is_placeholder` of the cell NAME: the numerals are counted, then each is looked up."""
    start = len(PLACEHOLDER_START)
    count = f'(LEN({name})-{start}-ISNUMBER(FIND(RIGHT({name}),"{COLONS}")))'
    numerals = ",".join(
        f'OR({count}<{n},ISNUMBER(FIND(MID({name},{start + n},1),"{NUMERALS}")))'
        for n in range(1, MOST_NUMERALS + 1))
    return (f'AND(LEFT({name},{start})="{PLACEHOLDER_START}",{count}>0,'
            f"{count}<={MOST_NUMERALS},{numerals})")


# -- one indicator row -----------------------------------------------------------------------


def marker(profile: FormProfile) -> str:
    return profile.weights.not_applicable if profile.weights else NOT_APPLICABLE


def row_state(name: str, other: str, *, value_column: bool, mark: str) -> RowState:
    """The state of a row whose name and value (or weight) cells show NAME and OTHER."""
    value = other if value_column else ""
    if not name and not other:
        return RowState.NONE
    if mark in (name, value) or (not value and is_placeholder(name)):
        return RowState.NONE
    if not value_column:
        return RowState.FILLED
    return RowState.NO_VALUE if not value else RowState.NO_NAME if not name else RowState.FILLED


def row_state_formula(name: str, other: str, *, value_column: bool, mark: str) -> str:
    """The formula of `row_state`, NAME and OTHER being cells holding `seen_formula`s."""
    empty, filled = int(RowState.NONE), int(RowState.FILLED)
    placeholder = _placeholder_formula(name)
    if not value_column:
        return (f'=IF({name}&{other}="",{empty},'
                f'IF(OR({name}="{mark}",{placeholder}),{empty},{filled}))')
    halves = (f'IF({other}="",{int(RowState.NO_VALUE)},'
              f'IF({name}="",{int(RowState.NO_NAME)},{filled}))')
    return (f'=IF({name}&{other}="",{empty},IF(OR({name}="{mark}",{other}="{mark}",'
            f'AND({other}="",{placeholder})),{empty},{halves}))')


# -- the status ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Entry:
    """What the status says of one part of the form: LABEL when none of its rows is an
    indicator (if `required`), else, with a value column, which half of a row is missing."""

    label: str
    rows: range  # positions among the form's indicator rows
    required: bool
    value_column: bool
    name_label: str
    value_label: str

    def texts(self) -> tuple[str, str, str, str]:
        """The entry's text when nothing is missing, a value, a name, both."""
        def lacking(*labels: str) -> str:
            return f"{self.label}（缺{'、'.join(labels)}） "
        return ("", lacking(self.value_label), lacking(self.name_label),
                lacking(self.name_label, self.value_label))

    @property
    def longest(self) -> str:
        return self.texts()[3].strip() if self.value_column else self.label

    def formula(self, states: str) -> str:
        halves = '""'
        if self.value_column:
            some = (f"2*(COUNTIF({states},{int(RowState.NO_NAME)})>0)"
                    f"+(COUNTIF({states},{int(RowState.NO_VALUE)})>0)")
            halves = "CHOOSE(1+{},{})".format(some, ",".join(f'"{t}"' for t in self.texts()))
        if not self.required:
            return halves
        return f'IF(COUNTIF({states},">0")=0,"{self.label} ",{halves})'

    def shown(self, states: list[RowState]) -> str:
        mine = [states[n] for n in self.rows]
        if self.required and all(state is RowState.NONE for state in mine):
            return f"{self.label} "
        if not self.value_column:
            return ""
        return self.texts()[2 * (RowState.NO_NAME in mine) + (RowState.NO_VALUE in mine)]


def _indicator_rows(form: ProjectForm) -> list[int]:
    return [row for block in form.blocks for row in range(block.first_row, block.last_row + 1)]


def _entries(form: ProjectForm, profile: FormProfile) -> list[_Entry]:
    labels = (profile.name_label, profile.value_label)
    value_column = form.value_col is not None
    entries, start = [], 0
    for block in form.blocks:
        count = block.last_row - block.first_row + 1
        if block.category.required or value_column:
            entries.append(_Entry(block.category.level2, range(start, start + count),
                                  block.category.required, value_column, *labels))
        start += count
    return entries


def longest_status(form: ProjectForm, profile: FormProfile) -> str:
    """The longest text the status can show: each part at its longest."""
    return PENDING + " ".join([profile.goal_label,
                               *(entry.longest for entry in _entries(form, profile))])


@dataclass(frozen=True)
class _Columns:
    """Where a project's helpers sit on its cover ROW: from column TEXT on, the status
    text, the goal as seen, then, for each of the form's ROWS indicator rows in turn, its
    name as seen, its value (or weight) as seen, and its state."""

    row: int
    text: int
    rows: int

    @property
    def goal(self) -> int:
        return self.text + 1

    def name(self, n: int) -> int:
        return self.text + 2 + n

    def other(self, n: int) -> int:
        return self.text + 2 + self.rows + n

    def state(self, n: int) -> int:
        return self.text + 2 + 2 * self.rows + n

    def ref(self, col: int) -> str:
        return str(xl_rowcol_to_cell(self.row, col))

    def states(self, rows: range) -> str:
        first, last = self.state(rows.start), self.state(rows.stop - 1)
        return f"{xl_col_to_name(first)}{self.row + 1}:{xl_col_to_name(last)}{self.row + 1}"


def project_status(form: ProjectForm, profile: FormProfile, row: int, first_col: int
                   ) -> ProjectStatus:
    """The status of FORM for the cover's ROW: the visible formula, and its helpers from
    column FIRST_COL on (`_Columns`)."""
    rows = _indicator_rows(form)
    at = _Columns(row, first_col, len(rows))
    seen_cells = _seen_cells(form, rows, at)
    shown = {cell.col: str(cell.cached) for cell in seen_cells}
    value_column, mark = form.value_col is not None, marker(profile)
    states = [row_state(shown[at.name(n)], shown[at.other(n)], value_column=value_column,
                        mark=mark) for n in range(len(rows))]
    state_cells = [HelperCell(at.state(n), row_state_formula(
        at.ref(at.name(n)), at.ref(at.other(n)), value_column=value_column, mark=mark),
        float(state)) for n, state in enumerate(states)]
    text = _text_cell(form, profile, at, shown[at.goal], states)
    status = str(text.cached).strip()
    formula = f'=IF({at.ref(at.text)}="","{COMPLETE}","{PENDING}"&TRIM({at.ref(at.text)}))'
    return ProjectStatus(formula, PENDING + status if status else COMPLETE,
                         (text, *seen_cells, *state_cells))


def _seen_cells(form: ProjectForm, rows: list[int], at: _Columns) -> list[HelperCell]:
    """The goal, each indicator row's name and its value (or weight), as seen."""
    values = {(c.row, c.col): c.value for c in form.cells if c.role == "input"}
    other_col = form.value_col if form.value_col is not None else form.weight_col
    sheet = quote_sheetname(form.sheet)

    def cell(col: int, form_row: int, form_col: int | None) -> HelperCell:
        if form_col is None:
            return HelperCell(col, '=""', "")
        ref = f"{sheet}!{xl_rowcol_to_cell(form_row, form_col)}"
        return HelperCell(col, "=" + seen_formula(ref), seen(values.get((form_row, form_col))))

    return [cell(at.goal, form.goal_row, form.name_col),
            *(cell(at.name(n), r, form.name_col) for n, r in enumerate(rows)),
            *(cell(at.other(n), r, other_col) for n, r in enumerate(rows))]


def _text_cell(form: ProjectForm, profile: FormProfile, at: _Columns, goal: str,
               states: list[RowState]) -> HelperCell:
    """What is left to fill, each part followed by a space: the goal, then each category."""
    entries = _entries(form, profile)
    formula = "&".join([f'IF({at.ref(at.goal)}="","{profile.goal_label} ","")',
                        *(entry.formula(at.states(entry.rows)) for entry in entries)])
    cached = (f"{profile.goal_label} " if not goal else "") + "".join(
        entry.shown(states) for entry in entries)
    return HelperCell(at.text, "=" + formula, cached)
