"""Problems are data: one record type for everything xltool finds wrong.

The same `Finding` rows feed the console, `--json`, the store and the feedback
workbooks, so every field has a fixed meaning and codes are stable.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, kw_only=True)
class Finding:
    """One problem, located precisely enough that a clerk can go and fix it.

    `row`/`column` locate it in a table (the ledger); `sheet`/`cell` in a form.
    """

    code: str
    severity: Severity
    message: str
    fix: str = ""
    file: str = ""
    department: str = ""
    project: str = ""
    sheet: str = ""
    cell: str = ""
    row: int | None = None
    column: str = ""
    value: str = ""

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    @property
    def where(self) -> str:
        """`项目1!D12`, `第5行 项目编码`, or the file name."""
        if self.sheet and self.cell:
            return f"{self.sheet}!{self.cell}"
        if self.row is not None:
            return f"第{self.row}行 {self.column}".rstrip()
        return self.sheet or self.column or self.file

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["severity"] = self.severity.value
        return data


FINDING_COLUMNS = [field.name for field in fields(Finding)]


def findings_frame(findings: Iterable[Finding]) -> pd.DataFrame:
    """The findings as a tidy table with fixed columns (empty table included)."""
    import pandas as pd  # here, not above: a command that shows no table starts without it

    return pd.DataFrame([f.to_dict() for f in findings], columns=FINDING_COLUMNS)
