"""`mail fetch`: returns from a real IMAP server (Dovecot), a Maildir, an mbox and .eml files,
collected as `collect` collects them, with the message each came in; a rerun fetches
nothing new."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import mailbox
import os
import shutil
import sqlite3
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from tests.conftest import complete_values, ledger_row, write_ledger
from tests.mailservers import PASSWORD, Dovecot, dovecot, sent_at  # noqa: F401 — the fixture
from xltool.cli import main
from xltool.errors import MailboxUnavailable
from xltool.mail.fetch import fetch_mail, inbox_folder
from xltool.store import Status, open_store
from xltool.template import issue_templates
from xltool.template.fill import fill_by_name

OFFICE = "czj@example.gov.cn"
DEPARTMENTS = {"001": ("教育局", "jyj@example.gov.cn"), "002": ("卫健委", "wjw@example.gov.cn"),
               "003": ("交通局", "jtj@example.gov.cn")}
MAILED = {"001": datetime(2024, 3, 1, 9, 30, tzinfo=UTC),
          "002": datetime(2024, 3, 2, 10, 0, tzinfo=UTC),
          "003": datetime(2024, 3, 3, 11, 15, tzinfo=UTC)}


@dataclass(frozen=True)
class Year:
    """Templates issued to three departments (with their 联系邮箱), and a return of each."""

    store: Path
    returns: dict[str, Path]
    names: dict[str, str]


@pytest.fixture(scope="module")
def year(tmp_path_factory: pytest.TempPathFactory) -> Year:
    folder = tmp_path_factory.mktemp("year")
    ledger = write_ledger(folder / "ledger.csv", [
        ledger_row(f"{code}-01", f"{name}项目", department=(code, name), 联系邮箱=address)
        for code, (name, address) in DEPARTMENTS.items()])
    store = folder / "issued.db"
    run = issue_templates(ledger, folder / "templates", store=store)
    returns, names = {}, {}
    for workbook in run.workbooks:
        code = workbook.department_code
        names[code] = f"{DEPARTMENTS[code][0]}2024年绩效目标表（已填）.xlsx"
        returns[code] = fill_by_name(workbook.path, complete_values(store, workbook.template_id),
                                     folder / "returns" / f"{code}.xlsx")
    return Year(store, returns, names)


@pytest.fixture
def store(year: Year, tmp_path: Path) -> Path:
    copy = tmp_path / "office" / "xltool.db"
    copy.parent.mkdir()
    shutil.copyfile(year.store, copy)
    return copy


# -- messages as departments' clients write them ----------------------------------------------


def _headers(code: str, subject: str, *, sender: str | None = None, msgid: str = "") -> str:
    subject_word = base64.b64encode(subject.encode("gb18030")).decode()
    return (f"From: =?utf-8?B?{base64.b64encode(DEPARTMENTS[code][0].encode()).decode()}?= "
            f"<{sender or DEPARTMENTS[code][1]}>\r\nTo: {OFFICE}\r\n"
            f"Subject: =?gb18030?B?{subject_word}?=\r\n"
            f"Date: {format_datetime(MAILED[code])}\r\n"
            f"Message-ID: <{msgid or code}-return@{code}.example.gov.cn>\r\nMIME-Version: 1.0\r\n")


def plain_return(year: Year, code: str, *, name: str = "", **more: str) -> bytes:
    """Outlook-like: the standard library's RFC 2231 name."""
    message = EmailMessage()
    for line in _headers(code, "报送绩效目标表", **more).strip().split("\r\n"):
        header, _, value = line.partition(": ")
        if header != "MIME-Version":
            message[header] = value
    message.set_content("请查收附件。")
    message.add_attachment(year.returns[code].read_bytes(), maintype="application",
                           subtype="vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                           filename=name or year.names[code])
    return bytes(message)


def gbk_named_return(year: Year, code: str) -> bytes:
    """A Chinese client's: the name in an unquoted RFC 2047 GBK word, which the standard
    library does not read."""
    word = f"=?GBK?B?{base64.b64encode(year.names[code].encode('gbk')).decode()}?="
    body = base64.encodebytes(year.returns[code].read_bytes()).decode().replace("\n", "\r\n")
    return (_headers(code, "绩效目标表") +
            "Content-Type: multipart/mixed; boundary=\"=-=\"\r\n\r\n"
            "--=-=\r\nContent-Type: text/plain; charset=gbk\r\n\r\nsee attachment\r\n"
            f"--=-=\r\nContent-Type: application/octet-stream; name={word}\r\n"
            f"Content-Disposition: attachment; filename={word}\r\n"
            f"Content-Transfer-Encoding: base64\r\n\r\n{body}--=-=--\r\n").encode()


def zipped_return(year: Year, code: str) -> bytes:
    """The workbook zipped on a Chinese Windows (GBK names, no UTF-8 flag) with a PDF."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in ((year.names[code], year.returns[code].read_bytes()),
                           ("盖章页.pdf", b"%PDF-1.4 stamped")):
            info = zipfile.ZipInfo("x" * len(name.encode("gbk")))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    data = buffer.getvalue()
    for name in (year.names[code], "盖章页.pdf"):
        data = data.replace(b"x" * len(name.encode("gbk")), name.encode("gbk"), 2)
    message = _message(code, "报送（压缩包）")
    message.add_attachment(data, maintype="application", subtype="zip", filename="报送材料.zip")
    return bytes(message)


def forwarded_return(year: Year, code: str) -> bytes:
    """Sent first to a colleague, who forwarded it (message/rfc822) to the office."""
    original = EmailMessage()
    original["From"], original["To"], original["Subject"] = DEPARTMENTS[code][1], \
        "colleague@example.gov.cn", "目标表"
    original.set_content("附件")
    original.add_attachment(year.returns[code].read_bytes(), maintype="application",
                            subtype="octet-stream", filename=year.names[code])
    message = _message(code, "转发：目标表")
    message.add_attachment(original)
    return bytes(message)


def _message(code: str, subject: str, *, sender: str | None = None) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender or DEPARTMENTS[code][1]
    message["To"], message["Subject"] = OFFICE, subject
    message["Date"] = format_datetime(MAILED[code])
    message["Message-ID"] = f"<{code}-{abs(hash(subject))}@example.gov.cn>"
    message.set_content("见附件")
    return message


def forgotten_attachment() -> bytes:
    message = _message("003", "见附件")
    message.set_content("绩效目标表见附件，请查收。")
    return bytes(message)


# -- mailboxes on disk, each message delivered when it was sent ----------------------------


def delivered_eml(path: Path, message: bytes, at: datetime | None = None) -> Path:
    """MESSAGE as an .eml file whose time is its delivery: AT, else its Date."""
    path.write_bytes(message)
    stamp = (at or sent_at(message) or datetime.now(UTC)).timestamp()
    os.utime(path, (stamp, stamp))
    return path


def delivered_maildir(folder: Path, *messages: bytes) -> Path:
    """A Maildir with MESSAGES, each file's time its Date (as Dovecot keeps INTERNALDATE)."""
    box = mailbox.Maildir(folder, create=True)
    for message in messages:
        stamp = (sent_at(message) or datetime.now(UTC)).timestamp()
        os.utime(folder / "new" / box.add(message), (stamp, stamp))
    return folder


def delivered_mbox(path: Path, *messages: bytes, at: datetime | None = None) -> Path:
    """MESSAGES appended to mbox PATH, each `From ` line the time of its delivery (AT, else
    its Date) in local time, as Thunderbird and Foxmail write it."""
    with path.open("ab") as file:
        for message in messages:
            when = (at or sent_at(message) or datetime.now(UTC)).astimezone()
            file.write(b"From MAILER-DAEMON " + time.asctime(when.timetuple()).encode() + b"\n"
                       + message.replace(b"\r\n", b"\n").rstrip(b"\n") + b"\n\n")
    return path


def _rows(store: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(store) as db:
        return db.execute(sql).fetchall()


# -- IMAP ----------------------------------------------------------------------------------


@pytest.mark.dovecot
def test_imaps_every_return_found_collected_with_provenance_and_a_rerun_fetches_nothing(
        year: Year, store: Path, dovecot: Dovecot) -> None:  # noqa: F811 — the fixture
    dovecot.deliver(forwarded_return(year, "001"), zipped_return(year, "002"),
                    gbk_named_return(year, "003"), forgotten_attachment())
    run = fetch_mail([dovecot.url()], store=store, cafile=dovecot.tls.ca, password=PASSWORD,
                     feedback=store.parent / "反馈")
    assert run.messages_seen == 4 and len(run.messages) == 4
    assert run.collected is not None
    assert sorted((f.department, f.status) for f in run.collected.files) == [
        (code, Status.ACCEPTED) for code in sorted(DEPARTMENTS)]
    assert {f.name for f in run.files} == set(year.names.values())
    assert {f.within for f in run.files} == {"转发邮件", "报送材料.zip", ""}
    [forgot] = run.findings
    assert forgot.code == "mail.no_workbook" and "jtj@example.gov.cn" in forgot.message
    assert "见附件" in forgot.message
    inbox = inbox_folder(store)
    assert sorted(p.name for p in inbox.iterdir()) == sorted(year.names.values())
    for code, name in year.names.items():  # forwarded, zipped or GBK-named: the very bytes
        assert (inbox / name).read_bytes() == year.returns[code].read_bytes()
    feedback = {path.name: path for path in run.collected.feedback}
    assert len(feedback) == 4  # a 反馈表 per department and the 收取情况汇总
    for path in feedback.values():  # the office's findings stay out of every workbook
        workbook = load_workbook(path, read_only=True)
        texts = [str(v) for sheet in workbook for row in sheet.iter_rows(values_only=True)
                 for v in row if v is not None]
        workbook.close()
        assert texts and not any("mail." in t or "没有附带工作簿" in t for t in texts)
    with open_store(store) as opened:
        for code in DEPARTMENTS:
            sha256 = next(f.sha256 for f in run.files if f.name == year.names[code])
            message = opened.message_of(sha256)
            assert message is not None and message.sender == DEPARTMENTS[code][1]
            assert message.mailed_at == MAILED[code].isoformat()
            assert message.key.endswith(":" + str(list(DEPARTMENTS).index(code) + 1))
            received = opened.received(sha256)
            assert received is not None and received.mailed_at == MAILED[code].isoformat()
    assert "\\Seen" not in "".join(dovecot.flags())  # read-only: nothing changed on the server
    assert dovecot.count() == 4
    again = fetch_mail([dovecot.url()], store=store, cafile=dovecot.tls.ca, password=PASSWORD)
    assert (again.messages_seen, again.files, again.collected) == (0, (), None)
    assert again.exit_code == 0


@pytest.mark.dovecot
def test_starttls_mark_seen_and_only_new_messages(year: Year, store: Path,
                                                  dovecot: Dovecot) -> None:  # noqa: F811
    dovecot.deliver(plain_return(year, "001"))
    url = dovecot.url(starttls=True)
    first = fetch_mail([url], store=store, cafile=dovecot.tls.ca, password=PASSWORD,
                       mark_seen=True)
    assert [f.status for f in first.collected.files] == [Status.ACCEPTED]  # type: ignore[union-attr]
    assert "\\Seen" in dovecot.flags()[0]
    dovecot.deliver(plain_return(year, "002"))
    second = fetch_mail([url], store=store, cafile=dovecot.tls.ca, password=PASSWORD)
    assert [m.sender for m in second.messages] == [DEPARTMENTS["002"][1]]
    assert _rows(store, "SELECT last_uid FROM mail_cursors") == [(2,)]


@pytest.mark.dovecot
def test_since_asks_the_server_and_leaves_the_cursor_for_the_older_ones(
        year: Year, store: Path, dovecot: Dovecot) -> None:  # noqa: F811
    dovecot.deliver(plain_return(year, "001"), plain_return(year, "003"))
    recent = fetch_mail([dovecot.url()], store=store, cafile=dovecot.tls.ca, password=PASSWORD,
                        since=date(2024, 3, 2))
    assert [m.sender for m in recent.messages] == [DEPARTMENTS["003"][1]]
    rest = fetch_mail([dovecot.url()], store=store, cafile=dovecot.tls.ca, password=PASSWORD)
    assert [m.sender for m in rest.messages] == [DEPARTMENTS["001"][1]]
    assert _rows(store, "SELECT last_uid FROM mail_cursors") == [(2,)]


@pytest.mark.dovecot
def test_a_renumbered_folder_collects_nothing_twice(year: Year, store: Path,
                                                    dovecot: Dovecot) -> None:  # noqa: F811
    dovecot.deliver(plain_return(year, "001"), plain_return(year, "002"))
    fetch_mail([dovecot.url()], store=store, cafile=dovecot.tls.ca, password=PASSWORD)
    with sqlite3.connect(store) as db:  # as a server that rebuilt its index: a new UIDVALIDITY
        db.execute("UPDATE mail_cursors SET uidvalidity = uidvalidity + 1")
        db.execute("UPDATE mail_received SET key = 'old:' || key")
        db.execute("UPDATE mail_attachments SET key = 'old:' || key")
    again = fetch_mail([dovecot.url()], store=store, cafile=dovecot.tls.ca, password=PASSWORD)
    assert again.messages_seen == 2 and again.messages == () and again.collected is None


@pytest.mark.dovecot
def test_server_problems_are_messages_naming_the_server(year: Year, store: Path,
                                                        dovecot: Dovecot) -> None:  # noqa: F811
    with pytest.raises(MailboxUnavailable, match=r"127\.0\.0\.1:\d+ 拒绝登录.*授权码"):
        fetch_mail([dovecot.url()], store=store, cafile=dovecot.tls.ca, password="wrong")
    with pytest.raises(MailboxUnavailable, match=r"证书无法验证.*--cafile"):
        fetch_mail([dovecot.url()], store=store, password=PASSWORD)
    with pytest.raises(MailboxUnavailable, match="没有邮件夹“归档”"):
        fetch_mail([dovecot.url(folder="归档")], store=store, cafile=dovecot.tls.ca,
                   password=PASSWORD)
    result = CliRunner().invoke(main, ["mail", "fetch", dovecot.url(), "--store", str(store),
                                       "--cafile", str(dovecot.tls.ca)],
                                env={"XLTOOL_MAIL_PASSWORD": "wrong", "LANG": "zh_CN.UTF-8"})
    assert result.exit_code == 2 and "拒绝登录" in result.output
    assert "Traceback" not in result.output and "wrong" not in result.output


def test_a_server_that_is_not_there_is_a_message(store: Path) -> None:
    from tests.mailservers import free_port

    with pytest.raises(MailboxUnavailable, match="拒绝连接"):
        fetch_mail([f"imaps://u@127.0.0.1:{free_port()}/INBOX"], store=store, password="x")


@pytest.mark.dovecot
def test_the_cli_fetches_over_imap_with_the_password_from_the_environment(
        year: Year, store: Path, dovecot: Dovecot) -> None:  # noqa: F811
    dovecot.deliver(plain_return(year, "002", sender="someone@elsewhere.cn"))
    result = CliRunner().invoke(main, ["mail", "fetch", dovecot.url(), "--store", str(store),
                                       "--cafile", str(dovecot.tls.ca), "--json"],
                                env={"XLTOOL_MAIL_PASSWORD": PASSWORD})
    assert result.exit_code == 1, result.output  # accepted, but the sender is no contact
    data = json.loads(result.output)
    assert data["summary"]["messages_new"] == 1
    assert data["collect"]["files"][0]["status"] == "accepted"
    [unknown] = data["findings"]
    assert unknown["code"] == "mail.unknown_sender"
    assert "someone@elsewhere.cn" in unknown["message"] and "wjw@example.gov.cn" in \
        unknown["message"]
    assert PASSWORD not in result.output


# -- files ---------------------------------------------------------------------------------


def test_maildir_mbox_and_eml_sources_and_reruns(year: Year, store: Path, tmp_path: Path) -> None:
    delivered_maildir(tmp_path / "Maildir", gbk_named_return(year, "001"))
    delivered_mbox(tmp_path / "导出.mbox", zipped_return(year, "002"))
    emls = tmp_path / "eml"
    emls.mkdir()
    delivered_eml(emls / "转发.eml", forwarded_return(year, "003"))
    sources = [str(tmp_path / "Maildir"), str(tmp_path / "导出.mbox"), str(emls)]
    run = fetch_mail(sources, store=store)
    assert run.collected is not None and run.exit_code == 0
    assert sorted(f.department for f in run.collected.files) == sorted(DEPARTMENTS)
    assert {m.sender for m in run.messages} == {a for _, a in DEPARTMENTS.values()}
    assert len(_rows(store, "SELECT * FROM mail_received")) == 3
    again = fetch_mail(sources, store=store)
    assert (again.messages_seen, again.collected) == (0, None)
    # the same message exported again into another mbox: known by Message-ID and workbook
    delivered_mbox(tmp_path / "再次导出.mbox", zipped_return(year, "002"))
    copied = fetch_mail([str(tmp_path / "再次导出.mbox")], store=store)
    assert copied.messages_seen == 1 and copied.messages == () and copied.collected is None


def test_since_leaves_older_messages_for_a_later_run(year: Year, store: Path,
                                                     tmp_path: Path) -> None:
    emls = tmp_path / "eml"
    emls.mkdir()
    delivered_eml(emls / "a.eml", plain_return(year, "001"))
    delivered_eml(emls / "b.eml", plain_return(year, "003"))
    recent = fetch_mail([str(emls)], store=store, since=date(2024, 3, 2))
    assert [m.sender for m in recent.messages] == [DEPARTMENTS["003"][1]]
    rest = fetch_mail([str(emls)], store=store)
    assert [m.sender for m in rest.messages] == [DEPARTMENTS["001"][1]]


def test_the_same_workbook_twice_is_saved_once_and_a_namesake_keeps_its_own(
        year: Year, store: Path, tmp_path: Path) -> None:
    emls = tmp_path / "eml"
    emls.mkdir()
    delivered_eml(emls / "1.eml", plain_return(year, "001"))
    delivered_eml(emls / "2.eml", plain_return(year, "001", msgid="again"))
    delivered_eml(emls / "3.eml", plain_return(year, "002", name=year.names["001"]))
    run = fetch_mail([str(emls)], store=store)
    assert len(run.files) == 2
    [namesake] = {p.name for p in inbox_folder(store).iterdir()} - {year.names["001"]}
    assert namesake.startswith(year.names["001"][:-5] + "-")


def test_the_cli_over_a_maildir_in_chinese(year: Year, store: Path, tmp_path: Path) -> None:
    delivered_maildir(tmp_path / "Maildir", plain_return(year, "001"), forgotten_attachment())
    result = CliRunner().invoke(main, ["mail", "fetch", str(tmp_path / "Maildir"),
                                       "--store", str(store)], env={"LANG": "zh_CN.UTF-8"})
    assert result.exit_code == 1, result.output  # a message without a workbook: call them
    flat = "".join(result.output.split())
    assert "mail.no_workbook" in flat and "新邮件2封" in flat and "已接受" in flat


def test_a_missing_source_or_store_is_a_message(store: Path, tmp_path: Path) -> None:
    with pytest.raises(MailboxUnavailable, match="不存在"):
        fetch_mail([str(tmp_path / "nosuch")], store=store)
    result = CliRunner().invoke(main, ["mail", "fetch", str(tmp_path),
                                       "--store", str(tmp_path / "no.db")])
    assert result.exit_code == 2 and "Traceback" not in result.output


@pytest.fixture(autouse=True)
def _no_password_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("XLTOOL_MAIL_PASSWORD", raising=False)
    yield


# -- keys, times of receipt and the inbox (the reviewer's findings) --------------------------


def test_an_mbox_compacted_after_a_deletion_loses_no_new_message(year: Year, store: Path,
                                                                  tmp_path: Path) -> None:
    first_return, second_return = plain_return(year, "001"), plain_return(year, "002")
    path = delivered_mbox(tmp_path / "Inbox", forgotten_attachment(), first_return)
    first = fetch_mail([str(path)], store=store)
    assert len(first.messages) == 2 and len(first.files) == 1
    box = mailbox.mbox(path)  # the clerk deletes the mail without a workbook; the client compacts
    box.lock()
    box.remove(0)
    box.flush()
    box.unlock()
    box.close()
    delivered_mbox(path, second_return)  # then 卫健委's return arrives
    second = fetch_mail([str(path)], store=store)
    assert [m.sender for m in second.messages] == [DEPARTMENTS["002"][1]]
    assert [f.department for f in second.collected.files] == ["002"]  # type: ignore[union-attr]
    # exported again in another order: every message known, none fetched twice
    reordered = delivered_mbox(tmp_path / "再导出", second_return, first_return)
    shutil.copyfile(reordered, path)
    third = fetch_mail([str(path)], store=store)
    assert (third.messages_seen, third.messages, third.collected) == (0, (), None)


def test_the_same_message_twice_in_an_mbox_is_one_message(year: Year, store: Path,
                                                          tmp_path: Path) -> None:
    twice = plain_return(year, "001")
    path = delivered_mbox(tmp_path / "Inbox", twice, twice)
    run = fetch_mail([str(path)], store=store)
    assert run.messages_seen == 1 and len(_rows(store, "SELECT * FROM mail_received")) == 1


def _mail(path: Path, code: str, sent: datetime, msgid: str) -> bytes:
    message = _message(code, f"报送 {msgid}")
    del message["Date"], message["Message-ID"]
    message["Date"], message["Message-ID"] = format_datetime(sent), f"<{msgid}@example.gov.cn>"
    message.add_attachment(path.read_bytes(), maintype="application", subtype="octet-stream",
                           filename=path.name)
    return bytes(message)


def test_a_sender_clock_in_the_future_does_not_keep_a_wrong_return_in_force(
        year: Year, store: Path, tmp_path: Path) -> None:
    emls = tmp_path / "eml"
    emls.mkdir()
    wrong, right = year.returns["001"], tmp_path / "更正.xlsx"
    shutil.copyfile(wrong, right)
    workbook = load_workbook(right)  # the corrected return: other bytes, still complete
    workbook.properties.title = "更正"
    workbook.save(right)
    delivered_at = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
    delivered_eml(emls / "1.eml", _mail(wrong, "001", datetime(2030, 3, 1, tzinfo=UTC), "a"),
                  at=delivered_at)
    first = fetch_mail([str(emls)], store=store)
    [doubt] = first.findings
    assert doubt.code == "mail.date_doubtful" and "发件电脑时钟超前" in doubt.message
    assert "jyj@example.gov.cn" in doubt.message and "2024-03-01" in doubt.message
    delivered_eml(emls / "2.eml", _mail(right, "001", datetime(2024, 3, 5, 9, tzinfo=UTC), "b"))
    second = fetch_mail([str(emls)], store=store)
    assert second.findings == () and second.exit_code == 0
    with open_store(store) as opened:
        [in_force] = [r for r in opened.current_returns() if r.department_code == "001"]
        assert in_force.sha256 == hashlib.sha256(right.read_bytes()).hexdigest()
        first_file = opened.received(hashlib.sha256(wrong.read_bytes()).hexdigest())
        assert first_file is not None and first_file.received == delivered_at.isoformat()


def test_a_backdated_date_is_told_to_the_office(year: Year, store: Path, tmp_path: Path) -> None:
    sent = datetime(2024, 2, 1, 9, 0, tzinfo=UTC)
    backdated = _mail(year.returns["002"], "002", sent, "old")
    mbox = delivered_mbox(tmp_path / "Inbox", backdated, at=datetime(2024, 3, 5, 9, tzinfo=UTC))
    run = fetch_mail([str(mbox)], store=store)
    [doubt] = run.findings
    assert doubt.code == "mail.date_doubtful" and "相差一天以上" in doubt.message
    assert "2024-03-05" in doubt.message and run.exit_code == 1
    # an .eml file's time is when it was saved, maybe long after: no finding from that alone
    saved_later = delivered_eml(tmp_path / "b.eml", plain_return(year, "003"),
                                at=datetime(2024, 6, 1, tzinfo=UTC))
    later = fetch_mail([str(saved_later)], store=store)
    assert later.findings == () and later.exit_code == 0


def test_a_date_within_a_day_of_delivery_is_no_finding_and_counts(
        year: Year, store: Path, tmp_path: Path) -> None:
    sent = datetime(2024, 3, 5, 9, 0, tzinfo=UTC)
    delivered = datetime(2024, 3, 5, 9, 3, tzinfo=UTC)
    maildir = delivered_maildir(tmp_path / "Maildir")
    key = mailbox.Maildir(maildir).add(_mail(year.returns["003"], "003", sent, "m"))
    os.utime(maildir / "new" / key, (delivered.timestamp(), delivered.timestamp()))
    run = fetch_mail([str(maildir)], store=store)
    assert run.findings == ()
    with open_store(store) as opened:
        received = opened.received(run.files[0].sha256)
        assert received is not None and received.received == delivered.isoformat()


def _corrected(year: Year, code: str, folder: Path) -> Path:
    """Another complete return of CODE: other bytes, as a department's corrected copy."""
    right = folder / f"更正{code}.xlsx"
    shutil.copyfile(year.returns[code], right)
    workbook = load_workbook(right)
    workbook.properties.title = "更正"
    workbook.save(right)
    return right


def _in_force(store: Path, code: str) -> str:
    with open_store(store) as opened:
        [in_force] = [r for r in opened.current_returns() if r.department_code == code]
        return in_force.sha256


def test_a_sender_clock_behind_does_not_let_the_old_return_supersede_the_corrected_one(
        year: Year, store: Path, tmp_path: Path) -> None:
    old, corrected = year.returns["002"], _corrected(year, "002", tmp_path)
    maildir = delivered_maildir(tmp_path / "Maildir")
    box = mailbox.Maildir(maildir)
    first, then = datetime(2024, 3, 5, 9, tzinfo=UTC), datetime(2024, 3, 5, 11, tzinfo=UTC)
    for path, sent, delivered, msgid in (
            (old, first, first, "old"),
            (corrected, then - timedelta(days=3), then, "new")):  # the PC's clock 3 days behind
        key = box.add(_mail(path, "002", sent, msgid))
        os.utime(maildir / "new" / key, (delivered.timestamp(), delivered.timestamp()))
    run = fetch_mail([str(maildir)], store=store)
    assert [f.code for f in run.findings] == ["mail.date_doubtful"]
    assert _in_force(store, "002") == hashlib.sha256(corrected.read_bytes()).hexdigest()
    with open_store(store) as opened:
        kept = opened.received(hashlib.sha256(corrected.read_bytes()).hexdigest())
        assert kept is not None and kept.received == then.isoformat()


@pytest.mark.dovecot
def test_imap_internaldate_orders_returns_whatever_the_senders_clock(
        year: Year, store: Path, tmp_path: Path, dovecot: Dovecot) -> None:  # noqa: F811
    old, corrected = year.returns["003"], _corrected(year, "003", tmp_path)
    first, then = datetime(2024, 3, 5, 9, tzinfo=UTC), datetime(2024, 3, 5, 11, tzinfo=UTC)
    dovecot.deliver(_mail(old, "003", first, "o"), at=first)
    dovecot.deliver(_mail(corrected, "003", then - timedelta(days=3), "c"), at=then)
    run = fetch_mail([dovecot.url()], store=store, cafile=dovecot.tls.ca, password=PASSWORD)
    assert [f.code for f in run.findings] == ["mail.date_doubtful"]
    assert _in_force(store, "003") == hashlib.sha256(corrected.read_bytes()).hexdigest()


def test_an_mbox_from_line_is_local_time(monkeypatch: pytest.MonkeyPatch) -> None:
    from xltool.mail.sources import _from_line_date

    monkeypatch.setenv("TZ", "Asia/Shanghai")
    time.tzset()
    try:
        assert _from_line_date(b"From - Wed Mar 06 17:05:09 2024") == \
            datetime(2024, 3, 6, 9, 5, 9, tzinfo=UTC)  # Thunderbird on a Beijing PC
    finally:
        monkeypatch.undo()
        time.tzset()


@pytest.mark.dovecot
def test_imap_internaldate_bounds_a_date_in_the_future(year: Year, store: Path,
                                                       dovecot: Dovecot) -> None:  # noqa: F811
    delivered = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
    dovecot.deliver(_mail(year.returns["001"], "001", datetime(2031, 1, 1, tzinfo=UTC), "f"),
                    at=delivered)
    run = fetch_mail([dovecot.url()], store=store, cafile=dovecot.tls.ca, password=PASSWORD)
    assert [f.code for f in run.findings] == ["mail.date_doubtful"]
    with open_store(store) as opened:
        received = opened.received(run.files[0].sha256)
        assert received is not None and received.received == delivered.isoformat()


def test_an_inbox_file_of_other_bytes_is_never_overwritten(year: Year, store: Path,
                                                           tmp_path: Path) -> None:
    inbox = inbox_folder(store)
    inbox.mkdir()
    mine = year.returns["001"].read_bytes()
    sha = hashlib.sha256(mine).hexdigest()
    name = year.names["001"]
    (inbox / name).write_bytes(b"an earlier file")
    (inbox / f"{name[:-5]}-{sha[:8]}.xlsx").write_bytes(b"another earlier file")
    run = fetch_mail([str(delivered_eml(tmp_path / "a.eml", plain_return(year, "001")))],
                     store=store)
    [saved] = run.files
    assert saved.path.read_bytes() == mine and saved.path.name == f"{name[:-5]}-{sha[:8]}-2.xlsx"
    assert (inbox / name).read_bytes() == b"an earlier file"
    assert (inbox / f"{name[:-5]}-{sha[:8]}.xlsx").read_bytes() == b"another earlier file"


@pytest.mark.parametrize(("given", "saved"), [
    ("CON.xlsx", "_CON.xlsx"), ("nul", "_nul.xlsx"), ("COM1.年报.xlsx", "_COM1.年报.xlsx"),
    (" ../ .xlsx", "附件.xlsx"), ("..\\..\\报表.msi", "报表.xlsx"),
    ("~$报表.xlsx", "_~$报表.xlsx")])
def test_an_inbox_name_is_safe_and_has_the_suffix_of_the_bytes(
        year: Year, store: Path, tmp_path: Path, given: str, saved: str) -> None:
    eml = delivered_eml(tmp_path / "a.eml", plain_return(year, "002", name=given))
    run = fetch_mail([str(eml)], store=store)
    assert [f.path.name for f in run.files] == [saved]
    assert [f.name for f in run.files] == [given.strip()]  # the name as sent is kept
    assert [f.status for f in run.collected.files] == [Status.ACCEPTED]  # type: ignore[union-attr]


def test_a_message_with_too_many_parts_is_told_to_the_office(year: Year, store: Path,
                                                             tmp_path: Path) -> None:
    from xltool.mail import attachments

    message = _message("002", "很多附件")
    for number in range(attachments._MAX_PARTS + 5):
        message.add_attachment(b"x", maintype="text", subtype="plain", filename=f"{number}.txt")
    run = fetch_mail([str(delivered_eml(tmp_path / "a.eml", bytes(message)))], store=store)
    assert "mail.too_many_parts" in {f.code for f in run.findings}
    [told] = [f for f in run.findings if f.code == "mail.too_many_parts"]
    assert "wjw@example.gov.cn" in told.message and "很多附件" in told.message


def test_fetch_takes_the_rules_and_previous_targets_as_collect_does(
        year: Year, store: Path, tmp_path: Path) -> None:
    eml = delivered_eml(tmp_path / "a.eml", plain_return(year, "001"))
    bad_rules = tmp_path / "rules.toml"
    bad_rules.write_text("[all]\nsatisfaction = 85\n", encoding="utf-8")
    base = ["mail", "fetch", str(eml), "--store", str(store)]
    result = CliRunner().invoke(main, [*base, "--rules", str(bad_rules)])
    assert result.exit_code == 2 and "all.satisfaction：未知的设置" in result.output
    not_targets = tmp_path / "上年.xlsx"
    not_targets.write_bytes(b"not a workbook")
    result = CliRunner().invoke(main, [*base, "--previous", str(not_targets)])
    assert result.exit_code == 2 and "上年.xlsx" in result.output, result.output
    result = CliRunner().invoke(main, [*base, "--jobs", "2", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["collect"]["files"][0]["status"] == "accepted"


def test_delivery_times_as_servers_and_clients_write_them() -> None:
    from xltool.mail.sources import _from_line_date, _internaldate

    assert _internaldate(b'1 (UID 7 INTERNALDATE " 6-Mar-2024 17:05:09 +0800" BODY[] {9}') == \
        datetime(2024, 3, 6, 9, 5, 9, tzinfo=UTC)
    assert _internaldate(b'1 (UID 7 BODY[] {9} INTERNALDATE "31-Feb-2024 00:00:00 +0000")') \
        is None  # no such day: the fetch time bounds it instead
    assert _from_line_date(b"From - Wed Mar 06 09:05:09 2024") == \
        datetime(2024, 3, 6, 9, 5, 9, tzinfo=UTC)  # Thunderbird
    assert _from_line_date(b"From MAILER-DAEMON Wed Mar  6 09:05:09 2024\r") == \
        datetime(2024, 3, 6, 9, 5, 9, tzinfo=UTC)
    assert _from_line_date(b"From someone@example.gov.cn") is None
