"""Mail going out — templates, feedback as replies, reminders — against a real SMTP server
(aiosmtpd on loopback, `tests/mailservers.py`); every message the server took is parsed back
with the standard library and with mail-parser, and its attachment name decoded by hand."""

from __future__ import annotations

import base64
import email
import hashlib
import io
import json
import re
import sqlite3
import time
import urllib.parse
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email import policy
from email.header import decode_header, make_header
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import mailparser
import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from tests.conftest import complete_values, ledger_row, write_ledger
from tests.fill import fill_with_openpyxl
from tests.mailservers import Recorder, RunningSmtp, make_tls, smtp_server
from xltool.cli import main
from xltool.collect import collect
from xltool.mail.send import MailError
from xltool.mail.send_feedback import mail_feedback
from xltool.mail.send_reminders import deadline_of, mail_remind
from xltool.mail.send_templates import mail_templates
from xltool.store import open_store
from xltool.template import issue_templates

SENDER = "示例市财政局预算科 <ys@czj.example.gov.cn>"
ADDRESSES = {"001": ["a1@jy.example.cn", "a2@jy.example.cn"], "002": ["b@ws.example.cn"],
             "003": ["c@jt.example.cn"]}
NAMES = {"001": "示例市教育局", "002": "示例市卫生健康委员会", "003": "示例市交通运输局"}
DEADLINE = "2024年3月31日"


@pytest.fixture
def office(tmp_path: Path) -> Office:
    return Office(tmp_path)


class Office:
    """Three departments issued their templates, with 联系邮箱 (one with two addresses)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.store = folder / "xltool.db"
        self.templates = folder / "templates"
        rows = [ledger_row(f"{code}-01", "办公设备购置", department=(code, name),
                           联系邮箱="；".join(ADDRESSES[code]))
                for code, name in NAMES.items()]
        ledger = write_ledger(folder / "ledger.csv", rows)
        run = issue_templates(ledger, self.templates, store=self.store, deadline=DEADLINE,
                              contact="预算科 张三 0951-0000000", issuer="示例市财政局")
        self.workbooks = {w.department_code: w for w in run.workbooks}

    def send_templates(self, server: RunningSmtp, **options: Any) -> Any:
        return mail_templates(sender=SENDER, smtp=server.url, store=self.store,
                              **{"pace": 0, **options})

    def rows(self, kind: str = "template") -> list[dict[str, Any]]:
        with open_store(self.store) as store:
            return [r.to_dict() for r in store.sent_mail(kind)]


@pytest.fixture
def server() -> Any:
    with smtp_server() as running:
        yield running


# -- reading a sent message back, three ways --------------------------------------------------


def parsed(data: bytes) -> EmailMessage:
    message = email.message_from_bytes(data, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def attachment_names_by_hand(data: bytes) -> tuple[str, str]:
    """The attachment's RFC 2231 `filename*` and RFC 2047 `name`, decoded from the raw header
    lines without the email package's parameter parsing."""
    text = re.sub(r"\r\n[ \t]", " ", data.decode("ascii"))  # unfold
    pieces = dict(re.findall(r"filename\*(\d+)\*?=([^;\r\n]+)", text))
    joined = "".join(pieces[str(n)] for n in range(len(pieces)))
    filename = urllib.parse.unquote(joined.removeprefix("utf-8''"), encoding="utf-8")
    [encoded] = re.findall(r'Content-Type: application/vnd[^\r\n]*name="([^"]+)"', text)
    return filename, str(make_header(decode_header(encoded)))


def check_readable(data: bytes, *, name: str, content: bytes | None, subject: str,
                   body_has: str) -> EmailMessage:
    """DATA read by the standard library, by mail-parser and by hand: the same name, bytes,
    subject and body."""
    message = parsed(data)
    assert message["Subject"] == subject
    assert body_has in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    [attached] = list(message.iter_attachments())
    assert attached.get_filename() == name
    assert attached.get_param("name") == name
    assert attached.get_content() == content
    assert data.isascii()  # 7-bit clean: any relay carries it
    assert attachment_names_by_hand(data) == (name, name)
    other = mailparser.parse_from_bytes(data)
    assert other.subject == subject and body_has in other.body
    [its] = other.attachments
    assert its["filename"] == name
    assert base64.b64decode(its["payload"]) == content
    return message


# -- templates -------------------------------------------------------------------------------


