"""The command line as a whole: every command documents itself; `python -m xltool` works."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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


def test_a_name_the_system_code_page_lacks_never_ends_a_command(tmp_path: Path) -> None:
    """A Chinese Windows writes into pipes and files in GBK, which lacks rarer characters of
    place names: JSON goes out as UTF-8 regardless, tables show the character as ?."""
    import json
    import os

    from tests.conftest import ledger_row, write_ledger

    rare = "\U0002123c城局"  # not in GBK
    ledger = write_ledger(tmp_path / "l.csv", [ledger_row("A-1", "改造", department=("001", rare))])
    env = {**os.environ, "PYTHONIOENCODING": "gbk"}
    command = [sys.executable, "-m", "xltool", "ledger", str(ledger)]
    as_json = subprocess.run([*command, "--json"], capture_output=True, env=env, check=False)
    assert as_json.returncode == 0, as_json.stderr.decode("utf-8", "replace")
    assert json.loads(as_json.stdout.decode("utf-8"))["departments"][0]["name"] == rare
    as_table = subprocess.run(command, capture_output=True, env=env, check=False)
    assert as_table.returncode == 0, as_table.stderr.decode("gbk", "replace")
    assert "?城局" in as_table.stdout.decode("gbk")


def test_a_file_system_error_is_told_with_the_file_it_concerns() -> None:
    from xltool.cli import file_system_message

    named = file_system_message(PermissionError(13, "Permission denied",
                                                "/x/.反馈表.123.part.xlsx"))
    assert "“反馈表.xlsx”" in named and "Permission denied" in named and "Excel" in named
    assert "“" not in file_system_message(OSError(9, "Bad file descriptor", 3))
    assert "“" not in file_system_message(OSError(28, "No space left on device"))
