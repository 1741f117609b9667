"""`mail_remind`: a reminder to each department with no accepted return, or whose return the
office's review sent back, saying which.

A department is reminded while its state (`xltool.states`) is 未报送 (nothing returned),
有错误待修改 (returned, nothing accepted) or while a standing decision of the office's
review sends a project back (`xltool.review.standing`, as the status board reads it:
审核退回修改, or 有错误待修改 when its answer since was rejected); the letter says which, with
the deadline (and the review's opinions). With
`before`, only when the deadline recorded at issue time is at most that many days away (or
past): a reminder schedule is the office's, run daily — "the week before" is `before=7`.
A deadline that is no date is reminded anyway, with a warning (`mail.undated_deadline`).
At most one reminder a department a day: a rerun the same day sends nothing (a reminder a
killed run left pending is completed first, whatever day it was begun). Who was
reminded when is the store's `mail_sent` (kind `reminder`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from xltool.codes import MAIL_NO_ADDRESS, MAIL_UNDATED_DEADLINE
from xltool.defaults import DEFAULT_STORE
from xltool.findings import Finding
from xltool.mail.compose import fill, office_text
from xltool.mail.outgoing import Delivery, Letter, MailRun, Progress, mail_run, named, not_sent
from xltool.mail.send import transport
from xltool.mail.send_feedback import latest_return, returned_opinions
from xltool.mail.send_templates import DEFAULT_PACE, facts, in_force_for
from xltool.review.standing import SentBack, sent_back_of
from xltool.states import ACCEPTED, NOT_RETURNED, REVIEW_RETURNED, TO_FIX, department_state
from xltool.store import IssuedTemplate, Store
from xltool.store.mailsent import MailKind

SUBJECT = "提醒：请报送{year}年项目支出预算绩效目标表（{department}）"
BODY = """{department}：

截至{today}，{situation}

请于{deadline}前，把填好的绩效目标表作为附件回复本邮件报送（附件请用下发的模板填写）。已报送的请忽略本提醒。

如有疑问，请联系：{contact}

{issuer}
"""

_DATE = re.compile(r"(\d{4})\s*[年./-]\s*(\d{1,2})\s*[月./-]\s*(\d{1,2})")


def mail_remind(*, sender: str, smtp: str | None = None, store: Path | str = DEFAULT_STORE,
                departments: Sequence[str] = (), before: int | None = None,
                subject: str | None = None, body: Path | None = None,
                outbox: Path | None = None, resend: bool = False, pace: float = DEFAULT_PACE,
                cafile: Path | None = None, password: str | None = None,
                today: date | None = None, progress: Progress | None = None) -> MailRun:
    """Remind each department (or those named) that has no accepted return."""
    texts = (subject or SUBJECT, office_text(body) if body else BODY)
    day = today or date.today()

    def make(opened: Store) -> list[Letter | Delivery]:
        made: list[Letter | Delivery] = []
        accepted = {(r.department_code, r.year) for r in opened.current_returns()}
        for template in in_force_for(opened, departments):
            if ((template.department_code, template.year) in accepted
                    and not sent_back_of(opened, template)):
                continue
            letter = _letter(opened, template, texts, day, before)
            if letter is not None:
                made.append(letter)
        return made

    return mail_run(store, MailKind.REMINDER, make,
                    transport(smtp, outbox, cafile=cafile, password=password), sender=sender,
                    resend=resend, pace=pace, progress=progress, drafted_to=outbox)


def deadline_of(text: str) -> date | None:
    """The date a deadline as typed names (`2025年3月31日`, `2025-03-31`), if it names one."""
    found = _DATE.search(text)
    if not found:
        return None
    try:
        return date(*(int(part) for part in found.groups()))
    except ValueError:
        return None


def _letter(store: Store, template: IssuedTemplate, texts: tuple[str, str], day: date,
            before: int | None) -> Letter | Delivery | None:
    mailing = store.mailing(template.template_id)
    notes: tuple[Finding, ...] = ()
    if before is not None:
        deadline = deadline_of(mailing.deadline)
        if deadline is None:
            notes = (MAIL_UNDATED_DEADLINE.finding(
                {"value": mailing.deadline,
                 "department": named(template.department_code, template.department)},
                department=template.department_code),)
        elif (deadline - day).days > before:
            return None
    code, department = template.department_code, template.department
    whose = {"department": named(code, department)}
    if not mailing.addresses:
        return not_sent(code, department, MAIL_NO_ADDRESS.finding(whose, department=code))
    known = {**facts(template, mailing), "today": f"{day.year}年{day.month}月{day.day}日",
             "situation": _situation(store, template)}
    return Letter(MailKind.REMINDER, template.department_code, template.department,
                  template.year, tuple(mailing.addresses), fill(texts[0], known),
                  fill(texts[1], known), notes=notes)


def _situation(store: Store, template: IssuedTemplate) -> str:
    """What the department's state is, in the words of `xltool.states`."""
    if returned := list(sent_back_of(store, template).values()):
        return _sent_back_situation(store, returned)
    files = [e.file for e in store.chain(template.department_code)
             if e.file.year in (template.year, None)]
    state = department_state(accepted=False, statuses=(f.status for f in files))
    if state == NOT_RETURNED:
        return f"尚未收到你单位的绩效目标表（{NOT_RETURNED}）。"
    latest = latest_return(store, template)
    if state == ACCEPTED or latest is None:  # not reached: accepted departments are not reminded
        return f"你单位的绩效目标表状态为“{state}”。"
    errors = sum(f.is_error for f in store.findings(latest.sha256))
    said = f"有 {errors} 处错误" if errors else "所用模板已重新下发"
    return (f"你单位最近报送的“{latest.original_name}”{said}，尚未接受（{state}），"
            "请按反馈表修改后重新报送。")


def _sent_back_situation(store: Store, returned: Sequence[SentBack]) -> str:
    """The review's opinions sending projects back, and the rejected answer since, if any."""
    names = "”“".join(dict.fromkeys(r.reviewed.original_name for r in returned))
    lines = [f"你单位报送的“{names}”经审核需修改（{REVIEW_RETURNED}），审核意见如下：",
             *returned_opinions([r.decision for r in returned])]
    since = next((r.rejected_since for r in returned if r.rejected_since is not None), None)
    if since is not None:
        errors = sum(f.is_error for f in store.findings(since.sha256))
        lines.append(f"此后报送的“{since.original_name}”有 {errors} 处错误，尚未接受"
                     f"（{TO_FIX}），请按反馈表修改。")
    lines.append("请按审核意见修改后重新报送。")
    return "\n".join(lines)
