"""Returns from other office suites, and refused formats that still say whose they are.

WPS and Excel's Strict Open XML write the same return in other XML: it is read like any
other, with the same values and no finding (`tests/office_variants.py` rewrites a return
the way each writes it). An .xls, .ods or .xlsb is refused, but its properties name the
template it came from: its department gets the refusal in its feedback and counts as
having sent a file (`xltool/collect/foreign.py`). The .xls and .ods are LibreOffice's own
Save As of a filled return; the .xlsb package and a second .xls are made by hand.
"""

from __future__ import annotations

import io
import shutil
import struct
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import python_calamine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from msoffcrypto import OfficeFile  # type: ignore[import-untyped]
from openpyxl import load_workbook

from tests.conftest import ledger_row, write_ledger
from tests.corpus import good_return, old_xls
from tests.libreoffice import convert
from tests.office_variants import (
    PROPERTY_STREAM,
    STRICT_NAMESPACES,
    as_strict,
    as_wps,
    as_xlsb,
    compound_file,
    old_xls_of,
    parts,
    property_set,
)
from xltool.codes import FILE_ODS, FILE_XLS, FILE_XLSB, Problem
from xltool.collect import collect
from xltool.collect.archive import FileKind, sniff_entries
from xltool.collect.chain import history
from xltool.collect.feedback import feedback_name
from xltool.collect.foreign import (
    PROPERTY_STREAM_BYTES,
    foreign_properties,
    ole_properties,
    user_defined_properties,
)
from xltool.collect.reader import open_xlsx
from xltool.collect.run import CollectRun
from xltool.collect.scans import custom_properties, formula_cells_in
from xltool.limits import DEFAULT_LIMITS
from xltool.names import identity_property
from xltool.store import open_store
from xltool.template import IssuedWorkbook, issue_templates

DEPARTMENTS = {"001": "示例局", "002": "旧版局", "003": "开放局", "004": "二进制局"}
TEMPLATE_ID = identity_property("template_id")


@dataclass(frozen=True)
class Office:
    root: Path
    store: Path
    """The store as issued: each test collects into a copy of it."""
    templates: dict[str, IssuedWorkbook]
    returns: dict[str, Path]
    """A complete return per department, as openpyxl saves it."""


@pytest.fixture(scope="module")
def office(tmp_path_factory: pytest.TempPathFactory) -> Office:
    """Templates for four departments; 001's 项目属性 is left to the department, so its
    form has a dropdown from the hidden list sheet (a list validation from another sheet)."""
    root = tmp_path_factory.mktemp("office")
    rows = [ledger_row(f"{code}-01", f"{name}运行经费", department=(code, name), total="8",
                       **({"项目属性": ""} if code == "001" else {}))
            for code, name in DEPARTMENTS.items()]
    run = issue_templates(write_ledger(root / "ledger.csv", rows), root / "templates",
                          store=root / "issued.db")
    templates = {w.department_code: w for w in run.workbooks}
    returns = {code: good_return(root / "issued.db", workbook, root / f"return-{code}.xlsx",
                                 **({"XT_P01_ATTRIBUTE": "经常性项目"} if code == "001" else {}))
               for code, workbook in templates.items()}
    return Office(root, root / "issued.db", templates, returns)


def collected(office: Office, folder: Path, *files: Path) -> CollectRun:
    folder.mkdir(exist_ok=True)
    store = Path(shutil.copyfile(office.store, folder / "x.db"))
    return collect(list(files), store=store, feedback=folder / "feedback")


def accepted_targets(run: CollectRun) -> object:
    [outcome] = run.files
    with open_store(run.store) as store:
        return store.accepted_targets(outcome.sha256)


# -- WPS and Strict Open XML: read like any other return -----------------------------------


def test_a_wps_return_reads_as_the_clean_one(office: Office, tmp_path: Path) -> None:
    clean = office.returns["001"]
    wps = as_wps(clean, tmp_path / "wps.xlsx")
    written = parts(wps)
    sheets = [content for name, content in written.items() if name.startswith("xl/worksheets/")]
    assert all(b'<dimension ref="A1:A1"/>' in sheet for sheet in sheets)
    assert all(b'customHeight="1"' in sheet for sheet in sheets)
    form = open_xlsx(wps.read_bytes()).sheets[office.templates["001"].sheets[0]].xml
    validations = form[form.find(b"<dataValidations"):form.find(b"</dataValidations>")]
    assert b"<xm:f>" in form and validations and b'type="list"' not in validations
    assert written["docProps/custom.xml"].index(b"KSOProductBuildVer") < \
        written["docProps/custom.xml"].index(b"xltool.template_id")

    as_written = collected(office, tmp_path / "clean", clean)
    as_wps_writes = collected(office, tmp_path / "wps", wps)
    [expected], [found] = as_written.files, as_wps_writes.files
    assert (expected.status, expected.findings) == ("accepted", ())
    assert (found.status, found.findings, found.template_id) == (
        "accepted", (), office.templates["001"].template_id)
    assert accepted_targets(as_wps_writes) == accepted_targets(as_written)


