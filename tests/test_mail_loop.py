"""The office's round trip by email, end to end, against real local servers.

aiosmtpd (STARTTLS and AUTH required) is the mail server everybody sends through; what is
sent to the office's address it delivers into Dovecot's INBOX (`Delivering`), which the
office reads over IMAPS. The loop, all through the command line:

1. templates issued to four departments, all with a 联系邮箱; `mail templates` mails four;
2. three departments take the workbook from the message they received, fill it and send it
   back with three mail clients' habits — 教育局 forwards its own message in Outlook's
   way (message/rfc822, RFC 2231 names with continuations), 卫健委 zips the workbook with a
   stamped PDF as Foxmail/QQ does (GBK member names, an RFC 2047 GB18030 `name="…"`), 交通局's
   old client writes the name as raw 8-bit GBK — and 文旅局 never answers;
   交通局's form has an error;
3. `mail fetch imaps://…/INBOX` collects the three returns with their messages;
4. `mail feedback` answers each as a reply, its 反馈表 attached;
5. `mail remind` reminds the departments with no accepted return: 文旅局 (未报送) and
   交通局 (有错误待修改), as the README says;
6. each command again: nothing sent, nothing fetched.

The whole loop runs once, in a module-scoped fixture; the tests read what it left.
"""

from __future__ import annotations

import base64
import email
import hashlib
import io
import json
import smtplib
import ssl
import urllib.parse
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, localtime, make_msgid
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from tests.conftest import complete_values, ledger_row, write_ledger
from tests.fill import fill_with_openpyxl
from tests.mailservers import (
    DOVECOT,
    PASSWORD,
    USER,
    Delivering,
    Dovecot,
    Received,
    RunningSmtp,
    running_dovecot,
    smtp_server,
)
from xltool.cli import main
from xltool.collect.feedback import feedback_name
from xltool.mail.send import PASSWORD_VARIABLE
from xltool.store import open_store
from xltool.template import issue_templates

pytestmark = [pytest.mark.dovecot,
              pytest.mark.skipif(not DOVECOT.exists(), reason="Dovecot is not installed "
                                 "(apt-get install dovecot-imapd; .ci/run installs it)")]

OFFICE = "ys@czj.example.gov.cn"
SENDER = f"示例市财政局预算科 <{OFFICE}>"
DEPARTMENTS = {"001": ("示例市教育局", "jyj@jy.example.cn"),
               "002": ("示例市卫生健康委员会", "wjw@ws.example.cn"),
               "003": ("示例市交通运输局", "jtj@jt.example.cn"),
               "004": ("示例市文化和旅游局", "wlj@wl.example.cn")}
ANSWERING = ("001", "002", "003")
SILENT = "004"
WITH_ERRORS = "003"
RETURN_NAMES = {"001": "教育局2024年绩效目标表（已填）.xlsx",
                "002": "卫健委绩效目标表-盖章前.xlsx",
                "003": "交通局目标表.xlsx"}
DEADLINE = "2024年3月31日"


@dataclass
class Loop:
    """What the loop left: the store, the feedback folder, each command's JSON, the
    messages the server took at each step, and the returns as the departments sent them."""

    store: Path
    feedback: Path
    templates: dict[str, Received] = field(default_factory=dict)
    returns: dict[str, bytes] = field(default_factory=dict)
    filled: dict[str, bytes] = field(default_factory=dict)
    runs: dict[str, dict[str, Any]] = field(default_factory=dict)
    exit_codes: dict[str, int] = field(default_factory=dict)
    sent: dict[str, list[Received]] = field(default_factory=dict)
    inbox_count: int = 0
    inbox_count_after_rerun: int = 0
    flags: list[str] = field(default_factory=list)


