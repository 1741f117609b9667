"""How fast the command line answers: help and usage errors, against `import click`.

Each variant runs as a fresh process, the way a clerk runs it, `--repeat` times
in interleaved rounds; its best wall time and its peak memory (max RSS) count.
The baseline is `python -c "import click"` on the same interpreter: what any
click program pays before it does anything. The target is each variant within
2x of it. Bytecode is cached as on an installed machine (a warm-up run writes
it, whatever PYTHONDONTWRITEBYTECODE says), as it is for click itself.

    python benchmarks/bench_startup.py [--repeat 15]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENTRY = "from xltool.cli import main; main()"
VARIANTS: dict[str, list[str]] = {
    'python -c "import click" (baseline)': ["-c", "import click"],
    "xltool --help": ["-c", ENTRY, "--help"],
    "xltool template --help": ["-c", ENTRY, "template", "--help"],
    "xltool collect --help": ["-c", ENTRY, "collect", "--help"],
    "xltool ledger --help": ["-c", ENTRY, "ledger", "--help"],
    "xltool template (usage error)": ["-c", ENTRY, "template"],
    "xltool --help, Chinese": ["-c", ENTRY, "--help"],
}
CHINESE = {"xltool --help, Chinese"}


def run_once(args: list[str], *, chinese: bool) -> tuple[float, int]:
    """Wall seconds and this child's max RSS in KB."""
    env = {**os.environ, "LANG": "zh_CN.UTF-8" if chinese else "C.UTF-8"}
    for name in ("LANGUAGE", "LC_ALL", "PYTHONDONTWRITEBYTECODE"):
        env.pop(name, None)  # bytecode cached, as on any installed machine: the warm-up writes it
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, *args], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, env=env, cwd=ROOT)
    _pid, _status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    process.returncode = 0  # reaped by wait4, which also gives this child's own peak memory
    return elapsed, usage.ru_maxrss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    repeat = parser.parse_args().repeat
    times: dict[str, list[float]] = {name: [] for name in VARIANTS}
    memory: dict[str, int] = dict.fromkeys(VARIANTS, 0)
    for name, args in VARIANTS.items():  # one warm-up each: the file cache, not xltool
        run_once(args, chinese=name in CHINESE)
    for _ in range(repeat):
        for name, args in VARIANTS.items():
            seconds, rss = run_once(args, chinese=name in CHINESE)
            times[name].append(seconds)
            memory[name] = max(memory[name], rss)
    baseline = min(next(iter(times.values())))
    print(f"{'variant':36} {'best ms':>8} {'median ms':>10} {'peak MB':>8} {'x baseline':>11}")
    for name, runs in times.items():
        best, median = min(runs), sorted(runs)[len(runs) // 2]
        print(f"{name:36} {best * 1000:8.1f} {median * 1000:10.1f} "
              f"{memory[name] / 1024:8.1f} {best / baseline:11.2f}")
    print("every run, ms: " + "; ".join(
        f"{name}: {', '.join(f'{t * 1000:.0f}' for t in runs)}" for name, runs in times.items()))


if __name__ == "__main__":
    main()
