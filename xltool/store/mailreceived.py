"""Mail received: every message fetched from a mailbox, the workbooks it carried, and how
far each IMAP folder has been read.

A message is known by its source (the mailbox as named: an IMAP URL, a Maildir or mbox
path, an `.eml` folder or file) and its key there (IMAP `UIDVALIDITY:UID`, the Maildir or
mbox key, the SHA-256 of an `.eml` file): a rerun skips what it knows. A server that
renumbers its folder (a new UIDVALIDITY) lists every message again under new keys; a
message whose Message-ID and workbooks were recorded before is then known all the same
(`seen_before`), as is one exported again into another mbox.

Provenance: `message_of(sha256)` is the message a received file came in, which feedback
answers (In-Reply-To, References).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from xltool.store.records import Repository


@dataclass(frozen=True)
class ReceivedMessage:
    """A message fetched: where from, who sent it, when (its Date, UTC), and as what."""

    source: str
    key: str
    message_id: str | None
    sender: str | None
    mailed_at: str | None
    subject: str | None
    references: str | None
    workbooks: int = 0
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "key": self.key, "message_id": self.message_id,
                "sender": self.sender, "mailed_at": self.mailed_at, "subject": self.subject,
                "references": self.references, "workbooks": self.workbooks,
                "note": self.note}


@dataclass(frozen=True)
class Cursor:
    """How far an IMAP folder has been read: its UIDVALIDITY, and the last UID fetched."""

    uidvalidity: int
    last_uid: int


_MESSAGE_COLUMNS = ("source, key, message_id, sender, mailed_at, subject, references_, "
                    "workbooks, note")


class ReceivedMail(Repository):
    """The messages of an open store's mailboxes."""

    def mail_keys(self, source: str) -> set[str]:
        """The keys of every message of SOURCE recorded so far."""
        return {row[0] for row in self.connection.execute(
            "SELECT key FROM mail_received WHERE source = ?", (source,))}

    def seen_before(self, message_id: str, hashes: Iterable[str]) -> bool:
        """Whether a message of this Message-ID carrying these very workbooks (by hash) was
        recorded before, from any mailbox."""
        wanted = set(hashes)
        rows = self.connection.execute(
            "SELECT r.source, r.key, a.sha256 FROM mail_received r "
            "LEFT JOIN mail_attachments a USING (source, key) WHERE r.message_id = ?",
            (message_id,)).fetchall()
        carried: dict[tuple[str, str], set[str]] = {}
        for source, key, sha256 in rows:
            carried.setdefault((source, key), set()).update([sha256] if sha256 else [])
        return any(found == wanted for found in carried.values())

    def record_message(self, message: ReceivedMessage,
                       attachments: Iterable[tuple[str, str]]) -> None:
        """MESSAGE and its workbooks, (sha256, name) each, in one transaction."""
        fetched = datetime.now(UTC).isoformat(timespec="seconds")
        with self.transaction() as db:
            db.execute(f"INSERT OR REPLACE INTO mail_received ({_MESSAGE_COLUMNS}, fetched_at)"
                       " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (message.source, message.key, message.message_id, message.sender,
                        message.mailed_at, message.subject, message.references,
                        message.workbooks, message.note, fetched))
            db.executemany("INSERT OR IGNORE INTO mail_attachments VALUES (?, ?, ?, ?)",
                           [(message.source, message.key, sha256, name)
                            for sha256, name in attachments])

    def mail_cursor(self, source: str) -> Cursor | None:
        row = self.connection.execute(
            "SELECT uidvalidity, last_uid FROM mail_cursors WHERE source = ?",
            (source,)).fetchone()
        return Cursor(int(row[0]), int(row[1])) if row else None

    def record_cursor(self, source: str, cursor: Cursor) -> None:
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO mail_cursors VALUES (?, ?, ?)",
                       (source, cursor.uidvalidity, cursor.last_uid))

    def message_of(self, sha256: str) -> ReceivedMessage | None:
        """The message the file SHA256 came in: the earliest dated, if it came in several."""
        row = self.connection.execute(
            f"SELECT {', '.join('r.' + c.strip() for c in _MESSAGE_COLUMNS.split(','))} "
            "FROM mail_attachments a JOIN mail_received r USING (source, key) "
            "WHERE a.sha256 = ? ORDER BY r.mailed_at IS NULL, r.mailed_at, r.fetched_at "
            "LIMIT 1", (sha256,)).fetchone()
        return ReceivedMessage(*row) if row else None

    def received_messages(self) -> list[ReceivedMessage]:
        """Every message fetched, by date."""
        rows = self.connection.execute(
            f"SELECT {_MESSAGE_COLUMNS} FROM mail_received "
            "ORDER BY mailed_at IS NULL, mailed_at, fetched_at").fetchall()
        return [ReceivedMessage(*row) for row in rows]

    def department_contact(self, department_code: str, year: int | None
                           ) -> tuple[str, set[str] | None]:
        """The department's name and its 联系邮箱 as recorded with its templates of YEAR
        (lower case); None for the addresses when the store recorded none (templates
        issued before addresses were kept, or a ledger without them)."""
        rows = self.connection.execute(
            "SELECT department, emails FROM templates WHERE department_code = ? AND year IS ? "
            "ORDER BY issued_at", (department_code, year)).fetchall()
        name = rows[-1][0] if rows else department_code
        addresses = {address.strip().lower() for _, emails in rows
                     for address in (emails or "").split(";") if address.strip()}
        return name, addresses or None
