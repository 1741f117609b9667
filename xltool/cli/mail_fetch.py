"""`xltool mail fetch`: returns from a mailbox, collected as `collect` collects a folder.

A thin layer over `xltool.mail.fetch.fetch_mail`. The IMAP password is asked for here,
never taken from the command line: XLTOOL_MAIL_PASSWORD, else a prompt on a terminal,
else the library says it is missing.
"""

from __future__ import annotations

import os
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from xltool.cli.i18n import _
from xltool.cli.output import emit_json
from xltool.cli.params import (
    PREVIOUS_HELP,
    RULES_HELP,
    feedback_option,
    jobs_option,
    path_option,
    store_option,
)

if TYPE_CHECKING:
    from xltool.mail.fetch import FetchRun


@click.command("fetch")
@click.argument("sources", nargs=-1)
@store_option("The SQLite store the templates were issued into; fetched messages are "
              "recorded there.")
@feedback_option()
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), metavar="YYYY-MM-DD",
              help="Only messages dated this day or later.")
@click.option("--mark-seen", is_flag=True,
              help="Flag the new messages as read on the IMAP server (otherwise the folder "
                   "is opened read-only and nothing on the server changes).")
@click.option("--cafile", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="CA certificate file for a server with the office's own certificate.")
@jobs_option()
@path_option("--rules", RULES_HELP)
@path_option("--previous", PREVIOUS_HELP)
@click.option("--json", "as_json", is_flag=True,
              help="Print the messages, files, collect outcome and findings as JSON.")
def fetch_command(sources: tuple[str, ...], store: Path, feedback: Path | None,
                  since: datetime | None, mark_seen: bool, cafile: Path | None, jobs: int,
                  rules: Path | None, previous: Path | None, as_json: bool) -> None:
    """Fetch returns from mailboxes and collect them.

    SOURCE is an IMAP folder (imaps://user@host/INBOX, or imap://user@host/INBOX
    with STARTTLS), a Maildir, an mbox file, or .eml files or folders. Every
    workbook attached, forwarded or zipped is saved beside the store and collected
    as collect does, received at the earlier of its message's date and its
    delivery to the mailbox. A rerun fetches only new messages; the first run
    over a mailbox reads every message in it (use --since for one that holds
    past years). Exit code 1 when a file is not accepted or a message needs the
    office's attention (no workbook, an unknown sender, a doubtful date).
    """
    from xltool.cli.show import progress_bar
    from xltool.mail.fetch import fetch_mail

    if not sources:
        raise click.UsageError(_("Give the mailboxes to fetch from."))
    password = _password(sources)
    with progress_bar("收取报送文件", enabled=not as_json) as advance:
        run = fetch_mail(list(sources), store=store, feedback=feedback,
                         since=since.date() if since else None, mark_seen=mark_seen,
                         cafile=cafile, password=password, jobs=jobs, rules=rules,
                         previous=previous, progress=advance,
                         on_wait=lambda message: click.echo(message, err=True))
    if as_json:
        emit_json(run.to_dict())
    else:
        _print(run)
    click.get_current_context().exit(run.exit_code)


def _password(sources: tuple[str, ...]) -> str | None:
    """The IMAP password: the environment's, or asked for on a terminal (once for all)."""
    from xltool.mail.send import PASSWORD_VARIABLE
    from xltool.mail.sources import is_imap

    imap = [s for s in sources if is_imap(s)]
    if not imap or os.environ.get(PASSWORD_VARIABLE) is not None or not sys.stdin.isatty():
        return None
    return str(click.prompt(f"{imap[0]} 的密码（QQ、163 等邮箱为授权码）", hide_input=True,
                            err=True))


def _print(run: FetchRun) -> None:
    # collect's own report of the files collected: one way to show a collect run
    from xltool.cli.collect import _print as print_collect_run
    from xltool.cli.show import DataTable, console, say, show_findings
    from xltool.text import shown_path

    if run.files:
        table = DataTable("文件", "发件人", "邮件日期", "邮件主题", title="邮件中的报送文件")
        for f in run.files:
            name = f.name + (f"（{f.within}）" if f.within else "")
            table.add_row(name, f.message.sender or "", _shown(f.message.mailed_at),
                          f.message.subject or "")
        console().print(table)
    if run.collected is not None:
        print_collect_run(run.collected)
    show_findings(run.findings, title="需要财政部门处理的邮件")
    for note in run.notes:
        say(note)
    earlier = run.messages_seen - len(run.messages)
    say(f"新邮件 {len(run.messages)} 封" + (f"（另有 {earlier} 封此前已收取）" if earlier else "")
        + f"，取得报送文件 {len(run.files)} 个，保存在 {shown_path(run.inbox)}。")


def _shown(stamp: str | None) -> str:
    from xltool.text import shown_time

    return shown_time(stamp) if stamp else ""
