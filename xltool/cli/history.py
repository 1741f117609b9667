"""`xltool history`: a department's submission chain, and which return is in force."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from xltool.cli.output import emit_json
from xltool.cli.params import store_option

if TYPE_CHECKING:
    from xltool.collect.chain import DepartmentHistory

_STYLE = {"accepted": "green", "rejected": "red", "stale": "red", "unchanged": "yellow"}


@click.command("history")
@click.argument("department")
@store_option("The SQLite store the returns were collected into.")
@click.option("--json", "as_json", is_flag=True, help="Print the chain as JSON.")
def history_command(department: str, store: Path, as_json: bool) -> None:
    """List every file received from DEPARTMENT and which return is in force.

    DEPARTMENT is the department's code or its full name. Shown: each copy of
    its template issued, then each file received, in the order the office
    received them, with its status, its findings and the return in force.
    """
    from xltool.collect.chain import history

    chain = history(department, store=store)
    if as_json:
        emit_json(chain.to_dict())
    else:
        _print(chain)


def _print(chain: DepartmentHistory) -> None:
    from xltool.cli.show import DataTable, console, plain
    from xltool.store import Status
    from xltool.text import shown_time

    out = console()
    issued = DataTable("下发时间", "模板编号", "文件名", "校验码", "是否现行模板",
                       title=f"{chain.department}（{chain.department_code}）下发的模板")
    for copy in chain.issued:
        issued.add_row(shown_time(copy.issued_at), copy.template_id, copy.file_name,
                       copy.sha256[:12], "是" if copy.template_id == chain.template_in_force
                       else "")
    out.print(issued)
    files = DataTable("收到时间", "文件名", "校验码", "结果", "错误数", "提醒数", "是否有效",
                      title="收到的文件")
    for entry in chain.files:
        status = Status(entry.file.status)
        notes = "；".join(f"{shown_time(at)} 恢复：{why}" for at, why in entry.reinstated)
        files.add_row(shown_time(entry.file.received), entry.file.original_name,
                      entry.file.sha256[:12], plain(status.label, _STYLE.get(status, "yellow")),
                      str(entry.errors), str(entry.warnings),
                      ("有效" if entry.in_force else "") + (f"（{notes}）" if notes else ""))
    out.print(files)
    _standing(chain)


def _standing(chain: DepartmentHistory) -> None:
    """The department's state, in the words every report uses (`xltool.states`)."""
    from xltool.cli.show import STATE_STYLES, say
    from xltool.states import NOT_RETURNED, department_state

    current = chain.in_force
    state = department_state(accepted=current is not None,
                             statuses=(entry.file.status for entry in chain.files))
    if current is not None:
        file = current.file
        line = f"{state}：有效版本 {file.original_name}（校验码 {file.sha256[:12]}）"
    elif state == NOT_RETURNED:
        line = f"{state}：现行模板还没有收到报送文件。"
    else:
        line = f"{state}：收到的报送文件都没有通过核对，尚无有效的报送文件。"
    say(line, f"bold {STATE_STYLES[state]}")
