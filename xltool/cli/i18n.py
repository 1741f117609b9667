"""The command line in the clerk's language: Chinese under a Chinese locale, English otherwise.

One mechanism serves xltool's help and click's own messages (`Usage:`,
`Missing option`, `No such option`, …): GNU gettext, with one catalog,
`locale/zh/LC_MESSAGES/xltool.po`, compiled to the `.mo` beside it. click asks
gettext's current domain for every message it prints, so while a command runs
that domain is xltool's; the help texts are written in English in the code and
looked up in the same catalog when they are shown, so the language is the one
in force when the help is printed, not when the module was imported.

The language is gettext's: the first of LANGUAGE, LC_ALL, LC_MESSAGES and LANG
that is set; where none is (Windows, as a rule), the system's display language.
"""

from __future__ import annotations

import gettext
import inspect
import locale
import os
import sys
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import click

DOMAIN = "xltool"
LOCALE_DIR = Path(__file__).with_name("locale")
CATALOG = LOCALE_DIR / "zh" / "LC_MESSAGES" / f"{DOMAIN}.po"
_LANGUAGE_VARIABLES = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")
HELP_OPTION_HELP = "Show this message and exit."  # click's message for --help

gettext.bindtextdomain(DOMAIN, str(LOCALE_DIR))


def _(message: str) -> str:
    """MESSAGE in the language in force (English when the catalog lacks it)."""
    return gettext.dgettext(DOMAIN, message)


@contextmanager
def clerks_language() -> Iterator[None]:
    """While it lasts, click's messages and xltool's come from xltool's catalog."""
    previous_domain = gettext.textdomain()
    previous_language = os.environ.get("LANGUAGE")
    gettext.textdomain(DOMAIN)
    implied = _system_language()
    if implied:
        os.environ["LANGUAGE"] = implied  # gettext reads the environment only
    try:
        yield
    finally:
        gettext.textdomain(previous_domain)
        if implied:
            _restore("LANGUAGE", previous_language)


def _system_language() -> str | None:
    """"zh" when no variable names a language and the system's display language is Chinese."""
    if any(os.environ.get(name) for name in _LANGUAGE_VARIABLES):
        return None
    if sys.platform == "win32":
        import ctypes

        language_id = ctypes.windll.kernel32.GetUserDefaultUILanguage()
        return "zh" if language_id & 0x3FF == 0x04 else None  # LANG_CHINESE
    name = locale.getlocale(locale.LC_MESSAGES)[0] or ""
    return "zh" if name.lower().startswith(("zh", "chinese")) else None


def _restore(name: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value


# Each command's and option's help as written in the code: `localize` replaces the text
# shown, so it can show another language on the next call.
_SOURCES: weakref.WeakKeyDictionary[object, dict[str, str | None]] = weakref.WeakKeyDictionary()


class ClerkFormatter(click.HelpFormatter):
    """Help whose headings end in their own script's colon: `选项：` beside `Options:`."""

    def write_heading(self, heading: str) -> None:
        if heading.isascii():
            super().write_heading(heading)
        else:
            self.write(f"{'':>{self.current_indent}}{heading}：\n")


class ClerkContext(click.Context):
    formatter_class = ClerkFormatter


def localize(command: click.Command) -> click.Command:
    """COMMAND with its help, its options' help and its file types' names in the language in
    force. (click names its file types when they are made, which is at import: too early.)"""
    command.context_class = ClerkContext
    _translate_fields(command, ("help", "short_help", "epilog"))
    source = _SOURCES[command]
    if command.help and not source["short_help"] and command.help != source["help"]:
        command.short_help = _first_sentence(command.help)
    for param in command.params:
        _translate_fields(param, ("help",))
        if isinstance(param.type, click.Path):
            if isinstance(param, click.Option) and param.metavar is None:
                param.metavar = _path_kind(param.type, translate=str).upper()  # FILE, aligned
            param.type.name = _path_kind(param.type)
    made = getattr(command, "_help_option", None)  # click 8.2+ keeps the --help it made
    if made is not None:
        _SOURCES.setdefault(made, {"help": HELP_OPTION_HELP})  # made in whichever language
        _translate_fields(made, ("help",))
    return command


def _path_kind(path: click.Path, translate: Callable[[str], str] = _) -> str:
    """What click calls a path parameter in its messages (`File 'x' does not exist.`)."""
    if path.file_okay and not path.dir_okay:
        return translate("file")
    if path.dir_okay and not path.file_okay:
        return translate("directory")
    return translate("path")


def _first_sentence(text: str) -> str | None:
    """The command list's line for a Chinese help text: its first sentence. (click cuts an
    English one at a word; Chinese has no spaces to cut at, and would show as "...".)"""
    first, stop, _rest = text.lstrip("\b\n").partition("。")
    return (first + stop).replace("\n", "") if stop else None


def _translate_fields(owner: object, names: tuple[str, ...]) -> None:
    sources = _SOURCES.setdefault(owner, {name: _cleaned(getattr(owner, name, None))
                                          for name in names})
    for name, source in sources.items():
        setattr(owner, name, _(source) if source else source)


def _cleaned(text: str | None) -> str | None:
    return inspect.cleandoc(text) if text else text


def help_texts(command: click.Command) -> Iterator[str]:
    """Every help text of COMMAND and its subcommands, as the catalog must hold it."""
    for owner in (command, *command.params):
        for name in ("help", "short_help", "epilog"):
            source = _SOURCES.get(owner, {}).get(name, _cleaned(getattr(owner, name, None)))
            if source:
                yield source
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            yield from help_texts(sub)
