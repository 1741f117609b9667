"""`xltool ledger`: read the master ledger (总账) and show what is in it and what is wrong."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from xltool.cli.output import emit_json

if TYPE_CHECKING:
    from rich.table import Table
    from rich.text import Text

    from xltool.ledger import Ledger

class LedgerCommand(click.Command):
    """Its help ends with the ledger's columns, as the ledger module declares them; read when
    the help is shown, so listing the commands does not load the ledger module."""

    def format_help_text(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        from xltool.ledger import column_reference

        super().format_help_text(ctx, formatter)
        with formatter.indentation():
            formatter.write_text("\b\n" + column_reference())


@click.command("ledger", cls=LedgerCommand)
@click.argument("ledger_path", metavar="LEDGER",
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yuan", is_flag=True, help="Amounts in the file are in 元 (default: 万元).")
@click.option("--encoding", metavar="ENC",
              help="Encoding of a CSV ledger (default: UTF-8, else GB18030).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def ledger_command(ledger_path: Path, yuan: bool, encoding: str | None, as_json: bool) -> None:
    """Check the master ledger (总账 / 预算台账) LEDGER, an .xlsx or .csv file.

    Shows the projects per department (主管部门) and every problem found, with
    its row and how to fix it. Exits with 1 when the ledger has errors.

    Columns (the header row within the first 10 rows; extra columns are ignored;
    a unit such as （万元） and a 其中： prefix in a header are fine):
    """
    from xltool.ledger import load_ledger

    ledger = load_ledger(ledger_path, amounts_in="元" if yuan else "万元", encoding=encoding)
    if as_json:
        emit_json(ledger.to_dict())
    else:
        _print(ledger)
    if ledger.has_errors:
        click.get_current_context().exit(1)


def _print(ledger: Ledger) -> None:
    from xltool.cli.show import console

    out = console()
    out.print(_departments_table(ledger))
    if ledger.problems:
        out.print(_problems_table(ledger))
    out.print(_verdict(ledger))


def _departments_table(ledger: Ledger) -> Table:
    from xltool.cli.show import DataTable

    table = DataTable(title=f"{ledger.path.name}（{ledger.year or '年度未定'}）")
    table.add_column("主管部门编码")
    table.add_column("主管部门")
    table.add_column("项目数", justify="right")
    table.add_column("年度资金总额（万元）", justify="right")
    for t in ledger.department_totals():
        table.add_row(t.code, t.name, str(t.projects), f"{t.total:,.2f}")
    return table


def _problems_table(ledger: Ledger) -> Table:
    from xltool.cli.show import DataTable, plain

    table = DataTable(title="问题")
    table.add_column("位置", no_wrap=True)
    table.add_column("代码", no_wrap=True)
    # Chinese has no spaces to wrap at: fold, or rich cuts the message short.
    table.add_column("问题", overflow="fold")
    table.add_column("处理办法", overflow="fold")
    for p in ledger.problems:
        style = "red" if p.is_error else "yellow"
        table.add_row(p.where, plain(p.code, style), p.message, p.fix)
    return table


def _verdict(ledger: Ledger) -> Text:
    from xltool.cli.show import plain

    counts = f"{len(ledger.projects)} 个项目，{len(ledger.departments)} 个主管部门"
    if ledger.has_errors:
        found = f"{ledger.error_count} 个错误、{ledger.warning_count} 个警告"
        return plain(f"总账有 {found}（{counts}），请按上表修改后重新检查。", "bold red")
    warned = f"，{ledger.warning_count} 个警告请核对" if ledger.warning_count else ""
    return plain(f"总账可以使用：{counts}{warned}。", "bold green")
