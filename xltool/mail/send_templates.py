"""`mail_templates`: each department its template in force, one message to its 联系邮箱.

The file sent is the one issued: found in the folder the template stage wrote it to (as
recorded then, or `templates` when the folder has moved) and sent only if its bytes are the
ones the store recorded. A department without an address, or whose file is missing or
changed, is reported (`mail.no_address`, `mail.template_missing`), never skipped silently.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

from xltool.codes import MAIL_NO_ADDRESS, MAIL_TEMPLATE_MISSING
from xltool.defaults import DEFAULT_STORE
from xltool.mail.compose import Attachment, fill, office_text
from xltool.mail.outgoing import Delivery, Letter, MailRun, Progress, mail_run, named, not_sent
from xltool.mail.send import transport
from xltool.store import IssuedTemplate, Store
from xltool.store.mailsent import Mailing, MailKind

DEFAULT_PACE = 20.0  # messages a minute: what office servers (Exmail, 163, Coremail) tolerate

SUBJECT = "{year}年项目支出预算绩效目标表（{department}）"
BODY = """{department}：

现将{year}年项目支出预算绩效目标表发给你单位，见附件“{file_name}”。

填写要求：
1. 直接在附件工作簿中填写白色的可填写单元格；不要新建或复制工作簿，不要增删工作表、修改表格结构。
2. 填写完成并保存后，回复本邮件，把工作簿作为附件发回（可以压缩，但不要只发 PDF 或截图）。
3. 报送截止：{deadline}。

如有疑问，请联系：{contact}

{issuer}
"""


def mail_templates(*, sender: str, smtp: str | None = None, store: Path | str = DEFAULT_STORE,
                   departments: Sequence[str] = (), subject: str | None = None,
                   body: Path | None = None, templates: Path | None = None,
                   outbox: Path | None = None, resend: bool = False,
                   pace: float = DEFAULT_PACE, cafile: Path | None = None,
                   password: str | None = None, progress: Progress | None = None) -> MailRun:
    """Mail each department (or those named) its template in force, unless sent before."""
    texts = (subject or SUBJECT, office_text(body) if body else BODY)

    def make(opened: Store) -> list[Letter | Delivery]:
        return [_letter(opened, template, texts, templates)
                for template in in_force_for(opened, departments)]

    return mail_run(store, MailKind.TEMPLATE, make,
                    transport(smtp, outbox, cafile=cafile, password=password), sender=sender,
                    resend=resend, pace=pace, progress=progress, drafted_to=outbox)


def in_force_for(store: Store, departments: Sequence[str]) -> list[IssuedTemplate]:
    """The template in force of each department (or of those named, in that order)."""
    from xltool.errors import UnknownDepartment
    from xltool.store import in_force

    latest = in_force(store.templates())
    unknown = [code for code in departments if code not in latest]
    if unknown:
        raise UnknownDepartment(f"存储中没有下发给这些主管部门的模板：{'、'.join(unknown)}")
    return [latest[code] for code in (departments or sorted(latest))]


def facts(template: IssuedTemplate, mailing: Mailing) -> dict[str, object]:
    """What a text's placeholders are filled with, for any letter about TEMPLATE."""
    return {"year": template.year if template.year is not None else "本",
            "department": template.department, "department_code": template.department_code,
            "file_name": template.file_name, "deadline": mailing.deadline or "见通知",
            "contact": mailing.contact or "本邮件发件人", "issuer": mailing.issuer}


def _letter(store: Store, template: IssuedTemplate, texts: tuple[str, str],
            folder: Path | None) -> Letter | Delivery:
    mailing = store.mailing(template.template_id)
    code, department = template.department_code, template.department
    whose = {"department": named(code, department)}
    if not mailing.addresses:
        return not_sent(code, department, MAIL_NO_ADDRESS.finding(whose, department=code))
    path = Path(folder or mailing.folder or ".") / template.file_name
    data = path.read_bytes() if path.is_file() else b""
    if hashlib.sha256(data).hexdigest() != template.sha256:
        return not_sent(code, department, MAIL_TEMPLATE_MISSING.finding(
            {**whose, "value": str(path)}, department=code, file=template.file_name),
            mailing.addresses, template.file_name)
    known = facts(template, mailing)
    return Letter(MailKind.TEMPLATE, template.department_code, template.department,
                  template.year, tuple(mailing.addresses), fill(texts[0], known),
                  fill(texts[1], known), Attachment(template.file_name, data))