def test_a_strict_return_reads_as_the_clean_one(office: Office, tmp_path: Path) -> None:
    clean = office.returns["001"]
    strict = as_strict(clean, tmp_path / "strict.xlsx")
    written = parts(strict)
    for transitional, _ in STRICT_NAMESPACES:
        assert not any(transitional.encode() in content for content in written.values())
    assert b'conformance="strict"' in written["xl/workbook.xml"]
    assert b'xmlns="http://purl.oclc.org/ooxml/officeDocument/customProperties"' in \
        written["docProps/custom.xml"]

    template_id = office.templates["001"].template_id
    content = open_xlsx(strict.read_bytes())
    assert content.properties[TEMPLATE_ID] == template_id  # found in Strict's namespace
    assert content.defined_names["XT_TEMPLATE_ID"] == f'"{template_id}"'
    run = collected(office, tmp_path / "strict", strict)
    [found] = run.files
    assert (found.status, found.findings, found.template_id) == ("accepted", (), template_id)
    assert accepted_targets(run) == accepted_targets(
        collected(office, tmp_path / "clean", clean))


@pytest.mark.libreoffice
def test_libreoffice_opens_the_strict_return(office: Office, tmp_path: Path) -> None:
    """What the rewriting made is a workbook another reader takes for one: LibreOffice opens
    it and saves its values again."""
    strict = as_strict(office.returns["003"], tmp_path / "strict.xlsx")
    again = convert(strict, "xlsx", tmp_path / "again", tmp_path / "profile")
    sheet = office.templates["003"].sheets[0]
    values = {}
    for path in (office.returns["003"], again):
        book = python_calamine.CalamineWorkbook.from_path(str(path))
        values[path] = book.get_sheet_by_name(sheet).to_python()
        book.close()
    assert values[again] == values[office.returns["003"]]


# -- .xls, .ods and .xlsb: refused, and counted for their department -----------------------


def assert_counted_for(run: CollectRun, office: Office, code: str, problem: Problem) -> None:
    """The file refused with PROBLEM, as department CODE's: its feedback says so, and the
    department has sent a file (with errors), as its history shows."""
    template = office.templates[code]
    [outcome] = run.files
    assert outcome.status == "rejected"
    assert (outcome.department, outcome.template_id) == (code, template.template_id)
    assert [(f.code, f.department, f.value) for f in outcome.findings] == [
        (problem.code, code, template.template_id)]
    with open_store(run.store) as store:
        [received] = store.received_files()
    assert (received.department_code, received.template_id, received.year) == (
        code, template.template_id, 2024)
    status = run.departments.set_index("主管部门编码").loc[code]
    assert (status["已收到"], status["有错误"], status["未报送"]) == (1, 1, False)
    [entry] = history(code, store=run.store).files
    assert (entry.file.sha256, entry.errors, entry.in_force) == (outcome.sha256, 1, False)
    feedback = run.store.parent / "feedback" / feedback_name(code, DEPARTMENTS[code], 2024)
    assert feedback in run.feedback
    book = load_workbook(feedback, read_only=True)
    texts = {str(value) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True)
             for value in row if value is not None}
    book.close()
    message, fix = problem.text()
    assert {message, fix, outcome.name} <= texts


