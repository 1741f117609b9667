"""The names a template carries, which the return reader looks for: one contract, both sides.

A template's identity is written twice, in places that survive re-saving by
Excel, WPS and LibreOffice: custom document properties `xltool.{key}` and
workbook-level defined names `XT_{KEY}` (`XT_TEMPLATE_ID`, `XT_YEAR`, …).

Every input cell has a workbook-level defined name in one scheme, `XT_P{pp}_…`,
pp being the project's position in the workbook (01, 02, …):

- `XT_P01_GOAL` — the 年度总体目标;
- `XT_P01_C{cc}_R{rr}_NAME` / `_VALUE` / `_WEIGHT` — indicator row rr (01…) of
  category cc (the category's position in the profile, 01…);
- `XT_P01_SUPERVISOR`, `XT_P01_ATTRIBUTE`, … — header fields the department fills;
- `XT_P01_CODE` — the project code (a constant, part of the identity).
"""

from __future__ import annotations

import re
from enum import StrEnum

NAME_PREFIX = "XT_"
# Identity keys both sides use by name (the writer writes every key of the plan's identity).
TEMPLATE_ID, YEAR, DEPARTMENT = "template_id", "year", "department"

# What an indicator input cell holds: the `field` the store records for it.
FIELD_NAME = "name"
FIELD_VALUE = "value"
FIELD_WEIGHT = "weight"

_INDICATOR_NAME = re.compile(r"^XT_P(\d{2,})_C(\d{2,})_R(\d{2,})_(NAME|VALUE|WEIGHT)$")


def identity_property(key: str) -> str:
    """The custom document property of identity KEY: `xltool.template_id`, …"""
    return f"xltool.{key}"


def identity_name(key: str) -> str:
    """The defined name of identity KEY: `XT_TEMPLATE_ID`, …"""
    return f"{NAME_PREFIX}{key.upper()}"


class Output(StrEnum):
    """What xltool writes for people, as its custom property `xltool.output` says: an inbox
    often holds the feedback mailed back with the returns, and collect knows its own
    outputs by it. Templates carry none: they come back filled, as returns."""

    FEEDBACK = "feedback"
    SUMMARY = "summary"
    REPORT = "report"
    DISCLOSURE = "disclosure"
    TARGETS = "targets"
    STATUS = "status"


OUTPUT_PROPERTY = identity_property("output")
"""`xltool.output`: beside the identity, in the part collect reads for it."""


def project_prefix(position: int) -> str:
    """What every name of the project at POSITION (1, 2, …) starts with: `XT_P01_`."""
    return f"{NAME_PREFIX}P{position:02d}_"


def indicator_prefix(project: str, category: int, row: int) -> str:
    """An indicator row's names after PROJECT's prefix: `XT_P01_C03_R02_` (+ NAME, VALUE…)."""
    return f"{project}C{category:02d}_R{row:02d}_"


def indicator_slot(name: str) -> tuple[int, int, int] | None:
    """(project position, category number, row) of an indicator input name, else None."""
    match = _INDICATOR_NAME.match(name)
    return (int(match[1]), int(match[2]), int(match[3])) if match else None


def is_project_code(name: str) -> bool:
    """`XT_P01_CODE`: a constant of the identity, not a cell anyone fills."""
    return name.startswith(NAME_PREFIX) and name.endswith("_CODE")
