"""`mail fetch`: every return in a mailbox, collected exactly as `collect` collects a folder.

For each message a source has not given before: parse it, take every workbook it carries
at any depth (`xltool.mail.attachments`), save each beside the store in the inbox folder
(`<store>-收件/`, under its decoded name made safe, with the suffix of what its bytes are;
another file of that name gets its hash in its name, and no file is ever overwritten), and
collect them all in one run, as `collect` would (the same rules and previous year's
targets), with each file's time of receipt being its delivery to the mailbox where the
mailbox records one (IMAP INTERNALDATE, a Maildir file's time, an mbox `From ` line: the
office's own server clock), as the submission chain orders returns — a department PC's
clock, ahead or behind, cannot decide which return is in force. Only an `.eml` file, whose
time is merely the latest it can have arrived, is received at the earlier of its Date and
that time. A Date far from the delivery is reported (`mail.date_doubtful`), nothing more.
Then the messages are recorded (`xltool.store.mailreceived`) with the workbooks they
carried, and each IMAP folder's cursor moves on: a run killed before that fetches those
messages again, and collect finds their files already received — nothing is lost, nothing
counted twice.

What concerns the office, not a department, is listed apart (`FetchRun.findings`): a
message without any workbook (who sent it, when, its subject: the clerk calls them), an
archive that cannot be opened, and a return whose sender is none of its department's
联系邮箱 as recorded at issue (`mail.unknown_sender`: collected as usual — the address
may just be new — and the office decides), a Date in the future or more than a day from
the delivery (`mail.date_doubtful`), and a message with more parts than are examined
(`mail.too_many_parts`). These never reach a department's feedback: it goes back to the
sender, whom the finding is about.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from email.message import Message
from email.utils import getaddresses, parsedate_to_datetime
from pathlib import Path
from typing import Any

from xltool.atomic import written_whole
from xltool.codes import (
    MAIL_DATE_DOUBTFUL,
    MAIL_NO_WORKBOOK,
    MAIL_TOO_MANY_PARTS,
    MAIL_UNKNOWN_SENDER,
)
from xltool.collect import CollectRun, collect
from xltool.defaults import DEFAULT_STORE
from xltool.errors import MailboxUnavailable, StoreError
from xltool.findings import Finding
from xltool.limits import DEFAULT_LIMITS, Limits
from xltool.mail.attachments import Attachment, Contents, contents, parse_message
from xltool.mail.filenames import inbox_name, numbered_name
from xltool.mail.send import PASSWORD_VARIABLE
from xltool.mail.sources import RawMessage, is_imap, opened
from xltool.officerules import OfficeRules
from xltool.store import Status, Store, open_store
from xltool.store.mailreceived import Cursor, ReceivedMessage
from xltool.text import shown_path

INBOX_SUFFIX = "-收件"
SEEN_BEFORE = "此前已收取（同一 Message-ID、同样的附件）"
# a Date this far from the delivery is no clock a little off: the office should know
DATE_TOLERANCE = timedelta(days=1)

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class FetchedFile:
    """A workbook taken from a message and saved in the inbox: where, its name in the
    message, its hash, and the message it came in (and where in it: a forward, a zip)."""

    path: Path
    name: str
    sha256: str
    message: ReceivedMessage
    within: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"path": shown_path(self.path), "name": self.name, "sha256": self.sha256,
                "within": self.within, "message": self.message.to_dict()}


@dataclass(frozen=True)
class FetchRun:
    """What a fetch found: the messages examined and new, the files taken from them, the
    collect run over those files, and what the office must see to."""

    sources: tuple[str, ...]
    inbox: Path
    messages_seen: int
    messages: tuple[ReceivedMessage, ...]
    """The new messages (not recorded before), in the order fetched."""
    files: tuple[FetchedFile, ...]
    collected: CollectRun | None
    findings: tuple[Finding, ...] = ()
    """For the office: messages without a workbook, archives not opened, unknown senders."""
    notes: tuple[str, ...] = ()
    """What was not checked, and why (a department without recorded addresses)."""

    @property
    def exit_code(self) -> int:
        """0 when every file was accepted and nothing needs the office; 1 otherwise."""
        collected = self.collected.exit_code if self.collected else 0
        return max(collected, 1 if self.findings else 0)

    def summary(self) -> dict[str, Any]:
        return {"messages_seen": self.messages_seen, "messages_new": len(self.messages),
                "files": len(self.files), "office_findings": len(self.findings),
                **({"collect": self.collected.summary()} if self.collected else {})}

    def to_dict(self) -> dict[str, Any]:
        return {"sources": list(self.sources), "inbox": shown_path(self.inbox),
                "messages": [m.to_dict() for m in self.messages],
                "files": [f.to_dict() for f in self.files],
                "collect": self.collected.to_dict() if self.collected else None,
                "findings": [f.to_dict() for f in self.findings],
                "notes": list(self.notes), "summary": self.summary()}


@dataclass
class _Message:
    """One message read, before it is recorded."""

    record: ReceivedMessage
    workbooks: list[Attachment]
    hashes: list[str]
    findings: list[Finding]
    date: datetime | None
    received: datetime
    """When the office received it: the earlier of its Date and its delivery."""
    new: bool = True


def inbox_folder(store: Path) -> Path:
    """Where fetched workbooks are saved: beside the store, named after it."""
    return store.with_name(store.stem + INBOX_SUFFIX)


def fetch_mail(sources: Sequence[str], *, store: Path | str = DEFAULT_STORE,
               feedback: Path | str | None = None, since: date | None = None,
               mark_seen: bool = False, cafile: Path | None = None,
               password: str | None = None, limits: Limits = DEFAULT_LIMITS, jobs: int = 1,
               rules: OfficeRules | Path | str | None = None,
               previous: Path | str | None = None, progress: Progress | None = None,
               on_wait: Callable[[str], None] | None = None) -> FetchRun:
    """Fetch the new messages of SOURCES (IMAP URLs, Maildirs, mbox files, .eml files or
    folders) and collect the workbooks they carry into STORE, as `collect` does (FEEDBACK,
    LIMITS, JOBS, RULES, PREVIOUS as there). SINCE: only messages dated that day or later;
    without it, the first run over a source reads every message in it. MARK_SEEN: flag
    the new IMAP messages \\Seen. PASSWORD: for IMAP, else XLTOOL_MAIL_PASSWORD."""
    store_path = Path(store)
    if not store_path.exists():
        raise StoreError(f"{store_path}: 没有这个存储文件（先用 xltool template 下发模板）")
    password = password if password is not None else os.environ.get(PASSWORD_VARIABLE)
    if password is None and any(is_imap(s) for s in sources):
        raise MailboxUnavailable(f"读取收件服务器需要密码：请设置环境变量 {PASSWORD_VARIABLE}，"
                                 "或在终端中运行以便输入")
    names, read, cursors = _read_sources(sources, store_path, since, mark_seen, cafile,
                                         password, limits)
    inbox = inbox_folder(store_path)
    files = _save(inbox, [m for m in read if m.new])
    collected = None
    if files:
        received_at = {f.path: d for f, d in _dates(files, read).items()}
        collected = collect([f.path for f in files], store=store_path, feedback=feedback,
                            jobs=jobs, limits=limits, received_at=received_at,
                            progress=progress, on_wait=on_wait, rules=rules,
                            previous=previous)
    with open_store(store_path, create=False) as opened_store:
        for message in read:
            opened_store.record_message(message.record, [
                (sha, w.name) for sha, w in zip(message.hashes, message.workbooks, strict=True)])
        for name, cursor in cursors.items():
            opened_store.record_cursor(name, cursor)
        senders, notes = _sender_findings(opened_store, files, collected)
    findings = [f for m in read if m.new for f in m.findings] + senders
    return FetchRun(tuple(names), inbox, len(read), tuple(m.record for m in read if m.new),
                    tuple(files), collected, tuple(findings), tuple(notes))


def _read_sources(sources: Sequence[str], store: Path, since: date | None, mark_seen: bool,
                  cafile: Path | None, password: str | None, limits: Limits
                  ) -> tuple[list[str], list[_Message], dict[str, Cursor]]:
    """Every message of SOURCES the store has not recorded, read; the sources' names; and
    the cursors to record once the messages are."""
    names: list[str] = []
    read: list[_Message] = []
    cursors: dict[str, Cursor] = {}
    now = datetime.now(UTC)
    with open_store(store, create=False) as opened_store:
        for text in sources:
            with opened(text, password=password, cafile=cafile, mark_seen=mark_seen) as source:
                names.append(source.name)
                known = opened_store.mail_keys(source.name)
                after = opened_store.mail_cursor(source.name)
                for raw in source.messages(known, since, after):
                    message = _read(raw, source.name, limits, now)
                    if since and message.date and message.date.date() < since:
                        continue  # left for a run without --since
                    if message.record.message_id and opened_store.seen_before(
                            message.record.message_id, message.hashes):
                        message.new = False
                        message.record = _noted(message.record, SEEN_BEFORE)
                    read.append(message)
                cursor = source.cursor()
                if cursor is not None:
                    cursors[source.name] = cursor
    return names, read, cursors


def _read(raw: RawMessage, source: str, limits: Limits, now: datetime) -> _Message:
    message = parse_message(raw.data)
    found = contents(message, limits)
    mailed = _date(message)
    sender = _sender(message)
    record = ReceivedMessage(
        source=source, key=raw.key, message_id=_header(message, "Message-ID") or None,
        sender=sender or None, mailed_at=mailed.isoformat(timespec="seconds") if mailed else None,
        subject=_header(message, "Subject") or None,
        references=_header(message, "References") or None, workbooks=len(found.workbooks))
    told = f"发件人 {sender or '（未知）'}；主题“{record.subject or ''}”；{_shown(mailed)}"
    facts = {"sender": sender or "（未知发件人）", "subject": record.subject or "（无主题）",
             "date": _shown(mailed)}
    findings = [_located(f, told) for f in found.findings]
    if not found.workbooks and not findings:
        findings.append(MAIL_NO_WORKBOOK.finding(facts, value=told))
        record = _noted(record, "没有附带工作簿")
    received, doubt = _received(mailed, raw.delivered if raw.delivery_recorded else None,
                                raw.delivered or now, now)
    if doubt:
        findings.append(MAIL_DATE_DOUBTFUL.finding(
            {**facts, "why": doubt, "received": _shown(received)}, value=told))
    findings += _parts_left(found, facts, told)
    hashes = [hashlib.sha256(w.data).hexdigest() for w in found.workbooks]
    return _Message(record, found.workbooks, hashes, findings, mailed, received)


def _received(mailed: datetime | None, delivered: datetime | None, latest: datetime,
              now: datetime) -> tuple[datetime, str]:
    """When the office received a message, and what is doubtful about its Date ("" when
    nothing is).

    Received is DELIVERED, the time the mailbox records (IMAP INTERNALDATE, a Maildir
    file's time, an mbox `From ` line), read off the office's own server clock: the
    sender's Date must not decide which of two returns came later, since a department PC
    whose clock runs behind would have a corrected return superseded by the old one. Only
    without a recorded delivery (an .eml file) is it the earlier of the Date and LATEST
    (the file's time or NOW, which the message cannot have arrived after).

    The Date is doubtful when later than NOW, or more than a day from DELIVERED (a clock a
    few minutes off is no news)."""
    doubt = ""
    if mailed is not None and mailed > now:
        doubt = "晚于收取时间（发件电脑时钟超前）"
    elif mailed is not None and delivered is not None and abs(mailed - delivered) > DATE_TOLERANCE:
        doubt = f"与邮件送达邮箱的时间 {_shown(delivered)} 相差一天以上"
    if delivered is not None:
        return delivered, doubt
    return (latest if mailed is None else min(mailed, latest)), doubt


def _parts_left(found: Contents, facts: dict[str, str], told: str) -> list[Finding]:
    if not found.parts_left:
        return []
    return [MAIL_TOO_MANY_PARTS.finding({**facts, "parts": found.parts_examined}, value=told)]


def _located(finding: Finding, told: str) -> Finding:
    """FINDING with the message it is about: who sent it, the subject, the date."""
    return Finding(code=finding.code, severity=finding.severity, message=finding.message,
                   fix=finding.fix, file=finding.file, value=told)


def _noted(record: ReceivedMessage, note: str) -> ReceivedMessage:
    return replace(record, note=note)


def _header(message: Message, name: str) -> str:
    """A header as text, whatever it holds (a header the library cannot parse, as written)."""
    try:
        value = message.get(name)
    except Exception:  # a malformed header: the parser's error is no reason to drop the mail
        value = None
    if value is None:
        return ""
    return " ".join(str(value).split())


def _sender(message: Message) -> str:
    """The From address (lower case), or "" when there is none to read."""
    addresses = getaddresses([_header(message, "From")])
    return addresses[0][1].strip().lower() if addresses else ""


def _date(message: Message) -> datetime | None:
    """The message's Date in UTC (a date without a zone taken as UTC); None without one."""
    text = _header(message, "Date")
    try:
        when = parsedate_to_datetime(text) if text else None
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:
        return None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(UTC)


def _shown(when: datetime | None) -> str:
    return when.astimezone().strftime("%Y-%m-%d %H:%M") if when else "（无日期）"


# -- the inbox -----------------------------------------------------------------------------


def _save(inbox: Path, messages: list[_Message]) -> list[FetchedFile]:
    """Each workbook of MESSAGES saved once in INBOX (by hash), as a FetchedFile per
    message it came in (a file mailed twice is collected once)."""
    saved: dict[str, Path] = {}
    files: list[FetchedFile] = []
    for message in messages:
        for sha256, workbook in zip(message.hashes, message.workbooks, strict=True):
            if sha256 not in saved:
                saved[sha256] = _saved(inbox, workbook, sha256)
                files.append(FetchedFile(saved[sha256], workbook.name, sha256,
                                         message.record, workbook.within))
    return files


def _saved(inbox: Path, workbook: Attachment, sha256: str) -> Path:
    """WORKBOOK in INBOX under its decoded name made safe, or with its hash in the name
    (then a number) when another file has that name: an existing file of the same bytes is
    left as it is, one of other bytes is never overwritten."""
    name = inbox_name(workbook.name, workbook.suffix)
    for candidate in _candidates(name, sha256):
        path = inbox / candidate
        if not path.exists():
            written_whole(path, lambda draft: draft.write_bytes(workbook.data))
            return path
        if path.is_file() and _hash_of(path) == sha256:
            return path
    raise StoreError(f"{shown_path(inbox)}: 同名文件过多，无法保存“{name}”")


def _candidates(name: str, sha256: str) -> Iterator[str]:
    """NAME, then NAME with the hash's first 8 digits, then numbered as well."""
    yield name
    yield numbered_name(name, sha256[:8])
    for number in range(2, 1000):
        yield numbered_name(name, f"{sha256[:8]}-{number}")


def _hash_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _dates(files: list[FetchedFile], read: list[_Message]) -> dict[FetchedFile, datetime]:
    """When the office received each file: the earliest receipt of the messages carrying
    it (each the earlier of its Date and its delivery)."""
    earliest: dict[str, datetime] = {}
    for message in read:
        if message.new:
            for sha256 in message.hashes:
                if sha256 not in earliest or message.received < earliest[sha256]:
                    earliest[sha256] = message.received
    return {f: earliest[f.sha256] for f in files if f.sha256 in earliest}


# -- the sender ----------------------------------------------------------------------------


def _sender_findings(store: Store, files: list[FetchedFile], collected: CollectRun | None
                     ) -> tuple[list[Finding], list[str]]:
    """`mail.unknown_sender` for each return whose sender is none of its department's
    addresses as recorded at issue; a note for each department with none recorded."""
    if collected is None:
        return [], []
    by_hash = {f.sha256: f for f in files}
    findings: list[Finding] = []
    unchecked: list[str] = []
    for outcome in collected.files:
        fetched = by_hash.get(outcome.sha256)
        received = store.received(outcome.sha256)
        if fetched is None or received is None or not received.department_code or \
                outcome.status is Status.DUPLICATE:
            continue
        department, addresses = store.department_contact(received.department_code,
                                                         received.year)
        if addresses is None:
            unchecked.append(department)
        elif fetched.message.sender and fetched.message.sender not in addresses:
            findings.append(MAIL_UNKNOWN_SENDER.finding(
                {"file": fetched.name or outcome.name, "sender": fetched.message.sender,
                 "department": department, "addresses": "；".join(sorted(addresses))},
                file=fetched.name or outcome.name, department=received.department_code,
                value=fetched.message.sender))
    notes = [f"{'、'.join(dict.fromkeys(unchecked))}：存储中没有下发模板时的联系邮箱，未核对发件人"
             ] if unchecked else []
    return findings, notes
