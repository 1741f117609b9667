"""`xltool collect`: read every return back, check it, keep it, tell each department what to fix."""

from __future__ import annotations

from dataclasses import replace
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
from xltool.errors import BadLimit
from xltool.limits import Limits, limit_settings, with_limits
from xltool.text import shown_path

if TYPE_CHECKING:
    from xltool.collect import CollectRun
    from xltool.findings import Finding

_STYLE = {"accepted": "green", "rejected": "red", "stale": "red"}


def _limits(_ctx: click.Context, _param: click.Parameter, settings: tuple[str, ...]) -> Limits:
    try:
        return with_limits(settings)
    except BadLimit as error:
        if error.unknown_key:
            message = _("Unknown limit {key} (known: {known}).")
        else:
            message = _("Write the limit {setting} as {key}=a positive number.")
        raise click.BadParameter(message.format(key=repr(error.key), setting=repr(error.setting),
                                                known=", ".join(error.known))) from error


@click.command("collect")
@click.argument("paths", nargs=-1)
@store_option("The SQLite store the templates were issued into.")
@feedback_option()
@jobs_option()
@click.option("--limit", "limits", multiple=True, metavar="KEY=VALUE",
              callback=_limits,
              help="Change a limit checked before a file is read (repeatable). Keys and "
                   f"defaults: {', '.join(limit_settings())}.")
@click.option("--recheck", is_flag=True,
              help="Also examine again every rejected file the store holds, from its kept "
                   "copy, under today's limits and rules.")
@path_option("--rules", RULES_HELP)
@path_option("--previous", PREVIOUS_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print the outcome of every file as JSON.")
def collect_command(paths: tuple[str, ...], store: Path, feedback: Path | None, jobs: int,
                    limits: Limits, recheck: bool, rules: Path | None, previous: Path | None,
                    as_json: bool) -> None:
    """Collect the returns in PATHS (files, folders searched recursively, or globs).

    Each file is identified from its bytes, read by the store's record of its
    template, checked cell by cell, copied beside the store and recorded.
    Exit code 0 when every file was accepted, 1 when any file was not (errors,
    an outdated template, or the issued template itself unchanged).
    """
    from xltool.cli.show import progress_bar
    from xltool.collect import collect

    if not paths and not recheck:
        raise click.UsageError(_("Give the files or folders to collect, or --recheck."))
    with progress_bar("收取报送文件", enabled=not as_json) as advance:
        run = collect(list(paths), store=store, feedback=feedback, jobs=jobs,
                      limits=limits, recheck=recheck, progress=advance,
                      on_wait=lambda message: click.echo(message, err=True), rules=rules,
                      previous=previous)
    if as_json:
        emit_json(run.to_dict())
    else:
        _print(run)
    click.get_current_context().exit(run.exit_code)


def _print(run: CollectRun) -> None:
    from xltool.cli.show import STATE_STYLES, DataTable, console, plain, say, show_findings

    out = console()
    files = DataTable("文件", "主管部门编码", "结果", "错误数", "提醒数", title="收到的文件")
    for f in run.files:
        label = f.status.label + (f"（原结果：{f.earlier.label}）" if f.earlier else "")
        files.add_row(f.name, f.department, plain(label, _STYLE.get(f.standing, "yellow")),
                      str(f.errors), str(len(f.findings) - f.errors))
    out.print(files)
    show_findings(_findings(run), title="发现的问题")
    departments = DataTable("主管部门编码", "主管部门", "已收到文件数", "已接受", "退回修改",
                            "状态", title="各部门报送情况")
    for row in run.departments.to_dict("records"):
        departments.add_row(row["主管部门编码"], row["主管部门"], str(row["已收到"]),
                            str(row["已接受"]), str(row["有错误"]),
                            plain(row["状态"], STATE_STYLES.get(row["状态"], "")))
    out.print(departments)
    for line in _skipped_lines(run):
        say(line)
    for path in run.feedback:
        say(f"已写出反馈表：{shown_path(path)}")


def _findings(run: CollectRun) -> list[Finding]:
    """Every file's findings, each named with its file; a file's bytes met again in the run
    are not listed twice."""
    seen: set[str] = set()
    found = []
    for outcome in run.files:
        if outcome.sha256 and outcome.sha256 in seen:
            continue
        seen.add(outcome.sha256)
        found += [f if f.file else replace(f, file=outcome.name) for f in outcome.findings]
    return found


def _skipped_lines(run: CollectRun) -> list[str]:
    """A line per reason files were left out of the folders: how many, why, the first few."""
    from xltool.codes import SKIPS
    from xltool.text import shown_file_name

    lines = []
    for reason in SKIPS.values():
        paths = [path for path, why in run.skipped.items() if why is reason]
        if paths:
            names = "、".join(shown_file_name(p.name) for p in paths[:5])
            lines.append(f"已跳过 {len(paths)} 个{reason.label}（{reason.note}）："
                         f"{names}{'等' if len(paths) > 5 else ''}")
    return lines
