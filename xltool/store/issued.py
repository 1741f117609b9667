"""What was issued: every template, its projects, its form map and the profile it was
issued with. Read back whole by `issued_form`, the one way to read a form map."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import astuple
from pathlib import Path
from typing import TypeVar

from xltool.profile import FormProfile, profile_from_text
from xltool.store.chain import settle
from xltool.store.formmap import (
    FormMapRecord,
    IssuedCell,
    IssuedForm,
    LayoutKey,
    columns_of,
    decoded_layout,
    form_map_record,
    layout_fingerprint,
    layout_key,
)
from xltool.store.mailsent import Mailing
from xltool.store.records import (
    TEMPLATE_COLUMNS,
    IssuedProject,
    IssuedTemplate,
    Repository,
    profile_digest,
    project,
    text_of,
)


def in_force(templates: Iterable[IssuedTemplate]) -> dict[str, IssuedTemplate]:
    """Per department, the template in force: the one issued last (re-issuing replaces it;
    on a tie, the one listed later). Departments come in the order TEMPLATES first names them.
    """
    latest: dict[str, IssuedTemplate] = {}
    for template in templates:
        current = latest.get(template.department_code)
        if current is None or template.issued_at >= current.issued_at:
            latest[template.department_code] = template
    return latest


_TEMPLATE_SELECT = ", ".join(f"t.{column}" for column in TEMPLATE_COLUMNS)

# The template's row, its profile's and layout's fingerprints, its own sheets and values,
# and its projects as one JSON array of rows (each led by its position: sorted by it when
# read, as an aggregate's order is not SQL's to promise).
_ISSUED_FORM = f"""
SELECT {_TEMPLATE_SELECT}, t.profile_sha256, f.layout, f.sheets_and_values,
       (SELECT json_group_array(json_array(position, project_code, project_name, sheet,
                                           total, fiscal, other, carryover))
        FROM template_projects p WHERE p.template_id = t.template_id)
