"""The command line's catalog: what it must hold, and how to bring it up to date.

`python -m tests.i18n` adds every message that is missing from
`xltool/cli/locale/zh/LC_MESSAGES/xltool.po` (with an empty translation, for a
person to write), keeps every translation already there, and compiles the `.mo`
beside it. Babel (a test dependency) reads and writes the catalog; at run time
xltool needs only the standard library's gettext and the compiled `.mo`.

The messages are xltool's help texts (from the commands themselves), xltool's
own `_()` calls, and every message of the installed click (its `_()` and
`ngettext()` calls): click's messages change between releases, so run this with
each click version the project supports, and translate what it adds.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import click
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from xltool.cli import main
from xltool.cli.i18n import CATALOG, help_texts

Message = str | tuple[str, str]  # a msgid, or a singular and plural pair


def click_messages() -> Iterator[Message]:
    """Every message the installed click can print, as it asks gettext for it."""
    for source in sorted(Path(click.__file__).parent.glob("*.py")):
        yield from _extracted(source)


def xltool_messages() -> Iterator[Message]:
    """xltool's help texts and the messages its command line passes through `_()`."""
    yield from help_texts(main)
    for source in sorted(Path(CATALOG.parents[3]).glob("*.py")):
        yield from _extracted(source)


def _extracted(source: Path) -> Iterator[Message]:
    for _line, message, _comments, _context in extract_from_file("python", source):
        if isinstance(message, tuple):
            yield (message[0], message[1]) if len(message) > 1 else message[0]
        else:
            yield message


def read_catalog(path: Path = CATALOG) -> Catalog:
    with path.open("rb") as file:
        return read_po(file, locale="zh_Hans_CN", domain="xltool")


def compiled(catalog: Catalog) -> bytes:
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    return buffer.getvalue()


def missing(catalog: Catalog, messages: Iterator[Message]) -> list[Message]:
    """MESSAGES the catalog has no translation for."""
    absent = []
    for message in messages:
        entry = catalog.get(message[0] if isinstance(message, tuple) else message)
        strings = entry.string if entry is not None else ""
        if not strings or (isinstance(strings, tuple) and not all(strings)):
            absent.append(message)
    return absent


def update() -> list[Message]:
    """Add the missing messages to the catalog, drop xltool's messages the code no longer has,
    and compile it; returns what is left to translate.

    Each entry says whose it is (`#: xltool` or `#: click`): a click message is kept when the
    installed click lacks it, since another supported release may print it."""
    catalog = read_catalog()
    ours = list(xltool_messages())
    theirs = list(click_messages())
    for owner, messages in (("xltool", ours), ("click", theirs)):
        for message in messages:
            key = message[0] if isinstance(message, tuple) else message
            if catalog.get(key) is None:
                catalog.add(message, string=("",) if isinstance(message, tuple) else "")
            entry = catalog.get(key)
            assert entry is not None
            entry.locations = [(owner, None)]
    current = {m[0] if isinstance(m, tuple) else m for m in ours}
    for entry in list(catalog):
        if entry.id and (("xltool", None) in entry.locations) and entry.id not in current:
            catalog.delete(entry.id)
    with CATALOG.open("wb") as file:
        write_po(file, catalog, width=0, omit_header=False, sort_output=False)
    CATALOG.with_suffix(".mo").write_bytes(compiled(read_catalog()))
    return missing(read_catalog(), iter([*ours, *theirs]))


if __name__ == "__main__":
    left = update()
    print(f"{len(left)} messages still to translate in {CATALOG}")
    for message in left:
        print("  ", message)
