"""The command line as a whole: every command documents itself; `python -m xltool` works."""

from __future__ import annotations

import subprocess
import sys

import click
from click.testing import CliRunner

from xltool.cli import main


def test_every_command_has_help_text() -> None:
    assert main.help
    for name, command in main.commands.items():
        assert command.help and len(command.help.strip()) > 20, f"{name} has no help"
        for param in command.params:
            if isinstance(param, click.Option):
                assert param.help, f"{name} {param.opts} has no help"


def test_help_lists_the_commands() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for name in main.commands:
        assert name in result.output


def test_python_dash_m_runs_the_cli() -> None:
    done = subprocess.run([sys.executable, "-m", "xltool", "--help"], capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0
    assert "ledger" in done.stdout
