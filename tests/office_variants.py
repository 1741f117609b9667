"""Returns as other office suites and formats save them, made from a return xltool reads.

No WPS and no Excel run here, so each variant is the same return with its XML parts
rewritten the way that program writes them:

- `as_wps`: as WPS Office saves an .xlsx — every sheet's `<dimension>` is `A1:A1`
  whatever it holds; rows carry `customHeight`; the sheets declare WPS's namespaces
  (`etc:` among them); a list validation that refers to another sheet is written as an
  x14 extension (`<x14:dataValidation>` with `<xm:f>`); the workbook has WPS's
  `fileVersion` and `calcPr`; the core, app and custom properties are WPS's (author
  `Administrator`, `WPS Office 个人版`, and WPS's own `KSOProductBuildVer` and `ICV`
  before the template's, renumbered). What WPS is documented to write: the files WPS
  leaves in public repositories' fixtures (KSOProductBuildVer, calcId 144525, the
  namespaces, `etc:` attributes).
- `as_strict`: as Excel saves "Strict Open XML Spreadsheet" (ISO/IEC 29500 Strict): every
  namespace and relationship type of the Transitional schemas replaced by its
  `http://purl.oclc.org/ooxml/…` counterpart (the package's own — content types,
  relationships, core properties — stay as they are), and `conformance="strict"`.
- `as_xlsb`: the package Excel writes for "Excel Binary Workbook": the document properties
  as XML parts, as in an .xlsx (the template's identity among them), the workbook as
  binary records. LibreOffice has no filter to write .xlsb; only the package's shape
  and its properties matter here, since an .xlsb is refused unread.

And for an Excel 97-2003 file made without LibreOffice: `property_set` writes the
`\\x05DocumentSummaryInformation` stream with user-defined properties, `compound_file`
an OLE compound file holding streams (tests/libreoffice.py makes real ones).
"""

from __future__ import annotations

import re
import struct
import uuid
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path

from xltool.collect.archive import OLE_MAGIC


def parts(path: Path) -> dict[str, bytes]:
    """The package's parts by name, in order."""
    with zipfile.ZipFile(path) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def rezip(source: Path, out: Path, change: Mapping[str, bytes]) -> Path:
    """SOURCE's parts, some replaced by CHANGE, deflated into OUT."""
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for name, content in parts(source).items():
            target.writestr(name, change.get(name, content))
    return out


# -- WPS ------------------------------------------------------------------------------------

_WPS_NAMESPACES = (
    b' xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
    b' xmlns:xdr="http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing"'
    b' xmlns:x14="http://schemas.microsoft.com/office/spreadsheetml/2009/9/main"'
    b' xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006"'
    b' xmlns:etc="http://www.wps.cn/officeDocument/2017/etCustomData"')
_MAIN = b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
# a list validation whose source is on another sheet (its attributes in any order)
_LIST_VALIDATION = re.compile(
    rb'<dataValidation (?=[^>]*\btype="list")(?=[^>]*\bsqref="([^"]+)")[^>]*>'
    rb"<formula1>([^<]*!\$[^<]*)</formula1></dataValidation>")
_X14_LISTS = (b'<extLst><ext uri="{CCE6A557-97BC-4b89-ADB6-D9C93CAAB3DF}" xmlns:x14="http://'
              b'schemas.microsoft.com/office/spreadsheetml/2009/9/main"><x14:dataValidations '
              b'count="%d" xmlns:xm="http://schemas.microsoft.com/office/excel/2006/main">%s'
              b"</x14:dataValidations></ext></extLst>")
_X14_LIST = (b'<x14:dataValidation type="list" allowBlank="1" showInputMessage="1" '
             b'showErrorMessage="1"><x14:formula1><xm:f>%s</xm:f></x14:formula1>'
             b"<xm:sqref>%s</xm:sqref></x14:dataValidation>")
WPS_BUILD = "2052-11.1.0.14309"
WPS_CORE = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n<cp:coreProperties xmlns:cp='
    b'"http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http:'
    b'//purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" xmlns:dcmitype='
    b'"http://purl.org/dc/dcmitype/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
    b"<dc:creator>Administrator</dc:creator><cp:lastModifiedBy>WPS_1700000000</cp:lastModifiedBy>"
    b'<dcterms:created xsi:type="dcterms:W3CDTF">2024-01-08T09:12:40Z</dcterms:created>'
    b'<dcterms:modified xsi:type="dcterms:W3CDTF">2024-01-09T16:30:05Z</dcterms:modified>'
    b"</cp:coreProperties>")
