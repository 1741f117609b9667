"""The office's rules files each collect ran under (`xltool.officerules`), kept by digest.

A received file's `examined_with` names the digest its outcome was found with; the text
behind it is here, so a verdict can be explained long after the file on disk changed."""

from __future__ import annotations

from xltool.store.chain import now
from xltool.store.records import Repository


def record_rules(store: Repository, digest: str, source: str, text: str) -> None:
    """Record that the rules of DIGEST (read from SOURCE, as TEXT) are in force now."""
    at = now()
    with store.transaction() as db:
        db.execute("INSERT INTO office_rules VALUES (?, ?, ?, ?, ?) ON CONFLICT (digest) "
                   "DO UPDATE SET last_used = excluded.last_used, source = excluded.source",
                   (digest, source, text, at, at))


def recorded_rules(store: Repository, digest: str) -> tuple[str, str] | None:
    """Where the rules of DIGEST were read from, and their text; None if never recorded."""
    row = store.connection.execute(
        "SELECT source, text FROM office_rules WHERE digest = ?", (digest,)).fetchone()
    return (row[0], row[1]) if row else None
