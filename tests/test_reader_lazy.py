"""Only the parts that are read are inflated: what nobody reads cannot hurt.

A return's cover sheet, its hidden list sheet and its document properties are never read,
so a bomb or a seventeen-billion-cell grid there costs nothing and the return is read as
if it were not there; the same in a project's sheet, which is read, is refused exactly as
before. The value reader is given the prepared sheets and opens the workbook once.
"""

from __future__ import annotations

import io
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import python_calamine

from tests.corpus import (
    BOMB_BYTES,
    CORPUS_LIMITS,
    before_sheet_end,
    edit_part,
    good_return,
    hidden_bomb,
    issue,
    sheet_part,
)
from xltool.collect import collect, reader
from xltool.collect.reader import XlsxContent, open_xlsx
from xltool.errors import Unreadable
from xltool.limits import MB
from xltool.template import IssuedWorkbook
from xltool.template.plan import COVER_SHEET
from xltool.template.writer import LISTS_SHEET

FAR_CELL = b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'


@dataclass(frozen=True)
class Issued:
    store: Path
    workbook: IssuedWorkbook
    good: Path


@pytest.fixture(scope="module")
def issued(tmp_path_factory: pytest.TempPathFactory) -> Issued:
    """Department 001's template, a complete return of it, and its store as issued."""
    root = tmp_path_factory.mktemp("lazy")
    workbook = issue(root)["001"]
    shutil.copyfile(root / "x.db", root / "issued.db")
    return Issued(root / "issued.db", workbook,
                  good_return(root / "x.db", workbook, root / "good.xlsx"))


def collected(issued: Issued, path: Path, folder: Path) -> tuple[str, set[str]]:
    """PATH collected with the corpus limits into a fresh copy of the issued store."""
    store = Path(shutil.copyfile(issued.store, folder / "x.db"))
    [outcome] = collect([path], store=store, limits=CORPUS_LIMITS).files
    return outcome.status, {finding.code for finding in outcome.findings}


def bomb_in(issued: Issued, part: str, out: Path) -> Path:
    """The good return with PART's stream inflating far past the part limit, its headers
    claiming its own size: only inflating it shows the bomb."""
    return hidden_bomb(issued.good, out, part, BOMB_BYTES // MB)


def far_cell_in(issued: Issued, sheet: str, out: Path) -> Path:
    return edit_part(issued.good, sheet_part(issued.good, sheet), out,
                     lambda xml: before_sheet_end(xml, FAR_CELL))


def project_sheet(issued: Issued) -> str:
    return issued.workbook.sheets[0]


@contextmanager
def opened(path: Path, sheets: tuple[str, ...]) -> Iterator[XlsxContent]:
    """The return at PATH, opened with SHEETS prepared, closed on the way out."""
    content = open_xlsx(path.read_bytes(), CORPUS_LIMITS)
    try:
        content.prepare(sheets)
        yield content
    finally:
        content.close()


UNREAD = {
    "cover-bomb": lambda issued, out: bomb_in(issued, sheet_part(issued.good, COVER_SHEET), out),
    "lists-bomb": lambda issued, out: bomb_in(issued, sheet_part(issued.good, LISTS_SHEET), out),
    "app-bomb": lambda issued, out: bomb_in(issued, "docProps/app.xml", out),
    "cover-far-cell": lambda issued, out: far_cell_in(issued, COVER_SHEET, out),
    "lists-far-cell": lambda issued, out: far_cell_in(issued, LISTS_SHEET, out),
}


def test_the_good_return_is_accepted(issued: Issued, tmp_path: Path) -> None:
    assert collected(issued, issued.good, tmp_path) == ("accepted", set())


@pytest.mark.parametrize("case", sorted(UNREAD))
def test_what_nobody_reads_is_never_inflated(issued: Issued, tmp_path: Path,
                                            case: str) -> None:
    """The return is accepted as the good one is, and its project sheets read the same."""
    path = UNREAD[case](issued, tmp_path / f"{case}.xlsx")
    assert collected(issued, path, tmp_path) == ("accepted", set())
    sheets = issued.workbook.sheets
    with opened(path, sheets) as content, opened(issued.good, sheets) as good:
        for sheet in sheets:
            assert content.values(sheet) == good.values(sheet)
            assert content.sheets[sheet].protected and good.sheets[sheet].protected


def test_a_bomb_in_a_project_sheet_is_refused_as_before(issued: Issued,
                                                        tmp_path: Path) -> None:
    path = bomb_in(issued, sheet_part(issued.good, project_sheet(issued)),
                   tmp_path / "bomb.xlsx")
    assert collected(issued, path, tmp_path) == ("rejected", {"file.zip_bomb"})
    content = open_xlsx(path.read_bytes(), CORPUS_LIMITS)  # the structure holds no bomb
    for ask in (lambda: content.prepare([project_sheet(issued)]),
                lambda: content.values(project_sheet(issued)),
                lambda: content.sheets[project_sheet(issued)].protected):
        with pytest.raises(Unreadable) as refused:
            ask()
        assert refused.value.code == "file.zip_bomb"


def test_a_far_cell_in_a_project_sheet_is_refused_as_before(issued: Issued,
                                                            tmp_path: Path) -> None:
    path = far_cell_in(issued, project_sheet(issued), tmp_path / "far.xlsx")
    assert collected(issued, path, tmp_path) == ("rejected", {"file.too_many_cells"})
    content = open_xlsx(path.read_bytes(), CORPUS_LIMITS)
    with pytest.raises(Unreadable) as refused:
        content.prepare(issued.workbook.sheets)
    assert refused.value.code == "file.too_many_cells"
    assert project_sheet(issued) in refused.value.message


def test_a_sheet_the_workbook_does_not_list_cannot_be_prepared(issued: Issued) -> None:
    content = open_xlsx(issued.good.read_bytes())
    with pytest.raises(KeyError, match="没有这张表"):
        content.prepare([*issued.workbook.sheets, "没有这张表"])
    content.prepare(issued.workbook.sheets)  # the listed ones still can be
    assert content.values(project_sheet(issued))


def test_prepared_sheets_read_as_the_value_reader_reads_the_file(issued: Issued) -> None:
    data = issued.good.read_bytes()
    original = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    content = open_xlsx(data)
    content.prepare(issued.workbook.sheets)
    try:
        for sheet in issued.workbook.sheets:
            assert content.values(sheet) == \
                original.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
        # a sheet not prepared is prepared when its values are asked for
        assert content.values(COVER_SHEET) == \
            original.get_sheet_by_name(COVER_SHEET).to_python(skip_empty_area=False)
    finally:
        content.close()
        original.close()


class _Counting:
    """python-calamine's workbook, counting how often a workbook is opened."""

    opened = 0

    @classmethod
    def from_filelike(cls, stream: Any) -> Any:
        cls.opened += 1
        return python_calamine.CalamineWorkbook.from_filelike(stream)


def test_a_return_is_opened_once_by_the_value_reader(issued: Issued, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Its project sheets are prepared together before any is read."""
    monkeypatch.setattr(reader, "python_calamine", SimpleNamespace(
        CalamineWorkbook=_Counting, CalamineError=python_calamine.CalamineError))
    _Counting.opened = 0
    assert collected(issued, issued.good, tmp_path) == ("accepted", set())
    assert _Counting.opened == 1