def test_each_department_gets_one_message_with_its_issued_template(office: Office,
                                                                   server: RunningSmtp) -> None:
    run = office.send_templates(server)
    assert [d.outcome for d in run.deliveries] == ["sent"] * 3
    assert len(server.messages) == 3
    by_recipients = {m.rcpt_tos: m for m in server.messages}
    for code, name in NAMES.items():
        received = by_recipients[tuple(ADDRESSES[code])]
        assert received.mail_from == "ys@czj.example.gov.cn"
        workbook = office.workbooks[code]
        message = check_readable(
            received.data, name=workbook.path.name, content=workbook.path.read_bytes(),
            subject=f"2024年项目支出预算绩效目标表（{name}）", body_has=f"报送截止：{DEADLINE}")
        assert hashlib.sha256(workbook.path.read_bytes()).hexdigest() == workbook.sha256
        assert message["Message-ID"].endswith("@czj.example.gov.cn>")
        assert message["Date"] is not None and message["To"].addresses
        assert "预算科 张三 0951-0000000" in message.get_body().get_content()  # type: ignore
    rows = office.rows()
    assert {(r["department_code"], r["outcome"]) for r in rows} == {
        (code, "sent") for code in NAMES}
    assert all(r["response"].startswith("250 ") and r["sent_at"] for r in rows)
    assert {r["attachment_sha256"] for r in rows} == {w.sha256 for w in office.workbooks.values()}
    assert {parsed(m.data)["Message-ID"] for m in server.messages} == {
        r["message_id"] for r in rows}


def test_a_rerun_sends_nothing_and_resend_sends_again(office: Office,
                                                      server: RunningSmtp) -> None:
    office.send_templates(server)
    again = office.send_templates(server)
    assert [d.outcome for d in again.deliveries] == ["already"] * 3
    assert len(server.messages) == 3
    resent = office.send_templates(server, resend=True, departments=["002"])
    assert [d.outcome for d in resent.deliveries] == ["sent"]
    assert len(server.messages) == 4 and server.messages[-1].rcpt_tos == ("b@ws.example.cn",)
    assert len(office.rows()) == 4


def test_a_refused_recipient_is_recorded_and_the_rest_go_on(office: Office,
                                                            server: RunningSmtp) -> None:
    server.recorder.refuse.update({"b@ws.example.cn", "a2@jy.example.cn"})
    run = office.send_templates(server)
    outcome = {d.department_code: d for d in run.deliveries}
    assert outcome["002"].outcome == "failed" and "550" in outcome["002"].response
    assert [f.code for f in outcome["002"].findings] == ["mail.refused"]
    assert outcome["001"].outcome == "sent"  # one of its two addresses took it
    assert [f.code for f in outcome["001"].findings] == ["mail.partly_refused"]
    assert "a2@jy.example.cn" in outcome["001"].findings[0].message
    assert outcome["003"].outcome == "sent"
    assert [m.rcpt_tos for m in server.messages] == [("a1@jy.example.cn",), ("c@jt.example.cn",)]
    rows = {r["department_code"]: r for r in office.rows()}
    assert rows["002"]["outcome"] == "failed" and "550" in rows["002"]["response"]
    server.recorder.refuse.clear()  # the address put right: the next run sends only that one
    rerun = office.send_templates(server)
    assert [d.outcome for d in rerun.deliveries] == ["already", "sent", "already"]
    assert server.messages[-1].rcpt_tos == ("b@ws.example.cn",)


def test_a_message_over_the_servers_size_limit_is_refused_before_sending(office: Office) -> None:
    with smtp_server(size=4000) as small:
        run = office.send_templates(small)
        assert small.messages == []
    assert [d.outcome for d in run.deliveries] == ["failed"] * 3
    assert {f.code for f in run.findings} == {"mail.too_large"}
    assert "超过服务器上限" in run.deliveries[0].response