# -- the loop ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def loop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loop]:
    folder = tmp_path_factory.mktemp("loop")
    with running_dovecot() as dovecot, smtp_server(
            tls=dovecot.tls, user=USER, password=PASSWORD,
            recorder=Delivering(mailbox=dovecot, local=OFFICE)) as server:
        yield play(folder, dovecot, server)


def play(folder: Path, dovecot: Dovecot, server: RunningSmtp) -> Loop:
    store = folder / "xltool.db"
    ledger = write_ledger(folder / "ledger.csv", [
        ledger_row(f"{code}-01", "业务运行经费", department=(code, name), 联系邮箱=address)
        for code, (name, address) in DEPARTMENTS.items()])
    issued = issue_templates(ledger, folder / "templates", store=store, deadline=DEADLINE,
                             contact="预算科 张三 0951-0000000", issuer="示例市财政局")
    template_ids = {w.department_code: w.template_id for w in issued.workbooks}
    loop = Loop(store, folder / "feedback")
    sending = ["--smtp", server.url, "--from", SENDER, "--store", str(store),
               "--cafile", str(dovecot.tls.ca), "--pace", "0", "--json"]
    fetching = ["mail", "fetch", dovecot.url(), "--store", str(store),
                "--cafile", str(dovecot.tls.ca), "--feedback", str(loop.feedback), "--json"]

    def command(step: str, *args: str) -> None:
        before = len(server.messages)
        result = CliRunner().invoke(main, list(args), env={PASSWORD_VARIABLE: PASSWORD})
        assert result.exit_code in (0, 1), (step, result.output, result.exception)
        loop.runs[step], loop.exit_codes[step] = json.loads(result.stdout), result.exit_code
        loop.sent[step] = server.messages[before:]

    command("templates", "mail", "templates", *sending)
    loop.templates = {code: _to(server.messages, address)
                      for code, (_name, address) in DEPARTMENTS.items()}
    for code, client in zip(ANSWERING, (forwarded, zipped, gbk_named), strict=True):
        template = loop.templates[code]
        loop.filled[code] = _filled(folder, store, template_ids[code], template, code)
        loop.returns[code] = client(code, email.message_from_bytes(
            template.data, policy=policy.default), loop.filled[code])
        _send_as_department(server, dovecot, code, loop.returns[code])
    loop.inbox_count = dovecot.count()
    command("fetch", *fetching)
    command("feedback", "mail", "feedback", *sending)
    command("remind", "mail", "remind", *sending)
    for step in ("templates", "feedback", "remind"):
        command(f"{step} again", "mail", step, *sending)
    command("fetch again", *fetching)
    loop.inbox_count_after_rerun = dovecot.count()
    loop.flags = dovecot.flags()
    return loop


def _to(messages: list[Received], address: str) -> Received:
    [message] = [m for m in messages if address in m.rcpt_tos]
    return message


def _filled(folder: Path, store: Path, template_id: str, template: Received, code: str) -> bytes:
    """The department's return: the workbook from the message it received, filled (交通局's
    without its goal: an error)."""
    message = email.message_from_bytes(template.data, policy=policy.default)
    [attached] = message.iter_attachments()
    received = folder / "departments" / code / str(attached.get_filename())
    received.parent.mkdir(parents=True)
    received.write_bytes(attached.get_content())
    values = complete_values(store, template_id)
    if code == WITH_ERRORS:
        del values["XT_P01_GOAL"]
    return fill_with_openpyxl(received, values, received.parent / RETURN_NAMES[code]).read_bytes()


def _send_as_department(server: RunningSmtp, dovecot: Dovecot, code: str, data: bytes) -> None:
    """Through the same server, as the department's client does: STARTTLS, AUTH, 8BITMIME
    for the client that writes raw 8-bit names."""
    context = ssl.create_default_context(cafile=str(dovecot.tls.ca))
    with smtplib.SMTP("127.0.0.1", server.port, timeout=30) as client:
        client.starttls(context=context)
        client.login(USER, PASSWORD)
        refused = client.sendmail(DEPARTMENTS[code][1], [OFFICE], data,
                                  mail_options=[] if data.isascii() else ["BODY=8BITMIME"])
    assert refused == {}


