"""No output clobbers an input: every command that writes refuses, before any work, an output
that is the store or one of its files, lies in its copies folder, or is a file it reads —
whatever name it is given by (a symlink, a hard link, another spelling).

Each refusal is checked from the command line (exit 2, a Chinese message) and from the
Python API (`OutputClobbers`), and each leaves the office's folder exactly as it was: every
file's bytes and time, and no file more.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tests.conftest import SAMPLES, ledger_row, write_ledger
from xltool.cli import main
from xltool.collect import collect
from xltool.demo import MARKER, run_demo
from xltool.errors import NotADemoFolder, OutputClobbers
from xltool.publish import publish
from xltool.reconcile import reconcile
from xltool.template import issue_templates

CHINESE = {"LANG": "zh_CN.UTF-8", "LANGUAGE": None, "LC_ALL": None, "LC_MESSAGES": None}


def invoke(args: list[str]) -> Result:
    return CliRunner().invoke(main, args, env=CHINESE)


@dataclass(frozen=True)
class Office:
    """An office's working folder after a round: templates issued, one return collected."""

    root: Path
    ledger: Path
    prefill: Path
    store: Path
    returned: Path
    workbook: str
    """The name `template` gives department 001's workbook."""

    def beside(self, suffix: str) -> Path:
        return self.store.with_name(self.store.name + suffix)

    @property
    def copies(self) -> Path:
        return self.root / "x.files"


@pytest.fixture(scope="module")
def office(tmp_path_factory: pytest.TempPathFactory) -> Office:
    """Shared by the tests of this module: each checks that it leaves the folder unchanged."""
    root = tmp_path_factory.mktemp("office")
    ledger = write_ledger(root / "ledger.csv", [
        ledger_row("001-01", "办公经费"),
        ledger_row("002-01", "信息化建设", department=("002", "第二局")),
    ])
    prefill = root / "targets.xlsx"
    shutil.copyfile(SAMPLES / "targets.xlsx", prefill)
    store = root / "x.db"
    first = issue_templates(ledger, root / "issued", store=store, prefill=prefill).workbooks[0]
    (root / "returns").mkdir()
    returned = root / "returns" / first.path.name
    shutil.copyfile(first.path, returned)
    collect([returned], store=store)  # the copies folder and the lock exist from here on
    (root / "link.db").symlink_to(store)
    os.link(ledger, root / "ledger-link.csv")  # never the store's: open_store refuses that
    return Office(root, ledger, prefill, store, returned, first.path.name)


def snapshot(root: Path) -> dict[str, object]:
    """Every file, folder and link under ROOT: a file's bytes and modification time, a
    link's target."""
    found: dict[str, object] = {}
    for folder, folders, files in os.walk(root):
        for name in folders + files:
            path = Path(folder) / name
            key = str(path.relative_to(root))
            if path.is_symlink():
                found[key] = ("link", os.readlink(path))
            elif path.is_file():
                found[key] = (path.read_bytes(), path.stat().st_mtime_ns)
            else:
                found[key] = "folder"
    return found


# -- every command and option that writes --------------------------------------------------


def _in_copies(o: Office, folder: bool, *below: str) -> Path:
    return o.copies.joinpath(*below, "out" if folder else "out.xlsx")


# What an output may not be given as: (office, whether a folder is asked for) → the path.
TARGETS: dict[str, Callable[[Office, bool], Path]] = {
    "the store": lambda o, _: o.store,
    "the store by another spelling": lambda o, _: o.root / "issued" / ".." / "x.db",
    "a symlink to the store": lambda o, _: o.root / "link.db",
    "store-wal": lambda o, _: o.beside("-wal"),
    "store-shm": lambda o, _: o.beside("-shm"),
    "store-journal": lambda o, _: o.beside("-journal"),
    "the lock": lambda o, _: o.beside(".lock"),
    "the copies folder": lambda o, _: o.copies,
    "in the copies folder": lambda o, folder: _in_copies(o, folder),
    "in a copies subfolder": lambda o, folder: _in_copies(o, folder, "ab"),
    "the ledger": lambda o, _: o.ledger,
    "a hard link to the ledger": lambda o, _: o.root / "ledger-link.csv",
    "the prefill": lambda o, _: o.prefill,
    "the return": lambda o, _: o.returned,
}
STORE = ("the store", "the store by another spelling", "a symlink to the store", "store-wal",
         "store-shm", "store-journal", "the lock", "the copies folder", "in the copies folder",
         "in a copies subfolder")
