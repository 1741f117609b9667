"""Reading a returned file: what it is, and what it holds, within firm limits.

`sniff` decides from the bytes (never the name) whether a file is a workbook
we can read. `open_xlsx` checks the zip before any real work — every entry's
name, declared size and compression ratio — then inflates only the parts that
are read, each once, within the limits: the actual inflated size, the checksum,
XML with a DTD (entity bombs), and its cells and strings counted. At opening,
these are the parts every reading needs: the workbook and its relationships
(the sheet list, the defined names), the custom properties (the identity) and
the parts python-calamine opens any workbook with (the package relationships,
shared strings, styles). A sheet's part is inflated only when that sheet is
asked for — `XlsxContent.prepare`, or its values, protection or formula cells —
and a part nobody reads (a cover sheet, a hidden list, the document
properties, the theme) is never inflated at all: a bomb there costs nothing.

The cell values are left to python-calamine, a Rust reader some hundred times
faster than openpyxl. It is handed the parts as inflated and checked here —
those it opens a workbook with, and the prepared sheets — repacked without
compression: it reads exactly what was bounded, inflates nothing again, and
finds no other part.

The structure is read with regular expressions over the raw parts (C speed),
each with a quick path for the way Excel, WPS, LibreOffice and xlsxwriter
write a part (a literal search first; a pattern for a plainly written part)
that gives the same answer as the general path, which is taken otherwise.

python-calamine builds each sheet as a dense grid from its first to its last
cell, and aborts the process when that cannot be allocated: one cell typed at
XFD1048576 is seventeen billion cells. So the grid is bounded from the XML
before python-calamine sees the file.

Problems are returned as `Unreadable` with a code and a Chinese message; this
module never lets a malformed file raise past it.
"""

from __future__ import annotations

import functools
import html
import io
import operator
import re
import struct
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from enum import StrEnum
from typing import Any
from xml.etree.ElementTree import Element

import python_calamine
from defusedxml import ElementTree as SafeTree
from xlsxwriter.utility import xl_cell_to_rowcol

from xltool.codes import (
    FILE_BAD_ENTRY_NAME,
    FILE_BAD_ENTRY_NAME_TWICE,
    FILE_CORRUPT,
    FILE_CORRUPT_CELL,
    FILE_CORRUPT_COMPRESSION,
    FILE_CORRUPT_PART,
    FILE_CORRUPT_SHEETS,
    FILE_ENCRYPTED_PART,
    FILE_NOT_WORKBOOK_PARTS,
    FILE_TOO_LARGE_INFLATED,
    FILE_TOO_LARGE_MB,
    FILE_TOO_MANY_CELLS,
    FILE_TOO_MANY_PARTS,
    FILE_TOO_MANY_STRINGS,
    FILE_XML_DTD,
    FILE_ZIP_BOMB,
    FILE_ZIP_BOMB_PART,
)
from xltool.errors import Unreadable
from xltool.limits import DEFAULT_LIMITS, MB, Limits

NS_CUSTOM = "http://schemas.openxmlformats.org/officeDocument/2006/custom-properties"

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"


class FileKind(StrEnum):
    XLSX = "xlsx"
    XLSM = "xlsm"
    XLSB = "xlsb"
    XLS = "xls"
    ENCRYPTED = "encrypted"
    ODS = "ods"
    ZIP = "zip"
    BROKEN_ZIP = "broken-zip"
    EMPTY = "empty"
    UNKNOWN = "unknown"


# Whatever goes wrong opening a malformed zip or XML part: the file is broken, no more.
_BROKEN = (zipfile.BadZipFile, OSError, ValueError, KeyError, EOFError, NotImplementedError,
           RuntimeError, OverflowError, struct.error, zlib.error, SafeTree.ParseError)


def sniff(data: bytes) -> FileKind:
    """What the bytes are, whatever the file is called."""
    return sniff_entries(data)[0]


def sniff_entries(data: bytes) -> tuple[FileKind, list[zipfile.ZipInfo]]:
    """What the bytes are and, for a zip, its entries: `open_xlsx` takes them, so the
    zip's directory is read once."""
    if not data:
        return FileKind.EMPTY, []
    if data.startswith(OLE_MAGIC):
        encrypted = _utf16(b"EncryptedPackage") in data
        return (FileKind.ENCRYPTED if encrypted else FileKind.XLS), []
    if not data.startswith(b"PK"):
        return FileKind.UNKNOWN, []
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
            names = {entry.filename for entry in entries}
            if "mimetype" in names:
                with archive.open("mimetype") as stream:  # a bounded read: it may be a bomb
                    if stream.read(len(ODS_MIMETYPE) + 64).strip() == ODS_MIMETYPE:
                        return FileKind.ODS, entries
    except _BROKEN:
        return FileKind.BROKEN_ZIP, []
    if "xl/workbook.bin" in names:
        return FileKind.XLSB, entries
    if "xl/workbook.xml" not in names or "[Content_Types].xml" not in names:
        return FileKind.ZIP, entries
    return (FileKind.XLSM if "xl/vbaProject.bin" in names else FileKind.XLSX), entries


