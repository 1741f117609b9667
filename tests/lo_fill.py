"""Type values into a workbook's named input cells in a running LibreOffice, save as xlsx.

Runs under the Python that has LibreOffice's `uno` module (Debian: /usr/bin/python3 with
python3-uno), not the project's interpreter; `tests/fill.py` starts soffice and this script.
Only the standard library and `uno` are used.

    python3 lo_fill.py PIPE REQUEST.json

REQUEST is {"template": path, "out": path, "values": [[name, value], ...], "timeout": seconds}:
a number is entered as a number (setValue), a string as text (setString, so "=1+1" and
"≥95%" stay text), null clears the cell as the Delete key does. A name that does not exist,
or a locked cell on a protected sheet (where a user cannot type), is an error: exit status 2
and the reason on stderr.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from pathlib import Path
from typing import Any

import uno  # type: ignore[import-not-found]
from com.sun.star.beans import PropertyValue  # type: ignore[import-not-found]
from com.sun.star.connection import NoConnectException  # type: ignore[import-not-found]

XLSX_FILTER = "Calc MS Excel 2007 XML"
CLEAR = 1 | 2 | 4 | 16  # CellFlags VALUE | DATETIME | STRING | FORMULA: what Delete removes


class FillError(Exception):
    """The request cannot be carried out as a user would."""


def _props(**values: Any) -> tuple[Any, ...]:
    result = []
    for name, value in values.items():
        prop = PropertyValue()
        prop.Name, prop.Value = name, value
        result.append(prop)
    return tuple(result)


def _connect(pipe: str, deadline: float) -> Any:
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext(
        "com.sun.star.bridge.UnoUrlResolver", local)
    while True:
        try:
            return resolver.resolve(f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
        except NoConnectException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _type_into(document: Any, name: str, value: object) -> None:
    ranges = document.NamedRanges
    if not ranges.hasByName(name):
        raise FillError(f"no defined name {name!r}")
    target = ranges.getByName(name).getReferredCells()
    if target is None:
        raise FillError(f"{name!r} does not refer to cells")
    cell = target.getCellByPosition(0, 0)
    sheet = target.getSpreadsheet()
    if sheet.isProtected() and cell.CellProtection.IsLocked:
        raise FillError(f"{name!r} is a locked cell on protected sheet {sheet.Name!r}")
    if value is None:
        cell.clearContents(CLEAR)
    elif isinstance(value, bool) or not isinstance(value, int | float | str):
        raise FillError(f"{name!r}: cannot type {value!r}")
    elif isinstance(value, str):
        cell.setString(value)
    else:
        cell.setValue(float(value))


def fill(pipe: str, request: dict[str, Any]) -> None:
    deadline = time.monotonic() + float(request.get("timeout", 60))
    context = _connect(pipe, deadline)
    desktop = context.ServiceManager.createInstanceWithContext(
        "com.sun.star.frame.Desktop", context)
    try:
        url = Path(request["template"]).resolve().as_uri()
        document = desktop.loadComponentFromURL(url, "_blank", 0, _props(Hidden=True))
        if document is None:
            raise FillError(f"LibreOffice could not open {request['template']}")
        try:
            for name, value in request["values"]:
                _type_into(document, name, value)
            out = Path(request["out"]).resolve().as_uri()
            document.storeToURL(out, _props(FilterName=XLSX_FILTER, Overwrite=True))
        finally:
            document.close(True)
    finally:
        with contextlib.suppress(Exception):  # the bridge drops as soffice exits: the goal
            desktop.terminate()


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 64
    request = json.loads(Path(argv[2]).read_text(encoding="utf-8"))
    try:
        fill(argv[1], request)
    except FillError as error:
        print(error, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
