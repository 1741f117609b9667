"""Text normalisation shared by every reader: one definition of "the same text".

Departments type with Chinese input methods, so the same word arrives with
full-width letters, digits and spaces; keys must compare equal regardless.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal

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
