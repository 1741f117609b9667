"""`xltool status`: where every department stands, as a table, JSON or the office's board."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from xltool.cli.output import emit_json
from xltool.cli.params import store_option

if TYPE_CHECKING:
    from xltool.review.status import StatusBoard

_STYLE = {"已通过审核": "green", "已接受": "green", "审核退回修改": "red", "有错误待修改": "red",
          "未报送": "yellow"}


@click.command("status")
@store_option("The SQLite store of the year.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the status board workbook (STATUS.xlsx).")
@click.option("--previous", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              metavar="TARGETS.xlsx",
              help="Last year's targets (publish --targets-out): count the targets lowered "
                   "and the indicators dropped since.")
@click.option("--json", "as_json", is_flag=True, help="Print the board as JSON.")
def status_command(store: Path, output: Path | None, previous: Path | None,
                   as_json: bool) -> None:
    """Show where every department stands, most urgent first.

    Per department: the template issued (version, date), mail sent and
    reminders, returns received, the return in force and its state, rounds of
    revision, the office's opinion and grade, and days to the deadline or late.
    """
    from xltool.outputs import refuse_clobbering
    from xltool.review.board import write_status
    from xltool.review.status import status

    if output is not None:
        refuse_clobbering(files=[(output, "报送情况表")], store=store)
    board = status(store=store, previous=previous)
    if output is not None:
        write_status(board, output)
    if as_json:
        emit_json(board.to_dict())
    else:
        _print(board, output)


def _print(board: StatusBoard, output: Path | None) -> None:
    from xltool.cli.show import DataTable, console, plain, say

    out = console()
    table = DataTable("主管部门编码", "主管部门", "状态", "剩余天数", "收到", "轮次", "等级",
                      "审核意见", title=f"{board.year or ''}年各部门报送与审核情况")
    for d in board.departments:
        days = "" if d.days_left is None else str(d.days_left)
        table.add_row(d.department_code, d.department, plain(d.state, _STYLE.get(d.state, "")),
                      plain(days, "red" if d.late else ""), str(d.returns), str(d.rounds),
                      d.grade, d.opinion)
    out.print(table)
    if output is not None:
        say(f"已写出报送情况表：{output}")
