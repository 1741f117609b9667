"""Every workbook people print, printed: rendered by LibreOffice to PDF and read back.

`check_printed` reads the PDF itself (`pdftotext -bbox`): every page A4, none scaled
below 60 %, `第 N 页，共 M 页` at the foot of every page, the title as text, and the
table's header row at the top of every page the table continues on. To cover another
workbook, add a `Printed` to `PRINTED`.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

import pytest

from tests.libreoffice import convert, require_soffice
from xltool.demo import ISSUER, run_demo
from xltool.publish import publish

pytestmark = pytest.mark.libreoffice

A4_POINTS = (595.3, 841.9)
BODY_POINTS = 11.0  # the size of the header row's text (and LibreOffice's footer's)
BOX_PER_POINT = 1.205  # a word's box from pdftotext is this tall per point of font size
MIN_SCALE = 0.6


@dataclass(frozen=True)
class Page:
    number: int
    width: float
    height: float
    words: list[tuple[str, float]]  # each word and its box's height

    @property
    def text(self) -> str:
        return "".join(word for word, _ in self.words)

    def scale(self, word: str) -> float | None:
        """How far the page is shrunk, from the box of 11-point WORD (None: not there)."""
        heights = [height for text, height in self.words if text == word]
        return max(heights) / (BODY_POINTS * BOX_PER_POINT) if heights else None


def read_pages(pdf: Path) -> list[Page]:
    done = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True,
                          text=True, check=True)
    xhtml = re.sub(r"<!DOCTYPE[^>]*>", "", done.stdout)
    root = ElementTree.fromstring(xhtml)
    pages = []
    for number, page in enumerate(root.iter("{http://www.w3.org/1999/xhtml}page"), start=1):
        words = [(word.text or "", float(word.get("yMax", 0)) - float(word.get("yMin", 0)))
                 for word in page.iter("{http://www.w3.org/1999/xhtml}word")]
        pages.append(Page(number, float(page.get("width", 0)), float(page.get("height", 0)),
                          words))
    return pages


@dataclass(frozen=True)
class Printed:
    """What a printed workbook must show: its TITLE, and the HEADER words on every page
    for which CONTINUES says the table runs on (every page unless said otherwise)."""

    name: str
    workbook: Callable[[Path], Path]
    title: str
    header: tuple[str, ...]
    continues: Callable[[Page], bool] = lambda page: True


def check_printed(pdf: Path, expected: Printed) -> list[Page]:
    pages = read_pages(pdf)
    assert pages, pdf
    assert expected.title in pages[0].text.replace(" ", "")
    for page in pages:
        where = f"{expected.name} page {page.number}"
        assert sorted((round(page.width, 1), round(page.height, 1))) == list(A4_POINTS), where
        footer = f"第{page.number}页，共{len(pages)}页"
        assert footer in page.text, (where, page.text[-40:])
        scale = page.scale("第")  # the footer's first word: the footer shrinks with the page
        assert scale is not None and scale >= MIN_SCALE, (where, scale)
        if expected.continues(page):
            for word in expected.header:
                assert word in page.text, (where, word)
                header_scale = page.scale(word)
                assert header_scale is None or header_scale >= MIN_SCALE, (where, word)
    return pages


@pytest.fixture(scope="module")
def year(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_soffice()
    if shutil.which("pdftotext") is None:
        pytest.skip("poppler's pdftotext is not installed")
    folder = tmp_path_factory.mktemp("print") / "demo"
    run_demo(folder)
    return folder


def _continued(page: Page) -> bool:
    return "（续）" in page.text


PRINTED = [
    Printed("reconcile", lambda year: year / "reconcile.xlsx",
            "2023年项目支出预算绩效目标核对报告（汇总）", ("主管部门编码", "主管部门")),
    Printed("disclosure", lambda year: year / "disclosure.xlsx", "2023年项目支出预算绩效目标",
            ("一级指标", "二级指标", "三级指标"), _continued),
    Printed("targets", lambda year: year / "targets-out.xlsx", "项目编码", ("项目编码",)),
    Printed("feedback", lambda year: next((year / "feedback-1").glob("*_011001_*反馈表.xlsx")),
            "项目支出预算绩效目标表审核反馈", ("序号", "文件", "项目编码")),
    Printed("summary", lambda year: year / "feedback-1" / "收取情况汇总.xlsx", "收取情况汇总",
            ("主管部门编码",)),
]


@pytest.mark.parametrize("expected", PRINTED, ids=lambda p: p.name)
def test_every_page_prints_as_an_official_document(year: Path, expected: Printed,
                                                   tmp_path: Path) -> None:
    pdf = convert(expected.workbook(year), "pdf", tmp_path / "pdf", tmp_path / "profile")
    pages = check_printed(pdf, expected)
    if expected.name == "disclosure":
        assert any(_continued(page) for page in pages), "the demo has no table over a page"
        # the data sheets (for machines) are not printed: their header is nowhere
        assert not any("年度资金总额（万元）" in page.text for page in pages)


def test_the_pdf_is_the_printed_workbook(year: Path, tmp_path: Path) -> None:
    """`--pdf` and a print of the whole workbook give the same pages."""
    whole = convert(year / "disclosure.xlsx", "pdf", tmp_path / "pdf", tmp_path / "profile")
    made = publish(store=year / "xltool.db", output=tmp_path / "公开.xlsx", issuer=ISSUER,
                   pdf=True)
    assert made.pdf is not None
    assert [page.text for page in read_pages(made.pdf)] == \
        [page.text for page in read_pages(whole)]

