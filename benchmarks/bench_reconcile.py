"""Benchmark: `reconcile` beside the bare pandas merge of the same two tables.

    python benchmarks/bench_reconcile.py [--projects 10000] [--per-department 1]
                                         [--every 100] [--repeat 3]

Builds a ledger of PROJECTS projects, PER_DEPARTMENT to a department, and a
store holding per department an issued template and an accepted return with a
full set of targets (every required category, costs equal to the total). The
store is written through its API (`record_template`, `record_received`), not
from workbooks: reading returns is what bench_collect measures. Then every
EVERY-th project is changed in the ledger (a budget raised, a project renamed,
one withdrawn, one added), so the report has rows to write.

Timed, best of REPEAT: `reconcile` without and with the report workbook, and
`pandas.merge` of the ledger frame with the returned-projects frame on the
project code (both frames built before the clock starts), with the ratio.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

from xltool.ledger import Ledger, load_ledger
from xltool.profile import read_profile
from xltool.reconcile import reconcile
from xltool.store import IssuedProject, IssuedTemplate, ReceivedFile, Store, open_store
from xltool.targets import Indicator, Targets

T = TypeVar("T")

HEADER = ["年度", "主管部门编码", "主管部门", "项目编码", "项目名称", "年度资金总额", "财政拨款",
          "其他资金", "结余结转"]
PROFILE = "ningxia-2021"
ISSUED_AT = "2024-01-01T00:00:00+00:00"
FORM, FORM_TEXT = read_profile(PROFILE)


def projects(count: int, per_department: int) -> list[dict[str, Any]]:
    rows = []
    for number in range(count):
        department = f"{number // per_department + 1:06d}"
        rows.append({"department": department, "name": f"第{department}局",
                     "code": f"{department}-{number % per_department + 1:04d}",
                     "project": f"第{number + 1}号项目工作经费", "total": Decimal(30),
                     "fiscal": Decimal(20), "other": Decimal(5), "carryover": Decimal(5)})
    return rows


def changed(rows: list[dict[str, Any]], every: int) -> list[dict[str, Any]]:
    """The ledger after the templates went out: every EVERY-th project changed in turn."""
    result = []
    for number, row in enumerate(rows):
        turn = number // every % 4 if number % every == 0 else -1
        if turn == 0:
            row = {**row, "total": row["total"] + 2, "fiscal": row["fiscal"] + 2}
        elif turn == 1:
            row = {**row, "project": row["project"] + "（调整）"}
        elif turn == 2:
            continue
        result.append(row)
        if turn == 3:
            result.append({**row, "code": row["code"] + "-N", "project": f"新增项目{number}"})
    return result


def write_ledger(path: Path, rows: list[dict[str, Any]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for r in rows:
            writer.writerow(["2024", r["department"], r["name"], r["code"], r["project"],
                             r["total"], r["fiscal"], r["other"], r["carryover"]])
    return path


def fill_store(path: Path, rows: list[dict[str, Any]]) -> int:
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(row["department"], []).append(row)
    with open_store(path) as store:
        for department, group in groups.items():
            record_department(store, department, group)
    return len(groups)


def record_department(store: Store, department: str, group: list[dict[str, Any]]) -> None:
    template_id = f"2024-{department}-bench"
    store.record_template(IssuedTemplate(
        template_id=template_id, year=2024, profile=PROFILE,
        profile_version=FORM.version, department_code=department,
        department=group[0]["name"], file_name=f"{department}.xlsx", sha256="0" * 64,
        password="bench", ledger_file="ledger.csv", issued_at=ISSUED_AT), [
        IssuedProject(template_id, position, r["code"], r["project"], f"{position:02d}",
                      r["total"], r["fiscal"], r["other"], r["carryover"])
        for position, r in enumerate(group, start=1)], [], profile=FORM_TEXT)
    received = ReceivedFile(
        sha256=hashlib.sha256(template_id.encode()).hexdigest(), original_name="return.xlsx",
        size=0, received_at=ISSUED_AT, kind="xlsx", status="accepted", template_id=template_id,
        department_code=department, year=2024, stored_path="")
    store.record_received(received, [], targets(group))


def targets(group: list[dict[str, Any]]) -> Targets:
    indicators = []
    for row in group:
        for c in FORM.categories:
            if c.required:
                value = {"cost": f"{row['total']}万元", "satisfaction": "≥95%"}.get(
                    c.role or "", "≥5次" if c.quantitative else "明显")
                indicators.append(Indicator(row["code"], c.level1, c.level2, c.level2, value))
    return Targets(goals={r["code"]: "目标1：完成年度任务。" for r in group},
                   indicators=tuple(indicators))


def returned_frame(path: Path) -> pd.DataFrame:
    with open_store(path) as store:
        issued = store.issued_projects()
    return pd.DataFrame({"project_code": [p.project_code for p in issued],
                         "project_name": [p.project_name for p in issued],
                         "total": [p.total for p in issued]})


def best(repeat: int, run: Callable[[], T]) -> tuple[float, T]:
    """The fastest of REPEAT runs (at least one) and what the last run returned."""
    times = []
    for _ in range(max(repeat, 1)):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--projects", type=int, default=10_000)
    parser.add_argument("--per-department", type=int, default=1)
    parser.add_argument("--every", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        rows = projects(args.projects, args.per_department)
        start = time.perf_counter()
        departments = fill_store(base / "store.db", rows)
        print(f"store: {departments:,} accepted returns holding {len(rows):,} projects "
              f"(written in {time.perf_counter() - start:.1f} s)")
        ledger_path = write_ledger(base / "ledger.csv", changed(rows, args.every))
        load_seconds, loaded = best(1, lambda: load_ledger(ledger_path))
        print(f"ledger: {len(loaded.projects):,} projects (load_ledger {load_seconds:.2f} s)")
        report(base, loaded, args.repeat)


def report(base: Path, ledger: Ledger, repeat: int) -> None:
    store = base / "store.db"
    plain, result = best(repeat, lambda: reconcile(ledger, store=store))
    written, _ = best(repeat, lambda: reconcile(ledger, store=store, output=base / "r.xlsx"))
    left, right = ledger.frame(), returned_frame(store)
    merge, merged = best(repeat, lambda: pd.merge(left, right, left_on="项目编码",
                                                  right_on="project_code", how="outer",
                                                  indicator=True))
    kinds = result.kinds()
    print(f"differences: {sum(kinds.values()):,} {kinds}; merged rows: {len(merged):,}")
    print(f"{'step':36} {'seconds':>9} {'x merge':>9}")
    for name, seconds in (("reconcile, no report", plain), ("reconcile, with report", written),
                          ("pandas.merge (bare)", merge)):
        print(f"{name:36} {seconds:9.3f} {seconds / merge:9.0f}")


if __name__ == "__main__":
    main()
