"""`xltool demo`: the whole year on the samples, from the CLI, leaving every output."""

from __future__ import annotations

import email
import mailbox
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from xltool.cli import main
from xltool.demo import run_demo
from xltool.demo_mail import CLIENTS
from xltool.targets import read_targets


# The one test where a library's notice that an API xltool calls will go away is an error
# (pyproject.toml reports it everywhere else): the whole year runs here, so a deprecated call
# anywhere in it turns this test red, and only this one.
@pytest.mark.filterwarnings("error::DeprecationWarning", "error::PendingDeprecationWarning",
                            "error::FutureWarning")
def test_the_demo_plays_the_year_and_leaves_every_output(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    folder.mkdir()
    result = run_demo(folder)
    first, second = result.rounds
    assert {f.status for f in first.files} == {"rejected"}
    assert sorted(f.status for f in second.files) == ["accepted", "accepted", "duplicate"]
    assert {f.department for f in second.files if f.status == "duplicate"} == {"013042"}
    kinds = set(result.reconciliation.differences["kind"])
    assert kinds == {"not_returned"}
    assert len(result.reconciliation.differences) == 4
    assert result.publication.projects == 12 and len(result.publication.missing) == 4
    for path, _ in result.files:
        assert (folder / path).exists(), path
    published = read_targets(folder / "targets-out.xlsx")
    assert len(published.goals) == 12
    cover = load_workbook(folder / "disclosure.xlsx")["封面"]
    assert any("示例市财政局" in str(c.value) for row in cover.iter_rows() for c in row)
    guide = (folder / "说明.txt").read_text(encoding="utf-8")
    assert "disclosure.xlsx" in guide
    (folder / "mine.txt").write_text("not the demo's")
    again = CliRunner().invoke(main, ["demo", str(folder)])
    assert again.exit_code == 0, again.output
    assert "公开：12 个项目" in again.output
    assert (folder / "mine.txt").read_text() == "not the demo's"


def _message(path: Path) -> EmailMessage:
    message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def test_the_demo_plays_round_one_by_mail_on_drafts_and_a_maildir(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    result = run_demo(folder, mail=True)
    mailed = result.mail
    assert mailed is not None
    workbooks = {w.department_code: w.path.name for w in result.templates.workbooks}
    # the templates, drafted: a draft per department, its workbook attached under its name
    drafts = {d.department_code: _message(Path(d.response)) for d in mailed.templates.deliveries}
    assert [d.outcome for d in mailed.templates.deliveries] == ["drafted"] * 3
    for code, draft in drafts.items():
        [attached] = draft.iter_attachments()
        assert attached.get_filename() == workbooks[code]
        assert attached.get_content() == (folder / "templates" / workbooks[code]).read_bytes()
    # the departments' answers, one per client, in the Maildir, replying to their template
    answers = {a.department_code: a for a in mailed.answers}
    assert sorted(a.client for a in mailed.answers) == sorted(c for c, _ in CLIENTS)
    assert len(mailbox.Maildir(folder / "mailbox", create=False)) == 3
    for code, answer in answers.items():
        assert answer.path.parent == folder / "mailbox" / "new"
        assert _message(answer.path)["In-Reply-To"] == drafts[code]["Message-ID"]
    # fetched and collected as round 1: every return found, under its Chinese name
    fetched = mailed.fetched
    assert len(fetched.messages) == 3 and fetched.findings == ()
    assert sorted(f.name for f in fetched.files) == sorted(workbooks.values())
    assert {f.within for f in fetched.files} == {
        "", "转发邮件", f"{result.templates.workbooks[1].department}报送材料.zip"}
    first, second = result.rounds
    assert first is fetched.collected
    assert {f.status for f in first.files} == {"rejected"}  # the seeds' own mistakes
    assert sorted(f.status for f in second.files) == ["accepted", "accepted", "duplicate"]
    # feedback drafted as replies to the answers, with the 反馈表; reminders to all three
    for delivery in mailed.feedback.deliveries:
        reply = _message(Path(delivery.response))
        answered = _message(answers[delivery.department_code].path)
        assert reply["In-Reply-To"] == answered["Message-ID"]
        assert reply["Subject"].startswith("回复：")
        [attached] = reply.iter_attachments()
        assert attached.get_filename() == delivery.attachment
        assert delivery.attachment.endswith("_反馈表.xlsx")
        assert attached.get_content() == (folder / "feedback-1" / delivery.attachment
                                          ).read_bytes()
    reminders = [_message(Path(d.response)).get_body(("plain",))
                 for d in mailed.reminders.deliveries]
    assert len(reminders) == 3
    assert all(r is not None and "有错误待修改" in r.get_content() for r in reminders)
    # the guide lists every file the mail round left
    listed = {line.split("\t")[0] for line in (folder / "说明.txt").read_text(
        encoding="utf-8").splitlines() if "\t" in line}
    for sub in ("outbox", "mailbox/new", "xltool-收件"):
        files = list((folder / sub).iterdir())
        assert files and all(f"{sub}/{path.name}" in listed for path in files), sub
    assert {p.name for p in folder.iterdir()} <= {name.split("/")[0] for name in listed}
    # again into the same folder: the earlier mailbox is cleared, not fetched again
    same = CliRunner().invoke(main, ["demo", str(folder), "--mail"])
    assert same.exit_code == 0, same.output
    assert "邮件：收取 3 封邮件，取得报送文件 3 个" in same.output
    assert len(mailbox.Maildir(folder / "mailbox", create=False)) == 3
    # again into a new folder, from the command line
    again = CliRunner().invoke(main, ["demo", str(tmp_path / "again"), "--mail"])
    assert again.exit_code == 0, again.output
    assert "邮件：收取 3 封邮件，取得报送文件 3 个" in again.output
    assert len(list((tmp_path / "again" / "outbox").glob("*.eml"))) == 9
