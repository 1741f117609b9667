"""`mail_feedback`: each department's latest return answered with its 反馈表, as a reply.

The return answered is the newest file of the department's submission chain for its
template in force (the issued template come back untouched is no return). Its 反馈表 is
written afresh for that one file with collect's own `write_feedback` — the workbook
`collect --feedback` writes for it, byte for byte, since a 反馈表 holds nothing that
changes between runs — so what is mailed always answers the file mailed about, whatever
folder collect wrote to. A return that came by mail is answered as a reply to its message
(In-Reply-To, References, `回复：` and its subject); one collected from a folder gets a
message of its own. A return answered before is not answered again (unless resent) — until
the office reviews it (`xltool review`): a letter is keyed by the return and the latest
decision on it (`feedback_key`), so each new decision is a new letter, its opinions at the
top of the body as they are at the top of the 反馈表. A return no 反馈表 can be written
for is not answered by a letter that says one is attached: it is reported
(`mail.no_feedback`).
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

from xltool.codes import MAIL_NO_ADDRESS, MAIL_NO_FEEDBACK, PROBLEMS, Reader
from xltool.collect.feedback import feedback_name, write_feedback
from xltool.collect.outcome import FileOutcome
from xltool.defaults import DEFAULT_STORE
from xltool.findings import Finding
from xltool.mail.compose import Attachment, Reply, fill, office_text
from xltool.mail.outgoing import Delivery, Letter, MailRun, Progress, mail_run, named, not_sent
from xltool.mail.send import transport
from xltool.mail.send_templates import DEFAULT_PACE, facts, in_force_for
from xltool.states import APPROVED, REVIEW_RETURNED
from xltool.store import IssuedTemplate, ReceivedFile, Status, Store
from xltool.store.mailsent import MailKind, Outcome
from xltool.store.reviews import ReviewRecord

SUBJECT = "{year}年项目支出预算绩效目标表审核反馈（{department}）"
BODY = """{department}：

{summary}

审核反馈表见附件。

如有疑问，请联系：{contact}

{issuer}
"""
FIRST_ERRORS = 5  # errors quoted in the body; the 反馈表 lists them all


def mail_feedback(*, sender: str, smtp: str | None = None, store: Path | str = DEFAULT_STORE,
                  departments: Sequence[str] = (), subject: str | None = None,
                  body: Path | None = None, outbox: Path | None = None, resend: bool = False,
                  pace: float = DEFAULT_PACE, cafile: Path | None = None,
                  password: str | None = None, progress: Progress | None = None) -> MailRun:
    """Mail each department (or those named) whose latest return is unanswered its 反馈表."""
    texts = (subject, office_text(body) if body else BODY)
    drafting = outbox is not None

    def make(opened: Store) -> list[Letter | Delivery]:
        latest = [(t, r, feedback_key(r, decisions_on(opened, r)))
                  for t in in_force_for(opened, departments)
                  if (r := latest_return(opened, t)) is not None]
        answered = _answered(opened, drafting) if not resend else set()
        workbooks = _feedback_workbooks(
            opened, [(t, r) for t, r, key in latest if key not in answered])
        return [_letter(opened, template, received, key, workbooks.get(received.sha256),
                        texts, answered=key in answered)
                for template, received, key in latest]

    return mail_run(store, MailKind.FEEDBACK, make,
                    transport(smtp, outbox, cafile=cafile, password=password), sender=sender,
                    resend=resend, pace=pace, progress=progress, drafted_to=outbox)


def latest_return(store: Store, template: IssuedTemplate) -> ReceivedFile | None:
    """The department's newest file for the year of TEMPLATE that is a return."""
    returns = [entry.file for entry in store.chain(template.department_code)
               if entry.file.status != Status.UNCHANGED
               and entry.file.year in (template.year, None)]
    return returns[-1] if returns else None


def decisions_on(store: Store, received: ReceivedFile) -> list[ReviewRecord]:
    """The office's review decisions on RECEIVED, in the order they were made."""
    return [r for r in store.reviews(received.department_code) if r.sha256 == received.sha256]


def feedback_key(received: ReceivedFile, decisions: Sequence[ReviewRecord]) -> str:
    """What a feedback letter answers: the return, and the latest decision on it if any."""
    if not decisions:
        return received.sha256
    return f"{received.sha256}#review-{decisions[-1].review_id}"


def returned_opinions(decisions: Sequence[ReviewRecord]) -> list[str]:
    """The opinions that stand sending projects of the return back (中, 差): per project,
    its latest decision."""
    standing = {r.project_code: r for r in decisions}
    return [f"项目 {r.project_code}（{r.grade}）：{r.opinion}"
            for r in standing.values() if not r.approves]


