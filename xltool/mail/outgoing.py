"""Sending a run's letters: nothing twice, nothing lost, at a pace the server tolerates.

Each letter is known again on a rerun by what makes it the same message: a template by its
department and the issued file's hash, a feedback by the return it answers and the office's
latest review decision on it, a reminder by its department and the day. A letter already
`sent` is not sent again (unless resent); one drafted into an outbox is not drafted again,
but is still sent by a run that sends.

Before a message goes it is recorded `pending` with its Message-ID, and after it its
outcome. A letter whose last row is still `pending` was being sent when a run was killed:
the server may have taken it or not, and nothing can tell which. It is sent again under
the SAME Message-ID — a department is better mailed twice, as one message its mail client
shows once, than not at all. So is one `unconfirmed` (the connection broke while it was
going). Only a sending run completes it: a run drafting into an outbox
drafts under a Message-ID of its own and leaves the pending message to the next run that
sends. A reminder left so is completed whatever day it was begun; only then does the
once-a-day rule apply. A feedback letter without its 反馈表 is never handed over (its body
says the 反馈表 is attached): it is reported, `mail.no_feedback`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from xltool.codes import (
    MAIL_NO_FEEDBACK,
    MAIL_PARTLY_REFUSED,
    MAIL_REFUSED,
    MAIL_TOO_LARGE,
    MAIL_UNCONFIRMED,
)
from xltool.collect.feedback import safe_name
from xltool.findings import Finding
from xltool.mail.compose import Attachment, Reply, compose, new_message_id, wire_bytes
from xltool.mail.send import Handed, Transport
from xltool.store import Store, exclusive, open_store
from xltool.store.chain import now
from xltool.store.mailsent import MailKind, Outcome, SentMessage

Progress = Callable[[int, int], None]

ALREADY = "already"
"""A delivery's outcome when the letter went before: nothing was sent this time."""
NOT_SENT = "not_sent"
"""A delivery's outcome when there was nothing to send it with (no address, no file)."""

_COUNTED = (Outcome.SENT.value, Outcome.DRAFTED.value, Outcome.FAILED.value,
            Outcome.UNCONFIRMED.value, ALREADY, NOT_SENT)
# A message that may have gone: the next run sends it again under its Message-ID.
_UNFINISHED = (Outcome.PENDING.value, Outcome.UNCONFIRMED.value)
_LABELS = {MailKind.TEMPLATE: "模板", MailKind.FEEDBACK: "反馈", MailKind.REMINDER: "催报"}


@dataclass(frozen=True)
class Letter:
    """One message to send: to whom, what, and what makes it the same message again."""

    kind: MailKind
    department_code: str
    department: str
    year: int | None
    recipients: tuple[str, ...]
    subject: str
    body: str
    attachment: Attachment | None = None
    reply: Reply | None = None
    answers: str | None = None
    """What a feedback answers: its return's hash and the review decision (`feedback_key`)."""
    notes: tuple[Finding, ...] = ()
    """What the office is told of the letter whatever becomes of it."""


@dataclass(frozen=True)
class Delivery:
    """What became of one department's letter in this run."""

    department_code: str
    department: str
    recipients: tuple[str, ...]
    subject: str
    outcome: str
    """sent, drafted, failed, unconfirmed (may have gone: sent again next run), already (sent
    before: nothing sent now) or not_sent."""
    message_id: str = ""
    attachment: str = ""
    response: str = ""
    findings: tuple[Finding, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"department_code": self.department_code, "department": self.department,
                "recipients": list(self.recipients), "subject": self.subject,
                "outcome": self.outcome, "message_id": self.message_id,
                "attachment": self.attachment, "response": self.response,
                "findings": [f.to_dict() for f in self.findings]}