WPS_APP = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n<Properties xmlns="http://'
    'schemas.openxmlformats.org/officeDocument/2006/extended-properties" xmlns:vt="http://'
    'schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"><Application>WPS Office '
    "个人版</Application><HeadingPairs><vt:vector size=\"2\" baseType=\"variant\"><vt:variant>"
    "<vt:lpstr>工作表</vt:lpstr></vt:variant><vt:variant><vt:i4>1</vt:i4></vt:variant>"
    "</vt:vector></HeadingPairs></Properties>").encode()
_CUSTOM_PROPERTY = re.compile(rb'<property\b[^>]*\bname="([^"]*)"[^>]*>(.*?)</property>', re.S)
_FMTID = "{D5CDD505-2E9C-101B-9397-08002B2CF9AE}"


def as_wps(source: Path, out: Path) -> Path:
    """SOURCE as WPS Office saves it (see the module's docstring)."""
    changes: dict[str, bytes] = {}
    for name, content in parts(source).items():
        if name.startswith("xl/worksheets/") and name.endswith(".xml"):
            changes[name] = wps_sheet(content)
        elif name == "xl/workbook.xml":
            changes[name] = _wps_workbook(content)
        elif name == "docProps/custom.xml":
            changes[name] = wps_custom(content)
    return rezip(source, out, change={**changes, "docProps/core.xml": WPS_CORE,
                                      "docProps/app.xml": WPS_APP})


def wps_sheet(xml: bytes) -> bytes:
    """A sheet as WPS writes it: its namespaces, a dimension of A1:A1, `customHeight` on
    every row, and a list validation from another sheet as an x14 extension."""
    xml = xml.replace(_MAIN, _MAIN + _WPS_NAMESPACES, 1)
    xml, found = re.subn(rb"<dimension ref=\"[^\"]*\"\s*/>", b'<dimension ref="A1:A1"/>', xml)
    if not found:
        xml = re.sub(rb"(<sheetViews>|<sheetFormatPr)", rb'<dimension ref="A1:A1"/>\1', xml,
                     count=1)
    xml = re.sub(rb'<row r="([0-9]+)"', rb'<row r="\1" customHeight="1"', xml)
    lists = [(formula, sqref) for sqref, formula in _LIST_VALIDATION.findall(xml)]
    if lists:
        xml = _without_lists(xml, len(lists))
        extension = _X14_LISTS % (len(lists), b"".join(_X14_LIST % pair for pair in lists))
        xml = xml.replace(b"</worksheet>", extension + b"</worksheet>")
    return xml


def _without_lists(xml: bytes, moved: int) -> bytes:
    """XML without the list validations that move to the extension, its count adjusted."""
    xml = _LIST_VALIDATION.sub(b"", xml)
    count = re.search(rb'<dataValidations count="([0-9]+)">', xml)
    assert count is not None
    left = int(count[1]) - moved
    if not left:
        return re.sub(rb"<dataValidations [^>]*>\s*</dataValidations>", b"", xml)
    return xml.replace(count[0], b'<dataValidations count="%d">' % left)


def _wps_workbook(xml: bytes) -> bytes:
    xml = re.sub(rb"<calcPr\b[^>]*/>", b"", xml)
    xml = re.sub(rb"(<workbook\b[^>]*>)", rb'\1<fileVersion appName="xl" lastEdited="3" '
                 rb'lowestEdited="5" rupBuild="9302"/>', xml, count=1)
    return xml.replace(b"</workbook>", b'<calcPr calcId="144525"/></workbook>')


def wps_custom(xml: bytes) -> bytes:
    """The custom properties as WPS rewrites them: its own first, then the workbook's,
    renumbered, with the attributes in its order."""
    found = [(b"KSOProductBuildVer", b"<vt:lpwstr>%s</vt:lpwstr>" % WPS_BUILD.encode()),
             (b"ICV", b"<vt:lpwstr>8F2A4C1B3E7D4F0A9C6B5E2D1A3F7C9E_13</vt:lpwstr>"),
             *_CUSTOM_PROPERTY.findall(xml)]
    properties = b"".join(b'<property fmtid="%s" pid="%d" name="%s">%s</property>'
                          % (_FMTID.encode(), pid, name, value)
                          for pid, (name, value) in enumerate(found, start=2))
    return (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n<Properties xmlns="'
            b'http://schemas.openxmlformats.org/officeDocument/2006/custom-properties" '
            b'xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">'
            + properties + b"</Properties>")


# -- Strict Open XML -----------------------------------------------------------------------

