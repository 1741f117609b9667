"""`xltool demo`: the whole year on the bundled samples."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("demo")
@click.argument("folder", required=False, default="demo",
                type=click.Path(file_okay=False, path_type=Path))
@click.option("--mail", is_flag=True,
              help="Play round 1 by email, without a mail server: the messages are drafted "
                   "as .eml files in outbox/, the departments answer into a Maildir "
                   "(mailbox/), and mail fetch collects from it.")
def demo_command(folder: Path, mail: bool) -> None:
    """Run the whole year on the bundled samples and leave every output in FOLDER.

    Checks the sample ledger, issues prefilled templates, collects two rounds of
    returns (as sent, then as corrected), reconciles and publishes. Running it
    again replaces the demo's own files in FOLDER and nothing else.
    """
    from xltool.cli.show import DataTable, console, say
    from xltool.demo import run_demo

    result = run_demo(folder, mail=mail, say=say)
    table = DataTable("文件", "说明", title=f"示例输出：{result.folder}")
    for path, what in result.files:
        table.add_row(path, what)
    console().print(table)
