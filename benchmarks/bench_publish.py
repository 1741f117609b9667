"""Benchmark: `publish` of a large year, straight from a store filled through its API.

    python benchmarks/bench_publish.py [--projects 10000] [--per-department 20] [--indicators 12]

Fills a store with PROJECTS projects in departments of PER_DEPARTMENT, each
department with an issued template (projects and header cells recorded as
`xltool template` records them) and an accepted return holding a goal and
INDICATORS indicators per project. Then, in a fresh process so that its peak
memory is its own, times `publish` with `--targets-out` and prints seconds
and peak memory (VmHWM of that process: ru_maxrss would carry over the peak of
the process that started it, since it survives exec).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from xltool.profile import load_profile, read_profile
from xltool.store import IssuedCell, IssuedProject, IssuedTemplate, ReceivedFile, Store, open_store
from xltool.targets import Indicator, Targets

YEAR = 2024
PROFILE_TEXT = read_profile("ningxia-2021")[1]
TARGET_SECONDS, TARGET_MB = 60.0, 1024.0
VALUES = ("≥95%", "100次", "≤20万元", "明显", "不少于 50 次", "2小时内", "313批/374人次",
          "有所提升", "12个月", "97%以上")
HEADER = (("project_name", "项目名称"), ("department", "主管部门"), ("unit", "实施单位"),
          ("attribute", "项目属性"), ("period", "项目期"))


def _template(number: int, code: str, projects: int) -> tuple[IssuedTemplate, list[IssuedProject],
                                                               list[IssuedCell]]:
    template_id = f"{YEAR}-{code}-bench"
    template = IssuedTemplate(template_id, YEAR, "ningxia-2021", 1, code, f"第{number}局",
                              f"{code}.xlsx", "0" * 64, "bench", "ledger.csv",
                              "2024-02-01T00:00:00+00:00")
    issued, cells = [], []
    for position in range(1, projects + 1):
        project_code, sheet = f"{code}{YEAR}{position:04d}", f"{position:02d} 项目"
        amount = Decimal(10 + position % 7) + Decimal("0.5")
        issued.append(IssuedProject(template_id, position, project_code,
                                    f"第{number}局第{position}个项目工作经费", sheet, amount,
                                    amount, None, None))
        texts = {"project_name": issued[-1].project_name, "department": f"第{number}局",
                 "unit": f"第{number}局机关（办公室）", "attribute": "经常性项目", "period": "1年"}
        cells += [IssuedCell(template_id, sheet, f"C{row}", True, "", project_code,
                             f"header.{key}", "", texts[key])
                  for row, (key, _) in enumerate(HEADER, start=3)]
    return template, issued, cells


def _targets(projects: list[IssuedProject], per_project: int) -> Targets:
    categories = load_profile("ningxia-2021").categories
    goals, indicators = {}, []
    for project in projects:
        goals[project.project_code] = (f"目标1：完成{project.project_name}的年度任务，"
                                       "保障各项工作正常运转，提高财政资金使用效益。\n"
                                       "目标2：服务对象满意度保持在95%以上。")
        for n in range(per_project):
            category = categories[min(n * len(categories) // per_project, len(categories) - 1)]
            indicators.append(Indicator(project.project_code, category.level1, category.level2,
                                        f"{category.level2}第{n + 1}项：年度工作完成情况",
                                        VALUES[n % len(VALUES)]))
    return Targets(goals, tuple(indicators))


def fill_store(store: Store, projects: int, per_department: int, per_project: int) -> None:
    for number in range(1, -(-projects // per_department) + 1):
        code = f"{number:06d}"
        count = min(per_department, projects - (number - 1) * per_department)
        template, issued, cells = _template(number, code, count)
        store.record_template(template, issued, cells, profile=PROFILE_TEXT)
        received = ReceivedFile(f"{number:064x}", f"{code}.xlsx", 1, "2024-02-20T01:00:00+00:00",
                                "xlsx", "accepted", template.template_id, code, YEAR, "")
        store.record_received(received, [], _targets(issued, per_project))


def peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def child(store: Path, output: Path) -> None:
    from xltool.publish import publish

    start = time.perf_counter()
    publication = publish(store=store, output=output, targets_out=output.with_name("t.xlsx"))
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "peak_mb": peak_mb(),
                      "projects": publication.projects, "indicators": publication.indicators,
                      "megabytes": output.stat().st_size / 2**20}))


def measure(store: Path, output: Path) -> dict[str, Any]:
    done = subprocess.run([sys.executable, __file__, "--child", str(store), str(output)],
                          capture_output=True, text=True, check=True)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--projects", type=int, default=10_000)
    parser.add_argument("--per-department", type=int, default=20)
    parser.add_argument("--indicators", type=int, default=12)
    parser.add_argument("--child", nargs=2, type=Path)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    with tempfile.TemporaryDirectory() as folder:
        store_path = Path(folder) / "bench.db"
        start = time.perf_counter()
        with open_store(store_path) as store:
            fill_store(store, args.projects, args.per_department, args.indicators)
        print(f"store filled in {time.perf_counter() - start:.1f} s")
        r = measure(store_path, Path(folder) / "公开.xlsx")
    verdict = "ok" if r["seconds"] < TARGET_SECONDS and r["peak_mb"] < TARGET_MB else "OVER TARGET"
    print(f"publish: {r['projects']} projects, {r['indicators']} indicators, "
          f"{r['megabytes']:.1f} MB workbook")
    print(f"{r['seconds']:.1f} s, peak {r['peak_mb']:.0f} MB "
          f"(target < {TARGET_SECONDS:.0f} s, < {TARGET_MB:.0f} MB: {verdict})")


if __name__ == "__main__":
    main()