_TRANSITIONAL = "http://schemas.openxmlformats.org/"
_STRICT = "http://purl.oclc.org/ooxml/"
# Transitional → Strict, the longest first: relationship types renamed, then namespaces.
STRICT_NAMESPACES: tuple[tuple[str, str], ...] = (
    (f"{_TRANSITIONAL}officeDocument/2006/relationships/custom-properties",
     f"{_STRICT}officeDocument/relationships/customProperties"),
    (f"{_TRANSITIONAL}officeDocument/2006/relationships/extended-properties",
     f"{_STRICT}officeDocument/relationships/extendedProperties"),
    (f"{_TRANSITIONAL}officeDocument/2006/relationships", f"{_STRICT}officeDocument/relationships"),
    (f"{_TRANSITIONAL}officeDocument/2006/custom-properties",
     f"{_STRICT}officeDocument/customProperties"),
    (f"{_TRANSITIONAL}officeDocument/2006/extended-properties",
     f"{_STRICT}officeDocument/extendedProperties"),
    (f"{_TRANSITIONAL}officeDocument/2006/docPropsVTypes",
     f"{_STRICT}officeDocument/docPropsVTypes"),
    (f"{_TRANSITIONAL}spreadsheetml/2006/main", f"{_STRICT}spreadsheetml/main"),
    (f"{_TRANSITIONAL}drawingml/2006/main", f"{_STRICT}drawingml/main"),
)


def as_strict(source: Path, out: Path) -> Path:
    """SOURCE as Excel saves it in Strict Open XML (see the module's docstring)."""
    changes = {}
    for name, content in parts(source).items():
        if name.endswith((".xml", ".rels")):
            for transitional, strict in STRICT_NAMESPACES:
                content = content.replace(transitional.encode(), strict.encode())
            if name == "xl/workbook.xml":
                content = re.sub(rb"<workbook\b", b'<workbook conformance="strict"', content,
                                 count=1)
            changes[name] = content
    return rezip(source, out, change=changes)


# -- .xlsb ---------------------------------------------------------------------------------

_XLSB_TYPES = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n<Types xmlns="http://schemas.'
    b'openxmlformats.org/package/2006/content-types"><Default Extension="bin" ContentType='
    b'"application/vnd.ms-excel.sheet.binary.macroEnabled.main"/><Default Extension="rels" '
    b'ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default '
    b'Extension="xml" ContentType="application/xml"/><Override PartName="/docProps/core.xml" '
    b'ContentType="application/vnd.openxmlformats-package.core-properties+xml"/><Override '
    b'PartName="/docProps/app.xml" ContentType="application/vnd.openxmlformats-officedocument.'
    b'extended-properties+xml"/><Override PartName="/docProps/custom.xml" ContentType="'
    b'application/vnd.openxmlformats-officedocument.custom-properties+xml"/></Types>')
_BOOK_RECORDS = b"\x83\x01\x00\x84\x01\x00"  # BrtBeginBook, BrtEndBook


def as_xlsb(source: Path, out: Path) -> Path:
    """SOURCE's package as an .xlsb: its properties as they are, its workbook binary."""
    package = parts(source)
    kept = {name: content for name, content in package.items() if name.startswith("docProps/")}
    relations = package["_rels/.rels"]
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", _XLSB_TYPES)
        archive.writestr("_rels/.rels", relations.replace(b"xl/workbook.xml", b"xl/workbook.bin"))
        for name, content in kept.items():
            archive.writestr(name, content)
        archive.writestr("xl/workbook.bin", _BOOK_RECORDS)
    return out


# -- .xls made by hand: the property set and the compound file -----------------------------

USER_DEFINED = uuid.UUID("d5cdd505-2e9c-101b-9397-08002b2cf9ae").bytes_le
DOCUMENT_SUMMARY = uuid.UUID("d5cdd502-2e9c-101b-9397-08002b2cf9ae").bytes_le
PROPERTY_STREAM = "\x05DocumentSummaryInformation"


