"""The `xltool` command line: a thin layer over the library.

Each command lives in its own module, parses its options, calls one library
function and formats what it returns. Library errors become clean messages here,
in one place.
"""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path
from typing import Any

import click

from xltool.atomic import shown_name
from xltool.errors import XltoolError


class XltoolGroup(click.Group):
    """Turns every `XltoolError`, and every error of the file system, into a click error: a
    message and exit code 1, no traceback."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        """In the order of the year's work, not the alphabet."""
        return list(self.commands)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except XltoolError as error:
            raise click.ClickException(str(error)) from error
        except OSError as error:  # a file open in Excel, a full disk, a folder not allowed
            raise click.ClickException(file_system_message(error)) from error


def file_system_message(error: OSError) -> str:
    """What a clerk is told when a file cannot be read or written."""
    named = isinstance(error.filename, str | os.PathLike)  # it may be a descriptor, or none
    where = f"“{shown_name(Path(error.filename))}”" if named else "文件"
    reason = error.strerror or type(error).__name__
    return (f"无法读写{where}：{reason}。如果它正在 Excel 或 WPS 中打开，请先关闭；"
            "也请检查磁盘空间和读写权限，然后重新运行（已完成的部分不受影响）。")


@click.group(cls=XltoolGroup)
@click.version_option(package_name="xltool")
def main() -> None:
    """xltool: the yearly round trip of budget performance-target forms (项目支出预算绩效目标表).

    ledger → template → collect → reconcile → publish.
    """
    _text_never_fails()


def _text_never_fails() -> None:
    """Tables and messages go out in the system's encoding; a character it lacks (a rare one
    in a name, on a GBK Windows) is shown as ? rather than ending the command."""
    for stream in (sys.stdout, sys.stderr):
        encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "")
        if isinstance(stream, io.TextIOWrapper) and not encoding.startswith("utf"):
            stream.reconfigure(errors="replace")


def _register() -> None:
    from xltool.cli.collect import collect_command
    from xltool.cli.demo import demo_command
    from xltool.cli.ledger import ledger_command
    from xltool.cli.profiles import profiles_command
    from xltool.cli.publish import publish_command
    from xltool.cli.reconcile import reconcile_command
    from xltool.cli.template import template_command

    main.add_command(ledger_command)
    main.add_command(template_command)
    main.add_command(collect_command)
    main.add_command(reconcile_command)
    main.add_command(publish_command)
    main.add_command(profiles_command)
    main.add_command(demo_command)


_register()
