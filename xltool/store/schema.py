"""The store's schema, as named migrations recorded in the store itself.

Each change of the schema is a small function `mNNN_what(db)`, applied once, in order, with
whatever backfill it needs; the store records the name of each in `_migrations` (name,
applied_at) in the transaction that applies it. `PRAGMA user_version` counts the
migrations applied: it is read before anything else, so a store a newer xltool wrote
(a higher count, or a name this release does not know) is refused without a write. Stores
from before the table (user_version 1 to 6) had the first user_version migrations; they
are recorded, with no date, when the table is made.

A migration is history: once released it is never changed, only followed by another.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from xltool.errors import StoreError
from xltool.profile import shipped_profile_text
from xltool.store.formmap import columns_of, record_of
from xltool.store.records import profile_digest

APPLICATION_ID = 0x58544F4C  # "XTOL": marks the file as an xltool store

Migration = Callable[[sqlite3.Connection], None]


def m001_issued_templates(db: sqlite3.Connection) -> None:
    """Every issued template, its projects, and every cell of its forms."""
    db.execute("""
        CREATE TABLE templates (
            template_id     TEXT PRIMARY KEY,
            year            INTEGER,
            profile         TEXT NOT NULL,
            profile_version INTEGER NOT NULL,
            department_code TEXT NOT NULL,
            department      TEXT NOT NULL,
            file_name       TEXT NOT NULL,
            sha256          TEXT NOT NULL,
            password        TEXT NOT NULL,
            ledger_file     TEXT NOT NULL,
            issued_at       TEXT NOT NULL)""")
    db.execute("""
        CREATE TABLE template_projects (
            template_id  TEXT NOT NULL REFERENCES templates(template_id),
            position     INTEGER NOT NULL,
            project_code TEXT NOT NULL,
            project_name TEXT NOT NULL,
            sheet        TEXT NOT NULL,
            total        TEXT,
            fiscal       TEXT,
            other        TEXT,
            carryover    TEXT,
            PRIMARY KEY (template_id, position))""")
    db.execute("""
        CREATE TABLE template_cells (
            template_id  TEXT NOT NULL REFERENCES templates(template_id),
            sheet        TEXT NOT NULL,
            cell         TEXT NOT NULL,
            locked       INTEGER NOT NULL,
            name         TEXT NOT NULL,
            project_code TEXT NOT NULL,
            field        TEXT NOT NULL,
            category     TEXT NOT NULL,
            value        TEXT NOT NULL,
            PRIMARY KEY (template_id, sheet, cell))""")


def m002_received_files(db: sqlite3.Connection) -> None:
    """Received files, their findings, and the accepted targets with their history."""
    db.execute("""
        CREATE TABLE received_files (
            sha256          TEXT PRIMARY KEY,
            original_name   TEXT NOT NULL,
            size            INTEGER NOT NULL,
            received_at     TEXT NOT NULL,
            kind            TEXT NOT NULL,
            status          TEXT NOT NULL,
            template_id     TEXT NOT NULL,
            department_code TEXT NOT NULL,
            year            INTEGER,
            stored_path     TEXT NOT NULL)""")
    db.execute("""
        CREATE TABLE findings (
            sha256     TEXT NOT NULL REFERENCES received_files(sha256),
            seq        INTEGER NOT NULL,
            code       TEXT NOT NULL,
            severity   TEXT NOT NULL,
            department TEXT NOT NULL,
            project    TEXT NOT NULL,
            sheet      TEXT NOT NULL,
            cell       TEXT NOT NULL,
            value      TEXT NOT NULL,
            message    TEXT NOT NULL,
            fix        TEXT NOT NULL,
            PRIMARY KEY (sha256, seq))""")
    db.execute("""
        CREATE TABLE accepted_returns (
            sha256          TEXT PRIMARY KEY REFERENCES received_files(sha256),
            template_id     TEXT NOT NULL,
            department_code TEXT NOT NULL,
            year            INTEGER,
            accepted_at     TEXT NOT NULL,
            superseded_by   TEXT)""")
    db.execute("CREATE INDEX accepted_current "
               "ON accepted_returns(department_code, year, superseded_by)")
    db.execute("""
        CREATE TABLE accepted_goals (
            sha256       TEXT NOT NULL REFERENCES accepted_returns(sha256),
            project_code TEXT NOT NULL,
            goal         TEXT NOT NULL,
            PRIMARY KEY (sha256, project_code))""")
    db.execute("""
        CREATE TABLE accepted_indicators (
            sha256       TEXT NOT NULL REFERENCES accepted_returns(sha256),
            seq          INTEGER NOT NULL,
            project_code TEXT NOT NULL,
            level1       TEXT NOT NULL,
            level2       TEXT NOT NULL,
            name         TEXT NOT NULL,
            value        TEXT NOT NULL,
            weight       TEXT,
            PRIMARY KEY (sha256, seq))""")


def m003_form_maps_as_json(db: sqlite3.Connection) -> None:
    """A template's cells as one JSON array of [sheet, cell, locked, name, project_code, field,
    category, value] rows: collect reads a whole map per return, and one row reads far
    faster than hundreds."""
    db.execute("CREATE TABLE form_maps (template_id TEXT PRIMARY KEY "
               "REFERENCES templates(template_id), cells TEXT NOT NULL)")
    db.execute("""
        INSERT INTO form_maps
            SELECT template_id, json_group_array(json_array(sheet, cell, locked, name,
                                                            project_code, field, category, value))
            FROM (SELECT * FROM template_cells ORDER BY template_id, rowid) GROUP BY template_id""")
    db.execute("DROP TABLE template_cells")


def m004_layout_columns(db: sqlite3.Connection) -> None:
    """Room for each map's layout fingerprint and its own sheets and values.

    Its backfill is no longer needed: `m005_layouts_kept_once` rebuilds every map from its
    cells, and nothing reads a store between two migrations."""
    db.execute("ALTER TABLE form_maps ADD COLUMN layout TEXT")
    db.execute("ALTER TABLE form_maps ADD COLUMN sheets_and_values TEXT")


def m005_layouts_kept_once(db: sqlite3.Connection) -> None:
    """A layout kept once, however many templates share it: each form map keeps only its
    layout's fingerprint and what is its own — sheets, values, project codes."""
    db.execute("CREATE TABLE layouts (layout TEXT PRIMARY KEY, cells TEXT NOT NULL)")
    db.execute("""
        CREATE TABLE form_maps_v5 (
            template_id       TEXT PRIMARY KEY REFERENCES templates(template_id),
            layout            TEXT NOT NULL REFERENCES layouts(layout),
            sheets_and_values TEXT NOT NULL)""")
    for template_id, cells in db.execute("SELECT template_id, cells FROM form_maps").fetchall():
        codes = [row[0] for row in db.execute(
            "SELECT project_code FROM template_projects WHERE template_id = ? "
            "ORDER BY position", (template_id,))]
        record = record_of(columns_of(json.loads(cells)), codes)
        db.execute("INSERT OR IGNORE INTO layouts VALUES (?, ?)",
                   (record.layout, record.layout_cells))
        db.execute("INSERT INTO form_maps_v5 VALUES (?, ?, ?)",
                   (template_id, record.layout, record.sheets_and_values))
    db.execute("DROP TABLE form_maps")
    db.execute("ALTER TABLE form_maps_v5 RENAME TO form_maps")