LEDGER = ("the ledger", "a hard link to the ledger")


@dataclass(frozen=True)
class Writer:
    """A command's option that writes, from the command line and from Python, and what it
    must not be given as."""

    cli: Callable[[Office, Path], list[str]]
    api: Callable[[Office, Path], object]
    targets: tuple[str, ...]
    folder: bool = False
    """The option names a folder to write into."""


WRITERS = {
    "template -o": Writer(
        lambda o, to: ["template", str(o.ledger), "-o", str(to), "--store", str(o.store),
                       "--prefill", str(o.prefill)],
        lambda o, to: issue_templates(o.ledger, to, store=o.store, prefill=o.prefill),
        (*STORE, *LEDGER, "the prefill"), folder=True),
    "collect --feedback": Writer(
        lambda o, to: ["collect", str(o.returned), "--store", str(o.store), "--feedback",
                       str(to)],
        lambda o, to: collect([o.returned], store=o.store, feedback=to),
        (*STORE, "the return"), folder=True),
    "reconcile -o": Writer(
        lambda o, to: ["reconcile", str(o.ledger), "--store", str(o.store), "-o", str(to)],
        lambda o, to: reconcile(o.ledger, store=o.store, output=to),
        (*STORE, *LEDGER)),
    "publish -o": Writer(
        lambda o, to: ["publish", "--store", str(o.store), "-o", str(to)],
        lambda o, to: publish(store=o.store, output=to),
        STORE),
    "publish --targets-out": Writer(
        lambda o, to: ["publish", "--store", str(o.store), "-o", str(o.root / "p.xlsx"),
                       "--targets-out", str(to)],
        lambda o, to: publish(store=o.store, output=o.root / "p.xlsx", targets_out=to),
        STORE),
}


def refused_by_the_cli(result: Result, target: Path) -> bool:
    """Exit 2 with a Chinese message naming the file: ours, or click's own for a folder
    given where a file goes (or the reverse), which it checks before the command runs."""
    ours_or_clicks = "覆盖" in result.output or "是一个文件" in result.output
    return (result.exit_code == 2 and "错误" in result.output and ours_or_clicks
            and target.name in result.output and "Traceback" not in result.output)


@pytest.mark.parametrize(("option", "what"), [(option, what) for option, writer in WRITERS.items()
                                              for what in writer.targets])
def test_an_output_that_is_an_input_is_refused_and_nothing_is_touched(
        office: Office, option: str, what: str) -> None:
    writer = WRITERS[option]
    target = TARGETS[what](office, writer.folder)
    before = snapshot(office.root)
    result = invoke(writer.cli(office, target))
    assert refused_by_the_cli(result, target), result.output
    assert snapshot(office.root) == before
    with pytest.raises(OutputClobbers) as refused:
        writer.api(office, target)
    message = str(refused.value)
    assert str(target) in message and str(refused.value.kept) in message, message
    assert "覆盖" in message and "另选" in message, message
    assert snapshot(office.root) == before


def test_a_template_workbook_may_not_be_the_ledger_the_prefill_or_the_store(
        office: Office, tmp_path: Path) -> None:
    """The folder is new; a workbook's own path in it is the input."""
    out = tmp_path / "out"
    out.mkdir()
    (out / office.workbook).symlink_to(office.ledger)
    as_ledger = ["template", str(office.ledger), "-o", str(out), "--store", str(office.store)]
    prefill = tmp_path / "prefilled" / office.workbook
    prefill.parent.mkdir()
    shutil.copyfile(office.prefill, prefill)
    as_prefill = ["template", str(office.ledger), "-o", str(prefill.parent),
                  "--store", str(office.store), "--prefill", str(prefill)]
    new_store = tmp_path / "fresh" / office.workbook  # a store not made yet: by its real path
    as_store = ["template", str(office.ledger), "-o", str(new_store.parent),
                "--store", str(new_store)]
    for args in (as_ledger, as_prefill, as_store):
        before = snapshot(tmp_path), snapshot(office.root)
        result = invoke(args)
        assert result.exit_code == 2 and "覆盖" in result.output, result.output
        assert office.workbook in result.output, result.output
        assert (snapshot(tmp_path), snapshot(office.root)) == before, args


