"""What became of one received file: its status and its findings.

One record for everything that reports on a file — the run's JSON, the console,
the feedback workbooks, the store — so a status is written one way everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from xltool.findings import Finding


class Status(StrEnum):
    """A file's end: accepted, rejected (at least one error), a duplicate of bytes received
    before, or superseded by a newer accepted return of the same department in one run."""

    ACCEPTED = "accepted"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"
    SUPERSEDED = "superseded"

    @property
    def label(self) -> str:
        """The status as a clerk reads it, in the console and in every workbook."""
        return _LABELS[self]


_LABELS = {Status.ACCEPTED: "已接受", Status.REJECTED: "退回修改", Status.DUPLICATE: "重复报送",
           Status.SUPERSEDED: "已被新版替代"}


FINDING_KEYS = ("code", "severity", "sheet", "cell", "project", "value", "message", "fix")


@dataclass(frozen=True)
class FileOutcome:
    path: Path
    sha256: str
    status: Status
    kind: str
    department: str = ""
    template_id: str = ""
    findings: tuple[Finding, ...] = ()
    size: int = 0

    @property
    def errors(self) -> int:
        return sum(f.is_error for f in self.findings)

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path), "sha256": self.sha256, "status": self.status,
            "kind": self.kind, "department": self.department, "template_id": self.template_id,
            "findings": [{k: f.to_dict()[k] for k in FINDING_KEYS} for f in self.findings],
        }