def _utf16(text: bytes) -> bytes:
    return text.decode().encode("utf-16-le")


# -- the workbook's structure --------------------------------------------------------------


@dataclass(frozen=True)
class SheetInfo:
    """A sheet the workbook lists. Its part is inflated and checked the first time a
    question needs it, so `xml`, `protected` and `formula_cells` may raise `Unreadable`."""

    name: str
    part: str
    state: str
    _package: _Package = field(repr=False, compare=False)

    @property
    def xml(self) -> bytes:
        """The sheet's part, inflated and checked: kept while the file is open."""
        return self._package.part(self.part, self.name)

    @functools.cached_property
    def protected(self) -> bool:
        return _protected(self.xml)

    @functools.cached_property
    def formula_cells(self) -> frozenset[str]:
        return frozenset(_formula_cells(self.xml))


@dataclass(eq=False)
class XlsxContent:
    """An opened return: structure parsed, sheets read on demand.

    `prepare` the sheets to be read before their values: the value reader then opens the
    workbook once, with all of them. A sheet read unprepared is prepared then, and the
    workbook opened again.
    """

    sheets: dict[str, SheetInfo]
    defined_names: dict[str, str]
    properties: dict[str, str]
    _package: _Package = field(repr=False)
    _opened_with: frozenset[str] = field(default=frozenset(), repr=False)
    """The parts the value reader opens any workbook with, read at opening."""
    _names_at: slice | None = field(default=None, repr=False)
    _prepared: dict[str, None] = field(default_factory=dict, repr=False)
    _data: bytes | None = field(default=None, repr=False)
    _values: dict[str, list[list[Any]]] = field(default_factory=dict, repr=False)
    _book: Any = field(default=None, repr=False)

    def prepare(self, sheets: Iterable[str]) -> None:
        """Inflate and check the parts of SHEETS, counting their cells and strings, for the
        value reader; `Unreadable` when one cannot be read within the limits, KeyError for a
        sheet the workbook does not list."""
        parts = [(self.sheets[name].part, name) for name in sheets]
        added = False
        for part, name in parts:
            if part not in self._prepared:
                self._package.part(part, name)
                self._prepared[part] = None
                added = True
        if added and self._data is not None:  # the value reader has to be given them too
            self._data = None
            self.close()

    @property
    def data(self) -> bytes:
        """The workbook as the value reader is given it: the parts it opens any workbook
        with and the prepared sheets, as inflated and checked here, stored uncompressed."""
        if self._data is None:
            package = self._package
            given = [(info, package.read[name]) for name, info in package.parts.items()
                     if name in self._prepared or name in self._opened_with]
            if self._names_at:
                given = _without(given, WORKBOOK, self._names_at)
            stored = stored_zip(given)
            if stored is None:  # the file itself would let the reader inflate unchecked parts
                raise Unreadable(FILE_TOO_LARGE_INFLATED)
            self._data = stored
        return self._data

    def values(self, sheet: str) -> list[list[Any]]:
        """The sheet's values from A1 to its last cell; `Unreadable` when they cannot be read."""
        if sheet not in self._values:
            info = self.sheets.get(sheet)
            if info is not None and info.part not in self._prepared:
                self.prepare([sheet])
            self._values[sheet] = self._read(sheet)
        return self._values[sheet]

    def _read(self, sheet: str) -> list[list[Any]]:
        data = self.data
        try:
            if self._book is None:
                self._book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
            rows: list[list[Any]] = self._book.get_sheet_by_name(sheet).to_python(
                skip_empty_area=False)
        except python_calamine.CalamineError as error:
            raise Unreadable(FILE_CORRUPT, {"reason": error}, cut=200) from error
        except BaseException as error:  # a panic in the Rust reader is no Exception
            if type(error).__name__ != "PanicException":
                raise
            raise Unreadable(FILE_CORRUPT, {"reason": "读取器无法解析"}) from error
        return rows

    def cell(self, sheet: str, ref: str) -> Any:
        """The value at `ref` (cached value for a formula), None when empty."""
        row, col = rowcol(ref)
        rows = self.values(sheet)
        if row >= len(rows) or col >= len(rows[row]):
            return None
        value = rows[row][col]
        return None if value == "" else value

    def close(self) -> None:
        if self._book is not None:
            self._book.close()
            self._book = None


