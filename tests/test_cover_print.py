"""The template's cover as LibreOffice prints it: a department of seven projects on two
pages (the list under the heading, the instructions on a page of their own), a long list
last with its header repeated over the list's pages only, and a status at its longest
inside its row."""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
from pathlib import Path
from xml.etree import ElementTree

import pytest
from openpyxl import load_workbook

from tests.conftest import ledger_row, write_ledger
from tests.libreoffice import convert, require_soffice
from tests.test_print import Page, read_pages
from xltool.profile import FormProfile
from xltool.template import IssuedWorkbook, issue_templates
from xltool.template import cover as cover_module
from xltool.template.layout import ProjectForm
from xltool.template.plan import COVER_SHEET
from xltool.template.status import ProjectStatus, longest_status

LIST_HEADER = "填报状态"
INSTRUCTIONS = "填报说明"


def _issued(tmp_path: Path, projects: int) -> IssuedWorkbook:
    # every third name long: it wraps in its cell
    rows = [ledger_row(f"001-{p:02d}", f"第{p}项工作经费" + "及相关配套工作" * (p % 3 == 0))
            for p in range(1, projects + 1)]
    ledger = write_ledger(tmp_path / "ledger.csv", rows)
    [workbook] = issue_templates(ledger, tmp_path / "templates",
                                 store=tmp_path / "x.db").workbooks
    return workbook


def _cover_pages(workbook: IssuedWorkbook, tmp_path: Path) -> list[Page]:
    """The printed pages of the cover: those under the workbook's title (a form's pages
    are under the form's)."""
    require_soffice()
    if shutil.which("pdftotext") is None:
        pytest.skip("poppler's pdftotext is not installed")
    pdf = convert(workbook.path, "pdf", tmp_path / "pdf", tmp_path / "profile")
    return [page for page in read_pages(pdf) if "填报表" in page.text]


@pytest.mark.libreoffice
def test_seven_projects_print_on_two_pages_the_instructions_on_their_own(
        tmp_path: Path) -> None:
    workbook = _issued(tmp_path, 7)
    pages = _cover_pages(workbook, tmp_path)
    assert len(pages) == 2
    assert LIST_HEADER in pages[0].text
    assert all(f"001-{p:02d}" in pages[0].text for p in range(1, 8))
    assert INSTRUCTIONS in pages[1].text and LIST_HEADER not in pages[1].text
    assert load_workbook(workbook.path)[COVER_SHEET].print_title_rows is None


@pytest.mark.libreoffice
def test_a_long_list_comes_last_its_header_repeated_over_it_only(tmp_path: Path) -> None:
    workbook = _issued(tmp_path, 18)
    sheet = load_workbook(workbook.path)[COVER_SHEET]
    header = next(row[0].row for row in sheet.iter_rows(max_col=1) if row[0].value == "序号")
    guidance = next(row[0].row for row in sheet.iter_rows(max_col=1)
                    if row[0].value == INSTRUCTIONS)
    assert guidance < header
    assert sheet.print_title_rows == f"${header}:${header}"
    pages = _cover_pages(workbook, tmp_path)
    assert INSTRUCTIONS in pages[0].text and LIST_HEADER not in pages[0].text
    listed = [page for page in pages if "项工作经费" in page.text]  # a project's row
    assert len(listed) >= 2, "eighteen projects run over a page"
    assert all(LIST_HEADER in page.text for page in listed)


@pytest.mark.libreoffice
def test_the_longest_status_prints_inside_its_row(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Every status cached at its longest: LibreOffice prints it whole, the rows do not grow
    past what the writer gave them, and the seven still share the first page."""
    written = cover_module.project_status

    def at_longest(form: ProjectForm, profile: FormProfile, row: int,
                   first_col: int) -> ProjectStatus:
        return dataclasses.replace(written(form, profile, row, first_col),
                                   cached=longest_status(form, profile))

    monkeypatch.setattr(cover_module, "project_status", at_longest)
    workbook = _issued(tmp_path, 7)
    assert len(_cover_pages(workbook, tmp_path)) == 2
    words = _first_page_words(tmp_path / "pdf" / f"{workbook.path.stem}.pdf")
    # each status from its first word to its last, top to bottom: a row too short for its
    # status prints it over the rows next to it (centred, it runs out both ways)
    firsts = sorted(box for text, box in words if text.startswith("待填"))
    lasts = sorted(box for text, box in words if text.startswith("服务对象满意度指标"))
    assert len(firsts) == len(lasts) == 7
    header = next(box for text, box in words if text == "序号")
    assert header[1] <= firsts[0][0]
    for last, following in zip(lasts, firsts[1:], strict=False):
        assert last[1] <= following[0], (last, following)


def _first_page_words(pdf: Path) -> list[tuple[str, tuple[float, float]]]:
    """The words of PDF's first page, each with its box's top and bottom."""
    done = subprocess.run(["pdftotext", "-bbox", "-f", "1", "-l", "1", str(pdf), "-"],
                          capture_output=True, text=True, check=True)
    root = ElementTree.fromstring(re.sub(r"<!DOCTYPE[^>]*>", "", done.stdout))
    return [(word.text or "", (float(word.get("yMin", 0)), float(word.get("yMax", 0))))
            for word in root.iter("{http://www.w3.org/1999/xhtml}word")]
