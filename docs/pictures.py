"""The README's pictures (docs/*.png), made again from the repository: `python docs/pictures.py`.

Each picture is one printed page of a workbook `xltool demo` writes, as LibreOffice prints
it: the demo runs into a temporary folder, the office then reviews the returns as the
status board needs (one department approved, one project sent back for revision, the third
department's errors left unfixed) and the board is written two days past the demo's
deadline; every workbook pictured is converted to PDF by `soffice --headless` and the page
pictured is rendered by poppler's `pdftoppm`. Needs LibreOffice, poppler-utils and a
Chinese font (the same as the tests that print: see the README).

PICTURES is the list of pictures: tests/test_pictures.py checks that it, docs/*.png and
the README's image links name the same pictures.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

DOCS = Path(__file__).resolve().parent
RESOLUTION = 70  # dots per inch: an A4 page is 579 × 819 pixels, enough to read the text
BOARD_DAY = date(2023, 4, 2)  # two days past the demo's deadline: the late show in red
PICTURED_DEPARTMENT = "011001"


@dataclass(frozen=True)
class Picture:
    """docs/NAME.png: the page of the demo's WORKBOOK that PAGE names — a page number, or
    the first page whose text holds PAGE (a page number drifts as the layout changes)."""

    name: str
    workbook: Callable[[Path], Path]
    page: int | str = 1


def _one(folder: Path, pattern: str) -> Path:
    [found] = sorted(folder.glob(pattern))
    return found


PICTURES = (
    Picture("template-cover",
            lambda demo: _one(demo / "templates", f"*_{PICTURED_DEPARTMENT}_*.xlsx")),
    # the first project's form: the first page with the code line above the form (the
    # cover's list of projects has the code as a column, its instructions name the goal)
    Picture("template",
            lambda demo: _one(demo / "templates", f"*_{PICTURED_DEPARTMENT}_*.xlsx"),
            "项目编码："),
    Picture("feedback",
            lambda demo: _one(demo / "feedback-1", f"*_{PICTURED_DEPARTMENT}_*反馈表.xlsx")),
    Picture("summary", lambda demo: demo / "feedback-1" / "收取情况汇总.xlsx"),
    Picture("reconcile", lambda demo: demo / "reconcile.xlsx"),
    # a project's table, past the disclosure's cover and contents
    Picture("disclosure", lambda demo: demo / "disclosure.xlsx", "一级指标"),
    Picture("targets", lambda demo: demo / "targets-out.xlsx"),
    Picture("status", lambda demo: demo / "status.xlsx"),
)


def main() -> None:
    tools = {tool: shutil.which(tool) for tool in ("soffice", "pdftoppm", "pdftotext")}
    if missing := [tool for tool, path in tools.items() if path is None]:
        sys.exit(f"pictures.py needs {', '.join(missing)} (LibreOffice and poppler-utils)")
    with tempfile.TemporaryDirectory(prefix="xltool-pictures-") as scratch:
        demo = Path(scratch) / "demo"
        play_the_year(demo)
        workbooks = {picture.name: picture.workbook(demo) for picture in PICTURES}
        pdfs = to_pdf(sorted(set(workbooks.values())), Path(scratch))
        for picture in PICTURES:
            pdf = pdfs[workbooks[picture.name]]
            page = picture.page if isinstance(picture.page, int) else \
                first_page_with(pdf, picture.page)
            render(pdf, page, DOCS / f"{picture.name}.png")
            print(f"docs/{picture.name}.png  ← {workbooks[picture.name].name}，第 {page} 页")


def play_the_year(demo: Path) -> None:
    """The demo, then the office's reviews, then the status board two days late."""
    from xltool.demo import run_demo
    from xltool.review import review
    from xltool.review.board import write_status
    from xltool.review.status import status

    run_demo(demo)
    store = demo / "xltool.db"
    review(PICTURED_DEPARTMENT, grade="良", opinion="经协商修改后通过", reviewer="张三",
           store=store)
    sent_back = next(p for p in status(store=store, today=BOARD_DAY).projects
                     if p.department_code == "012001")
    review("012001", project=sent_back.project_code, grade="中",
           opinion="效益指标请量化后重新报送", reviewer="张三", store=store)
    write_status(status(store=store, today=BOARD_DAY), demo / "status.xlsx")


def to_pdf(workbooks: list[Path], scratch: Path) -> dict[Path, Path]:
    """Every workbook printed by one LibreOffice (each start costs seconds), under a private
    user profile so that a LibreOffice already open does not take the job."""
    stems = [workbook.stem for workbook in workbooks]
    assert len(set(stems)) == len(stems), f"two workbooks would print to one PDF: {stems}"
    outdir, profile = scratch / "pdf", scratch / "profile"
    subprocess.run(["soffice", f"-env:UserInstallation={profile.resolve().as_uri()}",
                    "--headless", "--norestore", "--convert-to", "pdf", "--outdir", str(outdir),
                    *map(str, workbooks)], capture_output=True, timeout=600, check=True)
    pdfs = {workbook: outdir / f"{workbook.stem}.pdf" for workbook in workbooks}
    if unprinted := [workbook.name for workbook, pdf in pdfs.items() if not pdf.is_file()]:
        sys.exit(f"LibreOffice printed no PDF of {', '.join(unprinted)}")
    return pdfs


def first_page_with(pdf: Path, text: str) -> int:
    done = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                          text=True, check=True)
    pages = done.stdout.split("\f")
    for number, page in enumerate(pages, start=1):
        if text in page.replace(" ", ""):
            return number
    sys.exit(f"no page of {pdf.name} holds “{text}”")


def render(pdf: Path, page: int, png: Path) -> None:
    subprocess.run(["pdftoppm", "-png", "-r", str(RESOLUTION), "-f", str(page), "-l", str(page),
                    "-singlefile", str(pdf), str(png.with_suffix(""))], check=True)


if __name__ == "__main__":
    main()
