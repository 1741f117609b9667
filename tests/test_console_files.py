"""Console output fit for a file: whole names, no stray lines on stderr; the demo's guide
lists every file the demo leaves."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from tests.conftest import ROOT
from xltool.cli import main

LONG_NAME = ("2023年_012001_中卫市沙坡头区人民政府办公室_绩效目标表_第二次修改后重新报送"
             "_请以此为准_经办人签字版本_最终稿.xlsx")


def _xltool(*args: str) -> subprocess.CompletedProcess[bytes]:
    """`xltool ARGS` with stdout and stderr into pipes: no terminal."""
    return subprocess.run([sys.executable, "-m", "xltool", *args], cwd=ROOT,
                          capture_output=True, timeout=300, check=False)


def test_into_a_pipe_names_are_whole_and_stderr_is_silent(tmp_path: Path) -> None:
    demo = tmp_path / "demo"
    played = _xltool("demo", str(demo))
    assert played.returncode == 0, played.stderr.decode()
    assert played.stderr == b""
    out = played.stdout.decode("utf-8")
    assert "templates/2023年_012001_中卫市沙坡头区人民政府办公室_绩效目标表.xlsx" in out
    assert "…" not in out

    returns = tmp_path / "returns"
    returns.mkdir()
    sent = demo / "returns-2" / "2023年_012001_中卫市沙坡头区人民政府办公室_绩效目标表.xlsx"
    shutil.copyfile(sent, returns / LONG_NAME)
    collected = _xltool("collect", str(returns), "--store", str(demo / "xltool.db"),
                        "--feedback", str(tmp_path / "feedback"))
    assert collected.stderr == b""
    lines = collected.stdout.decode("utf-8").splitlines()
    assert any(LONG_NAME in line for line in lines), "\n".join(lines)
    assert max(map(len, lines)) > 120  # the table is as wide as its content, not cut at 120


def test_no_command_writes_a_blank_line_to_stderr(tmp_path: Path) -> None:
    runs = [_xltool("profiles"), _xltool("ledger", str(ROOT / "samples" / "ledger.xlsx")),
            _xltool("template", str(ROOT / "samples" / "ledger.xlsx"), "-o",
                    str(tmp_path / "t"), "--store", str(tmp_path / "x.db"))]
    for run in runs:
        assert run.returncode == 0, run.stderr.decode()
        assert run.stderr == b"", run.args


def test_the_demo_guide_lists_every_file_the_demo_leaves(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    result = CliRunner().invoke(main, ["demo", str(folder)])
    assert result.exit_code == 0, result.output
    guide = (folder / "说明.txt").read_text(encoding="utf-8")
    listed = {line.split("\t")[0] for line in guide.splitlines() if "\t" in line}
    listed_tops = {name.split("/")[0] for name in listed}
    assert (folder / "xltool.db.lock").exists()
    assert {p.name for p in folder.iterdir()} <= listed_tops
    for sub in ("templates", "feedback-1", "feedback-2"):
        for path in (folder / sub).iterdir():
            assert f"{sub}/{path.name}" in listed
    assert "xltool.db.lock" in result.output  # the console's table is the same guide


def test_every_command_on_the_demos_output_fits_a_pipe(tmp_path: Path) -> None:
    """The year's commands run on what `xltool demo` leaves, their output into pipes: nothing
    on stderr, no name cut with `…`, every file name whole."""
    demo = tmp_path / "demo"
    assert _xltool("demo", str(demo)).returncode == 0
    store = str(demo / "xltool.db")
    ledger = str(ROOT / "samples" / "ledger.xlsx")
    runs = {
        "ledger": _xltool("ledger", ledger),
        "template": _xltool("template", ledger, "-o", str(tmp_path / "again"), "--store", store),
        "collect": _xltool("collect", str(demo / "returns-2"), "--store", store,
                           "--feedback", str(tmp_path / "feedback")),
        "reconcile": _xltool("reconcile", ledger, "--store", store, "-o",
                             str(tmp_path / "reconcile.xlsx")),
        "publish": _xltool("publish", "--store", store, "-o", str(tmp_path / "p.xlsx")),
        "history": _xltool("history", "011001", "--store", store),
        "verify": _xltool("verify", "--store", store),
    }
    for name, run in runs.items():
        out = run.stdout.decode("utf-8")
        assert run.returncode in (0, 1), (name, run.stderr.decode())  # 1: not all accepted
        assert run.stderr == b"", (name, run.stderr.decode())
        assert "…" not in out, (name, out)
    returned = sorted(p.name for p in (demo / "returns-2").iterdir())
    collected = runs["collect"].stdout.decode("utf-8")
    assert all(name in collected for name in returned)
    assert all(p.name in runs["history"].stdout.decode("utf-8")
               for p in (demo / "returns-1").iterdir() if p.name.startswith("2023年_011001"))
