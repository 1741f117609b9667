"""`xltool mail`: templates out, returns in, feedback back, reminders — by email.

The sending commands (`templates`, `feedback`, `remind`) share their options; each calls
one function of `xltool.mail` and shows the `MailRun` it returns. The password is asked for
here, never taken from the command line: from XLTOOL_MAIL_PASSWORD, else a prompt on a
terminal, else the library says it is missing.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from xltool.cli.i18n import localize
from xltool.cli.mail_fetch import fetch_command
from xltool.cli.output import emit_json
from xltool.cli.params import store_option

if TYPE_CHECKING:
    from xltool.mail.outgoing import MailRun

F = TypeVar("F", bound=Callable[..., Any])


class MailGroup(click.Group):
    """The mail commands, in the order of the year's work, their help in the clerk's language
    (as `XltoolGroup` shows the top-level commands')."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        return localize(command) if command is not None else None


@click.group("mail", cls=MailGroup)
def mail_command() -> None:
    """Send templates, fetch returns, send feedback and reminders by email.

    Every message sent or fetched is recorded in the store: a rerun sends
    and fetches only what is new. Passwords come from the environment
    variable XLTOOL_MAIL_PASSWORD or a prompt, never from the command line.
    """


def _sending_options(command: F) -> F:
    options = [
        click.option("--smtp", metavar="URL",
                     help="Outgoing server: smtps://user@host:465 (SSL) or "
                          "smtp://user@host:587 (STARTTLS)."),
        click.option("--from", "sender", required=True, metavar="ADDRESS",
                     help="The office's sender address; Message-IDs use its domain."),
        store_option("The SQLite store: what was issued and received, and every message "
                     "sent."),
        click.option("--department", "departments", multiple=True, metavar="CODE",
                     help="Only this department code (repeatable). Default: every "
                          "department."),
        click.option("--subject", help="Subject text instead of the default; placeholders "
                                       "such as {year} and {department} are filled in."),
        click.option("--body", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                     help="Text file with the message body instead of the default "
                          "(UTF-8 or GBK; same placeholders)."),
        click.option("--outbox", type=click.Path(file_okay=False, path_type=Path),
                     help="Write each message as an .eml file into this folder instead of "
                          "sending."),
        click.option("--dry-run", is_flag=True,
                     help="Send nothing: write the messages into the folder 邮件草稿 "
                          "beside the store."),
        click.option("--resend", is_flag=True,
                     help="Send again what was sent before."),
        click.option("--pace", type=click.FloatRange(0), default=20, show_default=True,
                     help="Messages per minute (office servers throttle); 0 for no pause."),
        click.option("--cafile", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                     help="CA certificate file for a server with the office's own "
                          "certificate."),
        click.option("--json", "as_json", is_flag=True, help="Print what was sent as JSON."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@click.command("templates")
@_sending_options
@click.option("--templates", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Folder holding the issued templates, if not where xltool template "
                   "wrote them.")
def templates_command(templates: Path | None, **sending: Any) -> None:
    """Mail each department its latest issued template, to its 联系邮箱.

    One message per department, the template attached; a department with no
    address, or whose file is missing or changed, is reported.
    """
    from xltool.mail.send_templates import mail_templates

    _run(mail_templates, "发送模板", sending, templates=templates)



@click.command("feedback")
@_sending_options
def feedback_command(**sending: Any) -> None:
    """Mail each department whose latest return is unanswered its feedback workbook.

    Sent as a reply to the message the return came in, with a short summary:
    accepted, or the number of errors and the first of them.
    """
    from xltool.mail.send_feedback import mail_feedback

    _run(mail_feedback, "发送反馈", sending)


@click.command("remind")
@_sending_options
@click.option("--before", type=click.IntRange(0), metavar="DAYS",
              help="Only when the deadline is at most DAYS days away (or past).")
def remind_command(before: int | None, **sending: Any) -> None:
    """Remind the departments with no accepted return, saying which.

    Not returned, or returned with errors; with the deadline. At most one
    reminder a department a day.
    """
    from xltool.mail.send_reminders import mail_remind

    _run(mail_remind, "发送提醒", sending, before=before)


# in the order of the year: returns come back between templates and feedback
mail_command.add_command(templates_command)
mail_command.add_command(fetch_command)
mail_command.add_command(feedback_command)
mail_command.add_command(remind_command)


def _run(function: Callable[..., MailRun], label: str, sending: dict[str, Any],
         **more: Any) -> None:
    from xltool.cli.show import progress_bar
    from xltool.mail.send import DRY_RUN_OUTBOX

    as_json = sending.pop("as_json")
    if sending.pop("dry_run") and sending["outbox"] is None:
        sending["outbox"] = Path(sending["store"]).parent / DRY_RUN_OUTBOX
    password = _password(sending["smtp"]) if sending["outbox"] is None else None
    with progress_bar(label, enabled=not as_json) as advance:
        run = function(**sending, **more, password=password, progress=advance)
    if as_json:
        emit_json(run.to_dict())
    else:
        _print(run)
    click.get_current_context().exit(1 if any(f.is_error for f in run.findings) else 0)


def _password(smtp: str | None) -> str | None:
    """The password for SMTP's user: the environment's, or asked for on a terminal."""
    from xltool.mail.send import PASSWORD_VARIABLE, smtp_server

    if smtp is None or os.environ.get(PASSWORD_VARIABLE) is not None:
        return None
    server = smtp_server(smtp)
    if not server.user or not sys.stdin.isatty():
        return None
    return str(click.prompt(f"{server.user}@{server.host} 的密码（QQ、163 等邮箱为授权码）",
                            hide_input=True, err=True))


_OUTCOMES = {"sent": ("已发送", "green"), "drafted": ("已存为草稿", "green"),
             "failed": ("发送失败", "red"), "unconfirmed": ("未确认送达", "yellow"),
             "already": ("此前已发送", ""),
             "not_sent": ("未发送", "red")}


def _print(run: MailRun) -> None:
    from xltool.cli.show import DataTable, console, plain, say, show_findings

    table = DataTable("主管部门编码", "主管部门", "收件人", "结果", "说明", title="邮件")
    for d in run.deliveries:
        word, style = _OUTCOMES[d.outcome]
        table.add_row(d.department_code, d.department, "；".join(d.recipients),
                      plain(word, style), d.response)
    console().print(table)
    show_findings(run.findings, title="未能发送或需要核对")
    counts = "，".join(f"{_OUTCOMES[o][0]} {run.count(o)} 封" for o in _OUTCOMES if run.count(o))
    say(f"共 {len(run.deliveries)} 个部门：{counts or '无邮件'}。")
    if run.drafted_to:
        say(f"草稿在 {run.drafted_to}，可在邮件客户端中打开后发送。")
