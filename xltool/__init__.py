"""xltool: the yearly round trip of budget performance-target forms (项目支出预算绩效目标表).

The library does the work; `xltool.cli` is a thin layer over these functions.

The names below are loaded on first use (PEP 562): `import xltool` costs almost
nothing, so the command line, which imports this package first, starts at once
and loads pandas, openpyxl and xlsxwriter only for the command that needs them.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # what type checkers and editors see
    from xltool.errors import XltoolError
    from xltool.findings import Finding, Severity, findings_frame
    from xltool.ledger import Ledger, LedgerProject, load_ledger
    from xltool.profile import FormProfile, available_profiles, load_profile
    from xltool.targets import Indicator, Targets, read_targets, write_targets
    from xltool.template import TemplateRun, issue_templates
    from xltool.values import TargetValue, parse_value

_HOMES = {
    "XltoolError": "xltool.errors",
    "Finding": "xltool.findings",
    "Severity": "xltool.findings",
    "findings_frame": "xltool.findings",
    "Ledger": "xltool.ledger",
    "LedgerProject": "xltool.ledger",
    "load_ledger": "xltool.ledger",
    "FormProfile": "xltool.profile",
    "available_profiles": "xltool.profile",
    "load_profile": "xltool.profile",
    "Indicator": "xltool.targets",
    "Targets": "xltool.targets",
    "read_targets": "xltool.targets",
    "write_targets": "xltool.targets",
    "TemplateRun": "xltool.template",
    "issue_templates": "xltool.template",
    "TargetValue": "xltool.values",
    "parse_value": "xltool.values",
}

__all__ = [
    "Finding",
    "FormProfile",
    "Indicator",
    "Ledger",
    "LedgerProject",
    "Severity",
    "TargetValue",
    "Targets",
    "TemplateRun",
    "XltoolError",
    "available_profiles",
    "findings_frame",
    "issue_templates",
    "load_ledger",
    "load_profile",
    "parse_value",
    "read_targets",
    "write_targets",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'xltool' has no attribute {name!r}")
    value = getattr(import_module(home), name)
    globals()[name] = value  # the next lookup is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOMES])