def m006_targets_per_project(db: sqlite3.Connection) -> None:
    """An accepted return's targets as one row per project: its goal (NULL when the return
    gave none) and its indicators as one JSON array of [seq, level1, level2, name, value,
    weight], seq being the indicator's place in the return. Collect writes a return as a
    few rows rather than a hundred; the views keep a row per goal and per indicator for
    SQL readers."""
    db.execute("""
        CREATE TABLE accepted_projects (
            sha256       TEXT NOT NULL REFERENCES accepted_returns(sha256),
            project_code TEXT NOT NULL,
            goal         TEXT,
            indicators   TEXT NOT NULL,
            PRIMARY KEY (sha256, project_code))""")
    for (sha256,) in db.execute("SELECT sha256 FROM accepted_returns ORDER BY rowid").fetchall():
        db.executemany("INSERT INTO accepted_projects VALUES (?, ?, ?, ?)",
                       _projects_of(db, sha256))
    db.execute("DROP TABLE accepted_goals")
    db.execute("DROP TABLE accepted_indicators")
    db.execute("""
        CREATE VIEW accepted_goals AS
            SELECT sha256, project_code, goal FROM accepted_projects WHERE goal IS NOT NULL""")
    db.execute("""
        CREATE VIEW accepted_indicators AS
            SELECT p.sha256 AS sha256, json_extract(i.value, '$[0]') AS seq,
                   p.project_code AS project_code, json_extract(i.value, '$[1]') AS level1,
                   json_extract(i.value, '$[2]') AS level2, json_extract(i.value, '$[3]') AS name,
                   json_extract(i.value, '$[4]') AS value, json_extract(i.value, '$[5]') AS weight
            FROM accepted_projects p, json_each(p.indicators) i""")


