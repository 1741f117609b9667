"""A department's template before it is written: its forms, sheet names and identity."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from xltool.ledger import LedgerProject
from xltool.names import DEPARTMENT, TEMPLATE_ID, YEAR
from xltool.profile import FormProfile
from xltool.template.layout import ProjectForm, project_form
from xltool.template.prefill import Prefill
from xltool.xlsxout import excel_sheet_name

_FILE_FORBIDDEN = re.compile(r'[\\/:*?"<>|\x00-\x1f]')
COVER_SHEET = "填报说明"


@dataclass(frozen=True)
class CoverInfo:
    issuer: str = ""
    deadline: str = ""
    contact: str = ""


@dataclass(frozen=True)
class DepartmentPlan:
    template_id: str
    year: int | None
    profile: FormProfile
    department_code: str
    department: str
    forms: tuple[ProjectForm, ...]
    cover: CoverInfo

    @property
    def issuer(self) -> str:
        return self.cover.issuer

    @property
    def title(self) -> str:
        return f"{self.year or ''}年项目支出预算绩效目标填报表（{self.department}）"

    @property
    def identity(self) -> dict[str, str]:
        """What `collect` reads back to know which issued template a return is."""
        return {
            TEMPLATE_ID: self.template_id,
            YEAR: str(self.year or ""),
            "profile": self.profile.name,
            "profile_version": str(self.profile.version),
            DEPARTMENT: self.department_code,
            "project_count": str(len(self.forms)),
        }

    @property
    def file_name(self) -> str:
        return workbook_name(self.year, self.department_code, self.department)


def workbook_name(year: int | None, department_code: str, department: str) -> str:
    """The workbook's name: known from the ledger alone, before anything is planned."""
    name = f"{year or ''}年_{department_code}_{department}_绩效目标表"
    return _FILE_FORBIDDEN.sub("_", name)[:150] + ".xlsx"


def sheet_name(position: int, project_name: str, used: set[str]) -> str:
    """`01 项目名称`: the project's name as the ledger writes it, made a sheet name by
    Excel's rules (`excel_sheet_name`: cut to 31 of Excel's units, unique in USED)."""
    name = project_name.strip(" '") or "项目"
    return excel_sheet_name(f"{position:02d} {name}", used, fallback=f"{position:02d} 项目")


def plan_department(profile: FormProfile, projects: Sequence[LedgerProject], prefill: Prefill,
                    cover: CoverInfo) -> DepartmentPlan:
    used = {COVER_SHEET.lower()}
    forms = []
    for position, project in enumerate(projects, start=1):
        goal, indicators = prefill.for_project(project.code)
        sheet = sheet_name(position, project.name, used)
        forms.append(project_form(profile, project, position, sheet, indicators, goal))
    first = projects[0]
    template_id = _template_id(profile, first, forms)
    return DepartmentPlan(template_id, first.year, profile, first.department_code,
                          first.department, tuple(forms), cover)


def _template_id(profile: FormProfile, first: LedgerProject, forms: list[ProjectForm]) -> str:
    """Deterministic: the same ledger, profile and prefill give the same id."""
    digest = hashlib.sha256(f"{profile.name}:{profile.version}".encode())
    for form in forms:
        digest.update(form.sheet.encode())
        digest.update("".join(f"{c.row},{c.col},{c.value!s}|" for c in form.cells).encode())
    return f"{first.year or 0}-{first.department_code}-{digest.hexdigest()[:10]}"
