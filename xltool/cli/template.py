"""`xltool template`: one locked, guided workbook per department."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

import click

from xltool.cli.output import emit_json
from xltool.cli.params import profile_option, store_option

if TYPE_CHECKING:
    from xltool.template import TemplateRun


@click.command("template")
@click.argument("ledger", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--outdir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder to write the workbooks into (created if missing).")
@profile_option()
@store_option("The SQLite store that records what was issued.")
@click.option("--prefill", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Targets workbook whose goals and indicators prefill the input cells.")
@click.option("--department", "departments", multiple=True, metavar="CODE",
              help="Only this department code (repeatable). Default: every department.")
@click.option("--password", help="Sheet protection password. Default: a random one per "
              "workbook, recorded in the store, never written into the workbook.")
@click.option("--jobs", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Worker processes writing workbooks in parallel.")
@click.option("--issuer", default="", help="Issuing office printed on the cover.")
@click.option("--deadline", default="", help="Return deadline printed on the cover.")
@click.option("--contact", default="", help="Contact person and phone printed on the cover.")
@click.option("--yuan", is_flag=True, help="The ledger's amounts are in 元, not 万元.")
@click.option("--json", "as_json", is_flag=True, help="Print what was written as JSON.")
def template_command(ledger: Path, outdir: Path, profile: str, store: Path,
                     prefill: Path | None, departments: tuple[str, ...], password: str | None,
                     jobs: int, issuer: str, deadline: str, contact: str, yuan: bool,
                     as_json: bool) -> None:
    """Write one protected, prefilled template per department of LEDGER into OUTDIR.

    Every issued template is recorded in the store, so `xltool collect` can
    check each return against exactly what was sent.
    """
    from xltool.cli.show import progress_bar
    from xltool.template import issue_templates

    amounts_in: Literal["万元", "元"] = "元" if yuan else "万元"
    with progress_bar("生成模板", enabled=not as_json) as advance:
        run = issue_templates(ledger, outdir, profile=profile, store=store, prefill=prefill,
                              departments=departments, password=password, jobs=jobs,
                              issuer=issuer, deadline=deadline, contact=contact,
                              amounts_in=amounts_in, progress=advance)
    if as_json:
        emit_json(run_summary(run))
        return
    _print(run)


def run_summary(run: TemplateRun) -> dict[str, object]:
    return {
        "profile": run.profile,
        "store": run.store,
        "workbooks": [
            {"path": w.path, "template_id": w.template_id, "department_code": w.department_code,
             "department": w.department, "projects": w.projects, "sheets": list(w.sheets),
             "sha256": w.sha256}
            for w in run.workbooks
        ],
        "findings": [f.to_dict() for f in run.findings],
    }


def _print(run: TemplateRun) -> None:
    from xltool.cli.show import DataTable, console, say, show_findings

    table = DataTable("主管部门编码", "主管部门", "项目数", "文件",
                      title=f"已生成模板（表式 {run.profile}）")
    for w in run.workbooks:
        table.add_row(w.department_code, w.department, str(w.projects), w.path.name)
    console().print(table)
    show_findings(run.findings, title="预填问题")
    say(f"共 {len(run.workbooks)} 个模板，已记录到 {run.store}。")
