"""`publish`: the consolidated disclosure workbook (预算绩效目标公开), the year's last step.

From the store — each department's accepted return in force, the issued
templates' record of projects, amounts and header fields — it writes one
workbook for publication (`book.py`), optionally the published targets as a
targets workbook for next year's prefill, and a PDF through LibreOffice.

Decisions worth knowing:

- Only accepted projects are published. The issued projects that are not
  (latest template per department) are listed with a reason: 未报送,
  有错误待修改, or 未下发 for a department asked for that was never issued a
  template. They are reported, not printed in the workbook.
- Without a ledger, names and amounts are printed as the templates were issued.
  With one (`ledger=`, `--ledger`) they are the ledger's now, and what the
  ledger no longer backs is withheld and listed (`now.py`: withdrawn, moved, a
  new code, changed funding — unless `allow_stale`). A ledger with errors, or of
  another year than the returns, is refused before anything is written.
- Deterministic: the same store and options give a byte-identical file. The
  date on the cover is `date`, or else the day (China time) the latest
  published return was received — never today.
- Files appear complete or not at all: each is written beside its target and
  renamed into place. None may be the store, one of its files or another output
  (`xltool.outputs.refuse_clobbering`, before any work).
- `pdf=True` without LibreOffice installed fails before anything is written
  (`PdfUnavailable`); the PDF holds the printable sheets (cover, contents,
  department tables, summary), not the flat data sheets.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd

from xltool.atomic import remove_stale_drafts, written_whole
from xltool.defaults import DEFAULT_STORE
from xltool.errors import (
    LedgerOtherYear,
    NothingToPublish,
    PdfFailed,
    PdfUnavailable,
)
from xltool.ledger import AmountUnit, Ledger, load_ledger
from xltool.outputs import Named, refuse_clobbering
from xltool.publish.book import Cover, write_publication
from xltool.publish.gather import Edition, MissingProject, StaleProject, gather
from xltool.publish.now import as_the_ledger_has_it, stale_projects
from xltool.publish.pdf import convert_to_pdf, require_cjk_font, require_soffice
from xltool.store import Store, open_store
from xltool.targets import write_targets

__all__ = ["DepartmentCount", "MissingProject", "NothingToPublish", "PdfFailed",
           "PdfUnavailable", "Publication", "StaleProject", "publish"]

CHINA_TIME = dt.timezone(dt.timedelta(hours=8))
DEFAULT_BASIS = ("《中华人民共和国预算法》和《中共中央 国务院关于全面实施预算绩效管理的意见》"
                 "（中发〔2018〕34号）")
MISSING_COLUMNS = {"department_code": "主管部门编码", "department": "主管部门",
                   "project_code": "项目编码", "project_name": "项目名称", "reason": "原因",
                   "detail": "说明"}


@dataclass(frozen=True)
class DepartmentCount:
    department_code: str
    department: str
    sheet: str
    projects: int
    indicators: int
    total: Decimal


@dataclass(frozen=True)
class Publication:
    """What was written, what it holds, and what is missing from it."""

    output: Path
    year: int | None
    title: str
    issuer: str
    date: str
    departments: tuple[DepartmentCount, ...]
    missing: tuple[MissingProject, ...]
    targets_out: Path | None = None
    pdf: Path | None = None
    ledger: Path | None = None
    """The ledger whose names and amounts were published; None: as the templates were issued."""
    allow_stale: bool = False
    stale: tuple[StaleProject, ...] = ()
    """`allow_stale`: the projects published although their funding changed since issue."""

    @property
    def projects(self) -> int:
        return sum(d.projects for d in self.departments)

    @property
    def indicators(self) -> int:
        return sum(d.indicators for d in self.departments)

    @property
    def total(self) -> Decimal:
        return sum((d.total for d in self.departments), Decimal(0))

    def missing_frame(self) -> pd.DataFrame:
        """The missing projects as a table: 主管部门编码, 主管部门, 项目编码, 项目名称, 原因,
        说明."""
        rows = [{MISSING_COLUMNS[k]: v for k, v in m.to_dict().items() if k in MISSING_COLUMNS}
                for m in self.missing]
        return pd.DataFrame(rows, columns=list(MISSING_COLUMNS.values()))

    def to_dict(self) -> dict[str, Any]:
        return {
            "output": str(self.output),
            "targets_out": str(self.targets_out) if self.targets_out else None,
            "pdf": str(self.pdf) if self.pdf else None,
            "ledger": str(self.ledger) if self.ledger else None,
            "allow_stale": self.allow_stale,
            "year": self.year, "title": self.title, "issuer": self.issuer, "date": self.date,
            "departments": [{"department_code": d.department_code, "department": d.department,
                             "sheet": d.sheet, "projects": d.projects,
                             "indicators": d.indicators, "total": amount_text(d.total)}
                            for d in self.departments],
            "summary": {"departments": len(self.departments), "projects": self.projects,
                        "indicators": self.indicators, "total": amount_text(self.total),
                        "missing": len(self.missing)},
            "missing": [m.to_dict() for m in self.missing],
            "stale": [s.to_dict() for s in self.stale],
        }


def amount_text(amount: Decimal) -> str:
    """An amount as plain text without trailing zeros: 6.0 → 6, 2.50 → 2.5 (never 1E+1)."""
    return f"{amount.normalize():f}"


def publish(*, store: Path | str = DEFAULT_STORE, output: Path | str,
            targets_out: Path | str | None = None, title: str | None = None,
            issuer: str | None = None, date: str | None = None, basis: str | None = None,
            departments: Sequence[str] = (), pdf: bool = False,
            ledger: Ledger | Path | str | None = None, allow_stale: bool = False,
            amounts_in: AmountUnit = "万元") -> Publication:
    """Write the disclosure workbook from the accepted returns in the store; with LEDGER,
    under its names and amounts now (see the module's docstring)."""
    if allow_stale and ledger is None:
        raise ValueError("allow_stale needs a ledger: without one nothing is compared")
    out = Path(output)
    targets_path = Path(targets_out) if targets_out is not None else None
    read = ledger.path if isinstance(ledger, Ledger) else ledger
    refuse_clobbering(files=_outputs(out, targets_path, pdf), store=store,
                      reads=[(read, "预算台账")] if read is not None else [])
    soffice = require_soffice() if pdf else None  # before any work: fail fast, write nothing
    if pdf:
        require_cjk_font()  # else the PDF's Chinese is empty boxes
    book = _checked_ledger(ledger, amounts_in) if ledger is not None else None
    with open_store(store, create=False) as opened:
        edition = gather(opened, departments)
        issuer = issuer if issuer is not None else _issuer_recorded(opened, edition)
    _refuse_empty(edition)
    if book is not None:
        edition = _now(edition, book, allow_stale)
    cover = make_cover(edition, title=title, issuer=issuer, date=date, basis=basis)
    for folder in {out.parent, *([targets_path.parent] if targets_path else [])}:
        remove_stale_drafts(folder)  # a killed run's half-written workbooks
    names = written_whole(out, lambda draft: write_publication(edition, cover, draft))
    if targets_path is not None:
        written_whole(targets_path, lambda draft: write_targets(edition.targets, draft))
    pdf_path = _pdf(edition, cover, out, soffice) if soffice else None
    counts = tuple(DepartmentCount(d.code, d.name, names[d.code], len(d.projects),
                                   d.indicator_count, d.amount("total"))
                   for d in edition.departments)
    return Publication(out, edition.year, cover.title, cover.issuer, cover.date, counts,
                       edition.missing, targets_path, pdf_path,
                       book.path if book is not None else None, allow_stale,
                       stale_projects(edition))


def _refuse_empty(edition: Edition) -> None:
    """Accepted returns, but the office's review leaves every project out: once it reviews,
    only approved projects are published. Say how many are left out, and why."""
    if edition.departments:
        return
    reasons = Counter(m.reason for m in edition.missing)
    why = "、".join(f"{reason} {count} 个" for reason, count in reasons.items())
    year = f"{edition.year}年" if edition.year is not None else ""
    raise NothingToPublish(
        f"{year}没有可以公开的项目（{why or '无'}）：财政部门审核后只公开审核通过（优、良）的"
        "项目。请先用 xltool review 审核通过，或用 xltool status 查看各部门状态")


def _issuer_recorded(store: Store, edition: Edition) -> str | None:
    """The office that issued the year's templates (`template --issuer`), when one did: it
    signs the whole office's disclosure (a department publishing its own set signs it)."""
    if len(edition.departments) == 1:
        return None
    issuers = {store.mailing(t.template_id).issuer for t in store.templates()
               if t.year == edition.year} - {""}
    return issuers.pop() if len(issuers) == 1 else None


# -- the ledger now -----------------------------------------------------------------------


def _checked_ledger(ledger: Ledger | Path | str, amounts_in: AmountUnit) -> Ledger:
    book = ledger if isinstance(ledger, Ledger) else load_ledger(ledger, amounts_in=amounts_in)
    return book.without_errors("未公开")


def _now(edition: Edition, book: Ledger, allow_stale: bool) -> Edition:
    """The edition under BOOK's names and amounts; refused when BOOK is of another year."""
    if book.year is not None and edition.year is not None and book.year != edition.year:
        raise LedgerOtherYear(
            f"预算台账 {book.path.name} 是 {book.year} 年的，已接受的报送是 {edition.year} "
            "年的：请用当年的预算台账公开")
    now = as_the_ledger_has_it(edition, book, allow_stale=allow_stale)
    if not now.departments:
        raise NothingToPublish(
            f"按预算台账 {book.path.name}，已接受的 {len(edition.projects)} 个项目都不予公开"
            "（已撤销、已划转、编码已变或预算已调整）：请先用 xltool reconcile 核对")
    return now


# -- the cover ----------------------------------------------------------------------------


def make_cover(edition: Edition, *, title: str | None = None, issuer: str | None = None,
               date: str | None = None, basis: str | None = None) -> Cover:
    """The note with the caller's texts, or defaults derived from the edition only."""
    year = f"{edition.year}年" if edition.year is not None else ""
    if issuer is None:  # a department publishing its own set signs it; the office names itself
        issuer = edition.departments[0].name if len(edition.departments) == 1 else ""
    return Cover(
        title=title if title is not None else f"{issuer}{year}项目支出预算绩效目标",
        issuer=issuer,
        date=cover_date(date, edition),
        note=(f"　　根据{basis or DEFAULT_BASIS}有关要求，"
              f"现将{year}部门项目支出预算绩效目标予以公开。"),
        annex=f"　　附件：{year}部门项目支出预算绩效目标表",
    )


def chinese_date(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def cover_date(given: str | None, edition: Edition) -> str:
    """An ISO date given is printed the Chinese way, other text as written; none: see module."""
    if given is not None:
        try:
            return chinese_date(dt.datetime.strptime(given.strip(), "%Y-%m-%d").date())
        except ValueError:
            return given
    received = dt.datetime.fromisoformat(edition.latest_received)
    if received.tzinfo is None:
        received = received.replace(tzinfo=dt.UTC)
    return chinese_date(received.astimezone(CHINA_TIME).date())


# -- writing files ------------------------------------------------------------------------


def _outputs(output: Path, targets_out: Path | None, pdf: bool) -> list[Named]:
    """Every file `publish` writes, and what it is, for the check that it overwrites nothing."""
    written: list[Named] = [(output, "公开工作簿")]
    if targets_out is not None:
        written.append((targets_out, "目标工作簿（--targets-out）"))
    if pdf:
        written.append((pdf_path(output), "PDF 文件"))
    return written


def pdf_path(output: Path) -> Path:
    """Where `--pdf` puts the PDF: beside the workbook, under its name."""
    return output.with_suffix(".pdf")


def _pdf(edition: Edition, cover: Cover, output: Path, soffice: str) -> Path:
    """A print copy without the flat data sheets (thousands of pages of rows) goes to PDF."""
    with tempfile.TemporaryDirectory(prefix="xltool-publish-") as folder:
        source = Path(folder) / f"{output.stem}.xlsx"
        write_publication(edition, cover, source, data_sheets=False)
        return convert_to_pdf(source, pdf_path(output), soffice=soffice)
