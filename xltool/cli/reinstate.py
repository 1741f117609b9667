"""`xltool reinstate`: put an earlier accepted return back in force, with the reason."""

from __future__ import annotations

from pathlib import Path

import click

from xltool.cli.output import emit_json
from xltool.cli.params import store_option


@click.command("reinstate")
@click.argument("sha256")
@click.option("--reason", required=True, help="Why: recorded with the time in the "
                                              "department's history.")
@store_option("The SQLite store the returns were collected into.")
@click.option("--json", "as_json", is_flag=True, help="Print what was recorded as JSON.")
def reinstate_command(sha256: str, reason: str, store: Path, as_json: bool) -> None:
    """Put the accepted return SHA256 back in force for its department.

    SHA256 is the file's hash, or its first 8 characters or more (see
    `xltool history`). Only a return of the template in force that was
    accepted can be reinstated; a return received later displaces it again.
    """
    from xltool.cli.show import say
    from xltool.collect.chain import reinstate

    done = reinstate(sha256, reason, store=store)
    if as_json:
        emit_json(done.to_dict())
    elif done.reinstated_at is None:
        say(f"{done.original_name} 已是 {done.department_code} 的有效版本，未作改动。")
    else:
        replaced = f"，取代 {done.displaced[:12]}" if done.displaced else ""
        say(f"已将 {done.original_name}（{done.sha256[:12]}）恢复为 {done.department_code} "
            f"的有效版本{replaced}；理由已记录：{done.reason}", "bold green")
