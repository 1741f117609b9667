"""JSON for scripts: what every command prints with `--json`.

Light on purpose (the standard library and click): tables for people are in
`xltool.cli.show`, which loads rich, and only a command that shows one imports it.
"""

from __future__ import annotations

import errno
import json
import sys
from dataclasses import asdict, is_dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any, BinaryIO

import click


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
    stdout = sys.stdout
    binary = getattr(stdout, "buffer", None)
    if stdout.isatty() or binary is None:
        click.echo(text, nl=False)
        return
    stdout.flush()
    _write_all(binary, text.encode("utf-8"))
    binary.flush()


def _write_all(binary: BinaryIO, data: bytes) -> None:
    """Unbuffered (PYTHONUNBUFFERED, `python -u`), stdout is the raw file, whose write may take
    part of the data and return the count: a pipe whose reader left takes what fits, and
    only the next write fails. Loop until all is written, or the failure is raised."""
    view = memoryview(data)
    while view:
        written = binary.write(view)
        if not written:  # a non-blocking stdout that cannot take more: no busy loop
            raise BlockingIOError(errno.EAGAIN, "stdout takes no more output")
        view = view[written:]
