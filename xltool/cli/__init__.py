"""The `xltool` command line: a thin layer over the library.

Each command lives in its own module, parses its options, calls one library
function and formats what it returns. Library errors become clean messages here,
in one place.

Exit codes mean the same for every command: 0 done and all good, 1 done and
problems found (findings, differences, ledger errors), 2 the command could not
run as asked (a usage error, missing or unreadable input, output refused).

The command modules import only click and light modules of xltool at the top;
each command imports the library (pandas, openpyxl, xlsxwriter, rich) when it
runs, so `--help` and usage errors answer at once.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import click

from xltool.atomic import shown_name
from xltool.cli.i18n import _, clerks_language, localize
from xltool.errors import XltoolError

USAGE_EXIT = 2
# What a shell reports for a program that SIGPIPE ended: `xltool … | head -1` ends as `yes` does.
CLOSED_PIPE_EXIT = 128 + 13


class XltoolGroup(click.Group):
    """Turns every `XltoolError`, and every error of the file system, into a message and its
    exit code, no traceback; shows help and usage errors in the clerk's language."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        """In the order of the year's work, not the alphabet."""
        return list(self.commands)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        return localize(command) if command is not None else None

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True,
             **extra: Any) -> Any:
        with clerks_language():
            localize(self)
            try:
                try:
                    return super().main(args, prog_name, complete_var, standalone_mode, **extra)
                finally:
                    sys.stdout.flush()  # here, where a closed pipe can still be told apart
            except BrokenPipeError:
                _end_quietly()

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            _end_quietly()  # before click's handler, which would exit 1: "problems found"
        except XltoolError as error:
            raise Refused(str(error), exit_code=error.exit_code) from error
        except OSError as error:  # a file open in Excel, a full disk, a folder not allowed
            raise Refused(file_system_message(error), exit_code=USAGE_EXIT) from error


class Refused(click.ClickException):
    """What the library refused, with the exit code its error carries."""

    def __init__(self, message: str, *, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code  # type: ignore[misc,unused-ignore]  # a ClassVar from 8.2


def _end_quietly() -> NoReturn:
    """The reader of our output went away (`| head`): nothing more to say to anyone.

    stdout is pointed at the null device first, so the interpreter's last flush at exit
    does not complain about the closed pipe either."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
    except (OSError, ValueError, io.UnsupportedOperation):  # no real stdout (a test runner)
        pass
    sys.exit(CLOSED_PIPE_EXIT)


def file_system_message(error: OSError) -> str:
    """What a clerk is told when a file cannot be read or written."""
    named = isinstance(error.filename, str | os.PathLike)  # it may be a descriptor, or none
    where = f"“{shown_name(Path(error.filename))}”" if named else "文件"
    reason = error.strerror or type(error).__name__
    return (f"无法读写{where}：{reason}。如果它正在 Excel 或 WPS 中打开，请先关闭；"
            "也请检查磁盘空间和读写权限，然后重新运行（已完成的部分不受影响）。")


def _show_version(ctx: click.Context, _param: click.Parameter, wanted: bool) -> None:
    """click's --version, with its message looked up when it is shown, not at import."""
    if not wanted or ctx.resilient_parsing:
        return
    from importlib.metadata import version

    message = _("%(prog)s, version %(version)s")
    click.echo(message % {"prog": ctx.find_root().info_name, "version": version("xltool")})
    ctx.exit()


@click.group(cls=XltoolGroup)
@click.option("--version", is_flag=True, expose_value=False, is_eager=True,
              callback=_show_version, help="Show the version and exit.")
def main() -> None:
    """xltool: the yearly round trip of budget performance-target forms (项目支出预算绩效目标表).

    ledger → template → mail → collect → review → reconcile → publish.

    Exit codes: 0 done and all good; 1 done, and problems found (findings,
    differences, ledger errors); 2 the command could not run as asked (a usage
    error, missing or unreadable input, output refused).
    """
    _text_never_fails()
    _notices_to_stderr()


def _text_never_fails() -> None:
    """Tables and messages go out in the system's encoding; a character it lacks (a rare one
    in a name, on a GBK Windows) is shown as ? rather than ending the command."""
    for stream in (sys.stdout, sys.stderr):
        encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "")
        if isinstance(stream, io.TextIOWrapper) and not encoding.startswith("utf"):
            stream.reconfigure(errors="replace")


def _notices_to_stderr() -> None:
    """What the library tells in passing, as a warning on the `xltool` logger (a store on a
    network share keeps the rollback journal), goes to stderr as it is. Set up when a command
    runs, not at import: help and usage errors never load `logging`."""
    import logging

    class Notices(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            click.echo(record.getMessage(), err=True)

    library = logging.getLogger("xltool")
    if not any(type(h).__name__ == "Notices" for h in library.handlers):
        library.addHandler(Notices(logging.WARNING))


def _register() -> None:
    from xltool.cli.collect import collect_command
    from xltool.cli.demo import demo_command
    from xltool.cli.history import history_command
    from xltool.cli.ledger import ledger_command
    from xltool.cli.mail import mail_command
    from xltool.cli.profiles import profiles_command
    from xltool.cli.publish import publish_command
    from xltool.cli.reconcile import reconcile_command
    from xltool.cli.reinstate import reinstate_command
    from xltool.cli.review import review_command
    from xltool.cli.rules import rules_command
    from xltool.cli.status import status_command
    from xltool.cli.template import template_command
    from xltool.cli.verify import verify_command

    for command in (ledger_command, template_command, mail_command, collect_command,
                    history_command,
                    reinstate_command, review_command, status_command, reconcile_command,
                    publish_command, verify_command,
                    profiles_command, rules_command, demo_command):
        main.add_command(command)


_register()
