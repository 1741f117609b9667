"""`xltool review`: the office's 审核意见 and grade on a department's return, and waivers."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from xltool.cli.output import emit_json
from xltool.cli.params import store_option

if TYPE_CHECKING:
    from xltool.officerules import OfficeRules
    from xltool.review import Review

_GRADES = ("优", "良", "中", "差")


@click.command("review")
@click.argument("department")
@click.option("--project", metavar="CODE", help="Review this project only (default: every "
              "project of the return).")
@click.option("--grade", type=click.Choice(_GRADES), required=True,
              help="优 or 良 approve (the targets are frozen); 中 or 差 return the project for "
                   "revision.")
@click.option("--opinion", metavar="TEXT", required=True,
              help="The office's opinion (审核意见): shown at the top of the department's next "
                   "feedback, and the reason of any waiver.")
@click.option("--waive", metavar="CODE[@CELL]", multiple=True,
              help="Accept a finding as written, by its code and optionally its cell "
                   "(项目1!C19; C19: of --project, or where the return has it); it stands for "
                   "the year's later returns too.")
@click.option("--revoke", metavar="CODE[@CELL]", multiple=True,
              help="End the year's waivers of CODE (at CELL, of --project, where given).")
@click.option("--reviewer", metavar="NAME", help="Who reviews (default: the user logged in).")
@store_option("The SQLite store the returns were collected into.")
@click.option("--rules", "rules", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The office's review criteria a return whose errors are all waived is "
                   "examined again under (a TOML rules file; default: xltool.toml beside the "
                   "store, if there is one).")
@click.option("--json", "as_json", is_flag=True, help="Print the decision as JSON.")
def review_command(department: str, project: str | None, grade: str, opinion: str,
                   waive: tuple[str, ...], revoke: tuple[str, ...], reviewer: str | None,
                   store: Path, rules: Path | None, as_json: bool) -> None:
    """Record the office's review of DEPARTMENT's return (its code or full name).

    The return reviewed is the one in force, or a rejected return sent after it.
    Every decision is kept. When the waivers cover every error of a rejected
    return, it is examined again from its kept copy and accepted.
    """
    from xltool.officerules import rules_in_force
    from xltool.review import review

    office = rules_in_force(store, rules)  # a rules file that cannot be read: nothing recorded
    decided = review(department, grade=grade, opinion=opinion, project=project, waive=waive,
                     revoke=revoke, reviewer=reviewer, store=store)
    accepted = decided.examine_again and _examine_again(store, decided.sha256, office)
    if as_json:
        emit_json({**decided.to_dict(), "accepted_now": accepted})
    else:
        _print(decided, accepted)


def _examine_again(store: Path, sha256: str, rules: OfficeRules) -> bool:
    """Examine the reviewed return again, from its kept copy (no other return): whether it
    is accepted now."""
    from xltool.collect import examine_again

    run = examine_again([sha256], store=store, rules=rules)
    return any(f.sha256 == sha256 and f.status in ("accepted", "superseded") for f in run.files)


def _print(decided: Review, accepted: bool) -> None:
    from xltool.cli.show import DataTable, console, say
    from xltool.states import REVIEW_RETURNED

    out = console()
    table = DataTable("项目编码", "等级", "审核意见", "审核人", "时间",
                      title=f"{decided.department}（{decided.department_code}）"
                            f"{decided.original_name} 的审核")
    for d in decided.decisions:
        table.add_row(d.project_code, d.grade, d.opinion, d.reviewer, d.reviewed_at)
    out.print(table)
    for waiver in decided.granted:
        say(f"已豁免：{waiver.where}")
    for waiver in decided.revoked:
        say(f"已撤销豁免：{waiver.where}")
    if decided.waived:
        say(f"该报送表有 {len(decided.waived)} 个问题已豁免（仍列出，注明已豁免）。")
    if accepted:
        say("该报送表的错误均已豁免：已重新检查并接受。", "bold green")
    elif decided.examine_again:
        say("该报送表的错误均已豁免，但重新检查后仍未接受（存档副本缺失，或按现行审核口径"
            "另有错误）：见 xltool history。", "bold yellow")
    # accepted or not, the grade decides: a 中 leaves the return sent back
    if not decided.approved:
        returned = (f"但审核评为“{decided.decisions[0].grade}”，仍" if accepted else "已")
        say(f"{returned}退回修改（{REVIEW_RETURNED}）：审核意见将写在该部门下一份反馈表的开头。",
            "bold yellow")
    elif accepted or not decided.examine_again:
        say("已通过审核：批准的目标已冻结，以后的报送不再替代，除非再次审核。", "bold green")
