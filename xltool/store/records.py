"""What the store holds, as Python sees it: the records, a received file's status, and the
base its two repositories share (one connection, one transaction at a time)."""

from __future__ import annotations

import functools
import hashlib
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from decimal import Decimal
from enum import StrEnum
from pathlib import Path


class Status(StrEnum):
    """What a received file is: accepted (and in force), rejected (at least one error), a
    duplicate of bytes received before, superseded (accepted, but another return or a
    re-issued template has taken its place), the issued template itself unchanged, or a
    return of a template re-issued since (stale). See `xltool.store.chain` for the rules."""

    ACCEPTED = "accepted"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"
    SUPERSEDED = "superseded"
    UNCHANGED = "unchanged"
    STALE = "stale"

    @property
    def label(self) -> str:
        """The status as a clerk reads it, in the console and in every workbook."""
        return _LABELS[self]


_LABELS = {Status.ACCEPTED: "已接受", Status.REJECTED: "退回修改", Status.DUPLICATE: "重复报送",
           Status.SUPERSEDED: "已被新版替代", Status.UNCHANGED: "与下发模板相同",
           Status.STALE: "模板已更新"}


@dataclass(frozen=True)
class IssuedTemplate:
    template_id: str
    year: int | None
    profile: str
    profile_version: int
    department_code: str
    department: str
    file_name: str
    sha256: str
    password: str
    ledger_file: str
    issued_at: str


TEMPLATE_COLUMNS = tuple(f.name for f in fields(IssuedTemplate))


@dataclass(frozen=True)
class IssuedFile:
    """One issued copy of a template: a template issued again (unchanged, or changed back)
    keeps every earlier copy with its own hash and password, so each is still recognised."""

    sha256: str
    template_id: str
    file_name: str
    password: str
    ledger_file: str
    issued_at: str


ISSUED_FILE_COLUMNS = tuple(f.name for f in fields(IssuedFile))


@dataclass(frozen=True)
class IssuedProject:
    template_id: str
    position: int
    project_code: str
    project_name: str
    sheet: str
    total: Decimal | None
    fiscal: Decimal | None
    other: Decimal | None
    carryover: Decimal | None


@dataclass(frozen=True)
class ReceivedFile:
    """One received file and what became of it; `stored_path` is its kept copy.

    `original_name` is the name as a clerk reads it; a name that is not text (bytes that
    are not UTF-8, as a zip made on a Chinese Windows unpacks) is shown decoded there
    (`xltool.text.shown_file_name`) and kept exactly in `original_name_bytes`."""

    sha256: str
    original_name: str
    size: int
    received_at: str
    kind: str
    status: str
    template_id: str
    department_code: str
    year: int | None
    stored_path: str
    original_name_bytes: bytes | None = None
    mailed_at: str | None = None
    """When the office received it by mail (the mail's date, UTC), where known."""
    examined_with: str | None = None
    """The xltool release and read limits its outcome was found with (JSON; None for files
    received before they were recorded)."""

    @property
    def received(self) -> str:
        """When the office received it, as the submission chain orders returns: the mail's
        date where known, otherwise when it was collected."""
        return self.mailed_at or self.received_at


RECEIVED_COLUMNS = tuple(f.name for f in fields(ReceivedFile))


class Repository:
    """One part of an open store: its connection and its path (its real file: `open_store`
    resolves links, and the kept copies lie beside it)."""

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self.connection = connection
        self.path = path

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """All or nothing: an interrupted write leaves the store as it was."""
        with self.connection:
            self.connection.execute("BEGIN IMMEDIATE")
            yield self.connection


@functools.lru_cache(maxsize=4096)
def _stored_amount(value: str) -> Decimal:
    return Decimal(value)  # immutable: one per text, shared by every project of that amount


_new_project = functools.partial(object.__new__, IssuedProject)


def project(template_id: str, position: int, project_code: str, project_name: str, sheet: str,
            total: str | None, fiscal: str | None, other: str | None,
            carryover: str | None) -> IssuedProject:
    """An issued project from its stored columns, as `IssuedProject(...)` makes it, at a third
    of the cost: collect reads a template's projects for every return, and a frozen
    dataclass sets each field through `object.__setattr__`."""
    made = _new_project()
    vars(made).update(
        template_id=template_id, position=position, project_code=project_code,
        project_name=project_name, sheet=sheet,
        total=_stored_amount(total) if total else None,
        fiscal=_stored_amount(fiscal) if fiscal else None,
        other=_stored_amount(other) if other else None,
        carryover=_stored_amount(carryover) if carryover else None)
    return made


def decimal_of(value: str | None) -> Decimal | None:
    return Decimal(value) if value not in (None, "") else None


def text_of(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def profile_digest(toml: str) -> str:
    """What a profile's text is kept under, once however many templates were issued with it."""
    return hashlib.sha256(toml.encode()).hexdigest()
