"""The bundled samples: rebuilt byte for byte from the transcribed CSVs, clean, complete."""

from __future__ import annotations

import dataclasses
import importlib.util
import re
from pathlib import Path
from types import ModuleType

from tests.conftest import SAMPLES
from xltool.ledger import load_ledger
from xltool.profile import load_profile
from xltool.targets import read_targets


def _build_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("samples_build", SAMPLES / "build.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_sample_workbooks_are_what_build_py_makes(tmp_path: Path) -> None:
    ledger, targets = _build_module().build(tmp_path)
    assert ledger.read_bytes() == (SAMPLES / "ledger.xlsx").read_bytes()
    assert targets.read_bytes() == (SAMPLES / "targets.xlsx").read_bytes()


def test_the_sample_ledger_is_clean_and_matches_its_csv() -> None:
    from_xlsx = load_ledger(SAMPLES / "ledger.xlsx")
    from_csv = load_ledger(SAMPLES / "data" / "ledger.csv")
    assert from_xlsx.problems == () and from_csv.problems == ()
    assert len(from_xlsx.projects) == 16 and from_xlsx.year == 2023
    assert [c for c, _ in from_xlsx.departments] == ["011001", "012001", "013042"]
    strip = [dataclasses.replace(p, row=0) for p in from_xlsx.projects]
    assert strip == [dataclasses.replace(p, row=0) for p in from_csv.projects]


def test_the_sample_targets_cover_every_project_in_known_categories() -> None:
    targets = read_targets(SAMPLES / "targets.xlsx")
    ledger = load_ledger(SAMPLES / "ledger.xlsx")
    profile = load_profile("ningxia-2021")
    assert targets.problems == ()
    assert set(targets.goals) == {p.code for p in ledger.projects}
    assert len(targets.indicators) == 193
    for indicator in targets.indicators:
        category = profile.category_by_level2(indicator.level2)
        assert category is not None and category.level1 == indicator.level1
    placeholders = [i for i in targets.indicators if re.fullmatch(r"指标\d+[:：]", i.name)]
    assert len(placeholders) == 15  # left in, as real returns have them
