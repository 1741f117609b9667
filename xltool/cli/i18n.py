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
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

DOMAIN = "xltool"
LOCALE_DIR = Path(__file__).with_name("locale")
CATALOG = LOCALE_DIR / "zh" / "LC_MESSAGES" / f"{DOMAIN}.po"
_LANGUAGE_VARIABLES = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")

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


def localize(command: click.Command) -> click.Command:
    """COMMAND with its help and its options' help in the language in force."""
    _translate_fields(command, ("help", "short_help", "epilog"))
    source = _SOURCES[command]
    if command.help and not source["short_help"] and command.help != source["help"]:
        command.short_help = _first_sentence(command.help)
    for param in command.params:
        _translate_fields(param, ("help",))
    return command


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
