"""Options several commands share, and the parameter types that check them before any work."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from xltool.cli.i18n import _
from xltool.defaults import DEFAULT_PROFILE, DEFAULT_STORE

F = TypeVar("F", bound=Callable[..., Any])


class ProfileName(click.ParamType):  # type: ignore[type-arg,unused-ignore]  # generic from 8.2
    """A shipped profile's name, or the path of a profile .toml file: checked as a usage error."""

    name = "profile"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> str:
        from xltool.errors import UnknownProfile
        from xltool.profile import available_profiles, profile_path

        try:
            profile_path(value)
        except UnknownProfile:
            known = ", ".join(available_profiles())
            self.fail(_("No profile {name}: it is neither a shipped profile ({known}) nor a "
                        ".toml file.").format(name=repr(str(value)), known=known), param, ctx)
        return str(value)


def profile_option() -> Callable[[F], F]:
    return click.option(
        "--profile", type=ProfileName(), default=DEFAULT_PROFILE, show_default=True,
        help="Form profile: a shipped name (see `xltool profiles`) or a .toml path.")


def store_option(help_text: str) -> Callable[[F], F]:
    """The `--store` option, with what the store holds for this command."""
    return click.option("--store", type=click.Path(dir_okay=False, path_type=Path),
                        default=DEFAULT_STORE, show_default=True, help=help_text)


def path_option(name: str, help_text: str, **extra: Any) -> Callable[[F], F]:
    """An option naming an existing file (--rules, --previous): checked before any work."""
    return click.option(name, type=click.Path(exists=True, dir_okay=False, path_type=Path),
                        help=help_text, **extra)


RULES_HELP = ("The office's review criteria (a TOML rules file; default: xltool.toml beside "
              "the store, if there is one).")
PREVIOUS_HELP = ("Last year's targets workbook (written by publish --targets-out): report "
                 "targets lowered and indicators dropped since.")
FEEDBACK_HELP = ("Write a feedback workbook per department and an office-wide status workbook "
                 "into this folder.")


def feedback_option() -> Callable[[F], F]:
    return click.option("--feedback", type=click.Path(file_okay=False, path_type=Path),
                        help=FEEDBACK_HELP)


def jobs_option() -> Callable[[F], F]:
    return click.option("--jobs", type=click.IntRange(1, 64), default=1, show_default=True,
                        help="Worker processes reading files in parallel.")
