"""`play_mail_round`: the demo's first round by email, played on files, not servers.

The round trip is the real one (`xltool.mail`), but no server is started: the servers the
tests use — aiosmtpd, a test dependency, and Dovecot, a system package — need set-up a
clerk's machine has not had, and a demo must run on a fresh install. So the messages go
where a clerk's own tools can open them:

1. `mail templates --outbox`: one message per department, drafted as an `.eml` file in
   `outbox/` — what a clerk who sends from their own mail client does;
2. each department takes the workbook from the message it received, sends it back as it
   is, and answers the way its mail client writes — one forwards its own message (Outlook:
   message/rfc822, RFC 2231 names), one zips the workbook with its stamped PDF (Foxmail/QQ:
   GBK names in the zip, a quoted RFC 2047 GB18030 name), one's old client writes the name
   as raw GBK bytes. Each answer is delivered into `mailbox/`, a Maildir, as a mail server
   files a message;
3. `mail fetch mailbox/` takes the three returns out and collects them (the round's
   feedback into the folder given);
4. `mail feedback --outbox` drafts each department's 反馈表 as a reply to its message,
   `mail remind --outbox` a reminder to each department without an accepted return.
"""

from __future__ import annotations

import base64
import email
import io
import mailbox
import tempfile
import urllib.parse
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email import policy
from email.header import Header
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, localtime, make_msgid
from pathlib import Path

from xltool.mail.fetch import FetchRun, fetch_mail
from xltool.mail.outgoing import MailRun
from xltool.mail.send_feedback import mail_feedback
from xltool.mail.send_reminders import mail_remind
from xltool.mail.send_templates import mail_templates
from xltool.template.fill import fill_by_name

OFFICE = "示例市财政局预算科 <ys@czj.example.gov.cn>"
OUTBOX = "outbox"
MAILBOX = "mailbox"
STAMPED_PAGE = "盖章页.pdf"
_PDF = b"%PDF-1.4\n% the stamped signature page, scanned\n%%EOF\n"


@dataclass(frozen=True)
class Answer:
    """A department's answer: who, by which client, and the message file in the Maildir."""

    department_code: str
    department: str
    client: str
    path: Path


@dataclass(frozen=True)
class MailRound:
    """The round by mail: each command's run, and the departments' answers."""

    outbox: Path
    mailbox: Path
    templates: MailRun
    answers: tuple[Answer, ...]
    fetched: FetchRun
    feedback: MailRun
    reminders: MailRun


def play_mail_round(store: Path, out: Path, returns: Path, feedback: Path, *,
                    say: Callable[[str], None] = lambda _: None) -> MailRound:
    """Round 1 by mail, in OUT: templates drafted, every department's answer delivered and
    fetched (the returned workbooks kept in RETURNS, feedback into FEEDBACK), feedback and
    reminders drafted."""
    outbox, box = out / OUTBOX, out / MAILBOX
    templates = mail_templates(sender=OFFICE, store=store, outbox=outbox, pace=0)
    say(f"邮件：{templates.count('drafted')} 封模板邮件存为草稿（{OUTBOX}/）")
    returns.mkdir()
    maildir = mailbox.Maildir(box, factory=None, create=True)
    answers = []
    drafts = [d for d in templates.deliveries if d.outcome == "drafted"]
    for delivery, (client, write) in zip(drafts, _cycle(CLIENTS, len(drafts)), strict=True):
        received = _read(Path(delivery.response))
        name, workbook = _returned(received, returns)
        key = maildir.add(write(received, delivery.department, name, workbook))
        answers.append(Answer(delivery.department_code, delivery.department, client,
                              box / "new" / key))
    say(f"邮件：{len(answers)} 个部门回复了邮件（{MAILBOX}/，Maildir）")
    fetched = fetch_mail([str(box)], store=store, feedback=feedback)
    say(f"邮件：收取 {len(fetched.messages)} 封邮件，取得报送文件 {len(fetched.files)} 个")
    answered = mail_feedback(sender=OFFICE, store=store, outbox=outbox, pace=0)
    reminded = mail_remind(sender=OFFICE, store=store, outbox=outbox, pace=0)
    say(f"邮件：{answered.count('drafted')} 封反馈邮件、{reminded.count('drafted')} 封催报邮件"
        "存为草稿")
    return MailRound(outbox, box, templates, tuple(answers), fetched, answered, reminded)


def _cycle(items: Sequence[tuple[str, Writer]], count: int) -> list[tuple[str, Writer]]:
    return [items[n % len(items)] for n in range(count)]


def _read(path: Path) -> EmailMessage:
    message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def _returned(message: EmailMessage, returns: Path) -> tuple[str, bytes]:
    """The workbook the department sends back: the one it received, opened and saved again
    unchanged (the round's mistakes are the prefilled ones), kept in RETURNS."""
    [attached] = message.iter_attachments()
    name = str(attached.get_filename())
    with tempfile.TemporaryDirectory(prefix="xltool-demo-") as folder:
        received = Path(folder) / name
        received.write_bytes(attached.get_content())
        saved = fill_by_name(received, {}, returns / name)
    return name, saved.read_bytes()


# -- three mail clients' answers -------------------------------------------------------------

Writer = Callable[[EmailMessage, str, str, bytes], bytes]
"""(the message received, the department, the workbook's name, its bytes) → the answer."""


