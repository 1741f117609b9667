"""The template benchmark's baseline holds the same cells as the templates it is set against."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import openpyxl

from xltool.template import issue_templates

BENCH = Path(__file__).parent.parent / "benchmarks" / "bench_template.py"


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_template", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _values(path: Path) -> dict[str, dict[str, Any]]:
    book = openpyxl.load_workbook(path)
    return {sheet.title: {cell.coordinate: cell.value for row in sheet.iter_rows()
                          for cell in row if cell.value is not None and cell.value != ""}
            for sheet in book.worksheets}


def test_baseline_holds_every_cell_of_the_template(tmp_path: Path) -> None:
    bench = _bench()
    ledger = bench.make_ledger(tmp_path / "ledger.csv", departments=2, projects=3)
    (tmp_path / "bare").mkdir()
    done = bench.run_baseline(ledger, tmp_path / "bare", in_memory=True)
    run = issue_templates(ledger, tmp_path / "full", store=tmp_path / "x.db", password="pw")

    assert done["files"] == len(run.workbooks) == 2
    for number, issued in enumerate(run.workbooks):
        bare, full = _values(tmp_path / "bare" / f"{number}.xlsx"), _values(issued.path)
        assert list(bare) == list(full)  # cover, three forms, dropdown lists
        assert bare == full
        assert len(bare["填报说明"]) > 50
        assert any(str(v).startswith("=IF(") for v in bare["填报说明"].values())
