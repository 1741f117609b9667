"""Text shared by every reader: one definition of "the same text", and of a cell as text.

Departments type with Chinese input methods, so the same word arrives with
full-width letters, digits and spaces; keys must compare equal regardless.
"""

from __future__ import annotations

import math
import os
import re
import unicodedata
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

_SPACE_RUN = re.compile(r"\s+")


def normalise_text(value: object) -> str:
    """NFKC-fold, turn every run of white space (full-width too) into one space, trim."""
    if value is None:
        return ""
    text = unicodedata.normalize("NFKC", str(value))
    return _SPACE_RUN.sub(" ", text).strip()


def normalise_key(value: object) -> str:
    """A code or name used to match records: normalised text without any spaces."""
    return normalise_text(value).replace(" ", "")


def excel_length(text: str) -> int:
    """TEXT's length as Excel counts it: UTF-16 code units, so a character outside the Basic
    Multilingual Plane (a rare place-name character such as 𡐓) counts two."""
    return len(text) + sum(1 for char in text if char > "\uffff")


def excel_cut(text: str, limit: int) -> str:
    """The longest start of TEXT within LIMIT of Excel's units (`excel_length`): a character
    outside the BMP is kept whole or left out, never split into half a surrogate pair."""
    if len(text) * 2 <= limit:  # within the limit whatever it holds: the common case
        return text
    used = 0
    for index, char in enumerate(text):
        used += 2 if char > "\uffff" else 1
        if used > limit:
            return text[:index]
    return text


def code_text(value: object) -> str:
    """A code as text: spreadsheets turn `0812` into 812 and 812 into 812.0; undo the latter."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float | Decimal) and value == int(value):
        return str(int(value))
    return normalise_key(value)


def shown_number(value: float) -> str:
    """A number as Excel shows it: 812 not 812.0, 0.1 not 0.1000000000000000055, never with
    an exponent (a spreadsheet's 1E-05 is 0.00001 to the clerk)."""
    if not math.isfinite(value):
        return repr(value)
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return format(Decimal(repr(value)), "f")  # via the shortest repr: 0.1 stays 0.1


def cell_text(value: Any) -> str:
    """A cell value as a clerk sees it, trimmed: 100 not 100.0, dates as 2024-01-31."""
    if value.__class__ is str:  # most cells: asked first
        return "" if not value else value.strip().strip("\u3000").strip()
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return shown_number(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return value.isoformat(sep=" ") if value.time() != time() else value.date().isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value).strip().strip("\u3000").strip()


# -- file names ----------------------------------------------------------------------------
#
# A POSIX file name is bytes. Python gives the bytes that are not UTF-8 as surrogate escapes
# (`os.fsdecode`), which no UTF-8 writer accepts: SQLite, JSON on stdout and xlsxwriter all
# raise on them. Such a name is most often GBK/GB18030: what `unzip` gives for a zip made on
# a Chinese Windows, and what a share mounted without a character set shows.


def file_name_bytes(name: str) -> bytes | None:
    """The bytes of a file name that is not text (surrogate escapes in it); None for a name
    that is text, which is then its own exact record."""
    if name.isascii():
        return None
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(name)
    return None


def shown_file_name(name: str) -> str:
    """A file name as a clerk reads it: itself when it is text; else its bytes decoded as
    GB18030 where they decode, or as UTF-8 with a replacement character for each bad byte."""
    raw = file_name_bytes(name)
    if raw is None:
        return name
    try:
        return raw.decode("gb18030")
    except UnicodeDecodeError:
        return raw.decode("utf-8", errors="replace")


def shown_path(path: os.PathLike[str] | str) -> str:
    """A path as a clerk reads it: each of its names as `shown_file_name` shows it (a folder
    unpacked from a Chinese zip can be GB18030 as well as the file)."""
    text = os.fspath(path)
    if file_name_bytes(text) is None:
        return text
    head, name = os.path.split(text)
    return os.path.join(shown_path(head), shown_file_name(name)) if head and head != text \
        else shown_file_name(text)


def shown_time(stamp: str | None) -> str:
    """A time the store holds (ISO 8601, UTC) as a clerk reads it: local, to the minute."""
    if not stamp:
        return ""
    try:
        return datetime.fromisoformat(stamp).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return stamp