@functools.lru_cache(maxsize=65536)
def rowcol(ref: str) -> tuple[int, int]:
    row, col = xl_cell_to_rowcol(ref)
    return int(row), int(col)


def open_xlsx(data: bytes, limits: Limits = DEFAULT_LIMITS,
              entries: list[zipfile.ZipInfo] | None = None) -> XlsxContent:
    """Check the package and read its structure; raise `Unreadable` with the reason.

    ENTRIES, when given, are the zip's entries as `sniff_entries` read them from DATA.
    """
    if len(data) > limits.max_file_bytes:
        raise Unreadable(FILE_TOO_LARGE_MB, {"mb": len(data) // MB})
    try:
        if not entries:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                entries = archive.infolist()
        parts = _checked_parts(entries, limits)
        return _structure(parts, data, limits)
    except Unreadable:
        raise
    except _BROKEN as error:
        raise _broken(error) from error


def _broken(error: BaseException) -> Unreadable:
    reason = "压缩数据损坏" if isinstance(error, zlib.error) else type(error).__name__
    return Unreadable(FILE_CORRUPT, {"reason": reason})


def _checked_parts(infos: list[zipfile.ZipInfo], limits: Limits) -> dict[str, zipfile.ZipInfo]:
    if len(infos) > limits.max_entries:
        raise Unreadable(FILE_TOO_MANY_PARTS, {"count": len(infos)})
    parts: dict[str, zipfile.ZipInfo] = {}
    seen: set[str] = set()
    declared = 0
    for info in infos:
        name = info.filename
        path = name.replace("\\", "/")
        if name.startswith(("/", "\\")) or ".." in path.split("/"):
            raise Unreadable(FILE_BAD_ENTRY_NAME, {"name": name[:80]})
        if path.casefold() in seen:  # readers disagree on which of two namesakes counts
            raise Unreadable(FILE_BAD_ENTRY_NAME_TWICE, {"name": name[:80]})
        seen.add(path.casefold())
        if info.flag_bits & 0x1:
            raise Unreadable(FILE_ENCRYPTED_PART, {"part": name[:80]})
        if info.compress_size and info.file_size / info.compress_size > limits.max_ratio:
            raise Unreadable(FILE_ZIP_BOMB)
        declared += info.file_size
        if info.file_size > limits.max_part_bytes or declared > limits.max_total_bytes:
            raise Unreadable(FILE_TOO_LARGE_INFLATED)
        parts[name] = info
    return parts


_LOCAL_HEADER = struct.Struct("<4s22xHH")  # signature, …, name length, extra field length


def read_part(data: bytes, info: zipfile.ZipInfo, limits: Limits) -> bytes:
    """Inflate one part from the file's bytes, never past the limit whatever its header says.

    The stream must end exactly at the declared size: one that goes on (a hidden
    bomb, or a second content that a reader trusting the stream would show) is
    refused, as is one that ends short or fails its checksum.
    """
    signature, name_length, extra_length = _LOCAL_HEADER.unpack_from(data, info.header_offset)
    if signature != b"PK\x03\x04":
        raise zipfile.BadZipFile(f"no local header for {info.filename}")
    start = info.header_offset + _LOCAL_HEADER.size + name_length + extra_length
    raw = memoryview(data)[start:start + info.compress_size]
    limit = min(info.file_size, limits.max_part_bytes)
    if info.compress_type == zipfile.ZIP_STORED:
        part, ended, size = bytes(raw[:limit + 1]), True, len(raw)
    elif info.compress_type == zipfile.ZIP_DEFLATED:
        inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        part = inflater.decompress(raw, limit + 1)
        ended, size = inflater.eof, len(part)
        if size > limit:  # the stream goes on past its header: how far, kept in no memory
            size += _inflated(inflater, limits.max_part_bytes + 1 - size)
    else:
        raise Unreadable(FILE_CORRUPT_COMPRESSION, {"part": info.filename[:80]})
    if size > limits.max_part_bytes:
        raise Unreadable(FILE_ZIP_BOMB_PART, {"part": info.filename[:80]})
    if len(part) != info.file_size or not ended or zlib.crc32(part) != info.CRC:
        raise Unreadable(FILE_CORRUPT_PART, {"part": info.filename[:80]})
    if part.find(b"!", 0, 65536) >= 0 and (  # a single byte is found at memory speed
            part.find(b"<!DOCTYPE", 0, 4096) >= 0 or part.find(b"<!ENTITY", 0, 65536) >= 0):
        raise Unreadable(FILE_XML_DTD, {"part": info.filename[:80]})
    return part


def _inflated(inflater: Any, budget: int) -> int:
    """Bytes the rest of the stream inflates to, counted a megabyte at a time up to BUDGET."""
    counted = 0
    while counted < budget and not inflater.eof:  # output may be pending with no input left
        chunk = inflater.decompress(inflater.unconsumed_tail, min(MB, budget - counted))
        if not chunk:
            break
        counted += len(chunk)
    return counted


WORKBOOK, WORKBOOK_RELS, CUSTOM = "xl/workbook.xml", "xl/_rels/workbook.xml.rels", \
    "docProps/custom.xml"


# The parts python-calamine opens any workbook with, found whatever their case as it finds
# them: it looks for no other until a sheet is asked for.
_VALUE_READER_PARTS = frozenset({"_rels/.rels", WORKBOOK, WORKBOOK_RELS, "xl/sharedstrings.xml",
                                 "xl/styles.xml"})


class _Package:
    """The file's parts, each inflated, checked and counted the first time it is read."""

    def __init__(self, data: bytes, parts: dict[str, zipfile.ZipInfo], limits: Limits) -> None:
        self.data = data
        self.parts = parts
        self.limits = limits
        self.counted = _Counted(limits, sum(info.file_size for info in parts.values()))
        self.read: dict[str, bytes] = {}

    def part(self, name: str, where: str = "") -> bytes:
        """Part NAME, inflated and checked; `Unreadable` when it cannot be read within the
        limits. WHERE names it in a message: the sheet it holds, if any."""
        xml = self.read.get(name)
        if xml is None:
            try:
                xml = read_part(self.data, self.parts[name], self.limits)
                self.counted.add(xml, where or name)
            except _BROKEN as error:  # asked for after opening, too: no caller to translate
                raise _broken(error) from error
            self.read[name] = xml
        return xml


def _structure(parts: dict[str, zipfile.ZipInfo], data: bytes, limits: Limits) -> XlsxContent:
    """The structure, read from the parts every reading needs, each inflated once within the
    limits and counted; a sheet's part waits until that sheet is asked for."""
    if WORKBOOK not in parts or WORKBOOK_RELS not in parts:
        raise Unreadable(FILE_NOT_WORKBOOK_PARTS)
    package = _Package(data, parts, limits)
    workbook = package.part(WORKBOOK)
    targets = _relation_targets(package.part(WORKBOOK_RELS))
    listed = [_attributes(m.group(1)) for m in _sheet_elements(workbook)]
    _unique_sheet_names(listed)
    first_named: dict[str, str] = {}
    for found in listed:
        first_named.setdefault(targets.get(found.get("id"), ""), found.get("name", ""))
    opened_with = frozenset(name for name in parts
                            if name.isascii() and name.lower() in _VALUE_READER_PARTS)
    for name in parts:
        if name in opened_with:
            package.part(name, first_named.get(name, name))
    properties = _custom_properties(package.part(CUSTOM)) if CUSTOM in parts else {}
    sheets = {}
    for found in listed:
        path = targets.get(found.get("id"), "")
        if path in parts:
            sheet = found.get("name", "")
            sheets[sheet] = SheetInfo(sheet, path, found.get("state", "visible"), package)
    names, names_at = _defined_names(workbook)
    return XlsxContent(sheets, names, properties, package, opened_with, names_at)


def _without(parts: list[tuple[zipfile.ZipInfo, bytes]], name: str,
             cut: slice) -> list[tuple[zipfile.ZipInfo, bytes]]:
    """PARTS with the bytes at CUT taken out of part NAME: the value reader is spared the
    workbook's list of names, read here already (hundreds, in a template)."""
    kept = []
    for info, content in parts:
        if info.filename == name:
            content = content[:cut.start] + content[cut.stop:]
            info = _with_crc(info, zlib.crc32(content))
        kept.append((info, content))
    return kept


def _with_crc(info: zipfile.ZipInfo, crc: int) -> zipfile.ZipInfo:
    changed = zipfile.ZipInfo(info.filename, info.date_time)
    changed.CRC = crc
    return changed


# The value reader is given the parts as checked here, stored rather than deflated: it reads
# exactly the bytes that were bounded, and nothing is inflated twice.
_LOCAL = struct.Struct("<4s5H3L2H")
_CENTRAL = struct.Struct("<4s6H3L5H2L")
_END = struct.Struct("<4s4H2LH")
_DOS_DATE = (1 << 5) | 1  # 1980-01-01
_UTF8_NAME = 0x800


def stored_zip(parts: list[tuple[zipfile.ZipInfo, bytes]]) -> bytes | None:
    """PARTS (each with its inflated, checked content) as one zip without compression;
    None when there are too many or too large for a plain zip."""
    if len(parts) >= 0xFFFF or sum(len(content) for _, content in parts) >= 0xFFFF0000:
        return None
    pieces: list[bytes] = []
    directory: list[bytes] = []
    offset = 0
    for info, content in parts:
        name = info.filename.encode()
        flags = 0 if name.isascii() else _UTF8_NAME
        size = len(content)
        header = _LOCAL.pack(b"PK\x03\x04", 20, flags, zipfile.ZIP_STORED, 0, _DOS_DATE,
                             info.CRC, size, size, len(name), 0)
        directory.append(_CENTRAL.pack(b"PK\x01\x02", 20, 20, flags, zipfile.ZIP_STORED, 0,
                                       _DOS_DATE, info.CRC, size, size, len(name), 0, 0, 0, 0,
                                       0, offset) + name)
        pieces += (header, name, content)
        offset += len(header) + len(name) + size
    central = b"".join(directory)
    end = _END.pack(b"PK\x05\x06", 0, 0, len(parts), len(parts), len(central), offset, 0)
    return b"".join([*pieces, central, end])


def _unique_sheet_names(listed: list[dict[str, str]]) -> None:
    """Two sheets of one name: readers disagree on which one a name means."""
    seen: set[str] = set()
    for found in listed:
        name = found.get("name", "")
        if name.casefold() in seen:
            raise Unreadable(FILE_CORRUPT_SHEETS, {"sheet": name[:31]})
        seen.add(name.casefold())


def _part_path(target: str) -> str:
    target = target.lstrip("/")
    return target if target.startswith("xl/") else f"xl/{target}"


# workbook.xml can hold thousands of defined names: scanned with regular expressions
# (C speed); it has already been refused if it declares a DTD, so no entity can expand.
_SHEET_ELEMENT = re.compile(rb"<(?:\w+:)?sheet\b([^<>]*?)/?>")
_DEFINED_NAME = re.compile(rb"<(?:\w+:)?definedName\b([^<>]*)>([^<]*)</(?:\w+:)?definedName>")
_ATTRIBUTE = re.compile(rb"""(?:\w+:)?(\w+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")


def _sheet_elements(workbook: bytes) -> list[re.Match[bytes]]:
    """`_SHEET_ELEMENT.finditer(workbook)`, tried only at the `<` before each `sheet`: the
    part holds thousands of tags and a dozen of these words."""
    found: list[re.Match[bytes]] = []
    at, tried = workbook.find(b"sheet"), -1
    while at >= 0:
        start = workbook.rfind(b"<", 0, at)
        if start > tried:  # no tag can match that began before an earlier `<`
            tried = start
            match = _SHEET_ELEMENT.match(workbook, start) if start >= 0 else None
            if match:
                found.append(match)
        at = workbook.find(b"sheet", at + 1)
    return found


def _attributes(raw: bytes) -> dict[str, str]:
    return {m.group(1).decode(): html.unescape((m.group(2) or m.group(3) or b"").decode())
            for m in _ATTRIBUTE.finditer(raw)}


_NAME_ATTRIBUTE = re.compile(rb"""\bname\s*=\s*(?:"([^"]*)"|'([^']*)')""")


def _defined_names(workbook: bytes) -> tuple[dict[str, str], slice | None]:
    """Workbook-level names (a name local to one sheet is not ours), and where the list of
    names lies when it holds nothing else (so the value reader can be spared it)."""
    plain = _plain_defined_names(workbook)
    return plain if plain is not None else (_any_defined_names(workbook), None)


# Names as Excel, WPS, LibreOffice, openpyxl and xlsxwriter write workbook-level ones.
_PLAIN_NAME = re.compile(r'<definedName name="([^"&<>]*)">([^<]*)</definedName>')
_LIST_END = b"</definedNames>"


def _plain_defined_names(workbook: bytes) -> tuple[dict[str, str], slice | None] | None:
    """The names, and the list's place, when one list holds every name written plainly;
    else None.

    Every `definedName` in the part must then be one of the list's tags, and the list
    must hold no other tag: the general pattern finds exactly the names found here.
    """
    start = workbook.find(b"<definedNames>")
    if start < 0:
        return ({}, None) if b"definedName" not in workbook else None
    end = workbook.find(_LIST_END, start)
    if end < 0:
        return None
    listed = workbook[start:end + len(_LIST_END)]
    try:
        text = listed.decode()
    except UnicodeDecodeError:
        return None
    found = _PLAIN_NAME.findall(text)
    tags = 2 * len(found) + 2  # the names' and the list's own: then the list holds no other
    if listed.count(b"<") != tags or workbook.count(b"definedName") != tags:
        return None
    if "&" not in text and "localSheetId" not in text:  # as nearly always: nothing to undo
        return dict(found), slice(start, end + len(_LIST_END))
    names = {name: html.unescape(value) if "&" in value else value
             for name, value in found if "localSheetId" not in name}
    return names, slice(start, end + len(_LIST_END))


def _any_defined_names(workbook: bytes) -> dict[str, str]:
    names = {}
    for attributes, text in _DEFINED_NAME.findall(workbook):
        if b"localSheetId" in attributes:
            continue
        found = _NAME_ATTRIBUTE.search(attributes)
        if found:
            name = (found.group(1) or found.group(2) or b"").decode()
            value = text.decode()
            names[html.unescape(name)] = html.unescape(value) if "&" in value else value
    return names


# Two small parts every return has, as Excel and xlsxwriter write them: read with a pattern
# when the whole part is written so (ASCII where a parser would normalise or decode, no
# entity, nothing else), by the XML parser otherwise. Either way they read the same.
_DECLARATION = rb'<\?xml version="1\.0" encoding="UTF-8" standalone="yes"\?>\r?\n'
_PLAIN_TEXT = rb"[\x20\x21\x23-\x25\x27-\x3b\x3d\x3f-\x7e]*"  # printable ASCII but " & < >
_RELATION = (rb'<Relationship Id="(' + _PLAIN_TEXT + rb')" Type="' + _PLAIN_TEXT
             + rb'" Target="(' + _PLAIN_TEXT + rb')"(?: TargetMode="[A-Za-z]*")?/>')
_PLAIN_RELATIONS = re.compile(
    _DECLARATION + rb'<Relationships xmlns="http://schemas\.openxmlformats\.org/package/2006/'
    rb'relationships">(?:' + _RELATION + rb")*</Relationships>")
_RELATION_ONE = re.compile(_RELATION)
_PROPERTY = (rb'<property fmtid="' + _PLAIN_TEXT + rb'" pid="[0-9]+" name="(' + _PLAIN_TEXT
             + rb')"><vt:([a-z0-9]+)>(' + _PLAIN_TEXT + rb")</vt:\2></property>")
_PLAIN_PROPERTIES = re.compile(
    _DECLARATION + rb'<Properties xmlns="' + re.escape(NS_CUSTOM.encode()) + rb'" xmlns:vt="'
    rb'http://schemas\.openxmlformats\.org/officeDocument/2006/docPropsVTypes">(?:'
    + _PROPERTY + rb")*</Properties>")
_PROPERTY_ONE = re.compile(_PROPERTY)


def _relation_targets(relations: bytes) -> dict[str | None, str]:
    """Each relation's id and the part it points to."""
    if _PLAIN_RELATIONS.fullmatch(relations):
        return {rid.decode(): _part_path(target.decode())
                for rid, target in _RELATION_ONE.findall(relations)}
    return {r.get("Id"): _part_path(r.get("Target", ""))
            for r in SafeTree.fromstring(relations, forbid_dtd=True)}


def _custom_properties(xml: bytes) -> dict[str, str]:
    if _PLAIN_PROPERTIES.fullmatch(xml):
        return {name.decode(): value.decode() for name, _, value in _PROPERTY_ONE.findall(xml)}
    root: Element | None = SafeTree.fromstring(xml, forbid_dtd=True)
    if root is None:
        return {}
    properties = {}
    for prop in root.iter(f"{{{NS_CUSTOM}}}property"):
        value = next(iter(prop), None)
        properties[prop.get("name", "")] = (value.text or "") if value is not None else ""
    return properties


_PROTECTION = re.compile(rb"<(?:\w+:)?sheetProtection\b([^<>]*)>")
_SHEET_ON = re.compile(rb"""\bsheet\s*=\s*["'](?:1|true)["']""")
_FORMULA = re.compile(rb"<(?:\w+:)?f[\s>/]")
_CELL_START = re.compile(rb"<(?:\w+:)?c\s[^<>]*?\br\s*=\s*[\"']([A-Z]{1,3}[0-9]{1,7})[\"']")


def _protected(xml: bytes) -> bool:
    at = xml.find(b"sheetProtection")  # the tag's name first: one fast scan, not one per tag
    match = _PROTECTION.search(xml, xml.rfind(b"<", 0, at)) if at >= 0 else None
    return bool(match and _SHEET_ON.search(match.group(1)))


def _formula_cells(xml: bytes) -> Iterator[str]:
    """Cells holding a formula: the last cell opened before each <f> element."""
    if not may_hold(xml, b"f"):
        return
    starts = [(m.start(), m.group(1).decode()) for m in _CELL_START.finditer(xml)] \
        if _FORMULA.search(xml) else []
    position = 0
    for formula in _FORMULA.finditer(xml):
        while position + 1 < len(starts) and starts[position + 1][0] < formula.start():
            position += 1
        if starts and starts[position][0] < formula.start():
            yield starts[position][1]


# -- what the value reader will build ------------------------------------------------------
#
# Counted with regular expressions over the raw part, each an upper bound: a tag the
# patterns cannot place makes the estimate larger, never smaller. The value reader matches
# `<c>`, `<row>` and `<si>` whatever their namespace prefix, so prefixed tags count too (looked
# for only where a prefixed name could be: the common case stays a literal scan). Every
# pattern reads a tag attribute by attribute and stops at the next `<`: a part full of
# unfinished tags costs one pass, not one pass per tag.

_PREFIX = rb"<[^\s<>/=]+:"
_AFTER = rb"[\s/>]"
_NAME = rb"""[^\s=<>/"']+"""
_VALUE = rb"""(?:"([^"<\r\n]*)"|'([^'<\r\n]*)')"""  # on one line: values are joined by lines
_OTHER = rb"""\s*(?!r\s*=)""" + _NAME + rb"""\s*=\s*(?:"[^"<\r\n]*"|'[^'<\r\n]*')"""
# A whole tag, attribute by attribute: (`r` present, its value in double or single quotes,
# the attributes after it). A tag these cannot read, or a second `r` (readers differ on
# which counts), leaves the position unknown.
_ATTRIBUTES = (rb"(?=[\s/>])(?:" + _OTHER + rb")*(\s*r\s*=\s*" + _VALUE + rb")?((?:" + _OTHER
               + rb")*)\s*/?>")
_SECOND_R = re.compile(rb"""(?<![^\s"'])r\s*=""")
# a cell as Excel, WPS, LibreOffice, openpyxl and xlsxwriter write one: `r` first, then short
# lower-case attributes (never a second `r`); when every cell is so, one pass places them all
# (the names other than `r` spelled out, and nothing given back once matched: a tenth faster)
_PLAIN = rb' r="([A-Za-z]{1,3})([0-9]{1,7})"(?: (?:[a-qs-z][a-z]?|r[a-z])="[^"<>\r\n]*+")*+/?>'
# every cell tag in one pass: (letters, digits) of a plain one, empty for any other
_ANY = rb"(?:" + _PLAIN + rb"|(?=[\s/>]))"


def _tag(name: bytes, rest: bytes = _AFTER) -> tuple[re.Pattern[bytes], re.Pattern[bytes],
                                                         re.Pattern[bytes]]:
    """Patterns for tag NAME followed by REST: plain, prefixed, and a quick test for a prefix."""
    return (re.compile(b"<" + name + rest), re.compile(_PREFIX + name + rest),
            re.compile(b":" + name + _AFTER))


_CELL, _CELL_POSITION = _tag(b"c", _ANY), _tag(b"c", _ATTRIBUTES)
_ROW, _ROW_POSITION = _tag(b"row"), _tag(b"row", _ATTRIBUTES)
_STRING = _tag(b"si")
_CELL_REFERENCE = re.compile(rb"^([A-Za-z]{1,3})([0-9]{1,7})$", re.M)
_ROW_NUMBER = re.compile(rb"^([0-9]{1,7})$", re.M)

_Tag = tuple[re.Pattern[bytes], re.Pattern[bytes], re.Pattern[bytes]]


def _found(tag: _Tag, xml: bytes) -> list[Any]:
    """TAG's matches in XML: unprefixed, then prefixed where a prefixed name occurs."""
    plain, prefixed, marker = tag
    found: list[Any] = plain.findall(xml)
    return found + prefixed.findall(xml) if marker.search(xml) else found


def _positions(tag: _Tag, xml: bytes, count: int) -> list[bytes] | None:
    """The `r` value of each of the COUNT tags that has one, or None when a tag cannot be
    read or has two."""
    found = _found(tag, xml)
    if len(found) != count or _SECOND_R.search(b"\n".join([f[3] for f in found])):
        return None
    return [a or b for given, a, b, _ in found if given]


_NAME_ENDS = {name: re.compile(re.escape(name) + rb"[\s/>]") for name in (b"c", b"f", b"si")}


def may_hold(xml: bytes, name: bytes) -> bool:
    """Whether XML may hold a NAME tag at all: NAME followed by what ends a tag name, where
    `<` or a prefix's `:` comes before it. One scan for the literal name, and a look at the
    few places it ends a word; past 64 of those, the answer is yes."""
    for count, match in enumerate(_NAME_ENDS[name].finditer(xml)):
        if count >= 64 or xml[match.start() - 1:match.start()] in (b"<", b":"):
            return True
    return False


def strings_in(xml: bytes) -> int:
    """At least as many shared strings as the part holds."""
    return len(_found(_STRING, xml)) if may_hold(xml, b"si") else 0


_LETTERS, _DIGITS = operator.itemgetter(0), operator.itemgetter(1)


def grid_size(xml: bytes) -> int | None:
    """At least as many cells as the value reader builds for this part — the rectangle from
    A1 to its last cell — or None when a cell's tag or position cannot be read."""
    if not may_hold(xml, b"c"):
        return 0
    found = _found(_CELL, xml)
    tags = len(found)
    if not tags:
        return 0
    references, unplaced = found, 0
    if not all(map(_LETTERS, found)):  # not every cell plain: read them whole
        positions = _positions(_CELL_POSITION, xml, tags)
        if positions is None:
            return None
        references = _CELL_REFERENCE.findall(b"\n".join(positions))
        if len(references) != len(positions):
            return None
        unplaced = tags - len(positions)
    rows = columns = 0
    if references:  # distinct values first: a form repeats its rows and columns
        rows = max(map(int, set(map(_DIGITS, references))))
        columns = max(map(_column, set(map(bytes.upper, set(map(_LETTERS, references))))))
    if unplaced:  # a cell without a position goes after the one before it, or on a new row
        row_tags = len(_found(_ROW, xml))
        given = _positions(_ROW_POSITION, xml, row_tags)
        numbers = _ROW_NUMBER.findall(b"\n".join(given or [b""]))
        if given is None or len(numbers) != len(given):
            return None
        rows = max(rows, *map(int, numbers), 0) + row_tags + unplaced
        columns += unplaced
    return max(rows * columns, tags)


def _column(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number


_SMALLEST_STRING_TAG = len(b"<si>")


class _Counted:
    """Cells and shared strings of the parts read so far; `Unreadable` past the limits."""

    def __init__(self, limits: Limits, total_bytes: int) -> None:
        self.limits = limits
        self.cells = 0
        self.strings = 0
        # A string's tag takes at least four bytes (`<si>`): parts smaller than that many
        # strings together cannot pass the limit, and their strings need no counting.
        self.count_strings = total_bytes >= _SMALLEST_STRING_TAG * (limits.max_strings + 1)

    def add(self, xml: bytes, where: str) -> None:
        size = grid_size(xml)
        if size is None:
            raise Unreadable(FILE_CORRUPT_CELL, {"where": where[:80]})
        self.cells += size
        if self.cells > self.limits.max_cells:
            raise Unreadable(FILE_TOO_MANY_CELLS, {"where": where[:80], "cells": self.cells,
                                                   "limit": self.limits.max_cells})
        if not self.count_strings:
            return
        self.strings += strings_in(xml)
        if self.strings > self.limits.max_strings:
            raise Unreadable(FILE_TOO_MANY_STRINGS, {"strings": self.strings,
                                                     "limit": self.limits.max_strings})


# -- cell values as text -------------------------------------------------------------------


def cell_text(value: Any) -> str:
    """A cell value as a clerk sees it: 100 not 100.0, dates as 2024-01-31, trimmed."""
    if value.__class__ is str:  # most cells: asked first
        return "" if not value else value.strip().strip("\u3000").strip()
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ") if value.time() != time() else value.date().isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value).strip().strip("\u3000").strip()
