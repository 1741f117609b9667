"""Shared test helpers: small ledgers and targets built inline, the bundled samples."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest

from xltool.store import open_store

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"

LEDGER_HEADER = ["年度", "主管部门编码", "主管部门", "实施单位", "项目编码", "项目名称",
                 "项目属性", "项目期", "年度资金总额", "财政拨款", "其他资金", "结余结转",
                 "项目主管处室", "联系邮箱"]


def ledger_row(code: str, name: str, *, department: tuple[str, str] = ("001", "示例局"),
               total: str = "10", fiscal: str | None = None, **extra: Any) -> dict[str, str]:
    row = {h: "" for h in LEDGER_HEADER}
    row.update({"年度": "2024", "主管部门编码": department[0], "主管部门": department[1],
                "实施单位": department[1], "项目编码": code, "项目名称": name,
                "项目属性": "经常性项目", "项目期": "1年", "年度资金总额": total,
                "财政拨款": fiscal if fiscal is not None else total})
    row.update({k: str(v) for k, v in extra.items()})
    return row


def write_ledger(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=LEDGER_HEADER)
        writer.writeheader()
        writer.writerows(rows)
    return path


def issue_two_departments(folder: Path) -> list[Any]:
    """Templates of two departments of one project each, issued into FOLDER/templates and
    recorded in FOLDER/x.db."""
    from xltool.template import issue_templates

    ledger = write_ledger(folder / "ledger.csv", [
        ledger_row("001-01", "办公经费", total="10"),
        ledger_row("002-01", "运维经费", department=("002", "第二局"), total="30"),
    ])
    return list(issue_templates(ledger, folder / "templates", store=folder / "x.db").workbooks)


GOOD_VALUES = {"quantity": "≥5次", "satisfaction": "≥95%", "text": "明显"}


def complete_values(store_path: Path, template_id: str) -> dict[str, object]:
    """A return a careful department would send: every required category, costs = total
    (by the profile the template was issued with)."""
    with open_store(store_path) as store:
        issued = store.issued_form(template_id)
    assert issued is not None and issued.profile is not None
    form, store_cells = issued.profile, issued.cells()
    totals = {p.project_code: p.total for p in issued.projects}
    values: dict[str, object] = {}
    for cell in store_cells:
        if cell.field == "goal":
            values[cell.name] = f"目标1：完成{cell.project_code}的年度任务。"
        if not cell.name.endswith("_R01_NAME"):
            continue
        number = int(cell.name.split("_C")[1][:2])
        category = form.categories[number - 1]
        if not category.required:
            continue
        values[cell.name] = f"{category.level2}的指标"
        value = GOOD_VALUES.get(category.role or ("quantity" if category.quantitative else "text"))
        if category.role == "cost":
            value = f"{totals[cell.project_code]}万元"
        values[cell.name.replace("_NAME", "_VALUE")] = value
    return values


WEIGHTED_TEXTS = {1: "全年督查不少于 50 次", 2: "督查完成率100%", 3: "12月底前完成",
                  4: "督查经费≤20万元", 6: "群众办事便利度明显提升", 8: "长效机制逐步健全",
                  9: "服务对象满意度≥95%"}


def weighted_values(**more: object) -> dict[str, object]:
    """A complete return of the one-project `weighted` form: a goal, an indicator of weight
    10 in each category of WEIGHTED_TEXTS, and MORE."""
    values: dict[str, object] = {"XT_P01_GOAL": "全年完成督查任务。"}
    for number, text in WEIGHTED_TEXTS.items():
        values[f"XT_P01_C{number:02d}_R01_NAME"] = text
        values[f"XT_P01_C{number:02d}_R01_WEIGHT"] = 10
    return {**values, **more}


@pytest.fixture
def small_ledger(tmp_path: Path) -> Path:
    """Two departments, three projects; one name is a would-be formula."""
    return write_ledger(tmp_path / "ledger.csv", [
        ledger_row("001-01", "办公经费"),
        ledger_row("001-02", "=1+1", total="5.5"),
        ledger_row("002-01", "信息化建设[一期]/运维:测试*?经费超长名称用于检验工作表名称截断",
                   department=("002", "第二局"), total="30", fiscal="20", 其他资金="10"),
    ])
