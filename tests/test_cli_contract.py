"""What every command promises alike: the clerk's language, exit codes that mean one thing,
output that data cannot break, and a start that loads nothing it does not use."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from tests.conftest import ledger_row, write_ledger
from tests.i18n import click_messages, compiled, missing, read_catalog, xltool_messages
from xltool.cli import main
from xltool.cli.i18n import CATALOG, help_texts

CHINESE = {"LANG": "zh_CN.UTF-8", "LANGUAGE": None, "LC_ALL": None, "LC_MESSAGES": None}
ENGLISH = {"LANG": "en_US.UTF-8", "LANGUAGE": None, "LC_ALL": None, "LC_MESSAGES": None}
COMMANDS = list(main.commands)
# A group's commands, as they are typed: `mail templates`
SUBCOMMANDS = [[name, sub] for name, group in main.commands.items()
               if isinstance(group, click.Group) for sub in group.commands]
EVERY_COMMAND = [[name] for name in COMMANDS] + SUBCOMMANDS


def command_of(words: list[str]) -> click.Command:
    """The command WORDS name (`[]` is xltool itself)."""
    command: click.Command = main
    for word in words:
        assert isinstance(command, click.Group)
        command = command.commands[word]
    return command


def run(args: list[str], env: dict[str, str | None] | None = None) -> Result:
    return CliRunner().invoke(main, args, env=env or ENGLISH)


# -- the clerk's language ------------------------------------------------------------------


def test_the_catalog_translates_every_help_text_and_every_click_message() -> None:
    catalog = read_catalog()
    assert missing(catalog, xltool_messages()) == []
    assert missing(catalog, click_messages()) == []


def test_the_compiled_catalog_is_the_catalog() -> None:
    """The `.mo` xltool reads at run time is compiled from the `.po` people edit."""
    assert CATALOG.with_suffix(".mo").read_bytes() == compiled(read_catalog())


@pytest.mark.parametrize("command", [[], *EVERY_COMMAND])
def test_help_is_chinese_under_a_chinese_locale(command: list[str]) -> None:
    result = run([*command, "--help"], CHINESE)
    assert result.exit_code == 0, result.output
    assert "用法：" in result.output and "选项：" in result.output
    assert "Usage:" not in result.output and "Show this message" not in result.output
    for text in help_texts(command_of(command)):
        for line in text.splitlines():
            if len(line) > 30 and line.isascii():
                assert line not in result.output, f"untranslated: {line}"


@pytest.mark.parametrize("command", [[], *EVERY_COMMAND])
def test_help_is_english_under_any_other_locale(command: list[str]) -> None:
    for env in (ENGLISH, {"LANG": "C", "LANGUAGE": None, "LC_ALL": None, "LC_MESSAGES": None}):
        result = run([*command, "--help"], env)
        assert result.exit_code == 0, result.output
        assert "Usage:" in result.output and "用法" not in result.output


@pytest.mark.parametrize("group", [[], *([name] for name in dict.fromkeys(
    name for name, _ in SUBCOMMANDS))])
def test_the_command_list_shows_a_line_for_each_command_in_chinese(group: list[str]) -> None:
    listing = run([*group, "--help"], CHINESE).output.split("命令：")[1]
    for name in command_of(group).commands:  # type: ignore[attr-defined]
        [line] = [row for row in listing.splitlines() if row.strip().startswith(name + " ")]
        description = line.strip()[len(name):].strip()
        assert description.endswith("。") and "..." not in description, line


def test_the_language_variables_are_read_as_gettext_reads_them() -> None:
    """LANGUAGE before LC_ALL before LC_MESSAGES before LANG, as every GNU program does."""
    chinese_first = {**ENGLISH, "LANGUAGE": "zh_CN:en"}
    assert "用法：" in run(["--help"], chinese_first).output
    overridden = {**CHINESE, "LC_ALL": "en_US.UTF-8"}
    assert "Usage:" in run(["--help"], overridden).output
    assert "用法：" in run(["--help"], {**ENGLISH, "LC_ALL": "zh_TW.UTF-8"}).output


def _usage_errors(tmp_path: Path) -> list[list[str]]:
    ledger = write_ledger(tmp_path / "l.csv", [ledger_row("A-1", "改造")])
    return [
        ["template", str(ledger)],                                       # Missing option
        ["template", str(tmp_path / "nosuch.xlsx"), "-o", "x"],          # File does not exist
        ["ledger", str(ledger), "--nosuch"],                             # No such option
        ["nosuch"],                                                      # No such command
        ["template", str(ledger), "-o", "x", "--profile", "nosuch"],     # unknown profile
        ["profiles", "nosuch"],
        ["collect", "x", "--limit", "foo=1"],
        ["collect", "x", "--limit", "cells=-1"],
        ["reconcile", str(ledger), "-o", "r.xlsx", "--tolerance", "abc"],
        ["template", str(ledger), "-o", "x", "--jobs", "0"],             # out of range
        ["ledger"],                                                      # Missing argument
    ]


def test_usage_errors_speak_the_clerks_language(tmp_path: Path) -> None:
    english_words = ("Missing", "No such", "does not exist", "Invalid value", "Usage:",
                     "Error:", "Try ", "No profile", "Unknown limit", "is not a number",
                     "positive number", "is not in the range")
    for args in _usage_errors(tmp_path):
        chinese = run(args, CHINESE)
        assert chinese.exit_code == 2, (args, chinese.output)
        assert "错误" in chinese.output and "用法：" in chinese.output, (args, chinese.output)
        assert not any(word in chinese.output for word in english_words), chinese.output
        english = run(args, ENGLISH)
        assert english.exit_code == 2, (args, english.output)
        assert "Error:" in english.output and "Usage:" in english.output, english.output


def test_a_command_leaves_gettext_as_it_found_it() -> None:
    import gettext

    before = gettext.textdomain()
    run(["--help"], CHINESE)
    assert gettext.textdomain() == before
    assert click.get_current_context(silent=True) is None


# -- exit codes ----------------------------------------------------------------------------


def _missing_input(tmp_path: Path) -> dict[str, list[str]]:
    nothing = str(tmp_path / "nosuch.xlsx")
    store = ["--store", str(tmp_path / "no.db")]
    return {
        "ledger": ["ledger", nothing],
        "template": ["template", nothing, "-o", str(tmp_path / "out")],
        "collect": ["collect", nothing, *store],
        "history": ["history", "001", *store],
        "reinstate": ["reinstate", "0123456789abcdef", "--reason", "因为", *store],
        "review": ["review", "001", "--grade", "中", "--opinion", "请修改", *store],
        "status": ["status", *store],
        "reconcile": ["reconcile", str(write_ledger(tmp_path / "l.csv", [ledger_row("A", "甲")])),
                      *store, "-o", str(tmp_path / "r.xlsx")],
        "publish": ["publish", *store, "-o", str(tmp_path / "p.xlsx")],
        "verify": ["verify", *store],
        "profiles": ["profiles", str(tmp_path / "nosuch.toml")],
        "rules": ["rules", "--rules", nothing],
        "demo": ["demo", str(write_ledger(tmp_path / "a-file.csv", []))],
        "mail": ["mail", "nosuch"],
        "mail templates": ["mail", "templates", "--from", "a@b.cn", "--dry-run", *store],
        "mail fetch": ["mail", "fetch", str(tmp_path), *store],
        "mail feedback": ["mail", "feedback", "--from", "a@b.cn", "--smtp", "smtps://h", *store],
        "mail remind": ["mail", "remind", "--from", "a@b.cn", "--outbox", "o", *store],
    }


def test_every_command_exits_2_when_it_cannot_run_as_asked(tmp_path: Path) -> None:
    cases = _missing_input(tmp_path)
    assert set(cases) == {" ".join(words) for words in EVERY_COMMAND}, \
        "a command without an exit-code case"
    for name, args in cases.items():
        result = run(args)
        assert result.exit_code == 2, (name, result.output)
        assert not isinstance(result.exception, Exception | type(None)) or \
            isinstance(result.exception, SystemExit), (name, result.exception)
        assert "Traceback" not in result.output
    for words in EVERY_COMMAND:
        assert run([*words, "--nosuch-option"]).exit_code == 2, words


def test_exit_codes_0_and_1_are_results(tmp_path: Path) -> None:
    good = write_ledger(tmp_path / "good.csv", [ledger_row("A-1", "改造")])
    bad = write_ledger(tmp_path / "bad.csv", [ledger_row("A-1", "甲"), ledger_row("A-1", "乙")])
    assert run(["ledger", str(good)]).exit_code == 0
    assert run(["ledger", str(bad)]).exit_code == 1
    assert run(["profiles"]).exit_code == 0
    out, store = tmp_path / "out", ["--store", str(tmp_path / "x.db")]
    assert run(["template", str(good), "-o", str(out), *store]).exit_code == 0
    [issued] = out.iterdir()
    assert run(["collect", str(issued), *store]).exit_code == 1  # sent back empty: findings
    assert run(["reconcile", str(good), *store, "-o", str(tmp_path / "r.xlsx")]).exit_code == 1


# -- data cannot break the console ---------------------------------------------------------

# Kept short, so no table column folds them over lines.
MARKUP = ("[/b]", "[/x]", "[red]", ":smile:", "[/]")


def test_markup_like_text_in_every_field_is_shown_as_written(tmp_path: Path) -> None:
    rows = [ledger_row(f"P{i}{text}", f"项目{text}", department=(f"00{i}{text}", f"局{text}"),
                       实施单位=f"单位{text}") for i, text in enumerate(MARKUP)]
    ledger = write_ledger(tmp_path / "l.csv", rows)
    out, store = tmp_path / "out", ["--store", str(tmp_path / "x.db")]
    commands = [
        ["ledger", str(ledger)],
        ["template", str(ledger), "-o", str(out), *store],
        ["collect", str(out), *store, "--feedback", str(tmp_path / "fb")],
        ["reconcile", str(ledger), *store, "-o", str(tmp_path / "r.xlsx")],
        ["profiles", "weighted"],
    ]
    seen = ""
    for args in commands:
        result = run(args)
        assert result.exit_code in (0, 1), (args, result.output)
        assert not isinstance(result.exception, Exception), (args, repr(result.exception))
        seen += result.output
    flat = "".join(seen.split())  # rich may fold a long cell over lines
    for text in MARKUP:
        assert f"局{text}" in flat, text


def test_a_terminal_escape_in_data_is_not_sent_to_the_terminal(tmp_path: Path) -> None:
    ledger = write_ledger(tmp_path / "l.csv", [ledger_row("A-1", "改造",
                                                         department=("001", "局\x1b[2J"))])
    result = run(["ledger", str(ledger)])
    assert result.exit_code == 0 and "\x1b" not in result.output


def test_a_closed_pipe_ends_the_command_quietly(tmp_path: Path) -> None:
    """`xltool ledger L --json | head -1`: JSON longer than the pipe holds, its reader gone."""
    rows = [ledger_row(f"P-{i:05d}", "项目", department=(f"{i:05d}", f"局{i}"))
            for i in range(3000)]
    ledger = write_ledger(tmp_path / "big.csv", rows)
    with subprocess.Popen([sys.executable, "-m", "xltool", "ledger", str(ledger), "--json"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          env={**os.environ, "LANG": "C.UTF-8"}) as process:
        assert process.stdout is not None and process.stderr is not None
        assert process.stdout.readline() == b"{\n"
        process.stdout.close()
        error = process.stderr.read().decode("utf-8", "replace")
        assert process.wait(timeout=60) == 141, error
    assert error == ""


# -- a start that loads only what it uses ---------------------------------------------------

HEAVY = ("pandas", "numpy", "openpyxl", "xlsxwriter", "rich", "python_calamine", "sqlite3")


@pytest.mark.parametrize("args", [["--help"], *([*words, "--help"] for words in EVERY_COMMAND),
                                  ["template"], ["nosuch"]])
def test_help_and_usage_errors_load_no_library(args: list[str]) -> None:
    """What `benchmarks/bench_startup.py` times: help and usage errors need click alone."""
    code = ("import sys\nfrom xltool.cli import main\n"
            f"try:\n    main({args!r})\nexcept SystemExit:\n    pass\n"
            f"print('LOADED', [m for m in {HEAVY!r} if m in sys.modules], file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False, env={**os.environ, "LANG": "zh_CN.UTF-8"})
    assert "LOADED []" in done.stderr, done.stderr


def test_import_xltool_loads_no_library_until_a_name_is_used() -> None:
    code = ("import sys, xltool\nbefore = [m for m in ('pandas', 'openpyxl', 'xlsxwriter') "
            "if m in sys.modules]\nxltool.load_ledger\nprint(before, 'pandas' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "[] False"
    import xltool

    assert set(xltool.__all__) <= set(dir(xltool))
    for name in xltool.__all__:
        assert getattr(xltool, name) is not None
