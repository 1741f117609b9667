"""Stamped forms are byte for byte what xlsxwriter's API writes, for every profile."""

from __future__ import annotations

import zipfile
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import SAMPLES
from xltool.ledger import load_ledger
from xltool.profile import load_profile
from xltool.targets import read_targets
from xltool.template import writer
from xltool.template.plan import CoverInfo, plan_department
from xltool.template.prefill import Prefill, match_prefill

PROFILES = ["ningxia-2021", "ningxia-2023", "weighted", "national-2021"]


def _parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _plans(profile_name: str, prefilled: bool) -> list[object]:
    profile = load_profile(profile_name)
    ledger = load_ledger(SAMPLES / "ledger.xlsx")
    prefill = Prefill()
    if prefilled:
        prefill = match_prefill(read_targets(SAMPLES / "targets.xlsx"),
                                [p.code for p in ledger.projects], profile)
    return [plan_department(profile, projects, prefill, CoverInfo(issuer="财政局"))
            for projects in ledger.by_department().values()]


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("prefilled", [False, True])
def test_stamped_workbooks_equal_the_api_path(profile: str, prefilled: bool,
                                               tmp_path: Path) -> None:
    for number, plan in enumerate(_plans(profile, prefilled)):
        stamped, plain = tmp_path / f"{number}-stamped.xlsx", tmp_path / f"{number}-plain.xlsx"
        writer.write_workbook(plan, stamped, "pw")  # type: ignore[arg-type]
        writer.write_workbook(plan, plain, "pw", stamped=False)  # type: ignore[arg-type]
        ours, theirs = _parts(stamped), _parts(plain)
        assert ours.keys() == theirs.keys()
        for name in theirs:
            assert ours[name] == theirs[name], f"{profile} {name} differs"


TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=60)
AMOUNT = st.decimals(min_value=Decimal("-1e9"), max_value=Decimal("1e9"), places=4,
                     allow_nan=False, allow_infinity=False)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_values_stamp_to_the_api_bytes(data: st.DataObject, tmp_path: Path) -> None:
    """Whatever the ledger and the department wrote — markup, control characters, `_x0041_`,
    long numbers — a stamped form is what the API writes."""
    plan = _plans("weighted", True)[0]
    forms = []
    for form in plan.forms:  # type: ignore[attr-defined]
        cells = tuple(
            cell._replace(value=data.draw(AMOUNT if isinstance(cell.value, Decimal) else TEXT))
            if cell.role in ("ledger", "input") else cell
            for cell in form.cells)
        forms.append(replace(form, cells=cells))
    plan = replace(plan, forms=tuple(forms))  # type: ignore[type-var]
    stamped, plain = tmp_path / "stamped.xlsx", tmp_path / "plain.xlsx"
    writer.write_workbook(plan, stamped, "pw")  # type: ignore[arg-type]
    writer.write_workbook(plan, plain, "pw", stamped=False)  # type: ignore[arg-type]
    assert _parts(stamped) == _parts(plain)


def test_xlsxwriter_is_a_release_stamping_was_verified_against() -> None:
    """pyproject.toml allows exactly the releases the stamping code was compared under, and
    the one installed is among them: a new xlsxwriter cannot silently change every form."""
    import tomllib

    import xlsxwriter
    from packaging.requirements import Requirement

    from tests.conftest import ROOT
    from xltool.template.stamp import STAMPING, VERIFIED_XLSXWRITER

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    [declared] = [Requirement(r) for r in project["dependencies"] if r.startswith("xlsxwriter")]
    lowest, beyond = (".".join(map(str, release)) for release in VERIFIED_XLSXWRITER)
    assert set(map(str, declared.specifier)) == {f">={lowest}", f"<{beyond}"}
    assert declared.specifier.contains(xlsxwriter.__version__), xlsxwriter.__version__
    assert STAMPING


def test_under_an_unverified_xlsxwriter_every_form_is_written_through_the_api(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from xltool.errors import FrameMismatch
    from xltool.template import stamp

    assert not stamp.verified("3.4.0") and not stamp.verified("3.2.9")
    assert stamp.verified("3.3.0") and stamp.verified("3.3.1")
    monkeypatch.setattr(stamp, "STAMPING", False)
    refused: list[str] = []
    original = stamp.StampedSheet.stamp

    def watched(*args: object) -> None:
        try:
            original(*args)  # type: ignore[arg-type]
        except FrameMismatch as error:
            refused.append(str(error))
            raise

    monkeypatch.setattr(stamp.StampedSheet, "stamp", watched)
    plan = _plans("ningxia-2021", True)[0]
    fallback, plain = tmp_path / "fallback.xlsx", tmp_path / "plain.xlsx"
    writer.write_workbook(plan, fallback, "pw")  # type: ignore[arg-type]
    writer.write_workbook(plan, plain, "pw", stamped=False)  # type: ignore[arg-type]
    assert len(refused) == len(plan.forms) and "verified" in refused[0]  # type: ignore[attr-defined]
    assert _parts(fallback) == _parts(plain)
