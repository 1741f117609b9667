"""Every workbook people print, printed: rendered by LibreOffice to PDF and read back.

`check_printed` reads the PDF itself (`pdftotext -bbox`): every page A4, none scaled
below 60 %, `第 N 页，共 M 页` at the foot of every page, the title as text, and the
table's header row at the top of every page the table continues on. To cover another
workbook, add a `Printed` to `PRINTED`.

The same checks run again on a synthetic office of 200 departments (`office`), whose
collect summary, reconcile report and disclosure run over many pages, and whose largest
department's template has a form of many indicators: no page of it starts inside a
category label merged over its rows (`test_no_page_splits_a_category_from_its_label`).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from xml.etree import ElementTree

import pytest

from tests.conftest import ledger_row, write_ledger
from tests.fill import fill_with_openpyxl
from tests.libreoffice import convert, require_soffice
from xltool.collect import collect
from xltool.defaults import DEFAULT_PROFILE
from xltool.demo import ISSUER, run_demo
from xltool.profile import Category, load_profile
from xltool.publish import publish
from xltool.reconcile import reconcile
from xltool.targets import Indicator, Targets, write_targets
from xltool.template import issue_templates

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


def _form_continues(year: int) -> Callable[[Page], bool]:
    """A page of a project's form after its first (which holds the goal, and the indicator
    table's header where the table starts there): known by the form's title in the print
    header, where the cover's header holds the workbook's title."""
    profile = load_profile(DEFAULT_PROFILE)
    title = profile.title_for(year)
    return lambda page: (title in "".join(word for word, _ in page.words[:3])
                         and profile.goal_label not in page.text)


INDICATOR_HEADER = ("一级指标", "二级指标", "三级指标")

PRINTED = [
    Printed("template", lambda year: next((year / "templates").glob("*_011001_*.xlsx")),
            "2023年项目支出预算绩效目标填报表", INDICATOR_HEADER, _form_continues(2023)),
    Printed("reconcile", lambda year: year / "reconcile.xlsx",
            "2023年项目支出预算绩效目标核对报告（汇总）", ("主管部门编码", "主管部门")),
    Printed("disclosure", lambda year: year / "disclosure.xlsx", "2023年项目支出预算绩效目标",
            ("一级指标", "二级指标", "三级指标"), _continued),
    Printed("targets", lambda year: year / "targets-out.xlsx", "项目编码", ("项目编码",)),
    Printed("feedback", lambda year: next((year / "feedback-1").glob("*_011001_*反馈表.xlsx")),
            "项目支出预算绩效目标表审核反馈", ("序号", "文件", "项目编码")),
    Printed("summary", lambda year: year / "feedback-1" / "收取情况汇总.xlsx", "收取情况汇总",
            ("主管部门编码",)),
    Printed("status", lambda year: _status_board(year), "项目支出绩效目标报送与审核情况",
            ("主管部门编码", "状态")),
]


def _status_board(year: Path) -> Path:
    from xltool.review.board import write_status
    from xltool.review.status import status

    return write_status(status(store=year / "xltool.db"), year / "status.xlsx")


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



# -- a 200-department office ---------------------------------------------------------------

OFFICE_YEAR = 2024
DEPARTMENTS = 200
LARGEST = "000007"  # the department of most projects; its first is a form of many indicators
BIG_PROJECT = f"{LARGEST}-01"
BIG_FORM = {"数量指标": 14, "质量指标": 6, "时效指标": 4, "成本指标": 4, "社会效益指标": 5,
            "可持续影响指标": 2, "服务对象满意度指标": 3}
VALUES = {"quantity": "≥5次", "satisfaction": "≥95%", "text": "明显"}


def _projects(number: int) -> int:
    """Twelve for the largest department, two for every fifth, one for the others: the
    disclosure prints a page or more per department, and LibreOffice takes its time."""
    return 12 if f"{number:06d}" == LARGEST else 1 + (number % 5 == 0)


def _office_ledger(path: Path) -> Path:
    rows = []
    for number in range(1, DEPARTMENTS + 1):
        department = (f"{number:06d}", f"示例县第{number}局")
        rows += [ledger_row(f"{department[0]}-{p:02d}", f"第{number}局第{p}项工作经费",
                            department=department, total=str(12 * p))
                 for p in range(1, _projects(number) + 1)]
    return write_ledger(path, rows)


def indicator_mark(number: int, row: int) -> str:
    """An indicator name's own word: found on a printed page, it places the row there."""
    return f"Z{number}{row:02d}号"


def _indicators(code: str, total: int) -> list[Indicator]:
    """Every required category filled well; the big project's categories many times."""
    indicators = []
    big = code == BIG_PROJECT
    for number, category in enumerate(load_profile(DEFAULT_PROFILE).categories, start=1):
        count = BIG_FORM.get(category.level2, 0) if big else int(category.required)
        for row in range(1, count + 1):
            value = VALUES[category.role or ("quantity" if category.quantitative else "text")] \
                if category.role != "cost" else f"{Decimal(total) / count}万元"
            name = indicator_mark(number, row) if big else f"第{number}类"
            indicators.append(Indicator(code, category.level1, category.level2,
                                        f"{name}任务按期完成", value))
    return indicators


def _office_targets(path: Path) -> Path:
    goals, indicators = {}, []
    for number in range(1, DEPARTMENTS + 1):
        for p in range(1, _projects(number) + 1):
            code = f"{number:06d}-{p:02d}"
            goals[code] = f"目标1：完成第{number}局第{p}项工作的年度任务，按期办结，群众满意。"
            indicators += _indicators(code, 12 * p)
    return write_targets(Targets(goals, tuple(indicators)), path)