@pytest.mark.libreoffice
@pytest.mark.parametrize(("extension", "problem"), [("xls", FILE_XLS), ("ods", FILE_ODS)])
def test_a_return_saved_by_libreoffice_as_another_format_counts_for_its_department(
        office: Office, tmp_path: Path, extension: str, problem: Problem) -> None:
    saved = convert(office.returns["002"], extension, tmp_path / "saved", tmp_path / "profile")
    data = saved.read_bytes()
    template_id = office.templates["002"].template_id
    kind, entries = sniff_entries(data)
    if extension == "xls":  # an Excel 97 file to another reader, the property in it
        assert OfficeFile(io.BytesIO(data)).format == "xls97"
        assert template_id.encode() in data  # LibreOffice writes the properties in UTF-8
    else:
        assert template_id.encode() in zipfile.ZipFile(saved).read("meta.xml")
    assert foreign_properties(kind, data, entries, DEFAULT_LIMITS)[TEMPLATE_ID] == template_id
    assert_counted_for(collected(office, tmp_path, saved), office, "002", problem)


def test_an_xlsb_counts_for_its_department(office: Office, tmp_path: Path) -> None:
    binary = as_xlsb(office.returns["004"], tmp_path / "binary.xlsb")
    assert_counted_for(collected(office, tmp_path, binary), office, "004", FILE_XLSB)


@pytest.mark.parametrize("codepage", [1200, 65001, 936])
def test_an_xls_made_by_hand_counts_for_its_department(office: Office, tmp_path: Path,
                                                       codepage: int) -> None:
    """Excel writes its properties in the system's code page or in UTF-16."""
    template = office.templates["003"]
    workbook = tmp_path / "旧版.xls"
    workbook.write_bytes(old_xls_of({"KSOProductBuildVer": "2052-11.1.0.14309",
                                     TEMPLATE_ID: template.template_id,
                                     identity_property("department"): "003"},
                                    codepage=codepage, wide=codepage == 1200))
    with workbook.open("rb") as handle:  # an Excel 97 file to another reader
        assert OfficeFile(handle).format == "xls97"
    assert_counted_for(collected(office, tmp_path, workbook), office, "003", FILE_XLS)


@pytest.mark.parametrize("properties", [
    {}, {TEMPLATE_ID: "2024-999-0000000000", identity_property("department"): "003"}])
def test_a_refused_file_of_no_template_issued_here_is_nobodys(office: Office, tmp_path: Path,
                                                               properties: dict[str, str]) -> None:
    """A file naming no template, or one this store never issued, is the office's matter:
    what it says of a department is only a claim."""
    workbook = tmp_path / "其他.xls"
    workbook.write_bytes(old_xls_of(properties) if properties else old_xls())
    run = collected(office, tmp_path, workbook)
    [outcome] = run.files
    assert (outcome.status, outcome.department, outcome.template_id) == ("rejected", "", "")
    assert [f.code for f in outcome.findings] == [FILE_XLS.code]
    assert run.departments["已收到"].sum() == 0
    assert not [p for p in run.feedback if "反馈表" in p.name]


# -- the property set and the compound file, within bounds ---------------------------------

_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"),
                min_size=1, max_size=30)


@given(properties=st.dictionaries(_TEXT, st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"), max_size=60),
    max_size=8), codepage=st.sampled_from([1200, 65001, 936, 1252]), wide=st.booleans())
def test_a_property_set_reads_back_as_written(properties: dict[str, str], codepage: int,
                                              wide: bool) -> None:
    encoding = "utf-16-le" if codepage == 1200 else f"cp{codepage}"

    def fits(text: str) -> bool:
        try:
            return text.encode(encoding).decode(encoding) == text
        except UnicodeEncodeError:
            return False

    properties = {name: value for name, value in properties.items()
                  if fits(name) and (wide or fits(value))}
    stream = property_set(properties, codepage=codepage, wide=wide)
    assert user_defined_properties(stream) == properties
    assert ole_properties(compound_file({PROPERTY_STREAM: stream})) == properties


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.data())
def test_a_damaged_xls_costs_nothing_and_raises_nothing(data: st.DataObject) -> None:
    """Any bytes changed anywhere in an .xls: properties or none, never an exception, at
    once."""
    original = bytearray(old_xls_of({TEMPLATE_ID: "2024-001-abc"}, codepage=1200))
    for _ in range(data.draw(st.integers(1, 8))):
        at = data.draw(st.integers(0, len(original) - 1))
        original[at] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()):
        original = original[:data.draw(st.integers(0, len(original)))]
    start = time.perf_counter()
    found = foreign_properties(FileKind.XLS, bytes(original), [], DEFAULT_LIMITS)
    assert isinstance(found, dict) and time.perf_counter() - start < 1.0


def _with_fat_entry(data: bytes, sector: int, value: int) -> bytes:
    changed = bytearray(data)
    struct.pack_into("<I", changed, 512 + 4 * sector, value)
    return bytes(changed)


