"""A template opened and re-saved by LibreOffice keeps its identity and its input names."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from openpyxl import load_workbook

from tests.conftest import SAMPLES
from tests.libreoffice import convert
from xltool.store import open_store
from xltool.template import issue_templates

pytestmark = pytest.mark.libreoffice


@pytest.fixture(scope="module")
def issued(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    folder = tmp_path_factory.mktemp("lo")
    run = issue_templates(SAMPLES / "ledger.xlsx", folder / "out", store=folder / "x.db",
                          prefill=SAMPLES / "targets.xlsx", departments=["013042"])
    return run.workbooks[0].path, folder, run.workbooks[0].template_id


def test_libreoffice_prints_a_template_to_pdf(issued: tuple[Path, Path, str]) -> None:
    path, folder, _ = issued
    pdf = convert(path, "pdf", folder / "pdf", folder / "profile")
    content = pdf.read_bytes()
    pages = re.findall(rb"/Type\s*/Page\b(?!s)", content)
    assert content.startswith(b"%PDF") and len(pages) >= 5  # the cover and four projects


def test_libreoffice_resave_keeps_identity_and_input_names(issued: tuple[Path, Path, str]) -> None:
    path, folder, template_id = issued
    resaved = convert(path, "xlsx:Calc MS Excel 2007 XML", folder / "xlsx", folder / "profile")
    workbook = load_workbook(resaved)
    properties = {p.name: p.value for p in workbook.custom_doc_props.props}
    assert properties["xltool.template_id"] == template_id
    assert workbook.defined_names["XT_TEMPLATE_ID"].attr_text == f'"{template_id}"'
    with open_store(folder / "x.db") as store:
        cells = store.issued_form(template_id).cells()
    inputs = [c for c in cells if not c.locked]
    assert inputs
    for record in inputs:
        sheet, ref = next(iter(workbook.defined_names[record.name].destinations))
        assert (sheet, ref.replace("$", "")) == (record.sheet, record.cell)
        cell = workbook[sheet][record.cell]
        assert cell.protection.locked is False
        assert (cell.value or "") == record.value
    for record in (c for c in cells if c.locked and c.field.startswith("header.")):
        assert workbook[record.sheet][record.cell].value == record.value