def _returned(template: Path, folder: Path) -> Path:
    """The form sent back as it was prefilled, saved again: the same cells, other bytes."""
    folder.mkdir(exist_ok=True)
    target = folder / template.name
    with zipfile.ZipFile(template) as issued, \
            zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as saved:
        for item in issued.infolist():
            saved.writestr(item.filename, issued.read(item.filename))
    return target


@dataclass(frozen=True)
class Office:
    folder: Path
    pdfs: dict[str, Path]  # by the `Printed` name of the workbook


def convert_all(sources: Sequence[Path], outdir: Path, profile_dir: Path) -> list[Path]:
    """`convert` for several workbooks in one `soffice` run: one start-up, not one each."""
    done = subprocess.run(
        [require_soffice(), f"-env:UserInstallation={profile_dir.resolve().as_uri()}",
         "--headless", "--norestore", "--convert-to", "pdf", "--outdir", str(outdir),
         *map(str, sources)],
        capture_output=True, text=True, timeout=300, check=False)
    results = [outdir / f"{source.stem}.pdf" for source in sources]
    assert done.returncode == 0 and all(r.is_file() for r in results), done.stdout + done.stderr
    return results


OFFICE_PRINTED = [
    Printed("template", lambda office: next((office / "templates").glob(f"*_{LARGEST}_*.xlsx")),
            f"{OFFICE_YEAR}年项目支出预算绩效目标填报表", INDICATOR_HEADER,
            _form_continues(OFFICE_YEAR)),
    Printed("feedback", lambda office: next((office / "feedback").glob(f"*_{LARGEST}_*.xlsx")),
            "项目支出预算绩效目标表审核反馈", ("序号", "文件", "项目编码")),
    Printed("summary", lambda office: office / "feedback" / "收取情况汇总.xlsx", "收取情况汇总",
            ("主管部门编码",)),
    Printed("reconcile", lambda office: office / "reconcile.xlsx",
            f"{OFFICE_YEAR}年项目支出预算绩效目标核对报告（汇总）", ("主管部门编码", "主管部门")),
    Printed("disclosure", lambda office: office / "disclosure.xlsx",
            f"{OFFICE_YEAR}年项目支出预算绩效目标", INDICATOR_HEADER, _continued),
]


@pytest.fixture(scope="module")
def office(tmp_path_factory: pytest.TempPathFactory) -> Office:
    """200 departments of one or two projects (one of twelve) through the year: every
    template issued prefilled, all but every twentieth department returning it (the
    largest with two cells emptied), collected, reconciled and published; then the
    largest department's template and feedback, the summary, the report and the
    disclosure rendered in one LibreOffice run."""
    require_soffice()
    if shutil.which("pdftotext") is None:
        pytest.skip("poppler's pdftotext is not installed")
    folder = tmp_path_factory.mktemp("office")
    ledger = _office_ledger(folder / "ledger.csv")
    store = folder / "xltool.db"
    run = issue_templates(ledger, folder / "templates", store=store,
                          prefill=_office_targets(folder / "targets.xlsx"))
    assert len(run.workbooks) == DEPARTMENTS
    for workbook in run.workbooks:
        if workbook.department_code == LARGEST:
            fill_with_openpyxl(workbook.path, {"XT_P02_GOAL": "", "XT_P03_C01_R01_VALUE": ""},
                               folder / "returns" / workbook.path.name)
        elif int(workbook.department_code) % 20:
            _returned(workbook.path, folder / "returns")
    collected = collect([folder / "returns"], store=store, feedback=folder / "feedback")
    assert collected.summary()["accepted"] >= DEPARTMENTS * 9 // 10 - 1, collected.summary()
    reconcile(ledger, store=store, output=folder / "reconcile.xlsx")
    publish(store=store, output=folder / "disclosure.xlsx", issuer="示例县财政局")
    sources = [expected.workbook(folder) for expected in OFFICE_PRINTED]
    pdfs = convert_all(sources, folder / "pdf", folder / "profile")
    return Office(folder, {e.name: pdf for e, pdf in zip(OFFICE_PRINTED, pdfs, strict=True)})


@pytest.mark.parametrize("expected", OFFICE_PRINTED, ids=lambda p: p.name)
def test_a_200_department_office_prints_as_official_documents(office: Office,
                                                              expected: Printed) -> None:
    pages = check_printed(office.pdfs[expected.name], expected)
    if expected.name in ("summary", "reconcile", "disclosure"):
        assert len(pages) > 3, (expected.name, len(pages))  # 200 departments run on


def test_no_page_splits_a_category_from_its_label(office: Office) -> None:
    """On every page that holds an indicator row of the big form, the labels of its 二级
    and 一级 categories are printed too: no page starts inside a label merged over rows."""
    profile = load_profile(DEFAULT_PROFILE)
    form_pages = [page for page in read_pages(office.pdfs["template"])
                  if _big_form_rows(page, profile.categories)]
    assert len(form_pages) >= 2, "the big form must run over a page"
    for page in form_pages:
        for category in _big_form_rows(page, profile.categories):
            for label in (category.level2, category.level1):
                # a label may wrap in its cell: its first three characters are one word
                assert label[:3] in page.text, (page.number, label, page.text[:200])


def _big_form_rows(page: Page, categories: Sequence[Category]) -> list[Category]:
    """The categories of the big form with a row on PAGE (its rows alone are marked)."""
    return [category for number, category in enumerate(categories, start=1)
            if any(indicator_mark(number, row) in page.text
                   for row in range(1, BIG_FORM.get(category.level2, 0) + 1))]