def _headers(received: EmailMessage, department: str, subject: str, *, to: str = OFFICE,
             charset: str = "utf-8") -> bytes:
    """An answer's headers: from DEPARTMENT (at the address RECEIVED went to), replying to
    RECEIVED."""
    address = getaddresses([str(received["To"])])[0][1]
    replied = str(received["Message-ID"])
    lines = [f"From: {Header(department, charset).encode()} <{address}>",
             f"To: {Header(to, 'utf-8').encode()}",
             f"Subject: {Header(subject, charset).encode()}",
             f"Date: {format_datetime(localtime())}",
             f"Message-ID: {make_msgid(domain=address.rpartition('@')[2])}",
             f"In-Reply-To: {replied}", f"References: {replied}", "MIME-Version: 1.0"]
    return "\r\n".join(lines).encode("ascii") + b"\r\n"


def _mixed(headers: bytes, parts: Sequence[bytes], boundary: str) -> bytes:
    marker = f"--{boundary}".encode()
    body = b"".join(marker + b"\r\n" + part for part in parts)
    return (headers + f'Content-Type: multipart/mixed; boundary="{boundary}"\r\n\r\n'.encode()
            + body + marker + b"--\r\n")


def _text(text: str, charset: str = "utf-8") -> bytes:
    return (f"Content-Type: text/plain; charset={charset}\r\n"
            f"Content-Transfer-Encoding: base64\r\n\r\n").encode() + _base64(text.encode(charset))


def _file(content_type: bytes, disposition: bytes, data: bytes) -> bytes:
    return (b"Content-Type: " + content_type + b"\r\nContent-Disposition: " + disposition +
            b"\r\nContent-Transfer-Encoding: base64\r\n\r\n" + _base64(data))


def _base64(data: bytes) -> bytes:
    return base64.encodebytes(data).replace(b"\n", b"\r\n")


def forwarded(received: EmailMessage, department: str, name: str, workbook: bytes) -> bytes:
    """Outlook: the department's answer, first sent to its director, who forwards it to the
    office as an attachment (message/rfc822); the name in RFC 2231, with continuations."""
    subject = f"答复: {received['Subject']}"
    octets = name.encode()
    pieces = [urllib.parse.quote(octets[i:i + 24]) for i in range(0, len(octets), 24)]
    charset = ["utf-8''", *[""] * (len(pieces) - 1)]
    continued = "".join(f";\r\n filename*{n}*={charset[n]}{piece}"
                        for n, piece in enumerate(pieces))
    own = _mixed(_headers(received, department, subject, to="领导 <director@example.gov.cn>"), [
        _text("领导：绩效目标表已填好，请审阅后转财政局。"),
        _file(f"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet;\r\n"
              f" name*=utf-8''{''.join(pieces)}".encode(), f"attachment{continued}".encode(),
              workbook)], "----=_Part_Outlook_inner")
    return _mixed(_headers(received, department, f"转发: {subject}"), [
        _text("转发我单位的绩效目标表，请查收。"),
        b"Content-Type: message/rfc822\r\nContent-Disposition: attachment\r\n\r\n" + own],
        "----=_Part_Outlook_outer")


def zipped(received: EmailMessage, department: str, name: str, workbook: bytes) -> bytes:
    """Foxmail/QQ: the workbook zipped on a Chinese Windows with the stamped page (GBK names,
    no UTF-8 flag); the zip's name an RFC 2047 GB18030 word in quotes."""
    word = Header(f"{department}报送材料.zip", "gb18030").encode()
    subject = f"回复：{received['Subject']}"
    return _mixed(_headers(received, department, subject, charset="gb18030"), [
        _text("附件是填好的绩效目标表和盖章页，请查收。", "gb18030"),
        _file(f'application/octet-stream;\r\n\tcharset="gb18030";\r\n\tname="{word}"'.encode(),
              f'attachment; filename="{word}"'.encode(),
              gbk_zip({name: workbook, STAMPED_PAGE: _PDF}))], "----=_NextPart_Foxmail")


def gbk_named(received: EmailMessage, department: str, name: str, workbook: bytes) -> bytes:
    """An old client on a Chinese Windows: the file name as raw 8-bit GBK, not encoded."""
    raw = name.encode("gb18030")
    return _mixed(_headers(received, department, "Re: 绩效目标表"), [
        _text("绩效目标表见附件。"),
        _file(b'application/vnd.ms-excel; name="' + raw + b'"',
              b'attachment; filename="' + raw + b'"', workbook)], "=_gbk_client")


def gbk_zip(members: dict[str, bytes]) -> bytes:
    """A zip as a Chinese Windows writes one: member names in GBK, without the UTF-8 flag.
    `zipfile` writes any non-ASCII name as UTF-8 with the flag, so each is written under an
    ASCII stand-in of the same length, then its GBK bytes are put in the stand-in's place
    (in the local header and the central directory; no checksum covers a name)."""
    buffer = io.BytesIO()
    stand_ins = {name: f"{n:0{len(name.encode('gb18030'))}d}".encode()
                 for n, name in enumerate(members)}
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(stand_ins[name].decode(), data)
    written = buffer.getvalue()
    for name, stand_in in stand_ins.items():
        written = _in_headers(written, stand_in, name.encode("gb18030"))
    return written


def _in_headers(archive: bytes, stand_in: bytes, name: bytes) -> bytes:
    """ARCHIVE with STAND_IN replaced by NAME where a header holds it: right after the
    fixed part of a local header (30 bytes) and of a central directory entry (46)."""
    for signature, offset in ((b"PK\x03\x04", 30), (b"PK\x01\x02", 46)):
        start = archive.find(signature)
        while start != -1:
            at = start + offset
            if archive[at:at + len(stand_in)] == stand_in:
                archive = archive[:at] + name + archive[at + len(stand_in):]
            start = archive.find(signature, start + 1)
    return archive


CLIENTS: tuple[tuple[str, Writer], ...] = (
    ("Outlook 转发", forwarded), ("Foxmail 压缩包", zipped), ("GBK 文件名", gbk_named))
