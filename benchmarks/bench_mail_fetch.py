"""Benchmark: `mail fetch` from a local IMAP server against `collect` of the same files.

    python benchmarks/bench_mail_fetch.py [--files 1000] [--projects 4] [--repeat 1]

Makes FILES complete returns as `bench_collect.py` does (a ledger of FILES departments x
PROJECTS projects, templates prefilled and saved again), starts a Dovecot on loopback
(`tests/mailservers.py`: IMAPS with a generated CA) and files one message per return into
its INBOX by IMAP APPEND, each return attached under a Chinese name. Then, each into a
fresh copy of the store:

- `collect` of the folder of returns (one process);
- `mail fetch` of the INBOX: every message fetched over TLS, parsed, its workbook saved in
  the inbox folder, all of them collected, the messages recorded.

Both run --repeat times in interleaved rounds and the best run of each counts; the last
line gives their ratio, which is what mail costs on top of collect. Needs /usr/sbin/dovecot.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_collect import cpu_seconds, make_returns
from bench_template import best_of, print_runs


def messages(returns: Path) -> list[bytes]:
    """One message per return, as a department's client sends it."""
    made = []
    for n, path in enumerate(sorted(returns.glob("*.xlsx"))):
        message = EmailMessage()
        message["From"] = f"dept{n:04d}@example.gov.cn"
        message["To"] = "ys@czj.example.gov.cn"
        message["Subject"] = f"报送绩效目标表（{n}）"
        message["Date"] = format_datetime(_date(n))
        message["Message-ID"] = f"<bench-{n}@example.gov.cn>"
        message.set_content("请查收附件。")
        message.add_attachment(path.read_bytes(), maintype="application",
                               subtype="vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                               filename=f"第{n + 1}局绩效目标表.xlsx")
        made.append(bytes(message))
    return made


def _date(n: int) -> datetime:
    return datetime(2024, 3, 1, tzinfo=UTC) + timedelta(minutes=n)


def run_collect(returns: Path, store: Path) -> dict[str, Any]:
    from xltool.collect import collect

    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / "store.db"
        shutil.copyfile(store, copy)
        cpu, start = cpu_seconds(), time.perf_counter()
        run = collect([returns], store=copy)
        seconds, cpu = time.perf_counter() - start, cpu_seconds() - cpu
    accepted = sum(f.status == "accepted" for f in run.files)
    return {"seconds": seconds, "cpu": cpu, "files": len(run.files), "accepted": accepted}


def run_fetch(url: str, ca: Path, password: str, store: Path) -> dict[str, Any]:
    from xltool.mail.fetch import fetch_mail

    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / "store.db"
        shutil.copyfile(store, copy)
        cpu, start = cpu_seconds(), time.perf_counter()
        run = fetch_mail([url], store=copy, cafile=ca, password=password)
        seconds, cpu = time.perf_counter() - start, cpu_seconds() - cpu
    files = run.collected.files if run.collected else ()
    accepted = sum(f.status == "accepted" for f in files)
    return {"seconds": seconds, "cpu": cpu, "files": len(files), "accepted": accepted,
            "messages": run.messages_seen}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--projects", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()

    from tests.mailservers import PASSWORD, running_dovecot

    with tempfile.TemporaryDirectory() as folder:
        made = time.perf_counter()
        returns, store = make_returns(Path(folder), args.files, args.projects)
        print(f"{args.files} returns made in {time.perf_counter() - made:.1f} s")
        with running_dovecot() as dovecot:
            filed = time.perf_counter()
            dovecot.deliver(*messages(returns))
            print(f"{dovecot.count()} messages filed into Dovecot in "
                  f"{time.perf_counter() - filed:.1f} s")
            results = best_of(args.repeat, {
                "xltool collect, a folder": lambda: run_collect(returns, store),
                "xltool mail fetch, IMAPS": lambda: run_fetch(dovecot.url(), dovecot.tls.ca,
                                                              PASSWORD, store),
            })
    print(f"{'variant':28} {'seconds':>8} {'cpu s':>7} {'ms/file':>8} {'files':>6} "
          f"{'accepted':>8}")
    for name, r in results.items():
        print(f"{name:28} {r['seconds']:8.2f} {r['cpu']:7.2f} "
              f"{1000 * r['seconds'] / max(1, r['files']):8.2f} {r['files']:6d} "
              f"{r['accepted']:8d}")
    print_runs(results)
    fetch = results["xltool mail fetch, IMAPS"]["seconds"]
    collect = results["xltool collect, a folder"]["seconds"]
    print(f"mail fetch / collect: {fetch / collect:.2f}x")


if __name__ == "__main__":
    main()