def _projects_of(db: sqlite3.Connection, sha256: str) -> list[tuple[str, str, str | None, str]]:
    """One return's goals and indicators (a row each) as `accepted_projects` rows: goal
    projects first, in order, then any project that has indicators only."""
    goals = dict(db.execute("SELECT project_code, goal FROM accepted_goals WHERE sha256 = ? "
                            "ORDER BY rowid", (sha256,)).fetchall())
    indicators: dict[str, list[list[Any]]] = {}
    for seq, (code, *fields) in enumerate(db.execute(
            "SELECT project_code, level1, level2, name, value, weight FROM accepted_indicators "
            "WHERE sha256 = ? ORDER BY seq", (sha256,))):
        weight = str(Decimal(fields[4])) if fields[4] not in (None, "") else None
        indicators.setdefault(code, []).append([seq, *fields[:4], weight])
    return [(sha256, code, goals.get(code), json.dumps(indicators.get(code, []),
                                                       ensure_ascii=False))
            for code in dict.fromkeys([*goals, *indicators])]


def m007_profiles_as_issued(db: sqlite3.Connection) -> None:
    """The text of the profile each template was issued with, kept once per text: returns
    are read, reconciled and published by the profile as issued, whatever becomes of its
    file later.

    A template issued before is given the shipped profile of its name that is its version
    or still accepts it — what the release before read its returns with. Where no such
    profile ships (a profile given as a file, or one no longer shipped), the template keeps
    none: collect then refuses each return of it on its own (`file.profile_version`), and
    reconcile and publish stop naming it (`ProfileNotKept`), rather than guess its rules.
    """
    db.execute("CREATE TABLE profiles (sha256 TEXT PRIMARY KEY, text TEXT NOT NULL)")
    db.execute("ALTER TABLE templates ADD COLUMN profile_sha256 TEXT REFERENCES profiles(sha256)")
    for name, version in db.execute(
            "SELECT DISTINCT profile, profile_version FROM templates").fetchall():
        text = shipped_profile_text(name, version)
        if text is None:
            continue
        digest = profile_digest(text)
        db.execute("INSERT OR IGNORE INTO profiles VALUES (?, ?)", (digest, text))
        db.execute("UPDATE templates SET profile_sha256 = ? WHERE profile = ? "
                   "AND profile_version = ?", (digest, name, version))


def m008_original_name_bytes(db: sqlite3.Connection) -> None:
    """A received file's name exactly, when it is not text: `original_name` holds it as a
    clerk reads it (decoded as GB18030, or with replacement characters), and this column
    its bytes. NULL for a name that is text (every name received before)."""
    db.execute("ALTER TABLE received_files ADD COLUMN original_name_bytes BLOB")


