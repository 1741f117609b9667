"""The reader's quick scans find exactly what its general patterns find.

Each quick path (a literal search first, a pattern for the common way a part is written)
must give the same answer as the general path it spares, on any bytes: these tests draw
parts from the pieces that matter and compare the two.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import python_calamine
from defusedxml import ElementTree as SafeTree
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.corpus import issue
from xltool.collect import scans
from xltool.collect.reader import open_xlsx
from xltool.errors import Unreadable
from xltool.limits import DEFAULT_LIMITS, Limits

NAME_PIECES = [b"<definedName", b' name="X"', b' name="Y"', b">", b"'S'!$A$1", b'"1"',
               b"</definedName>", b"<definedNames>", b"</definedNames>", b"&amp;", b"<", b'"',
               b' localSheetId="0"', b"x:", b" ", b"definedName", b"s", b"<x/>",
               b'<definedName name="A">1</definedName>', "名".encode()]
SHEET_PIECES = [b"<", b">", b"sheet", b"sheets", b"<sheet", b"x:", b" ", b"/", b'name="a"',
                b' r:id="rId1"', b"s", b"ab", b":"]
TAG_PIECES = [b"<", b"c", b"si", b"f", b" ", b">", b"/", b":", b"x", b"<c ", b"<si>",
              b"x:si ", b"f>", b"\n", b'r="A1"']


def pieces(alphabet: list[bytes]) -> st.SearchStrategy[bytes]:
    return st.lists(st.sampled_from(alphabet), max_size=24).map(b"".join)


@settings(max_examples=1000, deadline=None)
@given(pieces(NAME_PIECES))
def test_plainly_written_names_are_read_as_the_general_pattern_reads_them(xml: bytes) -> None:
    plain = scans._plain_defined_names(xml)
    if plain is None:
        return
    names, listed = plain
    assert names == scans._any_defined_names(xml)
    if listed is not None:  # the list cut out for the value reader holds names only
        cut = xml[listed]
        assert cut.startswith(b"<definedNames>") and cut.endswith(b"</definedNames>")
        assert cut.count(b"<") == 2 + 2 * len(scans._DEFINED_NAME.findall(cut))


@settings(max_examples=1000, deadline=None)
@given(pieces(SHEET_PIECES))
def test_sheet_elements_are_found_where_the_pattern_finds_them(xml: bytes) -> None:
    assert [m.span() for m in scans.sheet_elements(xml)] == \
        [m.span() for m in scans._SHEET_ELEMENT.finditer(xml)]


@settings(max_examples=1000, deadline=None)
@given(pieces(TAG_PIECES))
def test_a_part_said_to_hold_no_tag_holds_none(xml: bytes) -> None:
    if not scans.may_hold(xml, b"c"):
        assert not scans._found(scans._CELL, xml)
    if not scans.may_hold(xml, b"si"):
        assert not scans._found(scans._STRING, xml)
    if not scans.may_hold(xml, b"f"):
        assert not scans._FORMULA.search(xml)


@settings(max_examples=1000, deadline=None)
@given(pieces([b"<sheetProtection", b' sheet="1"', b"/>", b"<", b"x:", b" ", b">",
               b"sheetProtection", b"s", b"<sheetData/>"]))
def test_protection_is_read_as_the_pattern_reads_it(xml: bytes) -> None:
    match = scans._PROTECTION.search(xml)
    assert scans.is_protected(xml) == bool(match and scans._SHEET_ON.search(match.group(1)))


def _tree_relations(xml: bytes) -> dict[str | None, str]:
    return {r.get("Id"): scans._part_path(r.get("Target", ""))
            for r in SafeTree.fromstring(xml, forbid_dtd=True)}


RELATIONS = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns='
             b'"http://schemas.openxmlformats.org/package/2006/relationships"><Relationship '
             b'Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
             b'relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" '
             b'Type="t" Target="/xl/styles.xml"/></Relationships>')


@settings(max_examples=1000, deadline=None)
@given(st.integers(0, len(RELATIONS) - 1), st.integers(0, 3),
       st.sampled_from([b" ", b"&amp;", b"'", b"x", b"\t", b"\n", b"<a/>", "中".encode(), b'"']))
def test_relations_read_by_pattern_are_those_the_parser_reads(at: int, cut: int,
                                                             put: bytes) -> None:
    xml = RELATIONS[:at] + put + RELATIONS[at + cut:]
    try:
        expected: object = _tree_relations(xml)
    except Exception as error:  # the same failure either way
        expected = type(error)
    try:
        found: object = scans.relation_targets(xml)
    except Exception as error:
        found = type(error)
    assert found == expected


def test_the_value_reader_gets_the_checked_parts_and_reads_the_same_values(
        tmp_path: Path) -> None:
    workbook = next(iter(issue(tmp_path).values()))
    data = workbook.path.read_bytes()
    content = open_xlsx(data)
    content.prepare(content.sheets)
    repacked = zipfile.ZipFile(io.BytesIO(content.data))
    original = zipfile.ZipFile(io.BytesIO(data))
    assert repacked.testzip() is None
    # the styles are read, but kept from the value reader: it would turn numbers into dates
    given = {"_rels/.rels", "xl/workbook.xml", "xl/_rels/workbook.xml.rels",
             "xl/sharedStrings.xml", *(sheet.part for sheet in content.sheets.values())}
    assert repacked.namelist() == [name for name in original.namelist() if name in given]
    assert all(i.compress_type == zipfile.ZIP_STORED for i in repacked.infolist())
    assert b"definedName" not in repacked.read("xl/workbook.xml")  # read here, not there
    before = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    after = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(content.data))
    assert before.sheet_names == after.sheet_names
    for sheet in before.sheet_names:
        assert before.get_sheet_by_name(sheet).to_python(skip_empty_area=False) == \
            after.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
    content.close()


def test_strings_are_counted_whenever_the_parts_could_hold_too_many(tmp_path: Path) -> None:
    """Parts too small to hold more strings than the limit are not counted; any larger
    file still is, so the limit holds exactly as before."""
    many = b"".join(b"<si><t>%d</t></si>" % n for n in range(600))
    path = tmp_path / "strings.xlsx"
    source = next(iter(issue(tmp_path).values())).path
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            content = old.read(info)
            if info.filename == "xl/sharedStrings.xml":
                content = content.replace(b"</sst>", many + b"</sst>")
            new.writestr(info.filename, content)
    data = path.read_bytes()
    assert open_xlsx(data, DEFAULT_LIMITS) is not None
    small = Limits(max_strings=500)
    try:
        open_xlsx(data, small)
    except Unreadable as problem:
        assert problem.code == "file.too_many_strings"
    else:
        raise AssertionError("600 strings passed a limit of 500")
