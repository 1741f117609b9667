"""`xltool profiles`: the form profiles that ship, or one profile in detail."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import click

from xltool.cli.output import emit_json
from xltool.cli.params import ProfileName

if TYPE_CHECKING:
    from xltool.profile import FormProfile


def profile_summary(profile: FormProfile) -> dict[str, Any]:
    data = asdict(profile)
    data["path"] = str(profile.path)
    return data


@click.command("profiles")
@click.argument("name", required=False, type=ProfileName())
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def profiles_command(name: str | None, as_json: bool) -> None:
    """List the form profiles (layouts of the form), or show the categories of NAME.

    NAME is a shipped profile (see the list) or the path of a profile .toml file.
    """
    from xltool.profile import available_profiles, load_profile

    profiles = [load_profile(name)] if name else [load_profile(n) for n in available_profiles()]
    if as_json:
        emit_json([profile_summary(p) for p in profiles])
        return
    if name:
        _print_categories(profiles[0])
        return
    from xltool.cli.show import DataTable, console

    table = DataTable("profile", "version", "weights", "value column", "description")
    for p in profiles:
        table.add_row(p.name, str(p.version), "yes" if p.weights else "no",
                      "yes" if p.value_field else "no", p.description)
    console().print(table)


def _print_categories(profile: FormProfile) -> None:
    from xltool.cli.show import DataTable, console

    table = DataTable(profile.level1_label, profile.level2_label, "必填", "行数", "须量化", "用途",
                  title=f"{profile.name} v{profile.version}: {profile.description}")
    for c in profile.categories:
        table.add_row(c.level1, c.level2, "是" if c.required else "否", str(c.rows),
                      "是" if c.quantitative else "", c.role or "")
    console().print(table)