# -- three mail clients' returns --------------------------------------------------------------


def _reply_headers(code: str, template: EmailMessage, subject: str) -> str:
    name, address = DEPARTMENTS[code]
    word = base64.b64encode(name.encode()).decode()
    return (f"From: =?utf-8?B?{word}?= <{address}>\r\nTo: {OFFICE}\r\n"
            f"Subject: =?utf-8?B?{base64.b64encode(subject.encode()).decode()}?=\r\n"
            f"Date: {format_datetime(localtime())}\r\n"
            f"Message-ID: {make_msgid(domain=address.split('@')[1])}\r\n"
            f"In-Reply-To: {template['Message-ID']}\r\n"
            f"References: {template['Message-ID']}\r\nMIME-Version: 1.0\r\n")


def _base64(data: bytes) -> str:
    return base64.encodebytes(data).decode().replace("\n", "\r\n")


def forwarded(code: str, template: EmailMessage, workbook: bytes) -> bytes:
    """Outlook: the department's own reply, sent to its director, forwarded by him to the
    office as an attachment (message/rfc822); names in RFC 2231 with continuations."""
    name = RETURN_NAMES[code].encode()
    # pieces of 20 octets: whole escapes, but a character's bytes may straddle two pieces
    pieces = [urllib.parse.quote(name[i:i + 20]) for i in range(0, len(name), 20)]
    encoded = "".join(pieces)
    continued = ";".join(f"\r\n filename*{n}*={'utf-8' + chr(39) * 2 if n == 0 else ''}{p}"
                         for n, p in enumerate(pieces))
    subject = "答复: " + str(template["Subject"])
    original = (_reply_headers(code, template, subject).replace(f"To: {OFFICE}",
                                                                "To: director@jy.example.cn") +
                'Content-Type: multipart/mixed; boundary="----=_inner"\r\n\r\n'
                '------=_inner\r\nContent-Type: text/plain; charset="utf-8"\r\n'
                "Content-Transfer-Encoding: base64\r\n\r\n"
                f"{_base64('领导：已填好，请审阅后转财政局。'.encode())}"
                "------=_inner\r\nContent-Type: application/vnd.openxmlformats-officedocument."
                f"spreadsheetml.sheet;\r\n name*=utf-8''{encoded}\r\n"
                f"Content-Disposition: attachment;{continued}\r\n"
                f"Content-Transfer-Encoding: base64\r\n\r\n{_base64(workbook)}"
                "------=_inner--\r\n")
    return (_reply_headers(code, template, "转发: " + subject) +
            'Content-Type: multipart/mixed; boundary="----=_outer"\r\n\r\n'
            '------=_outer\r\nContent-Type: text/plain; charset="utf-8"\r\n'
            "Content-Transfer-Encoding: base64\r\n\r\n"
            f"{_base64('转发我局报送的绩效目标表，请查收。'.encode())}"
            "------=_outer\r\nContent-Type: message/rfc822\r\n"
            "Content-Disposition: attachment\r\n\r\n"
            f"{original}------=_outer--\r\n").encode("ascii")


