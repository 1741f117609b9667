"""The form map: every cell of an issued template's forms, as the store keeps it and as a
return is read by.

A template's cells are kept as two parts. Its layout — everything about the cells but their
values and the names of their sheets and projects — is shared by every template of one
shape, so it is kept once under its fingerprint (`layout_key`, `layout_fingerprint`); the
template keeps only what is its own: sheets, values and project codes. The template writer
encodes a form map here (`form_map_record`), the store keeps it, and `IssuedForm` gives it
back, to collect (which compiles each layout once), publish and reconcile alike.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from xltool.profile import FormProfile
from xltool.store.records import IssuedProject, IssuedTemplate


class IssuedCell(NamedTuple):
    """A cell of an issued form: `value` is the issued text of a locked cell, or the prefill.

    A named tuple, not a dataclass: collect builds hundreds per template.
    """

    template_id: str
    sheet: str
    cell: str
    locked: bool
    name: str
    project_code: str
    field: str
    category: str
    value: str


class CellColumns(NamedTuple):
    """An issued template's cells as columns, in form order (`locked` as stored: 0/1 or bool)."""

    sheet: tuple[str, ...]
    cell: tuple[str, ...]
    locked: tuple[Any, ...]
    name: tuple[str, ...]
    project_code: tuple[str, ...]
    field: tuple[str, ...]
    category: tuple[str, ...]
    value: tuple[str, ...]


LayoutKey = tuple[tuple[Any, ...], ...]
"""Everything about a template's cells but their values and the names of their sheets and
projects: (cells, locked, names, fields, categories, then the sheet and the project of each
cell as numbers in order of first appearance, then the project of each form by position)."""


def layout_key(columns: CellColumns, project_codes: Sequence[str]) -> LayoutKey:
    """The layout of a template's cells, from whole columns (no object per cell)."""
    sheet_numbers = {s: n for n, s in enumerate(dict.fromkeys(columns.sheet))}
    project_numbers = {c: n for n, c in enumerate(dict.fromkeys(columns.project_code))}
    return (columns.cell, tuple(map(bool, columns.locked)), columns.name, columns.field,
            columns.category, tuple(map(sheet_numbers.__getitem__, columns.sheet)),
            tuple(map(project_numbers.__getitem__, columns.project_code)),
            tuple(project_numbers.get(code) for code in project_codes))


_LAYOUT_TEXTS: dict[LayoutKey, tuple[str, str]] = {}


def _layout_text(key: LayoutKey) -> tuple[str, str]:
    """(fingerprint, JSON) of a layout: a year's templates share a handful, each serialised
    and hashed once."""
    text = _LAYOUT_TEXTS.get(key)
    if text is None:
        if len(_LAYOUT_TEXTS) >= 256:
            _LAYOUT_TEXTS.clear()
        as_json = json.dumps(key, ensure_ascii=False)
        text = _LAYOUT_TEXTS[key] = (hashlib.sha256(as_json.encode()).hexdigest(), as_json)
    return text


def layout_fingerprint(key: LayoutKey) -> str:
    return _layout_text(key)[0]


def decoded_layout(layout_cells: str) -> LayoutKey:
    """A layout again from the JSON the store keeps of it."""
    return tuple(map(tuple, json.loads(layout_cells)))


class FormMapRecord(NamedTuple):
    """A template's form map as the store keeps it, ready to insert."""

    layout: str
    layout_cells: str  # the layout as JSON, stored once per layout
    sheets_and_values: str  # this template's sheets, values and project codes as JSON


def form_map_record(projects: Iterable[IssuedProject],
                    cells: Iterable[IssuedCell] | CellColumns) -> FormMapRecord:
    """Pure work, so the template writer's workers can do it while the store records.

    CELLS may come as columns: a template's thousand cells need no object each."""
    if not isinstance(cells, CellColumns):
        cells = columns_of([[c.sheet, c.cell, c.locked, c.name, c.project_code, c.field,
                             c.category, c.value] for c in cells])
    codes = [p.project_code for p in sorted(projects, key=lambda p: p.position)]
    return record_of(cells, codes)


def record_of(columns: CellColumns, project_codes: Sequence[str]) -> FormMapRecord:
    layout, layout_cells = _layout_text(layout_key(columns, project_codes))
    own = [list(dict.fromkeys(columns.sheet)), list(columns.value),
           list(dict.fromkeys(columns.project_code))]
    return FormMapRecord(layout, layout_cells, json.dumps(own, ensure_ascii=False))


def columns_of(rows: Sequence[Sequence[Any]]) -> CellColumns:
    """Cell rows ([sheet, cell, locked, name, project_code, field, category, value]) as columns."""
    if not rows:
        return CellColumns((), (), (), (), (), (), (), ())
    return CellColumns(*zip(*rows, strict=True))


class IssuedForm(NamedTuple):
    """What was issued as one template, and so what its returns are read by: the template,
    its projects by position, the profile it was issued with (None when the store does not
    hold it: see `ProfileNotKept`) and its form map — the layout's fingerprint and the
    layout itself (`key`), with the template's own sheets, values and project codes."""

    template: IssuedTemplate
    projects: list[IssuedProject]
    profile: FormProfile | None
    layout: str
    key: LayoutKey
    sheets: tuple[str, ...]
    values: tuple[str, ...]
    codes: tuple[str, ...]

    def columns(self) -> CellColumns:
        """Every cell of the template's forms, column by column, in form order."""
        cells, locked, names, fields, categories, sheet_numbers, project_numbers, _ = self.key
        return CellColumns(tuple(map(self.sheets.__getitem__, sheet_numbers)), cells, locked,
                           names, tuple(map(self.codes.__getitem__, project_numbers)), fields,
                           categories, self.values)

    def cells(self) -> list[IssuedCell]:
        """Every cell of the template's forms, in form order."""
        template_id = self.template.template_id
        return [IssuedCell(template_id, *row) for row in zip(*self.columns(), strict=True)]