def property_set(properties: Mapping[str, str], *, codepage: int = 65001,
                 wide: bool = False) -> bytes:
    """A DocumentSummaryInformation stream: an empty first section, then the user-defined
    PROPERTIES in CODEPAGE (1200 is UTF-16), as VT_LPWSTR when WIDE, else VT_LPSTR."""
    encoding = "utf-16-le" if codepage == 1200 else f"cp{codepage}"

    def padded(raw: bytes) -> bytes:
        return raw + b"\0" * (-len(raw) % 4)

    entries = b""
    values = [struct.pack("<HxxhH", 0x02, codepage - 65536 if codepage > 32767 else codepage, 0)]
    for number, (name, value) in enumerate(properties.items(), start=2):
        encoded = (name + "\0").encode(encoding)
        length = len(encoded) // 2 if codepage == 1200 else len(encoded)
        entries += struct.pack("<II", number, length) + (
            padded(encoded) if codepage == 1200 else encoded)
        if wide:
            text = (value + "\0").encode("utf-16-le")
            values.append(padded(struct.pack("<HxxI", 0x1F, len(text) // 2) + text))
        else:
            text = (value + "\0").encode(encoding)
            values.append(padded(struct.pack("<HxxI", 0x1E, len(text)) + text))
    dictionary = padded(struct.pack("<I", len(properties)) + entries)
    bodies = [dictionary, *values]
    offsets, at = [], 8 + 8 * len(bodies)
    for body in bodies:
        offsets.append(at)
        at += len(body)
    identifiers = [0, 1, *range(2, 2 + len(properties))]
    section = struct.pack("<II", at, len(bodies)) + b"".join(
        struct.pack("<II", pid, offset) for pid, offset in zip(identifiers, offsets, strict=True)
    ) + b"".join(bodies)
    first = struct.pack("<II", 8, 0)
    header = struct.pack("<HHI16sI", 0xFFFE, 0, 0x00020006, b"\0" * 16, 2)
    start = len(header) + 40
    return (header + DOCUMENT_SUMMARY + struct.pack("<I", start) + USER_DEFINED
            + struct.pack("<I", start + len(first)) + first + section)


_SECTOR = 512
_END, _FREE, _FAT = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD
_NO_ENTRY = 0xFFFFFFFF


def compound_file(streams: Mapping[str, bytes],
                  edit: Callable[[bytearray], None] | None = None) -> bytes:
    """An OLE compound file (version 3) holding STREAMS at its top, each padded to 4096
    bytes (so that each lies in sectors of its own, not in the mini stream); EDIT may
    change the directory's bytes before they are laid out (a test of a broken tree)."""
    contents = [content.ljust(-(-len(content) // _SECTOR) * _SECTOR, b"\0").ljust(4096, b"\0")
                for content in streams.values()]
    sizes = [len(content) // _SECTOR for content in contents]
    directory = ole_entry("Root Entry", 5, child=1 if streams else _NO_ENTRY, start=_END)
    directory_sectors = -(-(1 + len(streams)) * 128 // _SECTOR)  # four entries a sector
    first = 1 + directory_sectors  # sector 0 the FAT, then the directory, then the streams
    names = list(streams)
    for number, (name, content) in enumerate(zip(names, contents, strict=True)):
        right = number + 2 if number + 1 < len(names) else _NO_ENTRY
        directory += ole_entry(name, 2, right=right, start=first, size=len(content))
        first += sizes[number]
    directory = bytearray(directory.ljust(directory_sectors * _SECTOR, b"\0"))
    if edit is not None:
        edit(directory)
    fat = [_FAT, *range(2, 1 + directory_sectors), _END]
    for size in sizes:
        fat += [*range(len(fat) + 1, len(fat) + size), _END]
    assert len(fat) <= 128, "one FAT sector is enough for a test"
    header = bytearray(_SECTOR)
    header[:8] = OLE_MAGIC
    struct.pack_into("<HHHHH", header, 24, 0x3E, 3, 0xFFFE, 9, 6)
    struct.pack_into("<9I", header, 40, 0, 1, 1, 0, 4096, _END, 0, _END, 0)
    struct.pack_into("<109I", header, 76, 0, *[_FREE] * 108)
    fat_sector = struct.pack("<128I", *fat, *[_FREE] * (128 - len(fat)))
    return bytes(header) + fat_sector + bytes(directory) + b"".join(contents)


def ole_entry(name: str, kind: int, *, right: int = _NO_ENTRY, child: int = _NO_ENTRY,
           start: int = 0, size: int = 0) -> bytes:
    encoded = (name + "\0").encode("utf-16-le")
    entry = bytearray(128)
    entry[:len(encoded)] = encoded
    struct.pack_into("<HBBIII", entry, 64, len(encoded), kind, 1, _NO_ENTRY, right, child)
    struct.pack_into("<IQ", entry, 116, start, size)
    return bytes(entry)


def old_xls_of(properties: Mapping[str, str], *, codepage: int = 65001,
               wide: bool = False) -> bytes:
    """An .xls (a compound file with a Workbook stream: a BIFF8 BOF and EOF) whose
    user-defined properties are PROPERTIES, written as `property_set` writes them."""
    workbook = struct.pack("<HHHHHHII", 0x0809, 16, 0x0600, 0x0005, 0x0DBB, 0x07CC, 0x000100C1,
                           0x00000106) + struct.pack("<HH", 0x000A, 0)
    stream = property_set(properties, codepage=codepage, wide=wide)
    return compound_file({"Workbook": workbook, PROPERTY_STREAM: stream})
