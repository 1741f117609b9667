"""Build `ledger.xlsx` and `targets.xlsx` from the transcribed CSVs in `data/`.

    python samples/build.py

The CSVs are the reviewed source (see README.md); the workbooks are what a
finance office would really hold, and are rebuilt byte for byte by this script.
"""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

from xltool.ledger import LEDGER_COLUMNS
from xltool.targets import Indicator, Targets, write_targets
from xltool.xlsxout import check, new_workbook

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
OFFICE = "示例市财政局"


def _rows(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def build_ledger(path: Path) -> None:
    rows = _rows("ledger.csv")
    headers = list(rows[0])
    amounts = {c.header for c in LEDGER_COLUMNS if c.kind == "amount"}
    workbook = new_workbook(path, title=f"{OFFICE}预算台账", author=OFFICE)
    title = workbook.add_format({"bold": True, "font_size": 14, "font_name": "宋体"})
    head = workbook.add_format({"bold": True, "border": 1, "bg_color": "#DDEBF7",
                                "font_name": "宋体", "text_wrap": True, "align": "center"})
    text = workbook.add_format({"border": 1, "font_name": "宋体", "num_format": "@"})
    money = workbook.add_format({"border": 1, "font_name": "宋体", "num_format": "#,##0.00"})
    sheet = workbook.add_worksheet("预算台账")
    check(sheet.write_string(0, 0, f"{OFFICE}{rows[0]['年度']}年项目支出预算台账（单位：万元）",
                             title), "title")
    for col, header in enumerate(headers):
        check(sheet.write_string(1, col, header, head), "header")
        check(sheet.set_column(col, col, 28 if "名称" in header or "单位" in header else 14),
              "width")
    for r, row in enumerate(rows, start=2):
        for col, header in enumerate(headers):
            value = row[header]
            if header in amounts and value:
                check(sheet.write_number(r, col, float(Decimal(value)), money), "amount")
            elif header == "年度":
                check(sheet.write_number(r, col, int(value), text), "year")
            elif value:
                check(sheet.write_string(r, col, value, text), "text")
            else:
                check(sheet.write_blank(r, col, None, text), "blank")
    check(sheet.freeze_panes(2, 0), "freeze")
    check(sheet.autofilter(1, 0, len(rows) + 1, len(headers) - 1), "filter")
    workbook.close()


def sample_targets() -> Targets:
    goals = {row["项目编码"]: row["年度总体目标"] for row in _rows("goals.csv")}
    indicators = tuple(
        Indicator(row["项目编码"], row["一级指标"], row["二级指标"], row["三级指标"],
                  row["指标值"], Decimal(row["权重"]) if row["权重"] else None)
        for row in _rows("indicators.csv")
    )
    return Targets(goals=goals, indicators=indicators)


def build(outdir: Path = HERE) -> tuple[Path, Path]:
    ledger, targets = outdir / "ledger.xlsx", outdir / "targets.xlsx"
    build_ledger(ledger)
    write_targets(sample_targets(), targets)
    return ledger, targets


def main() -> None:
    ledger, targets = build()
    print(f"wrote {ledger} and {targets}")


if __name__ == "__main__":
    main()
