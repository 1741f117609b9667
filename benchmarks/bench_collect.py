"""Benchmark: `collect` against the naive script and the fast floor, on the same files.

    python benchmarks/bench_collect.py [--files 1000] [--projects 8] [--scale 4] [--skip-naive]
                                       [--repeat 3]

Makes a ledger of FILES departments x PROJECTS projects, complete targets for
every project, and issues templates prefilled with them; each template, opened and
saved again as a department does (the issued bytes themselves are no return), is a
complete, valid return. Then, each in a fresh process (so peak memory is its own):

- `openpyxl.load_workbook` of every file (the naive script);
- python-calamine reading every sheet's values (the fast floor);
- `xltool collect` into a copy of the store, one process and `--jobs 2`.

Each row gives wall seconds and CPU seconds (the process and its workers), so a run that
uses more than one core shows it; the last lines set each target against its measure.

The floor and collect run --repeat times in interleaved rounds and the best run of
each counts (the naive script, minutes long, runs once); every run is printed too, for
the spread.

With --scale N it also collects N times as many files, to show whether peak
memory stays flat as the batch grows.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_template import best_of, make_ledger, peak_mb, print_runs


def make_targets(ledger: Path, out: Path) -> Path:
    from xltool.ledger import load_ledger
    from xltool.profile import load_profile
    from xltool.targets import Indicator, Targets, write_targets

    profile = load_profile("ningxia-2021")
    goals, indicators = {}, []
    for project in load_ledger(ledger).projects:
        goals[project.code] = f"目标1：完成{project.name}的年度任务，保障工作正常运转。"
        for category in profile.categories:
            value = {"cost": f"{project.total}万元", "satisfaction": "≥95%"}.get(
                category.role or "", "≥5次" if category.quantitative else "明显")
            indicators.append(Indicator(project.code, category.level1, category.level2,
                                        f"{category.level2}：年度工作完成情况", value))
    return write_targets(Targets(goals, tuple(indicators)), out)


def make_returns(folder: Path, files: int, projects: int) -> tuple[Path, Path]:
    from concurrent.futures import ProcessPoolExecutor
    from itertools import repeat

    from xltool.template import issue_templates
    from xltool.template.fill import fill_by_name

    ledger = make_ledger(folder / f"ledger-{files}.csv", files, projects)
    targets = make_targets(ledger, folder / f"targets-{files}.xlsx")
    issued, returns = folder / f"templates-{files}", folder / f"returns-{files}"
    store = folder / f"store-{files}.db"
    run = issue_templates(ledger, issued, store=store, prefill=targets, password="bench", jobs=2)
    sources = [w.path for w in run.workbooks]
    with ProcessPoolExecutor() as pool:  # re-saved, nothing changed: an untouched return
        list(pool.map(fill_by_name, sources, repeat({}), [returns / p.name for p in sources],
                      chunksize=16))
    return returns, store


def cpu_seconds() -> float:
    """CPU time of this process and of its finished workers: shows how many cores a run used."""
    own, workers = (resource.getrusage(who) for who in (resource.RUSAGE_SELF,
                                                        resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime + workers.ru_utime + workers.ru_stime


def run_naive(returns: Path, _: Path, __: int) -> dict[str, Any]:
    from openpyxl import load_workbook

    cpu, start = cpu_seconds(), time.perf_counter()
    count = 0
    for path in sorted(returns.glob("*.xlsx")):
        load_workbook(path).close()
        count += 1
    return {"seconds": time.perf_counter() - start, "cpu": cpu_seconds() - cpu, "files": count}


def run_floor(returns: Path, _: Path, __: int) -> dict[str, Any]:
    import python_calamine

    cpu, start = cpu_seconds(), time.perf_counter()
    count = 0
    for path in sorted(returns.glob("*.xlsx")):
        workbook = python_calamine.CalamineWorkbook.from_path(str(path))
        for name in workbook.sheet_names:
            workbook.get_sheet_by_name(name).to_python()
        workbook.close()
        count += 1
    return {"seconds": time.perf_counter() - start, "cpu": cpu_seconds() - cpu, "files": count}


def run_collect(returns: Path, store: Path, jobs: int) -> dict[str, Any]:
    from xltool.collect import collect

    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / "store.db"
        shutil.copyfile(store, copy)
        cpu, start = cpu_seconds(), time.perf_counter()
        run = collect([returns], store=copy, jobs=jobs)
        seconds, cpu = time.perf_counter() - start, cpu_seconds() - cpu
    statuses = {s: sum(f.status == s for f in run.files) for s in ("accepted", "rejected")}
    return {"seconds": seconds, "cpu": cpu, "files": len(run.files), **statuses}


VARIANTS = {"naive": run_naive, "floor": run_floor, "collect": run_collect}


def child(variant: str, returns: Path, store: Path, jobs: int) -> None:
    result = VARIANTS[variant](returns, store, jobs)
    result["peak_mb"] = peak_mb()
    print(json.dumps(result))


def measure(variant: str, returns: Path, store: Path, jobs: int = 1) -> dict[str, Any]:
    done = subprocess.run([sys.executable, __file__, "--child", variant, "--returns",
                           str(returns), "--store", str(store), "--jobs", str(jobs)],
                          capture_output=True, text=True, check=True)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def report(title: str, results: dict[str, dict[str, Any]], floor: float) -> None:
    print(title)
    print(f"{'variant':34} {'seconds':>8} {'cpu s':>7} {'ms/file':>8} {'files/s':>8} "
          f"{'peak MB':>8} {'x floor':>8}")
    for name, r in results.items():
        print(f"{name:34} {r['seconds']:8.2f} {r['cpu']:7.2f} "
              f"{1000 * r['seconds'] / r['files']:8.2f} {r['files'] / r['seconds']:8.1f} "
              f"{r['peak_mb']:8.0f} {r['seconds'] / floor:8.2f}")
    print_runs(results)


def verdict(results: dict[str, dict[str, Any]], scaled: dict[str, Any] | None) -> None:
    """The targets of the collect benchmark, each with its measured value."""
    seconds = {name: r["seconds"] for name, r in results.items()}
    one, floor = seconds["xltool collect, 1 process"], seconds["python-calamine values (floor)"]
    one_files = results["xltool collect, 1 process"]["files"]
    lines = [f"collect / floor, 1 process: {one / floor:.2f}x (target <= 3)"]
    if "openpyxl.load_workbook (naive)" in seconds:
        naive = seconds["openpyxl.load_workbook (naive)"]
        lines.append(f"naive / collect, 1 process: {naive / one:.1f}x (target >= 20)")
    lines.append(f"1 process / --jobs 2: {one / seconds['xltool collect, --jobs 2']:.2f}x")
    if scaled is not None:
        base = results["xltool collect, 1 process"]["peak_mb"]
        lines.append(f"peak memory, 1 process: {base:.0f} MB for {one_files} files, "
                     f"{scaled['peak_mb']:.0f} MB for {scaled['files']} (target: flat)")
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--projects", type=int, default=8)
    parser.add_argument("--scale", type=int, default=4)
    parser.add_argument("--skip-naive", action="store_true")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of the floor and of collect; the best counts (naive runs once)")
    parser.add_argument("--child")
    parser.add_argument("--returns", type=Path)
    parser.add_argument("--store", type=Path)
    parser.add_argument("--jobs", type=int, default=1)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.returns, args.store, args.jobs)
        return
    with tempfile.TemporaryDirectory() as folder:
        returns, store = make_returns(Path(folder), args.files, args.projects)
        results = {}
        if not args.skip_naive:
            results["openpyxl.load_workbook (naive)"] = measure("naive", returns, store)
        results.update(best_of(args.repeat, {
            "python-calamine values (floor)": lambda: measure("floor", returns, store),
            "xltool collect, 1 process": lambda: measure("collect", returns, store),
            "xltool collect, --jobs 2": lambda: measure("collect", returns, store, 2),
        }))
        floor = results["python-calamine values (floor)"]["seconds"]
        report(f"{args.files} returns x {args.projects} projects, best of {args.repeat}",
               results, floor)
        scaled = None
        if args.scale > 1:
            many = args.files * args.scale
            big_returns, big_store = make_returns(Path(folder), many, args.projects)
            scaled = measure("collect", big_returns, big_store)
            report(f"{many} returns: peak memory as the batch grows",
                   {"xltool collect, 1 process": scaled}, floor * args.scale)
        verdict(results, scaled)


if __name__ == "__main__":
    main()
