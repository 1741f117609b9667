"""`xltool verify`: every kept copy of a received file, checked against its hash."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from xltool.cli.output import emit_json
from xltool.cli.params import store_option

if TYPE_CHECKING:
    from xltool.collect.verify import Verification


@click.command("verify")
@store_option("The SQLite store whose kept copies are checked.")
@click.option("--json", "as_json", is_flag=True, help="Print every copy's state as JSON.")
def verify_command(store: Path, as_json: bool) -> None:
    """Check that every received file's kept copy is still there and unchanged.

    Each copy is read again and its SHA-256 compared with the store's record;
    nothing is changed. A missing or changed copy is written again when the
    same file is collected again. Exit code 0 when every copy is intact, 1
    when any is missing or changed.
    """
    from xltool.cli.show import progress_bar
    from xltool.collect.verify import verify

    with progress_bar("核对副本", enabled=not as_json) as advance:
        result = verify(store=store, progress=advance)
    if as_json:
        emit_json(result.to_dict())
    else:
        _print(result)
    click.get_current_context().exit(result.exit_code)


def _print(result: Verification) -> None:
    from xltool.cli.show import DataTable, console, plain, say

    if result.damaged:
        table = DataTable("收到时间", "原文件名", "主管部门编码", "状态", "副本位置",
                          title="有问题的副本")
        for check in result.damaged:
            table.add_row(check.received_at, check.original_name, check.department_code,
                          plain(check.state.label, "red"), str(check.path or ""))
        console().print(table)
        say(f"{len(result.copies)} 个文件中有 {len(result.damaged)} 个副本丢失或被改动：请从原邮件"
            "或部门处取回原文件，用 xltool collect 重新收取，副本即补回或修复。",
            "bold red")
    else:
        say(f"{len(result.copies)} 个收到的文件，副本均完好。", "bold green")
