"""`xltool publish`: the merged disclosure workbook from the accepted returns in the store."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from xltool.cli.i18n import _
from xltool.cli.output import emit_json
from xltool.cli.params import store_option

if TYPE_CHECKING:
    from xltool.publish import Publication

_PATH = click.Path(dir_okay=False, path_type=Path)


@click.command("publish")
@store_option("The SQLite store holding the collected returns.")
@click.option("-o", "--output", type=_PATH, required=True,
              help="The disclosure workbook to write (.xlsx).")
@click.option("--targets-out", type=_PATH,
              help="Also write the published targets as a targets workbook, to prefill next "
                   "year's templates (`xltool template --prefill`).")
@click.option("--title", help="Cover title. Default: [issuer]YYYY年项目支出预算绩效目标.")
@click.option("--issuer", help="Issuing office on the cover. Default: the department when one "
                               "is published, else blank.")
@click.option("--date", help="Date on the cover (2024-02-20 or any text). Default: the day the "
                             "latest published return was received.")
@click.option("--basis", help="The documents cited as legal basis (《…》《…》). Default: the "
                              "Budget Law and 中发〔2018〕34号.")
@click.option("--department", "departments", multiple=True, metavar="CODE",
              help="Only this department code (repeatable). Default: every department.")
@click.option("--ledger", "ledger_path", metavar="LEDGER", type=_PATH,
              help="Publish the names and amounts this ledger has now, and withhold what it no "
                   "longer backs (withdrawn, moved, a new code, changed funding). Default: as "
                   "the templates were issued.")
@click.option("--yuan", is_flag=True, help="Amounts in the ledger are in 元 (default: 万元).")
@click.option("--allow-stale", is_flag=True,
              help="With --ledger: publish also the projects whose funding changed since issue, "
                   "with the ledger's amounts and a note under each table.")
@click.option("--pdf", is_flag=True, help="Also convert the workbook to PDF with LibreOffice "
                                          "(exit 2 before writing anything if it, or a Chinese "
                                          "font, is missing).")
@click.option("--json", "as_json", is_flag=True, help="Print what was published as JSON.")
def publish_command(store: Path, output: Path, targets_out: Path | None, title: str | None,
                    issuer: str | None, date: str | None, basis: str | None,
                    departments: tuple[str, ...], ledger_path: Path | None, yuan: bool,
                    allow_stale: bool, pdf: bool, as_json: bool) -> None:
    """Write the disclosure workbook (预算绩效目标公开) from the accepted returns in the store.

    Only accepted projects are published; the issued projects that are missing
    are listed with the reason (未报送, 有错误待修改, 未下发, …). The same store
    and options always give a byte-identical workbook.

    With --ledger, names and amounts are the ledger's now; a project withdrawn,
    moved, given a new code or whose funding changed since issue is withheld
    and listed (the last one published with --allow-stale). Without it, names
    and amounts are those the templates were issued with.
    """
    for option, given in (("--allow-stale", allow_stale), ("--yuan", yuan)):
        if given and ledger_path is None:
            raise click.UsageError(_("{option} needs --ledger.").format(option=option))
    from xltool.publish import publish

    publication = publish(store=store, output=output, targets_out=targets_out, title=title,
                          issuer=issuer, date=date, basis=basis, departments=departments,
                          pdf=pdf, ledger=ledger_path, allow_stale=allow_stale,
                          amounts_in="元" if yuan else "万元")
    if as_json:
        emit_json(publication.to_dict())
    else:
        _print(publication)


def _print(publication: Publication) -> None:
    from xltool.cli.show import DataTable, console, say

    table = DataTable("主管部门编码", "主管部门", "项目数", "指标数", "年度资金总额（万元）",
                      title=f"已公开：{publication.title}")
    for d in publication.departments:
        table.add_row(d.department_code, d.department, str(d.projects), str(d.indicators),
                      f"{d.total.normalize():f}")
    table.add_row("合计", "", str(publication.projects), str(publication.indicators),
                  f"{publication.total.normalize():f}", style="bold")
    console().print(table)
    _basis(publication)
    _missing(publication)
    _stale(publication)
    for path in (publication.output, publication.targets_out, publication.pdf):
        if path is not None:
            say(f"已写出：{path}")


def _basis(publication: Publication) -> None:
    """Whose names and amounts were published: the ledger's now, or those issued."""
    from xltool.cli.show import say

    if publication.ledger is None:
        say("未提供预算台账：按下发模板时的项目名称和金额公开。")
    else:
        say(f"按预算台账 {publication.ledger.name} 公开：项目名称、主管部门、实施单位等"
            "和金额均以台账现在的为准。")


def _missing(publication: Publication) -> None:
    from xltool.cli.show import DataTable, console, plain, say

    if not publication.missing:
        say("下发的项目均已公开。")
        return
    table = DataTable("主管部门编码", "主管部门", "项目编码", "项目名称", "原因", "说明",
                      title=f"未公开的项目（{len(publication.missing)} 个）")
    for m in publication.missing:
        table.add_row(m.department_code, m.department, m.project_code, m.project_name,
                      plain(m.reason, "yellow"), m.detail)
    console().print(table)


def _stale(publication: Publication) -> None:
    """`--allow-stale`: which projects were published with amounts their targets predate."""
    from xltool.cli.show import DataTable, console, plain, say

    if not publication.stale:
        return
    title = f"预算已调整、按 --allow-stale 公开的项目（{len(publication.stale)} 个）"
    table = DataTable("主管部门编码", "主管部门", "项目编码", "项目名称", "资金调整", title=title)
    for s in publication.stale:
        table.add_row(s.department_code, s.department, s.project_code, s.project_name,
                      plain(s.detail, "yellow"))
    console().print(table)
    say("以上项目按预算台账调整后的金额公开，绩效目标是按下发时的金额制定的；"
        "公开表中已在每个项目下注明。", "yellow")