def zipped(code: str, template: EmailMessage, workbook: bytes) -> bytes:
    """Foxmail/QQ: the workbook zipped on a Chinese Windows (GBK member names, no UTF-8
    flag) with the stamped PDF; the zip's name an RFC 2047 GB18030 word, quoted."""
    buffer = io.BytesIO()
    names = {RETURN_NAMES[code]: workbook, "盖章页.pdf": b"%PDF-1.4\n% stamped page\n%%EOF\n"}
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in names.items():
            archive.writestr(zipfile.ZipInfo("x" * len(name.encode("gbk"))), data,
                             zipfile.ZIP_DEFLATED)
    archive_bytes = buffer.getvalue()
    for name in names:  # the GBK bytes in place of the placeholder, in both headers
        archive_bytes = archive_bytes.replace(b"x" * len(name.encode("gbk")),
                                              name.encode("gbk"), 2)
    word = base64.b64encode("卫健委报送材料.zip".encode("gb18030")).decode()
    return (_reply_headers(code, template, "回复：" + str(template["Subject"])) +
            'Content-Type: multipart/mixed;\r\n\tboundary="----=_NextPart_5F3A_QQ"\r\n\r\n'
            '------=_NextPart_5F3A_QQ\r\nContent-Type: text/plain;\r\n\tcharset="gb18030"\r\n'
            "Content-Transfer-Encoding: base64\r\n\r\n"
            f"{_base64('附件是填好的表和盖章页。'.encode('gb18030'))}"
            "------=_NextPart_5F3A_QQ\r\nContent-Type: application/octet-stream;\r\n"
            f'\tcharset="gb18030";\r\n\tname="=?gb18030?B?{word}?="\r\n'
            f'Content-Disposition: attachment; filename="=?gb18030?B?{word}?="\r\n'
            f"Content-Transfer-Encoding: base64\r\n\r\n{_base64(archive_bytes)}"
            "------=_NextPart_5F3A_QQ--\r\n").encode("ascii")


def gbk_named(code: str, template: EmailMessage, workbook: bytes) -> bytes:
    """An old client on a Chinese Windows: the file name as raw 8-bit GBK, no encoding."""
    name = RETURN_NAMES[code].encode("gbk")
    return (_reply_headers(code, template, "Re: 绩效目标表").encode("ascii") +
            b'Content-Type: multipart/mixed; boundary="=_gbk"\r\n\r\n'
            b"--=_gbk\r\nContent-Type: text/plain; charset=gbk\r\n"
            b"Content-Transfer-Encoding: 8bit\r\n\r\n" + "见附件。\r\n".encode("gbk") +
            b'--=_gbk\r\nContent-Type: application/octet-stream; name="' + name + b'"\r\n'
            b'Content-Disposition: attachment; filename="' + name + b'"\r\n'
            b"Content-Transfer-Encoding: base64\r\n\r\n" + _base64(workbook).encode() +
            b"--=_gbk--\r\n")


# -- what it left --------------------------------------------------------------------------


