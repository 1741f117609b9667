"""Mail sent: every message sent or drafted, and what a department is mailed at.

A message is recorded `pending`, with its Message-ID, before it goes to the server; then
`sent` (with the server's response), `failed` (with the reason) or `drafted` (written to an
outbox as an .eml) or `unconfirmed` (the connection broke while the message was going: the
server may have taken it). A `pending` row that stays so is a run killed while sending:
the message may or may not have reached the server, and the next run sends it again under
the SAME Message-ID, as it does an `unconfirmed` one, so a recipient's client that got it
already shows it once.

The addresses and the cover's issuer, deadline and contact are recorded with each template
when it is issued (`Mailing`): the ledger of issue time is what the office mails by.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Any

from xltool.store.records import Repository


class Outcome(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    DRAFTED = "drafted"
    FAILED = "failed"
    UNCONFIRMED = "unconfirmed"
    """The connection broke during or after DATA: the server may have taken the message.
    Sent again, like a pending one, under the same Message-ID."""


class MailKind(StrEnum):
    TEMPLATE = "template"
    FEEDBACK = "feedback"
    REMINDER = "reminder"


@dataclass(frozen=True)
class Mailing:
    """What the template stage records for mail with a template: the department's 联系邮箱
    (`;`-separated), the cover's issuer, return deadline and contact, and the folder the
    workbook was written to (absolute)."""

    emails: str = ""
    issuer: str = ""
    deadline: str = ""
    contact: str = ""
    folder: str = ""

    @property
    def addresses(self) -> list[str]:
        return [a for a in self.emails.split(";") if a]


@dataclass(frozen=True)
class SentMessage:
    """One row of `mail_sent`."""

    message_id: str
    kind: str
    department_code: str
    year: int | None
    recipients: str
    subject: str
    attachment_sha256: str | None
    attachment_name: str | None
    in_reply_to: str | None
    prepared_at: str
    sent_at: str | None
    outcome: str
    response: str | None
    answers: str | None = None
    """For feedback: what it answers — the received file's hash, and, once the office has
    reviewed that return, `#review-` and the id of its latest decision (`feedback_key`)."""

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


SENT_COLUMNS = tuple(f.name for f in fields(SentMessage))
_SELECT = f"SELECT {', '.join(SENT_COLUMNS)} FROM mail_sent"


class SentMail(Repository):
    """The mail sent from an open store, and the mailing recorded with each template."""

    def mailing(self, template_id: str) -> Mailing:
        """What the template was issued with for mail (empty for one issued before mail)."""
        row = self.connection.execute(
            "SELECT emails, issuer, deadline, contact, folder FROM templates "
            "WHERE template_id = ?",
            (template_id,)).fetchone()
        return Mailing(*(value or "" for value in row)) if row else Mailing()

    def record_pending(self, message: SentMessage) -> None:
        """MESSAGE about to be sent or drafted; a pending row of the same Message-ID (a
        killed run's) is taken over."""
        with self.transaction() as db:
            db.execute(f"INSERT OR REPLACE INTO mail_sent ({', '.join(SENT_COLUMNS)}) "
                       f"VALUES ({', '.join('?' * len(SENT_COLUMNS))})",
                       tuple(getattr(message, c) for c in SENT_COLUMNS))

    def record_outcome(self, message_id: str, outcome: Outcome, response: str,
                       sent_at: str | None) -> None:
        with self.transaction() as db:
            db.execute("UPDATE mail_sent SET outcome = ?, response = ?, sent_at = ? "
                       "WHERE message_id = ?", (outcome.value, response, sent_at, message_id))

    def sent_mail(self, kind: str | None = None,
                  department_code: str | None = None) -> list[SentMessage]:
        """The messages recorded, oldest first (of one kind and department, if named)."""
        rows = self.connection.execute(
            f"{_SELECT} WHERE (?1 IS NULL OR kind = ?1) AND (?2 IS NULL OR department_code = ?2) "
            "ORDER BY prepared_at, rowid", (kind, department_code)).fetchall()
        return [SentMessage(*row) for row in rows]
