"""xltool: the yearly round trip of budget performance-target forms (项目支出预算绩效目标表).

The library does the work; `xltool.cli` is a thin layer over these functions.
"""

from xltool.errors import XltoolError
from xltool.findings import Finding, Severity, findings_frame
from xltool.ledger import Ledger, LedgerProject, load_ledger
from xltool.profile import FormProfile, available_profiles, load_profile
from xltool.targets import Indicator, Targets, read_targets, write_targets
from xltool.template import TemplateRun, issue_templates
from xltool.values import TargetValue, parse_value

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