def test_feedback_may_not_be_written_over_a_return_or_the_store(
        office: Office, tmp_path: Path) -> None:
    """Which departments get a 反馈表 is known only after reading: every file in the folder
    under a name the feedback takes counts."""
    returns = tmp_path / "returns"
    returns.mkdir()
    named_as_feedback = returns / "2024年_001_示例局_反馈表.xlsx"
    shutil.copyfile(office.returned, named_as_feedback)
    feedback = tmp_path / "feedback"
    feedback.mkdir()
    (feedback / "收取情况汇总.xlsx").symlink_to(office.store)
    cases = [[str(named_as_feedback), "--feedback", str(returns)],
             [str(office.returned), "--feedback", str(feedback)]]
    for args in cases:
        before = snapshot(tmp_path), snapshot(office.root)
        result = invoke(["collect", *args, "--store", str(office.store)])
        assert result.exit_code == 2 and "覆盖" in result.output, result.output
        assert (snapshot(tmp_path), snapshot(office.root)) == before, args


def test_the_pdf_and_the_targets_may_not_be_the_store_or_another_output(
        office: Office, tmp_path: Path) -> None:
    """Checked before LibreOffice is looked for: the refusal is the same without it."""
    (office.root / "book.pdf").symlink_to(office.store)
    shutil.copyfile(office.store, office.root / "s.pdf")
    root, store = office.root, str(office.store)
    cases = {
        "the PDF is a symlink to the store": ["-o", str(root / "book.xlsx"), "--pdf"],
        "the PDF is the store": ["--store", str(root / "s.pdf"), "-o", str(root / "s.xlsx"),
                                 "--pdf"],
        "the PDF is the workbook": ["-o", str(tmp_path / "same.pdf"), "--pdf"],
        "the targets are the workbook": ["-o", str(tmp_path / "p.xlsx"),
                                         "--targets-out", str(tmp_path / "." / "p.xlsx")],
        "the PDF is the targets": ["-o", str(tmp_path / "q.xlsx"), "--pdf",
                                   "--targets-out", str(tmp_path / "q.pdf")],
    }
    for what, args in cases.items():
        before = snapshot(tmp_path), snapshot(office.root)
        result = invoke(["publish", "--store", store, *args])
        assert result.exit_code == 2 and "覆盖" in result.output, (what, result.output)
        assert (snapshot(tmp_path), snapshot(office.root)) == before, what
    with pytest.raises(OutputClobbers, match="PDF"):
        publish(store=office.store, output=root / "book.xlsx", pdf=True)


# -- the demo ------------------------------------------------------------------------------


def test_the_demo_refuses_an_office_folder_and_touches_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "office"
    (folder / "xltool.files" / "ab").mkdir(parents=True)
    (folder / "xltool.files" / "ab" / "ab12.xlsx").write_bytes(b"a return kept")
    (folder / "templates").mkdir()
    (folder / "templates" / "2024年_001_示例局_绩效目标表.xlsx").write_bytes(b"issued")
    (folder / "xltool.db").write_bytes(b"SQLite format 3\x00 the office's year")
    (folder / "ledger.xlsx").write_bytes(b"the ledger")
    only_a_store = tmp_path / "only-a-store"
    only_a_store.mkdir()
    (only_a_store / "xltool.db").write_bytes(b"SQLite format 3\x00")
    for given in (folder, only_a_store):
        before = snapshot(tmp_path)
        result = invoke(["demo", str(given)])
        assert result.exit_code == 2, result.output
        assert "不是空的" in result.output and "xltool.db" in result.output, result.output
        assert snapshot(tmp_path) == before
        with pytest.raises(NotADemoFolder):
            run_demo(given)
        assert snapshot(tmp_path) == before


def test_the_demo_writes_into_an_empty_folder_and_again_into_its_own(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "demo").mkdir()
    first = invoke(["demo"])  # the default folder, empty
    assert first.exit_code == 0, first.output
    assert (tmp_path / "demo" / MARKER).is_file()
    (tmp_path / "demo" / "mine.txt").write_text("kept")
    again = invoke(["demo"])
    assert again.exit_code == 0, again.output
    assert (tmp_path / "demo" / "mine.txt").read_text() == "kept"
    assert (tmp_path / "demo" / "disclosure.xlsx").is_file()
