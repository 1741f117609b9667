"""What became of one received file: its status and its findings.

One record for everything that reports on a file — the run's JSON, the console,
the feedback workbooks — with the `Status` the store records for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xltool.findings import Finding
from xltool.store.records import Status
from xltool.text import shown_file_name, shown_path

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
    earlier: Status | None = None
    """A duplicate's recorded outcome: the status its bytes got when first received (its
    findings are that file's)."""

    @property
    def errors(self) -> int:
        return sum(f.is_error for f in self.findings)

    @property
    def name(self) -> str:
        """The file's name as a clerk reads it: `path` is the file's own, which may not be
        text (`xltool.text.shown_file_name`)."""
        return shown_file_name(self.path.name)

    @property
    def standing(self) -> Status:
        """What the file counts as: a duplicate counts as what its bytes were found to be."""
        return self.earlier or self.status

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": shown_path(self.path), "sha256": self.sha256, "status": self.status,
            "kind": self.kind, "department": self.department, "template_id": self.template_id,
            "earlier_status": self.earlier,
            "findings": [{k: f.to_dict()[k] for k in FINDING_KEYS} for f in self.findings],
        }