@dataclass(frozen=True)
class MailRun:
    """A run of `mail templates`, `mail feedback` or `mail remind`."""

    kind: str
    deliveries: tuple[Delivery, ...]
    drafted_to: str | None = None

    @property
    def findings(self) -> tuple[Finding, ...]:
        return tuple(f for d in self.deliveries for f in d.findings)

    def count(self, outcome: str) -> int:
        return sum(d.outcome == outcome for d in self.deliveries)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "drafted_to": self.drafted_to,
                "counts": {o: self.count(o) for o in _COUNTED},
                "deliveries": [d.to_dict() for d in self.deliveries]}


def named(code: str, department: str) -> str:
    """A department as a mail finding names it (`{department}`)."""
    return f"{code} {department}"


def not_sent(code: str, department: str, finding: Finding, recipients: Sequence[str] = (),
             attachment: str = "") -> Delivery:
    """A department's letter that could not be made: FINDING says why."""
    return Delivery(code, department, tuple(recipients), "", NOT_SENT, attachment=attachment,
                    findings=(finding,))


def mail_run(store: Path | str, kind: MailKind, make: Callable[[Store], list[Letter | Delivery]],
             transport: Transport, *, sender: str, resend: bool, pace: float,
             progress: Progress | None, drafted_to: Path | None) -> MailRun:
    """One run: MAKE says, from the store, each department's letter (or why there is none);
    the letters not sent before go. One writing run per store at a time: two runs at once
    would both find a letter unsent."""
    with exclusive(store), open_store(store, create=False) as opened:
        made = make(opened)
        letters = [m for m in made if isinstance(m, Letter)]
        handed = iter(deliver(opened, letters, transport, sender=sender, resend=resend,
                              pace=pace, progress=progress))
        deliveries = [next(handed) if isinstance(m, Letter) else m for m in made]
    return MailRun(kind.value, tuple(deliveries), str(drafted_to) if drafted_to else None)


def deliver(store: Store, letters: Sequence[Letter], transport: Transport, *, sender: str,
            resend: bool = False, pace: float = 0, progress: Progress | None = None
            ) -> list[Delivery]:
    """Send (or draft) each letter not sent before, recording it before and after. The
    transport is opened only when there is something to send: a rerun that finds
    everything sent never connects."""
    drafting = transport.drafts
    deliveries: dict[int, Delivery] = {}
    to_send: list[tuple[int, Letter, str | None]] = []
    for index, letter in enumerate(letters):
        earlier = store.sent_mail(letter.kind, letter.department_code)
        finished = [row for row in earlier if _same(row, letter) and _done(row, drafting)]
        # A draft is not the message a sending run owes: its Message-ID is left to that run.
        pending = None if drafting else _pending(earlier, letter)
        if finished and not resend and pending is None:
            deliveries[index] = _already(letter, finished[-1])
        elif letter.kind is MailKind.FEEDBACK and letter.attachment is None:
            deliveries[index] = _without_feedback(store, letter)
        else:
            to_send.append((index, letter, pending))
    if to_send:
        interval = 60 / pace if pace > 0 and not drafting else 0.0
        with transport:
            for done, (index, letter, pending) in enumerate(to_send, start=1):
                if done > 1 and interval:
                    time.sleep(interval)
                deliveries[index] = _hand(store, letter, transport, sender, pending)
                if progress:
                    progress(done, len(to_send))
    return [deliveries[index] for index in range(len(letters))]


def _same(row: SentMessage, letter: Letter) -> bool:
    """Whether ROW recorded LETTER (the same message, sent on an earlier run)."""
    if letter.kind is MailKind.TEMPLATE:
        return letter.attachment is not None and row.attachment_sha256 == letter.attachment.sha256
    if letter.kind is MailKind.FEEDBACK:
        return row.answers == letter.answers
    return _local_day(row.prepared_at) == date.today()


def _done(row: SentMessage, drafting: bool) -> bool:
    return row.outcome == Outcome.SENT or (drafting and row.outcome == Outcome.DRAFTED)


