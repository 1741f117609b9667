"""`history` and `reinstate`: a department's submission chain, and the office's hand on it.

`history` lists what the store holds of one department: every copy of its template
issued, every file received from it in the order the office received them, what each
was found to be, and which return is in force. `reinstate` puts an earlier accepted
return back in force, recording when and why; the rules it works within are
`xltool.store.chain`'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xltool.defaults import DEFAULT_STORE
from xltool.errors import CannotReinstate, UnknownDepartment, UnknownReturn
from xltool.store import (
    ChainEntry,
    IssuedFile,
    IssuedTemplate,
    ReceivedFile,
    Status,
    Store,
    exclusive,
    open_store,
)
from xltool.store.chain import now
from xltool.text import normalise_key

SHORTEST_PREFIX = 8  # characters of a hash a clerk may give for the whole


@dataclass(frozen=True)
class DepartmentHistory:
    department_code: str
    department: str
    template_in_force: str | None
    issued: tuple[IssuedFile, ...]
    files: tuple[ChainEntry, ...]

    @property
    def in_force(self) -> ChainEntry | None:
        return next((entry for entry in self.files if entry.in_force), None)

    def to_dict(self) -> dict[str, Any]:
        in_force = self.in_force
        return {"department_code": self.department_code, "department": self.department,
                "template_in_force": self.template_in_force,
                "in_force": in_force.file.sha256 if in_force else None,
                "issued": [{"sha256": i.sha256, "template_id": i.template_id,
                            "file_name": i.file_name, "issued_at": i.issued_at,
                            "ledger_file": i.ledger_file} for i in self.issued],
                "files": [entry.to_dict() for entry in self.files]}


def history(department: str, *, store: Path | str = DEFAULT_STORE) -> DepartmentHistory:
    """The chain of DEPARTMENT (its code, or its name as the ledger gives it)."""
    with open_store(store, create=False) as opened, opened.snapshot():
        template = _department(opened, department)
        code = template.department_code
        return DepartmentHistory(
            code, template.department, opened.template_in_force(code, template.year),
            tuple(opened.issued_files(code)), tuple(opened.chain(code)))


def _department(store: Store, wanted: str) -> IssuedTemplate:
    """The department's template issued last, found by code or by name."""
    wanted, key = wanted.strip(), normalise_key(wanted)  # a name is matched as a key
    templates = store.templates()
    for matches in ([t for t in templates if t.department_code == wanted],
                    [t for t in templates if normalise_key(t.department) == key]):
        if matches:
            return max(matches, key=lambda t: t.issued_at)
    raise UnknownDepartment(f"存储中没有向“{wanted}”下发过模板（请用主管部门编码或全称）")


@dataclass(frozen=True)
class Reinstatement:
    sha256: str
    original_name: str
    department_code: str
    reason: str
    reinstated_at: str | None
    """None when the return was in force already: nothing was recorded."""
    displaced: str | None
    """The return that was in force until now."""

    def to_dict(self) -> dict[str, Any]:
        return {"sha256": self.sha256, "original_name": self.original_name,
                "department_code": self.department_code, "reason": self.reason,
                "reinstated_at": self.reinstated_at, "displaced": self.displaced,
                "changed": self.reinstated_at is not None}


def reinstate(sha256: str, reason: str, *, store: Path | str = DEFAULT_STORE) -> Reinstatement:
    """Put the accepted return SHA256 (or a unique beginning of it, 8 characters at least)
    back in force, for REASON: recorded with the time, in the department's history."""
    reason = reason.strip()
    if not reason:
        raise CannotReinstate("请用 --reason 写明恢复的理由（将记入该部门的报送记录）")
    with exclusive(store), open_store(store, create=False) as opened:
        received = _received(opened, sha256)
        chain = opened.chain(received.department_code)
        entry = _entry(opened, received, chain)
        current = next((e for e in chain if e.in_force), None)
        if entry.in_force:
            return Reinstatement(received.sha256, received.original_name,
                                 received.department_code, reason, None, None)
        at = now()
        opened.reinstate(received.sha256, reason, at=at)
    return Reinstatement(received.sha256, received.original_name, received.department_code,
                         reason, at, current.file.sha256 if current else None)


def _received(store: Store, wanted: str) -> ReceivedFile:
    wanted = wanted.strip().lower()
    if len(wanted) < SHORTEST_PREFIX:
        raise UnknownReturn(f"“{wanted}”太短：请给出文件 SHA-256 的前 {SHORTEST_PREFIX} 位以上"
                            "（见 xltool history）")
    matches = store.received_like(wanted)
    if not matches:
        raise UnknownReturn(f"没有收到过 SHA-256 以“{wanted}”开头的文件（见 xltool history）")
    if len(matches) > 1:
        raise UnknownReturn(f"不止一个文件的 SHA-256 以“{wanted}”开头，请多给几位"
                            "（见 xltool history）")
    received = store.received(matches[0])
    assert received is not None  # listed a moment ago, in the same locked store
    return received


def _entry(store: Store, received: ReceivedFile, chain: list[ChainEntry]) -> ChainEntry:
    """The file's place in its chain, once it is sure it may be put in force."""
    if not store.kept_targets(received.sha256):
        raise CannotReinstate(
            f"{received.original_name}：{Status(received.status).label}，从未被接受，"
            "不能恢复为有效版本")
    in_force = store.template_in_force(received.department_code, received.year)
    if received.template_id != in_force:
        raise CannotReinstate(
            f"{received.original_name}：所用模板 {received.template_id} 之后已重新下发"
            f"（现行模板 {in_force}），不能恢复为有效版本；请部门用现行模板重新报送")
    return next(e for e in chain if e.file.sha256 == received.sha256)
