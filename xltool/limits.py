"""The limits a returned file is read within, and their `KEY=VALUE` settings.

A module of its own, importing nothing heavy, because the command line shows
them in `xltool collect --help` and parses `--limit` before any file is read.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, replace

from xltool.errors import BadLimit

MB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """Checked before the work, so a hostile file costs seconds and megabytes, not the run.

    Sizes are in bytes; the declared sizes, the ratio and the number of entries are
    checked for every entry of the zip, the actual sizes as each part is inflated.
    `max_cells` counts every sheet read as the rectangle from A1 to its last cell,
    because that is what the value reader builds in memory; `max_strings` counts the
    workbook's shared strings; both count over the parts that are read — parts never
    read are never inflated. `max_text_chars` is the longest text one input cell may hold.
    """

    max_file_bytes: int = 50 * MB
    max_part_bytes: int = 64 * MB
    max_total_bytes: int = 256 * MB
    max_entries: int = 2_000
    max_ratio: int = 200
    max_cells: int = 200_000
    max_strings: int = 200_000
    max_text_chars: int = 2_000


DEFAULT_LIMITS = Limits()

# `KEY=VALUE` settings (`xltool collect --limit`): the field each key sets and its unit.
LIMIT_KEYS: dict[str, tuple[str, int]] = {
    "file-mb": ("max_file_bytes", MB),
    "part-mb": ("max_part_bytes", MB),
    "total-mb": ("max_total_bytes", MB),
    "parts": ("max_entries", 1),
    "ratio": ("max_ratio", 1),
    "cells": ("max_cells", 1),
    "strings": ("max_strings", 1),
    "text": ("max_text_chars", 1),
}


def with_limits(settings: Iterable[str], base: Limits = DEFAULT_LIMITS) -> Limits:
    """BASE with settings such as `file-mb=100` or `cells=500000` applied; BadLimit else."""
    changes: dict[str, int] = {}
    for setting in settings:
        key, _, text = setting.partition("=")
        key = key.strip().lower()
        if key not in LIMIT_KEYS:
            raise BadLimit(setting, key, known=tuple(LIMIT_KEYS))
        try:
            number = float(text)
        except ValueError:
            number = math.nan
        if not (math.isfinite(number) and number > 0):
            raise BadLimit(setting, key, known=tuple(LIMIT_KEYS))
        name, unit = LIMIT_KEYS[key]
        changes[name] = max(1, int(number * unit))
    return replace(base, **changes)


def limit_settings(limits: Limits = DEFAULT_LIMITS) -> list[str]:
    """LIMITS as the `KEY=VALUE` settings that give them: `file-mb=50`, …"""
    shown = []
    for key, (name, unit) in LIMIT_KEYS.items():
        value = getattr(limits, name) / unit
        shown.append(f"{key}={value:g}")
    return shown