def test_chains_and_trees_that_loop_end_at_once() -> None:
    """A chain of sectors that loops, a tree of entries that loops: each is walked within
    the bounds of what it should hold."""
    workbook = old_xls_of({TEMPLATE_ID: "2024-001-abc"})
    assert ole_properties(workbook) == {TEMPLATE_ID: "2024-001-abc"}
    # the property stream is the second stream: its first sector is 2 + 8 (after the FAT,
    # the directory and the Workbook's eight); make its last sector point back to its first
    looping = _with_fat_entry(workbook, 10 + 7, 10)
    assert foreign_properties(FileKind.XLS, looping, [], DEFAULT_LIMITS) == {
        TEMPLATE_ID: "2024-001-abc"}  # cut at the sectors it needs: read as it should be
    directory = _with_fat_entry(workbook, 1, 1)  # the directory's one sector, chained to itself
    assert foreign_properties(FileKind.XLS, directory, [], DEFAULT_LIMITS) == {
        TEMPLATE_ID: "2024-001-abc"}

    def siblings_loop(entries: bytearray) -> None:  # entry 2's right sibling is entry 1
        struct.pack_into("<I", entries, 2 * 128 + 72, 1)
    tree = compound_file({"Workbook": b"\0" * 16, "Other": b"\0" * 16}, edit=siblings_loop)
    start = time.perf_counter()
    assert ole_properties(tree) == {}
    assert time.perf_counter() - start < 1.0


def test_a_property_stream_too_large_is_not_read() -> None:
    """Its size is looked at before any of it is read."""
    def larger(entries: bytearray) -> None:
        struct.pack_into("<Q", entries, 128 + 120, PROPERTY_STREAM_BYTES + 1)
    stream = property_set({TEMPLATE_ID: "2024-001-abc"})
    assert ole_properties(compound_file({PROPERTY_STREAM: stream})) == {
        TEMPLATE_ID: "2024-001-abc"}
    assert ole_properties(compound_file({PROPERTY_STREAM: stream}, edit=larger)) == {}


def test_an_ods_meta_part_is_read_within_the_zip_guard() -> None:
    """meta.xml is inflated like any part: a bomb there is refused, never inflated."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as ods:
        ods.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet",
                     zipfile.ZIP_STORED)
        ods.writestr("meta.xml", b"<a>" + b" " * (8 * 1024 * 1024) + b"</a>")
    data = archive.getvalue()
    kind, entries = sniff_entries(data)
    assert kind == FileKind.ODS
    assert foreign_properties(kind, data, entries, DEFAULT_LIMITS) == {}


# -- the scans: namespaces and extensions --------------------------------------------------


def test_a_validation_formula_after_the_cells_is_no_cells_formula() -> None:
    sheet = (b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
             b'<sheetData><row r="1"><c r="A1"><f>1+1</f><v>2</v></c><c r="B1" t="s"><v>0</v>'
             b"</c></row></sheetData><extLst><ext><x14:dataValidations><x14:dataValidation>"
             b"<x14:formula1><xm:f>Lists!$A$1:$A$4</xm:f></x14:formula1><xm:sqref>B1</xm:sqref>"
             b"</x14:dataValidation></x14:dataValidations></ext></extLst></worksheet>")
    assert list(formula_cells_in(sheet)) == ["A1"]
    prefixed = sheet.replace(b"<sheetData>", b"<x:sheetData>").replace(
        b"</sheetData>", b"</x:sheetData>")
    assert list(formula_cells_in(prefixed)) == ["A1"]


def test_custom_properties_are_read_in_either_namespace() -> None:
    part = ('<Properties xmlns="{ns}" xmlns:vt="{vt}"><property fmtid="{{D5CDD505-2E9C-101B-'
            '9397-08002B2CF9AE}}" pid="2" name="xltool.template_id"><vt:lpwstr>2024-001-abc'
            "</vt:lpwstr></property></Properties>")
    transitional = part.format(
        ns="http://schemas.openxmlformats.org/officeDocument/2006/custom-properties",
        vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes")
    strict = part.format(ns="http://purl.oclc.org/ooxml/officeDocument/customProperties",
                         vt="http://purl.oclc.org/ooxml/officeDocument/docPropsVTypes")
    for written in (transitional, strict):
        assert custom_properties(written.encode()) == {TEMPLATE_ID: "2024-001-abc"}