FROM templates t LEFT JOIN form_maps f USING (template_id)
WHERE t.template_id = ?
"""

_COLUMNS = (*TEMPLATE_COLUMNS, "profile_sha256")
_UPSERT_TEMPLATE = (
    f"INSERT INTO templates ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))}) "
    f"ON CONFLICT(template_id) DO UPDATE SET "
    f"{', '.join(f'{c} = excluded.{c}' for c in _COLUMNS[1:])}")

T = TypeVar("T")

_KEPT_AT_MOST = 64  # layouts and profiles decoded per open store: a year has a handful


class IssuedTemplates(Repository):
    """The issued templates of an open store."""

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        super().__init__(connection, path)
        self._layouts: dict[str, LayoutKey] = {}
        self._profiles: dict[str, FormProfile] = {}

    def record_template(self, template: IssuedTemplate, projects: Iterable[IssuedProject],
                        cells: Iterable[IssuedCell] | FormMapRecord, *, profile: str,
                        mailing: Mailing | None = None) -> None:
        """Record a template with its projects, its cells and PROFILE, the TOML text of the
        profile it is issued with, and MAILING, what mail sends it by (`xltool.mail`). Issued
        again, the template's row names its newest copy; every copy stays recorded with its
        own hash and password (`issued_files`), and the department's chain is settled (a
        changed template supersedes the returns of the one before)."""
        projects = list(projects)
        form_map = cells if isinstance(cells, FormMapRecord) else form_map_record(projects, cells)
        with self.transaction() as db:
            digest = profile_digest(profile)
            db.execute("INSERT OR IGNORE INTO profiles VALUES (?, ?)", (digest, profile))
            db.execute(_UPSERT_TEMPLATE, (*astuple(template), digest))
            db.execute("INSERT OR IGNORE INTO issued_files VALUES (?, ?, ?, ?, ?, ?)",
                       (template.sha256, template.template_id, template.file_name,
                        template.password, template.ledger_file, template.issued_at))
            _replace_forms(db, template.template_id, projects, form_map)
            if mailing is not None:
                db.execute("UPDATE templates SET emails = ?, issuer = ?, deadline = ?, "
                           "contact = ?, folder = ? WHERE template_id = ?",
                           (*astuple(mailing), template.template_id))
            settle(db, template.department_code, template.year)

    def templates(self) -> list[IssuedTemplate]:
        rows = self.connection.execute(
            f"SELECT {_TEMPLATE_SELECT} FROM templates t "
            "ORDER BY year, department_code, issued_at, t.rowid").fetchall()
        return [IssuedTemplate(*row) for row in rows]

    def template_projects(self, template_id: str) -> list[IssuedProject]:
        rows = self.connection.execute(
            "SELECT * FROM template_projects WHERE template_id = ? ORDER BY position",
            (template_id,)).fetchall()
        return [project(*row) for row in rows]

    def issued_form(self, template_id: str) -> IssuedForm | None:
        """The template with its projects, profile and form map, in one query: collect asks
        for one per return, and every statement gives up the interpreter while it runs (a
        wait to get it back while the kept copies are being synced). A layout and a profile
        are read and decoded once per open store, when a template first names them."""
        row = self.connection.execute(_ISSUED_FORM, (template_id,)).fetchone()
        if row is None:
            return None
        *columns, profile_sha256, layout, own, projects = row
        issued = [project(template_id, *p) for p in sorted(json.loads(projects))]
        layout, key = self._layout(layout, issued)
        sheets, values, codes = json.loads(own) if own else ((), (), ())
        return IssuedForm(IssuedTemplate(*columns), issued, self._profile(profile_sha256),
                          layout, key, tuple(sheets), tuple(values), tuple(codes))

    def issued_projects(self) -> list[IssuedProject]:
        """Every project of every issued template, by template and position."""
        rows = self.connection.execute(
            "SELECT * FROM template_projects ORDER BY template_id, position").fetchall()
        return [project(*row) for row in rows]

    def issued_profiles(self) -> dict[str, FormProfile | None]:
        """Per template, the profile it was issued with (None where the store holds none):
        reconciling needs every template's at once."""
        rows = self.connection.execute("SELECT template_id, profile_sha256 FROM templates")
        return {template_id: self._profile(digest) for template_id, digest in rows.fetchall()}

    def _layout(self, fingerprint: str | None,
                projects: list[IssuedProject]) -> tuple[str, LayoutKey]:
        """(fingerprint, layout) of a form map, the layout read and decoded once per open store.

        No fingerprint: a template recorded without cells before schema 3, whose forms are
        empty."""
        if fingerprint is None:
            key = layout_key(columns_of([]), [p.project_code for p in projects])
            return layout_fingerprint(key), key
        kept = self._layouts.get(fingerprint)
        if kept is None:
            (cells,) = self.connection.execute(
                "SELECT cells FROM layouts WHERE layout = ?", (fingerprint,)).fetchone()
            kept = _kept(self._layouts, fingerprint, decoded_layout(cells))
        return fingerprint, kept

    def _profile(self, digest: str | None) -> FormProfile | None:
        """The profile kept under DIGEST, parsed once per open store."""
        if digest is None:
            return None
        profile = self._profiles.get(digest)
        if profile is None:
            (toml,) = self.connection.execute(
                "SELECT text FROM profiles WHERE sha256 = ?", (digest,)).fetchone()
            named = Path(f"{self.path.name}#{digest[:12]}")  # what an error names it by
            profile = _kept(self._profiles, digest, profile_from_text(toml, path=named))
        return profile


def _replace_forms(db: sqlite3.Connection, template_id: str, projects: list[IssuedProject],
                   form_map: FormMapRecord) -> None:
    """The template's projects and form map, in place of any it had (re-issued)."""
    db.execute("DELETE FROM template_projects WHERE template_id = ?", (template_id,))
    db.execute("DELETE FROM form_maps WHERE template_id = ?", (template_id,))
    db.executemany("INSERT INTO template_projects VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   [(p.template_id, p.position, p.project_code, p.project_name, p.sheet,
                     text_of(p.total), text_of(p.fiscal), text_of(p.other),
                     text_of(p.carryover)) for p in projects])
    db.execute("INSERT OR IGNORE INTO layouts VALUES (?, ?)",
               (form_map.layout, form_map.layout_cells))
    db.execute("INSERT INTO form_maps VALUES (?, ?, ?)",
               (template_id, form_map.layout, form_map.sheets_and_values))


def _kept(kept: dict[str, T], key: str, value: T) -> T:
    if len(kept) >= _KEPT_AT_MOST:
        kept.clear()
    kept[key] = value
    return value
