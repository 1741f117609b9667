"""A collect run killed at any moment leaves a store that a re-run completes.

The batch is collected once without interruption (the reference). Then, each time
into a fresh copy of the issued store, `xltool collect` runs in a subprocess and is
killed with SIGKILL — after k files are recorded for several k, and at random moments
within a run, which land inside a file's work — and a second, uninterrupted run must
bring the store to exactly the reference state, with every received file kept.
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.corpus import good_return, issue
from xltool.collect import collect

RANDOM_KILLS = 5
SEED = int(os.environ.get("XLTOOL_KILL_SEED", "0")) or random.SystemRandom().randrange(1, 10**6)

State = dict[str, list[tuple[object, ...]]]


@dataclass(frozen=True)
class Batch:
    issued: Path
    """The store as issued, before anything was collected: copied for every run."""
    inbox: Path
    files: int
    reference: State
    window: tuple[float, float]
    """Seconds from the start of an uninterrupted run in a subprocess to its first file
    recorded and to its last: when the files are being worked on."""


def state(store: Path) -> State:
    """Everything in the store except what differs between runs: times and copy paths."""
    with sqlite3.connect(store) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        dump = {t: sorted(db.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in tables}
    dump["received_files"] = sorted((r[0], r[1], r[2], *r[4:9]) for r in dump["received_files"])
    dump["accepted_returns"] = sorted((r[0], *r[1:4], r[5]) for r in dump["accepted_returns"])
    return dump


def received(store: Path) -> int:
    with sqlite3.connect(store, timeout=30) as db:
        return int(db.execute("SELECT count(*) FROM received_files").fetchone()[0])


def kept_copies_are_complete(store: Path) -> None:
    with sqlite3.connect(store) as db:
        rows = db.execute("SELECT sha256, size, stored_path FROM received_files").fetchall()
    for sha, size, path in rows:
        if size:
            assert hashlib.sha256(Path(path).read_bytes()).hexdigest() == sha


def start(batch: Batch, store: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "xltool", "collect", str(batch.inbox),
                             "--store", str(store), "--json"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> Batch:
    """Twenty-four files: versions of one department's return (each supersedes the one before),
    other departments' returns, one rejected, one broken, one sent twice."""
    root = tmp_path_factory.mktemp("kill")
    templates = issue(root)
    store = root / "x.db"
    inbox = root / "inbox"
    inbox.mkdir()
    paths = [good_return(store, templates["001"], inbox / f"v{n:02d}.xlsx",
                         XT_P01_C01_R01_VALUE=f"≥{n + 1}次") for n in range(17)]
    paths.append(good_return(store, templates["002"], inbox / "rejected.xlsx", XT_P01_GOAL=None))
    paths.append(Path(shutil.copyfile(paths[3], inbox / "v03-again.xlsx")))
    paths += [good_return(store, templates[code], inbox / f"d{code}.xlsx")
              for code in ("003", "004", "005")]
    broken = inbox / "broken.xlsx"
    broken.write_bytes(paths[0].read_bytes()[:5000])
    paths += [broken, good_return(store, templates["001"], inbox / "v-last.xlsx",
                                  XT_P01_C01_R01_VALUE="≥99次")]
    for number, path in enumerate(paths):
        os.utime(path, (1_700_000_000 + number, 1_700_000_000 + number))
    issued = Path(shutil.copyfile(store, root / "issued.db"))
    reference = Path(shutil.copyfile(issued, root / "reference.db"))
    collect([inbox], store=reference)
    timed = Path(shutil.copyfile(issued, root / "timed.db"))
    began = time.monotonic()
    run = start(Batch(issued, inbox, len(paths), {}, (0, 0)), timed)
    moments = []
    for count in (1, len(state(reference)["received_files"])):
        while run.poll() is None and received(timed) < count:
            time.sleep(0.002)
        moments.append(time.monotonic() - began)
    assert run.wait(timeout=120) == 1
    return Batch(issued, inbox, len(paths), state(reference), (moments[0], moments[1]))


def killed_then_rerun(batch: Batch, store: Path, kill: subprocess.Popen[bytes]) -> int:
    """Kill the run, check the store survived, re-run; the files recorded at the kill."""
    kill.send_signal(signal.SIGKILL)
    kill.wait()
    with sqlite3.connect(store) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    at_kill = received(store)
    collect([batch.inbox], store=store)
    assert state(store) == batch.reference, f"killed with {at_kill} files recorded (seed {SEED})"
    kept_copies_are_complete(store)
    return at_kill


@pytest.mark.parametrize("after", [1, 9, 16])
def test_killed_after_k_files_a_rerun_completes(batch: Batch, tmp_path: Path,
                                                after: int) -> None:
    store = Path(shutil.copyfile(batch.issued, tmp_path / "x.db"))
    run = start(batch, store)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and run.poll() is None and received(store) < after:
        time.sleep(0.005)
    assert run.poll() is None, "the run ended before it could be killed"
    at_kill = killed_then_rerun(batch, store, run)
    assert after <= at_kill < batch.files


def test_killed_at_random_moments_a_rerun_completes(batch: Batch, tmp_path: Path) -> None:
    """Kill moments drawn over the time the files are worked on, so they fall anywhere in a
    file's work: reading it, keeping its copy, inside its transaction; now and then just
    before the first file or after the last. XLTOOL_KILL_SEED repeats a failing draw."""
    draw = random.Random(SEED)
    moments = []
    for number in range(RANDOM_KILLS):
        store = Path(shutil.copyfile(batch.issued, tmp_path / f"x{number}.db"))
        delay = draw.uniform(batch.window[0] * 0.95, batch.window[1] * 1.05)
        run = start(batch, store)
        time.sleep(delay)
        moments.append((round(delay, 3), killed_then_rerun(batch, store, run)))
    print(f"seed {SEED}: killed at (seconds, files recorded) {moments}")
