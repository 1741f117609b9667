"""The `xltool` command line: a thin layer over the library.

Each command lives in its own module, parses its options, calls one library
function and formats what it returns. Library errors become clean messages here,
in one place.
"""

from __future__ import annotations

from typing import Any

import click

from xltool.errors import XltoolError


class XltoolGroup(click.Group):
    """Turns every `XltoolError` into a click error: a message and exit code 1, no traceback."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        """In the order of the year's work, not the alphabet."""
        return list(self.commands)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except XltoolError as error:
            raise click.ClickException(str(error)) from error


@click.group(cls=XltoolGroup)
@click.version_option(package_name="xltool")
def main() -> None:
    """xltool: the yearly round trip of budget performance-target forms (项目支出预算绩效目标表).

    ledger → template → collect → reconcile → publish.
    """


def _register() -> None:
    from xltool.cli.collect import collect_command
    from xltool.cli.demo import demo_command
    from xltool.cli.ledger import ledger_command
    from xltool.cli.profiles import profiles_command
    from xltool.cli.publish import publish_command
    from xltool.cli.reconcile import reconcile_command
    from xltool.cli.template import template_command

    main.add_command(ledger_command)
    main.add_command(template_command)
    main.add_command(collect_command)
    main.add_command(reconcile_command)
    main.add_command(publish_command)
    main.add_command(profiles_command)
    main.add_command(demo_command)


_register()