def m009_submission_chain(db: sqlite3.Connection) -> None:
    """What the submission chain needs (`xltool.store.chain`).

    `issued_files`: every issued copy of a template with its own hash and password (until
    now re-issuing replaced the template's; the copy each template holds is its first).
    `received_files.mailed_at`: the mail's date, where the office knows it.
    `received_files.examined_with`: the release and limits a file's outcome was found with,
    so a rejection by a limit or the reader is looked at again under others.
    `examinations`: every earlier outcome of a file examined again, newest last.
    `reinstatements`: the office putting an earlier accepted return back in force, with
    when and why, and the last file received by then (`received_files` rowid: what came
    before it in the same second)."""
    db.execute("""
        CREATE TABLE issued_files (
            sha256      TEXT PRIMARY KEY,
            template_id TEXT NOT NULL REFERENCES templates(template_id),
            file_name   TEXT NOT NULL,
            password    TEXT NOT NULL,
            ledger_file TEXT NOT NULL,
            issued_at   TEXT NOT NULL)""")
    db.execute("CREATE INDEX issued_files_template ON issued_files(template_id)")
    db.execute("""
        INSERT OR IGNORE INTO issued_files
            SELECT sha256, template_id, file_name, password, ledger_file, issued_at
            FROM templates""")
    db.execute("ALTER TABLE received_files ADD COLUMN mailed_at TEXT")
    db.execute("ALTER TABLE received_files ADD COLUMN examined_with TEXT")
    db.execute("""
        CREATE TABLE examinations (
            sha256        TEXT NOT NULL REFERENCES received_files(sha256),
            seq           INTEGER NOT NULL,
            examined_at   TEXT NOT NULL,
            status        TEXT NOT NULL,
            examined_with TEXT,
            findings      TEXT NOT NULL,
            PRIMARY KEY (sha256, seq))""")
    db.execute("""
        CREATE TABLE reinstatements (
            sha256        TEXT NOT NULL REFERENCES received_files(sha256),
            reinstated_at TEXT NOT NULL,
            reason        TEXT NOT NULL,
            after_file    INTEGER NOT NULL)""")
    db.execute("CREATE INDEX received_department ON received_files(department_code, year)")


def m010_mail_sent(db: sqlite3.Connection) -> None:
    """What mail sent (`xltool.store.mailsent`): every message sent or drafted, recorded as
    `pending` with its Message-ID before it goes, then `sent` (with the server's response),
    `drafted` (written as an .eml) or `failed`; `answers` is the received file a feedback
    message answers. And what the template stage records for mail at issue time: the
    department's 联系邮箱 (`;`-separated), the cover's issuer, deadline and contact, and the
    folder the workbook was written to."""
    db.execute("""
        CREATE TABLE mail_sent (
            message_id        TEXT PRIMARY KEY,
            kind              TEXT NOT NULL,
            department_code   TEXT NOT NULL,
            year              INTEGER,
            recipients        TEXT NOT NULL,
            subject           TEXT NOT NULL,
            attachment_sha256 TEXT,
            attachment_name   TEXT,
            in_reply_to       TEXT,
            prepared_at       TEXT NOT NULL,
            sent_at           TEXT,
            outcome           TEXT NOT NULL,
            response          TEXT,
            answers           TEXT)""")
    db.execute("CREATE INDEX mail_sent_department ON mail_sent(kind, department_code)")
    for column in ("emails", "issuer", "deadline", "contact", "folder"):
        db.execute(f"ALTER TABLE templates ADD COLUMN {column} TEXT")


def m011_mail_received(db: sqlite3.Connection) -> None:
    """What mail fetched (`xltool.store.mailreceived`): every message seen in a mailbox, by
    its source (the mailbox as named) and its key there (IMAP `UIDVALIDITY:UID`, the Maildir
    or mbox key, the SHA-256 of an `.eml` file), with its sender, date (UTC), Message-ID,
    subject and References, and how many workbooks it carried; each workbook by its hash
    and its name in the message; and per IMAP folder the UIDVALIDITY and the last UID
    fetched, so a rerun asks the server only for what is new."""
    db.execute("""
        CREATE TABLE mail_received (
            source      TEXT NOT NULL,
            key         TEXT NOT NULL,
            message_id  TEXT,
            sender      TEXT,
            mailed_at   TEXT,
            subject     TEXT,
            references_ TEXT,
            fetched_at  TEXT NOT NULL,
            workbooks   INTEGER NOT NULL,
            note        TEXT,
            PRIMARY KEY (source, key))""")
    db.execute("CREATE INDEX mail_received_message ON mail_received(message_id)")
    db.execute("""
        CREATE TABLE mail_attachments (
            source TEXT NOT NULL,
            key    TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            name   TEXT NOT NULL,
            PRIMARY KEY (source, key, sha256))""")
    db.execute("CREATE INDEX mail_attachments_file ON mail_attachments(sha256)")
    db.execute("""
        CREATE TABLE mail_cursors (
            source      TEXT PRIMARY KEY,
            uidvalidity INTEGER,
            last_uid    INTEGER)""")

