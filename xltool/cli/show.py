"""Tables, lines and progress for people, through rich.

Whatever a ledger, a return or a file name holds is data, never markup: the
console reads no markup and no emoji codes at all (a department code `[/b]` or a
name `卫健委[/x]` is printed as it is), a table's text cells are shown through
`plain` whoever builds them, and the few styles xltool uses are given as styles,
never as `[red]` in a string.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console, RenderableType
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from xltool.findings import Finding
from xltool.states import ACCEPTED, NOT_ISSUED, NOT_RETURNED, TO_FIX

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def plain(text: str, style: str = "") -> Text:
    """Text shown literally: no rich markup, no terminal escapes."""
    return Text(_CONTROL.sub("\ufffd", text), style=style)


# Wide enough that no table is ever cut or folded in a file or pipe: rich sizes a table to
# its content, so this only lifts the limit, it adds no padding.
_UNLIMITED_WIDTH = 100_000


def console(*, stderr: bool = False) -> Console:
    """A console that reads no markup. On a terminal, tables fit the window; into a file or a
    pipe (a log, `grep`, CliRunner) they are as wide as their content, so a file name is
    never cut with `…` nor a message folded: the line is what a later search will find."""
    interactive = (sys.stderr if stderr else sys.stdout).isatty()
    return Console(stderr=stderr, soft_wrap=False,
                   width=None if interactive else _UNLIMITED_WIDTH,
                   markup=False, emoji=False, highlight=False)


STATE_STYLES = {ACCEPTED: "green", TO_FIX: "red", NOT_RETURNED: "yellow", NOT_ISSUED: "yellow"}
"""How a department's state (`xltool.states`) is shown in every command's tables."""


def say(line: str, style: str = "") -> None:
    """One line for people; LINE may hold any data."""
    console().print(plain(line, style))


class DataTable(Table):
    """A table whose text is data: every str cell and the title are shown through `plain`."""

    def __init__(self, *headers: str, title: str = "", **options: Any) -> None:
        super().__init__(*headers, title=plain(title) if title else None, **options)

    def add_row(self, *renderables: RenderableType | None, **options: Any) -> None:
        super().add_row(*(plain(r) if isinstance(r, str) else r for r in renderables),
                        **options)


@contextmanager
def progress_bar(label: str, *, enabled: bool = True) -> Iterator[Callable[[int, int], None]]:
    """A rich progress bar on stderr, fed by the library's `progress(done, total)` callback;
    none where stderr is no terminal (a log, a pipe, a test), where it would only be noise."""
    if not enabled or not sys.stderr.isatty():
        yield lambda done, total: None
        return
    with Progress(TextColumn("{task.description}", markup=False), BarColumn(),
                  MofNCompleteColumn(), TimeElapsedColumn(), console=console(stderr=True),
                  transient=True) as bar:
        task = bar.add_task(label, total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield advance


def show_findings(findings: Iterable[Finding], *, title: str) -> None:
    """The findings as a table: 级别, 位置, 问题代码, 问题, 处理办法."""
    rows = list(findings)
    if not rows:
        return
    table = DataTable("级别", "位置", "问题代码", title=title)
    table.add_column("问题", overflow="fold")
    table.add_column("处理办法", overflow="fold")
    for f in rows:
        level = plain("错误", "red") if f.is_error else plain("提醒", "yellow")
        # `where` falls back to the file name: said once
        where = " ".join(dict.fromkeys(p for p in (f.file, f.project, f.where) if p))
        table.add_row(level, where, f.code, f.message, f.fix)
    console().print(table)