def test_starttls_and_auth_with_the_offices_own_ca(office: Office, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    tls = make_tls(tmp_path / "ca")
    with smtp_server(tls=tls, user="ys@czj.example.gov.cn", password="app-code-abc") as secure:
        monkeypatch.setenv("XLTOOL_MAIL_PASSWORD", "wrong")
        with pytest.raises(MailError, match="拒绝登录"):
            office.send_templates(secure, cafile=tls.ca)
        monkeypatch.setenv("XLTOOL_MAIL_PASSWORD", "app-code-abc")
        with pytest.raises(MailError, match="证书无法验证"):
            office.send_templates(secure)  # the test CA is no system authority
        run = office.send_templates(secure, cafile=tls.ca)
        assert [d.outcome for d in run.deliveries] == ["sent"] * 3
        assert len(secure.messages) == 3
        monkeypatch.delenv("XLTOOL_MAIL_PASSWORD")
        with pytest.raises(MailError, match="XLTOOL_MAIL_PASSWORD"):
            office.send_templates(secure, cafile=tls.ca, resend=True)


def test_smtps_from_the_first_byte(office: Office, tmp_path: Path) -> None:
    tls = make_tls(tmp_path / "ca")
    with smtp_server(tls=tls, wrapped=True) as secure:  # (AUTH: the STARTTLS test)
        assert secure.url.startswith("smtps://")
        with pytest.raises(MailError, match="证书无法验证"):
            office.send_templates(secure)
        run = office.send_templates(secure, cafile=tls.ca)
        assert [d.outcome for d in run.deliveries] == ["sent"] * 3
        assert len(secure.messages) == 3


def test_a_killed_run_is_completed_under_the_same_message_id(office: Office,
                                                             server: RunningSmtp) -> None:
    office.send_templates(server)
    # as a run killed between recording 002's message and hearing the server's answer
    with sqlite3.connect(office.store) as db:
        db.execute("UPDATE mail_sent SET outcome = 'pending', response = NULL, sent_at = NULL "
                   "WHERE department_code = '002'")
        (pending,) = db.execute("SELECT message_id FROM mail_sent WHERE department_code = '002'"
                                ).fetchone()
    rerun = office.send_templates(server)
    assert [d.outcome for d in rerun.deliveries] == ["already", "sent", "already"]
    assert parsed(server.messages[-1].data)["Message-ID"] == pending
    rows = office.rows()
    assert len(rows) == 3 and {r["outcome"] for r in rows} == {"sent"}


def test_the_outbox_holds_drafts_a_clerks_client_opens(office: Office,
                                                       server: RunningSmtp) -> None:
    outbox = office.folder / "草稿"
    run = mail_templates(sender=SENDER, store=office.store, outbox=outbox)
    assert [d.outcome for d in run.deliveries] == ["drafted"] * 3
    drafts = sorted(outbox.glob("*.eml"))
    assert len(drafts) == 3 and not list(outbox.glob(".*"))
    for draft in drafts:
        code = draft.name[:3]
        workbook = office.workbooks[code]
        check_readable(draft.read_bytes(), name=workbook.path.name,
                       content=workbook.path.read_bytes(),
                       subject=f"2024年项目支出预算绩效目标表（{NAMES[code]}）",
                       body_has="回复本邮件")
    assert {r["outcome"] for r in office.rows()} == {"drafted"}
    again = mail_templates(sender=SENDER, store=office.store, outbox=outbox)
    assert [d.outcome for d in again.deliveries] == ["already"] * 3
    sent = office.send_templates(server)  # a draft is not a message sent
    assert [d.outcome for d in sent.deliveries] == ["sent"] * 3


def test_the_offices_own_subject_and_body(office: Office, server: RunningSmtp) -> None:
    body = office.folder / "正文.txt"
    text = "{department}：请于{deadline}前报送（{不认识的占位符}，{ 大括号 }）。\n"
    body.write_bytes(text.encode("gbk"))  # Notepad's "ANSI" on a Chinese Windows
    office.send_templates(server, subject="【{issuer}】{year}年绩效目标表 {department_code}",
                          body=body, departments=["003"])
    message = parsed(server.messages[0].data)
    assert message["Subject"] == "【示例市财政局】2024年绩效目标表 003"
    assert message.get_body().get_content() == (  # type: ignore[union-attr]
        f"示例市交通运输局：请于{DEADLINE}前报送（{{不认识的占位符}}，{{ 大括号 }}）。\n")


def test_a_department_without_an_address_or_file_is_reported(tmp_path: Path,
                                                              server: RunningSmtp) -> None:
    ledger = write_ledger(tmp_path / "l.csv", [
        ledger_row("001-01", "甲", 联系邮箱="a@x.cn"),
        ledger_row("002-01", "乙", department=("002", "第二局"))])
    run = issue_templates(ledger, tmp_path / "t", store=tmp_path / "s.db")
    run.workbooks[0].path.write_bytes(b"changed")
    sent = mail_templates(sender=SENDER, smtp=server.url, store=tmp_path / "s.db", pace=0)
    assert [(d.outcome, [f.code for f in d.findings]) for d in sent.deliveries] == [
        ("not_sent", ["mail.template_missing"]), ("not_sent", ["mail.no_address"])]
    assert "002 第二局" in sent.deliveries[1].findings[0].message
    assert server.messages == []


def test_templates_moved_elsewhere_are_found_with_templates(office: Office,
                                                             server: RunningSmtp) -> None:
    moved = office.templates.rename(office.folder / "已下发")
    lost = office.send_templates(server, departments=["001"])
    assert [f.code for f in lost.findings] == ["mail.template_missing"]
    found = office.send_templates(server, departments=["001"], templates=moved)
    assert [d.outcome for d in found.deliveries] == ["sent"] and len(server.messages) == 1


def test_messages_keep_the_pace(office: Office, server: RunningSmtp) -> None:
    started = time.monotonic()
    office.send_templates(server, pace=120)  # one every half second
    assert time.monotonic() - started >= 1.0
    assert len(server.messages) == 3


# -- feedback --------------------------------------------------------------------------------


RETURN_MESSAGE_ID = "<ret-001@jy.example.cn>"


def returns_collected(office: Office) -> dict[str, Path]:
    """001 returns a complete form (by mail: its message recorded as fetch records it), 002
    one with errors (from a folder); 003 returns nothing."""
    returns = office.folder / "returns"
    good = fill_with_openpyxl(office.workbooks["001"].path,
                              complete_values(office.store, office.workbooks["001"].template_id),
                              returns / "教育局报送.xlsx")
    bad = fill_with_openpyxl(office.workbooks["002"].path, {"XT_P01_GOAL": "目标"},
                             returns / "卫健委.xlsx")
    run = collect([good, bad], store=office.store, feedback=office.folder / "feedback")
    assert [f.status for f in run.files] == ["accepted", "rejected"]
    with sqlite3.connect(office.store) as db:
        db.execute("INSERT INTO mail_received (source, key, message_id, sender, mailed_at, "
                   "subject, references_, fetched_at, workbooks) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1)",
                   ("imaps://x@imap.example/INBOX", "1:7", RETURN_MESSAGE_ID, "a1@jy.example.cn",
                    "2024-03-01T02:00:00+00:00",
                    "回复：2024年项目支出预算绩效目标表（示例市教育局）",
                    "<tpl-001@czj.example.gov.cn>", "2024-03-01T03:00:00+00:00"))
        db.execute("INSERT INTO mail_attachments VALUES (?, ?, ?, ?)",
                   ("imaps://x@imap.example/INBOX", "1:7",
                    hashlib.sha256(good.read_bytes()).hexdigest(), good.name))
    return {"001": good, "002": bad}


def test_feedback_answers_each_latest_return_as_a_reply(office: Office,
                                                        server: RunningSmtp) -> None:
    returns_collected(office)
    run = mail_feedback(sender=SENDER, smtp=server.url, store=office.store, pace=0)
    assert [(d.department_code, d.outcome) for d in run.deliveries] == [
        ("001", "sent"), ("002", "sent")]
    first, second = (parsed(m.data) for m in server.messages)
    assert first["In-Reply-To"] == RETURN_MESSAGE_ID
    assert first["References"].split() == ["<tpl-001@czj.example.gov.cn>", RETURN_MESSAGE_ID]
    assert first["Subject"] == "回复：2024年项目支出预算绩效目标表（示例市教育局）"
    assert "已接受" in first.get_body().get_content()  # type: ignore[union-attr]
    assert second["In-Reply-To"] is None  # collected from a folder: a message of its own
    body = second.get_body().get_content()  # type: ignore[union-attr]
    assert re.search(r"有 \d+ 处错误", body) and "1. " in body
    for message, code, received in ((first, "001", server.messages[0]),
                                    (second, "002", server.messages[1])):
        name = f"2024年_{code}_{NAMES[code]}_反馈表.xlsx"
        written = office.folder / "feedback" / name
        check_readable(received.data, name=name, content=written.read_bytes(),
                       subject=message["Subject"], body_has=NAMES[code])
    sheet = load_workbook(office.folder / "feedback" / f"2024年_002_{NAMES['002']}_反馈表.xlsx"
                          ).active
    assert any("卫健委.xlsx" in str(c.value) for row in sheet.iter_rows() for c in row)
    again = mail_feedback(sender=SENDER, smtp=server.url, store=office.store, pace=0)
    assert [d.outcome for d in again.deliveries] == ["already", "already"]
    assert len(server.messages) == 2
    rows = office.rows("feedback")
    assert {r["in_reply_to"] for r in rows} == {RETURN_MESSAGE_ID, None}
    assert all(r["answers"] for r in rows)


# -- reminders -------------------------------------------------------------------------------


def test_reminders_go_to_the_departments_without_an_accepted_return(
        office: Office, server: RunningSmtp) -> None:
    returns_collected(office)
    early = mail_remind(sender=SENDER, smtp=server.url, store=office.store, pace=0, before=3,
                        today=date(2024, 3, 1))
    assert early.deliveries == () and server.messages == []
    run = mail_remind(sender=SENDER, smtp=server.url, store=office.store, pace=0, before=3,
                      today=date(2024, 3, 29))
    assert [(d.department_code, d.outcome) for d in run.deliveries] == [
        ("002", "sent"), ("003", "sent")]
    to_fix, not_returned = (parsed(m.data) for m in server.messages)
    assert to_fix["Subject"] == f"提醒：请报送2024年项目支出预算绩效目标表（{NAMES['002']}）"
    to_fix_body = to_fix.get_body().get_content()  # type: ignore[union-attr]
    assert "有错误待修改" in to_fix_body and "卫健委.xlsx" in to_fix_body
    assert DEADLINE in to_fix_body
    assert "未报送" in not_returned.get_body().get_content()  # type: ignore[union-attr]
    assert mail_remind(sender=SENDER, smtp=server.url, store=office.store, pace=0
                       ).count("already") == 2
    assert len(server.messages) == 2
    assert {r["department_code"] for r in office.rows("reminder")} == {"002", "003"}


def test_deadlines_as_offices_type_them() -> None:
    assert deadline_of("2024年3月31日前") == date(2024, 3, 31)
    assert deadline_of("2024-03-31") == date(2024, 3, 31)
    assert deadline_of("2024 年 3 月 31 日") == date(2024, 3, 31)
    assert deadline_of("三月底") is None and deadline_of("2024年2月30日") is None


# -- the command line ------------------------------------------------------------------------


def test_the_commands_send_and_report_as_json(office: Office, server: RunningSmtp) -> None:
    runner = CliRunner()
    common = ["--from", SENDER, "--store", str(office.store), "--pace", "0", "--json"]
    result = runner.invoke(main, ["mail", "templates", "--smtp", server.url, *common])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["counts"]["sent"] == 3 and len(server.messages) == 3
    dry = runner.invoke(main, ["mail", "remind", "--dry-run", *common],
                        env={"LANG": "zh_CN.UTF-8"})
    assert dry.exit_code == 0, dry.output
    assert json.loads(dry.stdout)["counts"]["drafted"] == 3
    assert len(list((office.store.parent / "邮件草稿").glob("*.eml"))) == 3


def test_a_server_that_cannot_be_reached_is_a_message_not_a_traceback(office: Office) -> None:
    from tests.mailservers import free_port

    result = CliRunner().invoke(main, ["mail", "templates", "--from", SENDER, "--store",
                                       str(office.store), "--smtp",
                                       f"smtp+plain://127.0.0.1:{free_port()}"])
    assert result.exit_code == 2
    assert "无法连接发信服务器 127.0.0.1" in result.output and "Traceback" not in result.output
    bad = CliRunner().invoke(main, ["mail", "templates", "--from", SENDER, "--store",
                                    str(office.store), "--smtp", "smtps://u:pw@host"])
    assert bad.exit_code == 2 and "密码不能写在服务器地址里" in bad.output


# -- what a reviewer found ------------------------------------------------------------------


def issue_with_addresses(folder: Path, addresses: dict[str, str]) -> Path:
    """Departments issued their templates with the 联系邮箱 given; the store's path."""
    rows = [ledger_row(f"{code}-01", "办公设备购置", department=(code, NAMES[code]), 联系邮箱=a)
            for code, a in addresses.items()]
    issue_templates(write_ledger(folder / "ledger.csv", rows), folder / "templates",
                    store=folder / "xltool.db", deadline=DEADLINE)
    return folder / "xltool.db"


def test_a_chinese_address_is_refused_for_its_department_and_the_run_goes_on(
        tmp_path: Path, server: RunningSmtp) -> None:
    from xltool.ledger import load_ledger

    addresses = {"001": "张三@jy.example.cn", "002": "b@ws.example.cn",
                 "003": "c@jt.example.cn；李四@jt.example.cn"}
    store = issue_with_addresses(tmp_path, addresses)
    warned = [p for p in load_ledger(tmp_path / "ledger.csv").problems
              if p.code == "ledger.bad_email"]
    assert {p.value for p in warned} == {addresses["001"], addresses["003"]}
    for attempt in range(2):  # a rerun does the same, and sends nothing twice
        run = mail_templates(sender=SENDER, smtp=server.url, store=store, pace=0)
        outcome = {d.department_code: d for d in run.deliveries}
        assert outcome["001"].outcome == "failed"
        assert "张三@jy.example.cn" in outcome["001"].response
        assert "SMTPUTF8" in outcome["001"].response
        assert [f.code for f in outcome["001"].findings] == ["mail.refused"]
        assert outcome["002"].outcome == ("sent", "already")[attempt]
        assert outcome["003"].outcome == ("sent", "already")[attempt]
    assert [f.code for f in outcome["003"].findings] == []  # already: nothing new
    assert [m.rcpt_tos for m in server.messages] == [("b@ws.example.cn",), ("c@jt.example.cn",)]
    with open_store(store) as opened:
        rows = {r.department_code: r.outcome for r in opened.sent_mail("template")}
    assert rows == {"001": "failed", "002": "sent", "003": "sent"}


def test_a_chinese_address_goes_by_smtputf8_when_the_server_offers_it(tmp_path: Path) -> None:
    store = issue_with_addresses(tmp_path, {"001": "张三@jy.example.cn"})
    with smtp_server(utf8=True) as utf8:
        run = mail_templates(sender=SENDER, smtp=utf8.url, store=store, pace=0)
        assert [d.outcome for d in run.deliveries] == ["sent"]
        assert [m.rcpt_tos for m in utf8.messages] == [("张三@jy.example.cn",)]
        assert parsed(utf8.messages[0].data)["To"].addresses[0].username == "张三"


def test_a_review_after_feedback_is_mailed_and_reminded(office: Office,
                                                        server: RunningSmtp) -> None:
    from xltool.review import review

    returns_collected(office)
    mail_feedback(sender=SENDER, smtp=server.url, store=office.store, pace=0)
    assert len(server.messages) == 2
    opinion = "请量化效益指标后重新报送"
    review("001", grade="中", opinion=opinion, reviewer="张三", store=office.store)
    run = mail_feedback(sender=SENDER, smtp=server.url, store=office.store, pace=0)
    assert [(d.department_code, d.outcome) for d in run.deliveries] == [
        ("001", "sent"), ("002", "already")]
    letter = parsed(server.messages[-1].data)
    assert letter["In-Reply-To"] == RETURN_MESSAGE_ID
    body = letter.get_body().get_content()  # type: ignore[union-attr]
    assert "审核退回修改" in body and opinion in body and "已接受" not in body
    [attached] = list(letter.iter_attachments())
    workbook = office.folder / "反馈.xlsx"
    workbook.write_bytes(attached.get_content())
    top = [str(c.value) for row in load_workbook(workbook).active.iter_rows(max_row=8)
           for c in row if c.value is not None]
    assert any(opinion in text for text in top), top
    verdict = top[top.index("审核结论") + 1]  # the review's, though collect accepted it
    assert verdict == "审核退回修改" and "本次报送的文件均已接受，无需修改。" not in top
    assert [d.outcome for d in mail_feedback(sender=SENDER, smtp=server.url,
                                             store=office.store, pace=0).deliveries] == [
        "already", "already"]
    reminded = mail_remind(sender=SENDER, smtp=server.url, store=office.store, pace=0)
    assert [(d.department_code, d.outcome) for d in reminded.deliveries] == [
        ("001", "sent"), ("002", "sent"), ("003", "sent")]
    reminder = parsed(server.messages[-3].data).get_body().get_content()  # type: ignore
    assert "审核退回修改" in reminder and opinion in reminder
    review("001", grade="良", opinion="已按意见修改", reviewer="张三", store=office.store)
    approved = mail_feedback(sender=SENDER, smtp=server.url, store=office.store, pace=0)
    assert [d.outcome for d in approved.deliveries] == ["sent", "already"]
    assert "已通过审核" in parsed(server.messages[-1].data).get_body().get_content()  # type: ignore


@dataclass
class Dropping(Recorder):
    """Takes each message, then drops the connection before answering DATA for the
    addresses in `drop_after_data` (once each); drops it at RCPT for `drop_at_rcpt`."""

    drop_after_data: set[str] = field(default_factory=set)
    drop_at_rcpt: set[str] = field(default_factory=set)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        if address in self.drop_at_rcpt:
            self.drop_at_rcpt.discard(address)
            server.transport.close()
        return await super().handle_RCPT(server, session, envelope, address, rcpt_options)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        queued = await super().handle_DATA(server, session, envelope)
        dropped = self.drop_after_data & set(envelope.rcpt_tos)
        if dropped:
            self.drop_after_data -= dropped
            server.transport.close()
        return queued


def test_a_connection_lost_after_data_is_sent_again_under_the_same_message_id(
        office: Office) -> None:
    dropping = Dropping(drop_after_data={"b@ws.example.cn"}, drop_at_rcpt={"c@jt.example.cn"})
    with smtp_server(recorder=dropping) as server:
        run = office.send_templates(server)
        outcome = {d.department_code: d for d in run.deliveries}
        assert outcome["001"].outcome == "sent"
        assert outcome["002"].outcome == "unconfirmed"  # the server took it: it may be there
        assert [f.code for f in outcome["002"].findings] == ["mail.unconfirmed"]
        assert outcome["003"].outcome == "failed"  # before DATA: it cannot be there
        assert run.to_dict()["counts"]["unconfirmed"] == 1
        rows = {r["department_code"]: r for r in office.rows()}
        assert (rows["002"]["outcome"], rows["002"]["sent_at"]) == ("unconfirmed", None)
        assert rows["003"]["outcome"] == "failed"
        taken = parsed(server.messages[1].data)["Message-ID"]
        assert taken == outcome["002"].message_id
        rerun = office.send_templates(server)
        assert [d.outcome for d in rerun.deliveries] == ["already", "sent", "sent"]
        again = {d.department_code: d for d in rerun.deliveries}
        assert again["002"].message_id == taken
        assert again["003"].message_id != outcome["003"].message_id
        assert [parsed(m.data)["Message-ID"] for m in server.messages].count(taken) == 2
    assert {r["outcome"] for r in office.rows()} == {"sent", "failed"}
    assert len(office.rows()) == 4  # 003's failed message, and the one sent after it


def test_a_password_is_never_shown(office: Office, tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from xltool.mail.send import Smtp
    from xltool.mail.send import smtp_server as server_of

    secret = "S3cret"
    runner = CliRunner()
    for url in (f"smtp+ssl://clerk:{secret}@smtp.example.cn:465", f"smtps://clerk:{secret}@",
                f"smtps://clerk:{secret}", f"smtps://clerk:{secret}@smtp.example.cn"):
        with pytest.raises(MailError) as raised:
            server_of(url)
        assert secret not in str(raised.value)
        result = runner.invoke(main, ["mail", "templates", "--from", SENDER, "--store",
                                      str(office.store), "--smtp", url, "--json"])
        assert result.exit_code == 2 and secret not in result.output, result.output
    for url in (f"imapx://clerk:{secret}@imap.example.cn/INBOX", f"imaps://clerk:{secret}",
                f"imaps://clerk:{secret}@/INBOX"):
        result = runner.invoke(main, ["mail", "fetch", url, "--store", str(office.store),
                                      "--json"])
        assert result.exit_code != 0 and secret not in result.output, result.output
    assert secret not in repr(Smtp(server_of("smtps://clerk@smtp.example.cn"), secret))
    tls = make_tls(tmp_path / "ca")
    with smtp_server(tls=tls, user="ys@czj.example.gov.cn", password=secret) as secure:
        monkeypatch.setenv("XLTOOL_MAIL_PASSWORD", secret)
        sent = runner.invoke(main, ["mail", "templates", "--from", SENDER, "--store",
                                    str(office.store), "--smtp", secure.url, "--cafile",
                                    str(tls.ca), "--pace", "0", "--json"])
        assert json.loads(sent.stdout)["counts"]["sent"] == 3 and secret not in sent.output
        assert all(secret.encode() not in m.data for m in secure.messages)
    drafted = runner.invoke(main, ["mail", "remind", "--from", SENDER, "--store",
                                   str(office.store), "--outbox", str(tmp_path / "草稿"),
                                   "--json"])
    assert json.loads(drafted.stdout)["counts"]["drafted"] == 3
    drafts = list((tmp_path / "草稿").glob("*.eml"))
    assert len(drafts) == 3 and all(secret.encode() not in d.read_bytes() for d in drafts)
    with sqlite3.connect(office.store) as db:
        dumped = "\n".join(db.iterdump())
    assert "@czj.example.gov.cn>" in dumped and secret not in dumped  # the messages are there


def test_a_return_without_a_feedback_workbook_gets_no_letter_saying_one_is_attached(
        office: Office, server: RunningSmtp) -> None:
    returns_collected(office)
    # 002's findings only the office reads: collect writes it no 反馈表
    with sqlite3.connect(office.store) as db:
        (sha,) = db.execute("SELECT sha256 FROM received_files WHERE department_code = '002' "
                            "AND status = 'rejected'").fetchone()
        db.execute("UPDATE findings SET code = 'mail.no_address' WHERE sha256 = ?", (sha,))
    run = mail_feedback(sender=SENDER, smtp=server.url, store=office.store, pace=0)
    outcome = {d.department_code: d for d in run.deliveries}
    assert outcome["001"].outcome == "sent"
    assert outcome["002"].outcome == "not_sent"
    [finding] = outcome["002"].findings
    assert finding.code == "mail.no_feedback" and "卫健委.xlsx" in finding.message
    assert len(server.messages) == 1
    assert [r["department_code"] for r in office.rows("feedback")] == ["001"]


def test_a_reminder_killed_yesterday_is_completed_under_its_message_id_today(
        office: Office, server: RunningSmtp) -> None:
    returns_collected(office)
    first = mail_remind(sender=SENDER, smtp=server.url, store=office.store, pace=0)
    assert [d.outcome for d in first.deliveries] == ["sent", "sent"]
    yesterday = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    with sqlite3.connect(office.store) as db:  # as a run killed yesterday while sending 002's
        db.execute("UPDATE mail_sent SET outcome = 'pending', response = NULL, sent_at = NULL, "
                   "prepared_at = ? WHERE department_code = '002'", (yesterday,))
        db.execute("UPDATE mail_sent SET prepared_at = ? WHERE department_code = '003'",
                   (yesterday,))
        (pending,) = db.execute("SELECT message_id FROM mail_sent WHERE department_code = '002'"
                                ).fetchone()
    today = mail_remind(sender=SENDER, smtp=server.url, store=office.store, pace=0)
    assert [(d.department_code, d.outcome) for d in today.deliveries] == [
        ("002", "sent"), ("003", "sent")]
    assert today.deliveries[0].message_id == pending
    assert today.deliveries[1].message_id != first.deliveries[1].message_id
    again = mail_remind(sender=SENDER, smtp=server.url, store=office.store, pace=0)
    assert [d.outcome for d in again.deliveries] == ["already", "already"]
    rows = office.rows("reminder")
    assert len(rows) == 3 and {r["outcome"] for r in rows} == {"sent"}


def test_a_feedback_completed_after_an_interrupted_resend_carries_its_workbook(
        office: Office) -> None:
    returns_collected(office)
    name = f"2024年_002_{NAMES['002']}_反馈表.xlsx"
    with smtp_server(recorder=Dropping(drop_after_data={"b@ws.example.cn"})) as server:
        first = mail_feedback(sender=SENDER, smtp=server.url, store=office.store, pace=0)
        assert [d.outcome for d in first.deliveries] == ["sent", "unconfirmed"]
        resent = mail_feedback(sender=SENDER, smtp=server.url, store=office.store, pace=0,
                               resend=True)
        assert [d.outcome for d in resent.deliveries] == ["sent", "sent"]
        server.recorder.drop_after_data.add("b@ws.example.cn")  # type: ignore[attr-defined]
        broken = mail_feedback(sender=SENDER, smtp=server.url, store=office.store, pace=0,
                               resend=True)
        assert [d.outcome for d in broken.deliveries] == ["sent", "unconfirmed"]
        taken = broken.deliveries[1].message_id
        rerun = mail_feedback(sender=SENDER, smtp=server.url, store=office.store, pace=0)
        assert [d.outcome for d in rerun.deliveries] == ["already", "sent"]
        assert rerun.deliveries[1].message_id == taken
        for received in server.messages:
            letter = parsed(received.data)
            assert [a.get_filename() for a in letter.iter_attachments()] in (
                [f"2024年_001_{NAMES['001']}_反馈表.xlsx"], [name]), letter["Message-ID"]
        completed = parsed(server.messages[-1].data)
        assert completed["Message-ID"] == taken
        [attached] = list(completed.iter_attachments())
        sheet = load_workbook(io.BytesIO(attached.get_content())).active
        assert any("卫健委.xlsx" in str(c.value) for row in sheet.iter_rows() for c in row)


def test_a_feedback_letter_without_its_workbook_is_never_handed_over(office: Office,
                                                                     server: RunningSmtp
                                                                     ) -> None:
    from xltool.mail.outgoing import Letter, deliver
    from xltool.mail.send import transport
    from xltool.store.mailsent import MailKind

    sha256 = hashlib.sha256(returns_collected(office)["002"].read_bytes()).hexdigest()
    with open_store(office.store) as opened:
        letter = Letter(MailKind.FEEDBACK, "002", NAMES["002"], 2024, ("b@ws.example.cn",),
                        "反馈", "审核反馈表见附件。", None, None, sha256)
        [delivery] = deliver(opened, [letter], transport(server.url, None), sender=SENDER)
    assert delivery.outcome == "not_sent" and server.messages == []
    [finding] = delivery.findings
    assert finding.code == "mail.no_feedback" and "卫健委.xlsx" in finding.message
    assert office.rows("feedback") == []


def test_a_draft_run_leaves_a_pending_send_to_the_next_sending_run(office: Office,
                                                                   server: RunningSmtp) -> None:
    first = office.send_templates(server)
    with sqlite3.connect(office.store) as db:  # as a run killed while sending 002's
        db.execute("UPDATE mail_sent SET outcome = 'pending', response = NULL, sent_at = NULL "
                   "WHERE department_code = '002'")
    pending = first.deliveries[1].message_id
    drafted = mail_templates(sender=SENDER, store=office.store, outbox=office.folder / "草稿")
    assert [d.outcome for d in drafted.deliveries] == ["already", "drafted", "already"]
    assert drafted.deliveries[1].message_id != pending
    rows = {r["message_id"]: r["outcome"] for r in office.rows()}
    assert rows[pending] == "pending"
    sent = office.send_templates(server)
    assert [d.outcome for d in sent.deliveries] == ["already", "sent", "already"]
    assert sent.deliveries[1].message_id == pending


# (digits that could be a port, typed without `@host`, read as an intranet host and its port:
# `smtps://clerk:12345` is indistinguishable from a host named clerk; see typed_without_host)
HOSTILE_PASSWORDS = ("Pa/ss99", "p@ss:w0rd", "pa#ss1", "pa?ss1", "pa%2Fss1", "密码Pass1",
                     "a:b/c@d9", "1234567", "S3cret", "/@:#?%密", "pw＠x1", "p／w1", "[pw1",
                     "pw1]")


@pytest.mark.parametrize("secret", HOSTILE_PASSWORDS)
def test_no_password_of_any_characters_is_shown(office: Office, secret: str) -> None:
    from xltool.errors import MailboxUnavailable
    from xltool.mail.send import smtp_server as server_of
    from xltool.mail.send import without_password
    from xltool.mail.sources import opened

    runner = CliRunner()
    for url in (f"smtps://clerk:{secret}@smtp.x.cn:465", f"smtps://clerk:{secret}",
                f"smtp://clerk:{secret}@smtp.x.cn/", f"smtps://clerk:{secret}@"):
        assert secret not in without_password(url)
        if "smtp.x.cn" in url:  # nor any of it (without a host, `@d9` may be one)
            assert secret[-3:] not in without_password(url).replace("@smtp.x.cn", "")
        with pytest.raises(MailError) as raised:
            server_of(url)
        assert secret not in str(raised.value) and secret not in repr(raised.value)
        result = runner.invoke(main, ["mail", "templates", "--from", SENDER, "--store",
                                      str(office.store), "--smtp", url, "--json"])
        assert result.exit_code == 2 and secret not in result.output, result.output
    for url in (f"imaps://clerk:{secret}@imap.x.cn/INBOX", f"imaps://clerk:{secret}",
                f"imap://clerk:{secret}@imap.x.cn:143/收件箱"):
        assert secret not in without_password(url)
        with pytest.raises(MailboxUnavailable) as unavailable, opened(url, password="x"):
            pass
        assert secret not in str(unavailable.value) and secret not in repr(unavailable.value)
        result = runner.invoke(main, ["mail", "fetch", url, "--store", str(office.store),
                                      "--json"])
        assert result.exit_code != 0 and secret not in result.output, result.output


def test_a_password_typed_without_the_host_is_asked_about() -> None:
    from xltool.mail.send import smtp_server as server_of

    with pytest.raises(MailError) as raised:
        server_of("smtps://clerk:12345678")
    assert "12345678" not in str(raised.value) and "是不是写了密码" in str(raised.value)
    for url in ("smtps://127.0.0.1:465", "smtps://smtp.x.cn:465", "smtps://localhost:1025",
                "smtp+plain://mailrelay:25"):  # an intranet host needs no dot
        assert server_of(url).port in (465, 1025, 25)