def m012_office_rules(db: sqlite3.Connection) -> None:
    """The office's review criteria (审核口径, `xltool.officerules`) a collect ran under:
    each rules file once, by the digest of its text, with where it was read from and when it
    was first and last in force. A file's `examined_with` names the digest its outcome was
    found with (none: the defaults), so a verdict can always be explained."""
    db.execute("""
        CREATE TABLE office_rules (
            digest     TEXT PRIMARY KEY,
            source     TEXT NOT NULL,
            text       TEXT NOT NULL,
            first_used TEXT NOT NULL,
            last_used  TEXT NOT NULL)""")


def m013_reviews(db: sqlite3.Connection) -> None:
    """The office's review (审核) of the returns (`xltool.store.reviews`).

    `reviews`: every decision, never replaced (a project's history): the return reviewed,
    the project, the grade (优 良 中 差), the opinion (审核意见), who and when.
    `waivers`: a finding the office accepts as written, by code and optionally by project,
    sheet and cell, with the review that granted it; it stands for later returns of the
    department until a review revokes it (`revoked_by`)."""
    db.execute("""
        CREATE TABLE reviews (
            review_id       INTEGER PRIMARY KEY,
            sha256          TEXT NOT NULL REFERENCES received_files(sha256),
            template_id     TEXT NOT NULL,
            department_code TEXT NOT NULL,
            year            INTEGER,
            project_code    TEXT NOT NULL,
            grade           TEXT NOT NULL,
            opinion         TEXT NOT NULL,
            reviewer        TEXT NOT NULL,
            reviewed_at     TEXT NOT NULL)""")
    db.execute("CREATE INDEX reviews_department ON reviews(department_code, year, project_code)")
    db.execute("""
        CREATE TABLE waivers (
            waiver_id       INTEGER PRIMARY KEY,
            review_id       INTEGER NOT NULL REFERENCES reviews(review_id),
            department_code TEXT NOT NULL,
            year            INTEGER,
            project_code    TEXT NOT NULL,
            code            TEXT NOT NULL,
            sheet           TEXT NOT NULL,
            cell            TEXT NOT NULL,
            revoked_by      INTEGER REFERENCES reviews(review_id))""")
    db.execute("CREATE INDEX waivers_department ON waivers(department_code, year)")


MIGRATIONS: tuple[Migration, ...] = (
    m001_issued_templates, m002_received_files, m003_form_maps_as_json, m004_layout_columns,
    m005_layouts_kept_once, m006_targets_per_project, m007_profiles_as_issued,
    m008_original_name_bytes, m009_submission_chain, m010_mail_sent, m011_mail_received,
    m012_office_rules, m013_reviews)
SCHEMA_VERSION = len(MIGRATIONS)


def migrate(db: sqlite3.Connection) -> None:
    """Apply the migrations the store has not had, in one transaction (another process may
    be doing it too: the first one in does it, the other finds nothing left to do)."""
    db.execute("BEGIN IMMEDIATE")
    try:
        applied = _applied(db)
        for migration in MIGRATIONS:
            if migration.__name__ not in applied:
                migration(db)
                db.execute("INSERT INTO _migrations VALUES (?, ?)", (
                    migration.__name__, datetime.now(UTC).isoformat(timespec="seconds")))
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


def _applied(db: sqlite3.Connection) -> set[str]:
    """The names of the migrations the store has had; StoreError when one is not this
    release's (a newer xltool wrote the store). A store from before they were recorded had
    the first user_version of them: they are recorded now, with no date."""
    db.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT)")
    names = {row[0] for row in db.execute("SELECT name FROM _migrations")}
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if names - {m.__name__ for m in MIGRATIONS}:
        raise StoreError(f"由更新版本的 xltool 创建（第{version}版结构），请升级 xltool")
    if not names:
        names = {m.__name__ for m in MIGRATIONS[:version]}
        db.executemany("INSERT INTO _migrations VALUES (?, NULL)",
                       [(m.__name__,) for m in MIGRATIONS[:version]])
    return names
