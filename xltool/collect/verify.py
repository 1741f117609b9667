"""`verify`: is every kept copy still there, and still the file that was received?

Each received file is kept beside the store under its SHA-256 (`keep`). A disk,
a backup restore or a person can lose or change a copy without anyone noticing;
this reads every copy again, hashes it and says which are missing or changed.
The store's record says where the copy was put; a store moved with its copies
folder is followed there.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from xltool.collect.keep import copy_path
from xltool.defaults import DEFAULT_STORE
from xltool.store import ReceivedFile, open_store

CHUNK = 1 << 20


class CopyState(StrEnum):
    OK = "ok"
    MISSING = "missing"
    CHANGED = "changed"
    NOT_KEPT = "not_kept"  # never kept: a file that could not even be read

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {CopyState.OK: "完好", CopyState.MISSING: "副本丢失", CopyState.CHANGED: "副本已被改动",
           CopyState.NOT_KEPT: "未保存副本"}


@dataclass(frozen=True)
class CopyCheck:
    sha256: str
    original_name: str
    department_code: str
    received_at: str
    path: Path | None
    state: CopyState

    def to_dict(self) -> dict[str, Any]:
        return {"sha256": self.sha256, "original_name": self.original_name,
                "department_code": self.department_code, "received_at": self.received_at,
                "path": str(self.path) if self.path else None, "state": self.state.value}


@dataclass(frozen=True)
class Verification:
    store: Path
    copies: tuple[CopyCheck, ...]

    @property
    def damaged(self) -> tuple[CopyCheck, ...]:
        return tuple(c for c in self.copies if c.state in (CopyState.MISSING, CopyState.CHANGED))

    @property
    def exit_code(self) -> int:
        return 1 if self.damaged else 0

    def to_dict(self) -> dict[str, Any]:
        counts = {state.value: sum(c.state == state for c in self.copies) for state in CopyState}
        return {"store": str(self.store), "copies": [c.to_dict() for c in self.copies],
                "summary": {"files": len(self.copies), **counts}}


def verify(*, store: Path | str = DEFAULT_STORE,
           progress: Callable[[int, int], None] | None = None) -> Verification:
    """Hash every kept copy of the files STORE has received; nothing is changed."""
    with open_store(store, create=False) as opened:
        received = opened.received_files()
        store_path = opened.path
    checks = []
    for done, record in enumerate(received, start=1):
        checks.append(_check(store_path, record))
        if progress:
            progress(done, len(received))
    return Verification(Path(store), tuple(checks))


def _check(store_path: Path, record: ReceivedFile) -> CopyCheck:
    path, state = _state(store_path, record)
    return CopyCheck(record.sha256, record.original_name, record.department_code,
                     record.received_at, path, state)


def kept_copy(store_path: Path, record: ReceivedFile) -> Path | None:
    """Where RECORD's copy is: as recorded, or beside the store (moved with its copies
    folder); None when it is in neither place."""
    recorded = Path(record.stored_path)
    return next((p for p in (recorded, copy_path(store_path, record.sha256, recorded.suffix))
                 if p.is_file()), None)


def _state(store_path: Path, record: ReceivedFile) -> tuple[Path | None, CopyState]:
    if record.stored_path in ("", "."):
        return None, CopyState.NOT_KEPT
    found = kept_copy(store_path, record)
    if found is None:
        return Path(record.stored_path), CopyState.MISSING
    return found, CopyState.OK if _sha256(found) == record.sha256 else CopyState.CHANGED


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
