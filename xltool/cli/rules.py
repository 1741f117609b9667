"""`xltool rules`: the office's review criteria in force, per profile."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from xltool.cli.output import emit_json
from xltool.cli.params import store_option


@click.command("rules")
@store_option("The store whose xltool.toml (beside it) holds the office's rules.")
@click.option("--rules", "rules", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Show this rules file instead of xltool.toml beside the store.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def rules_command(store: Path, rules: Path | None, as_json: bool) -> None:
    """Show the office's review criteria collect applies, for every profile.

    They come from --rules, or xltool.toml beside the store, or are the
    shipped defaults.
    """
    from xltool.officerules import described, rules_in_force

    shown = described(rules_in_force(store, rules))
    if as_json:
        emit_json(shown)
    else:
        _print(shown)


_SEVERITY = {"error": "错误", "warning": "提醒", "off": "不检查"}


def _print(shown: dict[str, Any]) -> None:
    from xltool.cli.show import DataTable, console, say

    say(f"审核口径：{shown['source'] or '默认（未使用规则文件）'}")
    table = DataTable("表式", "须量化的二级指标", "每项目最少指标", "每类最少指标", "满意度下限",
                      "问题代码的处理", title="各表式的审核口径")
    for name, settings in shown["profiles"].items():
        floor = settings["satisfaction_floor"]
        severities = [f"{code}：{_SEVERITY[s]}" for code, s in settings["severity"].items()]
        table.add_row(name, "、".join(settings["quantitative"]),
                      str(settings["min_indicators"] or "不限"), str(settings["min_per_category"]),
                      f"{floor}%" if floor else "不限", "\n".join(severities))
    console().print(table)
