"""Where the template's printed pages break: never inside a label merged over its rows.

`tables.page_breaks` places the breaks from row heights; the form's layout keeps each
category block on one page and merges a label anew on each page a block runs onto;
the writer puts the breaks, the print titles and the header into the workbook. What
LibreOffice makes of it is `tests/test_print.py`'s (`test_no_page_splits_…`).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook

from tests.conftest import ledger_row, write_ledger
from xltool.defaults import DEFAULT_PROFILE
from xltool.ledger import load_ledger
from xltool.profile import load_profile
from xltool.tables import A4, page_breaks, page_room
from xltool.targets import Indicator
from xltool.template import writer
from xltool.template.cover import WIDTHS as COVER_WIDTHS
from xltool.template.layout import LANDSCAPE, ProjectForm
from xltool.template.plan import COVER_SHEET, CoverInfo, DepartmentPlan, plan_department
from xltool.template.prefill import Prefill

PROFILE = load_profile(DEFAULT_PROFILE)
MANY = {"数量指标": 14, "质量指标": 6, "时效指标": 4, "成本指标": 4, "社会效益指标": 5,
        "服务对象满意度指标": 3}


def _plan(tmp_path: Path, projects: int = 1, many: dict[str, int] = MANY) -> DepartmentPlan:
    rows = [ledger_row(f"001-{p:02d}", f"第{p}项工作经费", total="12")
            for p in range(1, projects + 1)]
    ledger = load_ledger(write_ledger(tmp_path / "ledger.csv", rows))
    indicators = tuple(
        Indicator("001-01", category.level1, category.level2, f"{category.level2}第{row}条", "1次")
        for category in PROFILE.categories for row in range(1, many.get(category.level2, 0) + 1))
    prefill = Prefill({"001-01": "全年完成任务。"}, {"001-01": indicators})
    return plan_department(PROFILE, ledger.projects, prefill, CoverInfo(issuer="财政局"))


def _pages(form: ProjectForm) -> list[range]:
    rows = max(c.row for c in form.cells) + 1
    starts = [0, *form.breaks]
    return [range(first, last) for first, last in zip(starts, [*form.breaks, rows], strict=True)]


def test_a_long_form_breaks_between_category_blocks(tmp_path: Path) -> None:
    form = _plan(tmp_path).forms[0]
    assert form.breaks, "a form of forty indicators runs over a page"
    starts = {block.first_row for block in form.blocks} | {form.indicator_row}
    room = page_room(form.columns, LANDSCAPE)
    for block in form.blocks:
        inside = [row for row in form.breaks if block.first_row < row <= block.last_row]
        height = sum(form.row_heights[r] for r in range(block.first_row, block.last_row + 1))
        assert not inside or height > room - form.row_heights[form.indicator_row], block
    assert all(row in starts for row in form.breaks)
    for page in _pages(form):  # each page's rows, with the repeated header, fit on it
        repeated = form.row_heights[form.indicator_row] if page.start > form.indicator_row else 0
        assert repeated + sum(form.row_heights[r] for r in page) <= room


def test_no_merged_label_crosses_a_break_and_each_page_has_its_labels(tmp_path: Path) -> None:
    form = _plan(tmp_path).forms[0]
    for cell in form.cells:
        last = cell.merge_to[0] if cell.merge_to else cell.row
        assert not [row for row in form.breaks if cell.row < row <= last], cell
    for page in _pages(form):
        indicator_rows = [c.row for c in form.cells if c.field == "name" and c.row in page]
        if not indicator_rows:
            continue
        labels = {c.col: c for c in form.cells if c.role == "label" and c.col in (0, 1)
                  and c.row == indicator_rows[0]}
        assert set(labels) == {0, 1}, page  # 一级 and 二级 label on the page's first row


def test_every_row_has_a_height_that_fits_its_text(tmp_path: Path) -> None:
    long_name = "某某县" + "人民政府办公室综合事务" * 6
    ledger = load_ledger(write_ledger(tmp_path / "ledger.csv", [
        ledger_row("001-01", long_name, total="12")]))
    form = plan_department(PROFILE, ledger.projects, Prefill(), CoverInfo()).forms[0]
    rows = max(c.row for c in form.cells) + 1
    assert set(form.row_heights) == set(range(rows))
    name_row = next(c.row for c in form.cells if c.value == long_name)
    assert form.row_heights[name_row] >= 2 * 16  # wraps to two lines at least


def test_the_written_form_prints_as_laid_out(tmp_path: Path) -> None:
    plan = _plan(tmp_path, projects=2)
    path = tmp_path / "template.xlsx"
    writer.write_workbook(plan, path, "pw")
    book = load_workbook(path)
    for form in plan.forms:
        sheet = book[form.sheet]
        assert [brk.id for brk in sheet.row_breaks.brk] == list(form.breaks)
        assert sheet.page_setup.paperSize == A4 and sheet.page_setup.orientation == "portrait"
        assert sheet.print_title_rows == f"${form.indicator_row + 1}:${form.indicator_row + 1}"
        header = sheet.oddHeader
        assert header.left.text == plan.department
        assert header.center.text == PROFILE.title_for(plan.year)
        assert header.right.text == form.project.name
        assert "第 &P 页，共 &N 页" in sheet.oddFooter.center.text
        assert sheet.page_margins.left > sheet.page_margins.right  # the bound edge
    assert len(plan.forms[0].breaks) > len(plan.forms[1].breaks)  # a long form, a short one
    cover = book[COVER_SHEET]
    assert cover.page_setup.paperSize == A4 and cover.page_setup.orientation == "landscape"
    assert "第 &P 页，共 &N 页" in cover.oddFooter.center.text
    assert plan.department in cover.oddHeader.left.text


def test_a_form_with_breaks_stamps_to_the_api_bytes(tmp_path: Path) -> None:
    plan = _plan(tmp_path, projects=3)
    stamped, plain = tmp_path / "stamped.xlsx", tmp_path / "plain.xlsx"
    writer.write_workbook(plan, stamped, "pw")
    writer.write_workbook(plan, plain, "pw", stamped=False)
    with zipfile.ZipFile(stamped) as ours, zipfile.ZipFile(plain) as theirs:
        assert {n: ours.read(n) for n in ours.namelist()} == \
            {n: theirs.read(n) for n in theirs.namelist()}


def test_a_long_project_list_repeats_its_header_on_the_cover(tmp_path: Path) -> None:
    plan = _plan(tmp_path, projects=40, many={})
    path = tmp_path / "template.xlsx"
    writer.write_workbook(plan, path, "pw")
    cover = load_workbook(path)[COVER_SHEET]
    header_row = next(row[0].row for row in cover.iter_rows(max_col=1) if row[0].value == "序号")
    assert cover.print_title_rows == f"${header_row}:${header_row}"
    assert cover.row_breaks.brk
    assert len(COVER_WIDTHS) == 5


HEIGHTS = st.lists(st.floats(min_value=5, max_value=300), min_size=1, max_size=60)


@given(heights=HEIGHTS, cuts=st.lists(st.integers(0, 59), max_size=20),
       repeat=st.booleans())
def test_page_breaks_keep_what_fits_together(heights: list[float], cuts: list[int],
                                             repeat: bool) -> None:
    room = 700.0
    edges = sorted({0, *(c for c in cuts if c < len(heights)), len(heights)})
    keep = list(zip(edges, [e - 1 for e in edges[1:]], strict=False))
    repeated = (0, 0) if repeat and len(heights) > 1 else None
    breaks = page_breaks(heights, keep, room, repeated)
    assert list(breaks) == sorted(set(breaks)) and all(0 < b < len(heights) for b in breaks)
    carried = heights[0] if repeated else 0.0
    for first, last in keep:
        size = sum(heights[first:last + 1])
        if size + carried <= room:  # fits a page: never broken inside
            assert not [b for b in breaks if first < b <= last], (first, last)
    starts = [0, *breaks]
    for top, end in zip(starts, [*breaks, len(heights)], strict=True):
        on_page = sum(heights[top:end]) + (carried if top > 0 else 0.0)
        assert on_page <= room or end - top == 1  # full only with one row too tall alone