def _pending(earlier: Sequence[SentMessage], letter: Letter) -> str | None:
    """The Message-ID LETTER may have gone under (a killed run's, a broken connection's), if
    any. A reminder's is its department's, whatever the day: the day keys new ones only."""
    pending = [row for row in earlier if row.outcome in _UNFINISHED
               and (letter.kind is MailKind.REMINDER or _same(row, letter))]
    return pending[-1].message_id if pending else None


def _without_feedback(store: Store, letter: Letter) -> Delivery:
    """A feedback letter that came without its 反馈表: its body says one is attached, so it
    is not sent (nor completed under an earlier run's Message-ID)."""
    sha256 = (letter.answers or "").split("#")[0]
    received = store.received(sha256) if sha256 else None
    name = received.original_name if received else sha256
    finding = MAIL_NO_FEEDBACK.finding(
        {"department": named(letter.department_code, letter.department), "value": name},
        department=letter.department_code, file=name)
    return not_sent(letter.department_code, letter.department, finding, letter.recipients)


def _local_day(stamp: str) -> date:
    return datetime.fromisoformat(stamp).astimezone().date()


def _already(letter: Letter, row: SentMessage) -> Delivery:
    return Delivery(letter.department_code, letter.department, letter.recipients,
                    letter.subject, ALREADY, row.message_id, row.attachment_name or "",
                    f"{row.sent_at or row.prepared_at} 已{_WORD[row.outcome]}", letter.notes)


_WORD = {Outcome.SENT.value: "发送", Outcome.DRAFTED.value: "存为草稿"}


def _hand(store: Store, letter: Letter, transport: Transport, sender: str,
          message_id: str | None) -> Delivery:
    message_id = message_id or new_message_id(sender)
    message = compose(sender=sender, recipients=letter.recipients, subject=letter.subject,
                      body=letter.body, message_id=message_id, attachment=letter.attachment,
                      reply=letter.reply)
    attachment = letter.attachment
    store.record_pending(SentMessage(
        message_id, letter.kind.value, letter.department_code, letter.year,
        ";".join(letter.recipients), letter.subject, attachment.sha256 if attachment else None,
        attachment.name if attachment else None,
        letter.reply.message_id if letter.reply else None, now(), None, Outcome.PENDING.value,
        None, letter.answers))
    handed = transport.hand(sender, list(letter.recipients), wire_bytes(message),
                            _draft_name(letter, message_id))
    store.record_outcome(message_id, handed.outcome, handed.response,
                         now() if handed.outcome in (Outcome.SENT, Outcome.DRAFTED) else None)
    return Delivery(letter.department_code, letter.department, letter.recipients,
                    letter.subject, handed.outcome.value, message_id,
                    attachment.name if attachment else "", handed.response,
                    (*letter.notes, *_findings(letter, handed)))


def _draft_name(letter: Letter, message_id: str) -> str:
    """An outbox file's name: whose, what, and the message's own part (a resend is another)."""
    unique = message_id.strip("<>").split("@")[0].rsplit(".", 1)[-1][-8:]
    return "_".join([safe_name(letter.department_code), safe_name(letter.department),
                     _LABELS[letter.kind], unique])


def _findings(letter: Letter, handed: Handed) -> tuple[Finding, ...]:
    facts = {"response": handed.response, "refused": "、".join(handed.refused),
             "department": named(letter.department_code, letter.department)}
    department, file = letter.department_code, letter.attachment.name if letter.attachment else ""
    if handed.outcome is Outcome.UNCONFIRMED:
        return (MAIL_UNCONFIRMED.finding(facts, department=department, file=file),)
    if handed.outcome is Outcome.FAILED:
        problem = MAIL_TOO_LARGE if handed.too_large else MAIL_REFUSED
        return (problem.finding(facts, department=department, file=file),)
    if handed.refused:
        return (MAIL_PARTLY_REFUSED.finding(facts, department=department, file=file),)
    return ()
