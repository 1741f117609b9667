"""`xltool demo`: the whole year on the samples, from the CLI, leaving every output."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from xltool.cli import main
from xltool.demo import run_demo
from xltool.targets import read_targets


# The one test where a library's notice that an API xltool calls will go away is an error
# (pyproject.toml reports it everywhere else): the whole year runs here, so a deprecated call
# anywhere in it turns this test red, and only this one.
@pytest.mark.filterwarnings("error::DeprecationWarning", "error::PendingDeprecationWarning",
                            "error::FutureWarning")
def test_the_demo_plays_the_year_and_leaves_every_output(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    folder.mkdir()
    result = run_demo(folder)
    first, second = result.rounds
    assert {f.status for f in first.files} == {"rejected"}
    assert sorted(f.status for f in second.files) == ["accepted", "accepted", "duplicate"]
    assert {f.department for f in second.files if f.status == "duplicate"} == {"013042"}
    kinds = set(result.reconciliation.differences["kind"])
    assert kinds == {"not_returned"}
    assert len(result.reconciliation.differences) == 4
    assert result.publication.projects == 12 and len(result.publication.missing) == 4
    for path, _ in result.files:
        assert (folder / path).exists(), path
    published = read_targets(folder / "targets-out.xlsx")
    assert len(published.goals) == 12
    cover = load_workbook(folder / "disclosure.xlsx")["封面"]
    assert any("示例市财政局" in str(c.value) for row in cover.iter_rows() for c in row)
    guide = (folder / "说明.txt").read_text(encoding="utf-8")
    assert "disclosure.xlsx" in guide
    (folder / "mine.txt").write_text("not the demo's")
    again = CliRunner().invoke(main, ["demo", str(folder)])
    assert again.exit_code == 0, again.output
    assert "公开：12 个项目" in again.output
    assert (folder / "mine.txt").read_text() == "not the demo's"
