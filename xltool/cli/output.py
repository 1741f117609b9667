"""Shared output helpers: JSON for scripts, rich tables for people."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, is_dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from xltool.findings import Finding


def to_jsonable(value: Any) -> Any:
    """Decimals become strings (never floats: amounts must not drift), paths and dates text."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if is_dataclass(value) and not isinstance(value, type):
        to_dict = getattr(value, "to_dict", None)
        return to_jsonable(to_dict() if to_dict else asdict(value))
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    return value


def emit_json(data: Any) -> None:
    """JSON on stdout: UTF-8 bytes into a pipe or file whatever the system's code page (on a
    Chinese Windows that is GBK, which lacks rarer characters of names), text on a terminal."""
    text = json.dumps(to_jsonable(data), ensure_ascii=False, indent=2) + "\n"
    stdout = click.get_text_stream("stdout")
    if stdout.isatty():
        click.echo(text, nl=False)
        return
    stdout.flush()
    binary = click.get_binary_stream("stdout")
    binary.write(text.encode("utf-8"))
    binary.flush()


def console() -> Console:
    """A console on stdout that does not wrap tables into nonsense under CliRunner."""
    interactive = click.get_text_stream("stdout").isatty()
    return Console(soft_wrap=False, width=None if interactive else 120)


@contextmanager
def progress_bar(label: str, *, enabled: bool = True) -> Iterator[Callable[[int, int], None]]:
    """A rich progress bar on stderr, fed by the library's `progress(done, total)` callback."""
    if not enabled:
        yield lambda done, total: None
        return
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield advance


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def plain(text: str) -> Text:
    """Text from a return or a ledger, shown literally: no rich markup, no terminal escapes."""
    return Text(_CONTROL.sub("\ufffd", text))


def show_findings(findings: Iterable[Finding], *, title: str) -> None:
    """The findings as a table: 位置, 代码, 问题, 处理办法."""
    rows = list(findings)
    if not rows:
        return
    table = Table("级别", "位置", "代码", title=title)
    table.add_column("问题", overflow="fold")
    table.add_column("处理办法", overflow="fold")
    for f in rows:
        level = Text("错误", style="red") if f.is_error else Text("提醒", style="yellow")
        where = " ".join(p for p in (f.file, f.project, f.where) if p)
        # Text(): returned and ledger text is data; rich would read "[...]" in it as markup.
        table.add_row(level, plain(where), plain(f.code), plain(f.message), plain(f.fix))
    console().print(table)