def _answered(store: Store, drafting: bool) -> set[str]:
    """What the feedback letters already sent (or drafted, for a drafting run) answer, less
    what has a letter left unfinished that a sending run completes: that letter is handed
    over again and needs its 反馈表 again."""
    done = {Outcome.SENT.value, *([Outcome.DRAFTED.value] if drafting else [])}
    rows = store.sent_mail(MailKind.FEEDBACK.value)
    unfinished = set() if drafting else {
        row.answers for row in rows if row.outcome in (Outcome.PENDING.value,
                                                       Outcome.UNCONFIRMED.value)}
    return {row.answers for row in rows
            if row.answers and row.outcome in done and row.answers not in unfinished}


def _feedback_workbooks(store: Store, returns: list[tuple[IssuedTemplate, ReceivedFile]]
                        ) -> dict[str, Attachment]:
    """The 反馈表 of each return, as `collect --feedback` writes it for that file alone:
    named, as it names it, after the department's template in force."""
    if not returns:
        return {}
    outcomes = [FileOutcome(Path(r.original_name), r.sha256, Status(r.status), r.kind,
                            r.department_code, r.template_id, tuple(store.findings(r.sha256)))
                for _, r in returns]
    with tempfile.TemporaryDirectory(prefix="xltool-feedback-") as folder:
        written = {path.name: path for path in write_feedback(outcomes, store, Path(folder))}
        attachments = {}
        for template, received in returns:
            name = feedback_name(template.department_code, template.department, template.year)
            if name in written:
                attachments[received.sha256] = Attachment(name, written[name].read_bytes())
    return attachments


def _letter(store: Store, template: IssuedTemplate, received: ReceivedFile, key: str,
            workbook: Attachment | None, texts: tuple[str | None, str], *,
            answered: bool) -> Letter | Delivery:
    mailing = store.mailing(template.template_id)
    came_in = store.message_of(received.sha256)
    recipients = mailing.addresses or ([came_in.sender] if came_in and came_in.sender else [])
    code, department = template.department_code, template.department
    whose = {"department": named(code, department)}
    if not recipients:
        return not_sent(code, department, MAIL_NO_ADDRESS.finding(whose, department=code))
    if workbook is None and not answered:
        return not_sent(code, department, MAIL_NO_FEEDBACK.finding(
            {**whose, "value": received.original_name}, department=code,
            file=received.original_name), recipients)
    known = {**facts(template, mailing),
             "summary": summary(received, store.findings(received.sha256),
                                decisions_on(store, received)),
             "return_name": received.original_name}
    reply = None
    subject = fill(texts[0] or SUBJECT, known)
    if came_in is not None and came_in.message_id:
        reply = Reply(came_in.message_id, tuple((came_in.references or "").split()))
        if texts[0] is None and came_in.subject:
            subject = "回复：" + came_in.subject.removeprefix("回复：")
    return Letter(MailKind.FEEDBACK, template.department_code, template.department,
                  template.year, tuple(recipients), subject, fill(texts[1], known), workbook,
                  reply, key)


def summary(received: ReceivedFile, findings: Sequence[Finding],
            decisions: Sequence[ReviewRecord] = ()) -> str:
    """The body's account of the return: the office's review (sent back, with its opinions,
    or approved); else accepted, or its errors and the first of them."""
    shown = [f for f in findings if _for_department(f)]
    errors = [f for f in shown if f.is_error]
    name = received.original_name
    if opinions := returned_opinions(decisions):
        return "\n".join([f"你单位报送的“{name}”经审核需修改（{REVIEW_RETURNED}），"
                          "审核意见如下：", *opinions, "请按审核意见修改后，回复本邮件重新报送。"])
    if decisions:
        return f"你单位报送的“{name}”已通过审核（{APPROVED}）。"
    if received.status == Status.ACCEPTED or not errors:
        warnings = len(shown) - len(errors)
        note = f"另有 {warnings} 条提醒请核对。" if warnings else ""
        return f"你单位报送的“{name}”已接受。{note}"
    lines = [f"你单位报送的“{name}”有 {len(errors)} 处错误，需修改后重新报送。"
             f"{'前 ' + str(FIRST_ERRORS) + ' 处' if len(errors) > FIRST_ERRORS else '如下'}："]
    lines += [f"{n}. {f.where + '：' if f.where else ''}{f.message}"
              for n, f in enumerate(errors[:FIRST_ERRORS], start=1)]
    lines.append("请在报送的文件中逐项修改、保存后，回复本邮件重新报送。")
    return "\n".join(lines)


def _for_department(finding: Finding) -> bool:
    problem = PROBLEMS.get(finding.code)
    return problem is None or problem.reader is Reader.DEPARTMENT