def parsed(data: bytes) -> EmailMessage:
    message = email.message_from_bytes(data, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def test_each_department_gets_its_template_and_takes_it_from_the_message(loop: Loop) -> None:
    run = loop.runs["templates"]
    assert loop.exit_codes["templates"] == 0
    assert run["counts"]["sent"] == 4 and len(loop.sent["templates"]) == 4
    with open_store(loop.store) as store:
        issued = {t.department_code: t for t in store.templates()}
    for code, (name, address) in DEPARTMENTS.items():
        message = parsed(loop.templates[code].data)
        assert loop.templates[code].rcpt_tos == (address,)
        assert message["Subject"] == f"2024年项目支出预算绩效目标表（{name}）"
        [attached] = message.iter_attachments()
        assert attached.get_filename() == issued[code].file_name
        assert _sha256(attached.get_content()) == issued[code].sha256  # bytes as sent


def test_the_three_returns_reach_the_office_mailbox(loop: Loop) -> None:
    assert loop.inbox_count == 3
    assert not any(OFFICE in m.rcpt_tos for m in loop.sent["templates"])
    assert not loop.returns["003"].isascii()  # the raw GBK name went as 8-bit
    assert "\\Seen" not in "".join(loop.flags)  # fetch read, changed nothing


def test_fetch_finds_every_return_whatever_the_client_did(loop: Loop) -> None:
    run = loop.runs["fetch"]
    assert run["summary"]["messages_new"] == 3 and run["summary"]["files"] == 3
    files = {f["message"]["sender"]: f for f in run["files"]}
    for code in ANSWERING:
        fetched = files[DEPARTMENTS[code][1]]
        assert fetched["name"] == RETURN_NAMES[code]
        assert fetched["sha256"] == _sha256(loop.filled[code])
        assert fetched["message"]["message_id"] == parsed(loop.returns[code])["Message-ID"]
    assert "转发" in files[DEPARTMENTS["001"][1]]["within"]  # inside the forwarded message
    assert "卫健委报送材料.zip" in files[DEPARTMENTS["002"][1]]["within"]
    statuses = {f["department"]: f["status"] for f in run["collect"]["files"]}
    assert statuses == {"001": "accepted", "002": "accepted", "003": "rejected"}
    assert run["findings"] == []  # every sender is one of its department's addresses
    assert loop.exit_codes["fetch"] == 1  # a return was not accepted


def test_feedback_goes_back_as_replies_with_the_feedback_workbook(loop: Loop) -> None:
    assert loop.runs["feedback"]["counts"]["sent"] == 3
    replies = {m.rcpt_tos: parsed(m.data) for m in loop.sent["feedback"]}
    assert len(replies) == 3
    for code in ANSWERING:
        name, address = DEPARTMENTS[code]
        reply, answered = replies[(address,)], parsed(loop.returns[code])
        assert reply["In-Reply-To"] == answered["Message-ID"]
        assert reply["References"].split() == [*answered["References"].split(),
                                                answered["Message-ID"]]
        assert reply["Subject"] == "回复：" + str(answered["Subject"]).removeprefix("回复：")
        [attached] = reply.iter_attachments()
        workbook = feedback_name(code, name, 2024)
        assert attached.get_filename() == workbook
        assert attached.get_content() == (loop.feedback / workbook).read_bytes()
        body = reply.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert ("已接受" in body) == (code != WITH_ERRORS)
    errors = replies[(DEPARTMENTS[WITH_ERRORS][1],)]
    assert "处错误" in errors.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    [attached] = errors.iter_attachments()
    sheet = load_workbook(io.BytesIO(attached.get_content())).active
    assert sheet is not None
    texts = [str(c.value) for row in sheet.iter_rows() for c in row if c.value]
    assert any(RETURN_NAMES[WITH_ERRORS] in text for text in texts)
    assert sheet.max_row > 3  # a row per error, under the heading


def test_reminders_go_to_the_silent_department_and_the_one_with_errors(loop: Loop) -> None:
    run = loop.runs["remind"]
    assert [(d["department_code"], d["outcome"]) for d in run["deliveries"]] == [
        (WITH_ERRORS, "sent"), (SILENT, "sent")]
    reminders = {m.rcpt_tos: parsed(m.data) for m in loop.sent["remind"]}
    silent = reminders[(DEPARTMENTS[SILENT][1],)].get_body(("plain",))
    to_fix = reminders[(DEPARTMENTS[WITH_ERRORS][1],)].get_body(("plain",))
    assert silent is not None and to_fix is not None
    assert "未报送" in silent.get_content() and DEADLINE in silent.get_content()
    assert "有错误待修改" in to_fix.get_content()
    assert RETURN_NAMES[WITH_ERRORS] in to_fix.get_content()


def test_a_rerun_of_each_command_sends_and_fetches_nothing_new(loop: Loop) -> None:
    for step, count in (("templates", 4), ("feedback", 3), ("remind", 2)):
        again = loop.runs[f"{step} again"]
        assert again["counts"]["already"] == count and again["counts"]["sent"] == 0, step
        assert loop.sent[f"{step} again"] == [], step
    fetched = loop.runs["fetch again"]
    assert fetched["summary"]["messages_new"] == 0 and fetched["files"] == []
    assert fetched["collect"] is None
    assert loop.exit_codes["fetch again"] == 0
    assert loop.inbox_count_after_rerun == 3


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
