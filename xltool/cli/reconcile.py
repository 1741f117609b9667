"""`xltool reconcile`: the templates issued and the returns accepted, against the ledger now."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING

import click

from xltool.cli.i18n import _
from xltool.cli.output import emit_json
from xltool.cli.params import store_option
from xltool.money import TOLERANCE

if TYPE_CHECKING:
    from xltool.reconcile import Reconciliation


def _tolerance(_ctx: click.Context, _param: click.Parameter, value: str) -> Decimal:
    try:
        tolerance = Decimal(value)
    except InvalidOperation:
        raise click.BadParameter(_("{value} is not a number (in 万元).").format(
            value=repr(value))) from None
    if not tolerance.is_finite() or tolerance < 0:
        raise click.BadParameter(_("The tolerance must be a number of at least 0 (in 万元)."))
    return tolerance


@click.command("reconcile")
@click.argument("ledger_path", metavar="LEDGER", type=click.Path(dir_okay=False, path_type=Path))
@store_option("The SQLite store the templates were issued into.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The report workbook to write (REPORT.xlsx).")
@click.option("--tolerance", metavar="万元", default=str(TOLERANCE), show_default=True,
              callback=_tolerance, help="Amounts closer than this (万元) count as equal.")
@click.option("--yuan", is_flag=True, help="Amounts in the ledger are in 元 (default: 万元).")
@click.option("--json", "as_json", is_flag=True, help="Print the differences as JSON.")
def reconcile_command(ledger_path: Path, store: Path, output: Path, tolerance: Decimal,
                      yuan: bool, as_json: bool) -> None:
    """Compare the ledger LEDGER as it is now with the templates issued and the returns accepted.

    Writes a report workbook: a summary per department, then one sheet per kind
    of difference (未报送, 新增项目, 已撤销, 部门变更, 预算调整, 名称变更, …).
    Exit code 0 when everything matches, 1 when there are differences.
    """
    from xltool.reconcile import reconcile

    result = reconcile(ledger_path, store=store, output=output, tolerance=tolerance,
                       amounts_in="元" if yuan else "万元")
    if as_json:
        emit_json(result.to_dict())
    else:
        _print(result)
    click.get_current_context().exit(result.exit_code)


def _print(result: Reconciliation) -> None:
    from xltool.cli.show import STATE_STYLES, DataTable, console, plain, say
    from xltool.reconcile import DIFFERENT, KINDS, MATCHED

    styles = {**STATE_STYLES, MATCHED: "green", DIFFERENT: "red"}

    out = console()
    table = DataTable("主管部门编码", "主管部门", title=f"{result.ledger.name} 与已接受报送核对")
    for header in ("总账项目数", "已接受项目数", "差额（万元）", "差异数"):
        table.add_column(header, justify="right")
    table.add_column("状态")
    for row in result.summary.to_dict("records"):
        table.add_row(row["department"], row["department_name"],
                      str(row["ledger_projects"]), str(row["accepted_projects"]),
                      f"{row['total_difference']:,.2f}", str(row["differences"]),
                      plain(row["status"], styles.get(row["status"], "")))
    out.print(table)
    kinds = "，".join(f"{KINDS[code].sheet} {count}" for code, count in result.kinds().items())
    if kinds:
        say(f"发现 {len(result.differences)} 处差异：{kinds}。", "bold red")
    else:
        say("总账与已接受的报送完全一致。", "bold green")
    if result.report is not None:
        say(f"已写出核对报告：{result.report}")
