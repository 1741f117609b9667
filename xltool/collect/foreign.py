"""Whose a refused workbook is: the identity inside an .xls, .ods or .xlsb.

xltool reads returns only as .xlsx (or .xlsm). A department that saves its
template in another format is refused all the same, but the file still says
which template it came from: Excel, WPS and LibreOffice carry a workbook's
custom document properties (`xltool.template_id`, …) through Save As —

- into an .xls (Excel 97-2003, or WPS's .et: an OLE compound file) as the
  user-defined section of its `\\x05DocumentSummaryInformation` property set;
- into an .ods as `<meta:user-defined meta:name="…">` fields of `meta.xml`;
- into an .xlsb as `docProps/custom.xml`, as in an .xlsx.

`foreign_properties` reads them, and nothing else of the file, so that the
department is told what to do (its feedback) and counted as having sent it.
It never raises: a file whose properties cannot be read within bounds has
none, and is refused without a department, as before.

Bounds: the file is in memory already (within `file-mb`). The zip formats are
read through the zip guard (`archive`): the directory is checked first, one
part is inflated within the part limit. The compound file is read by hand
(the standard library has no reader, and the format is small): every sector
number is checked against the file's size, every chain is cut at the number
of sectors its stream needs (so a loop costs no more than a stream), the tree
of directory entries is walked once per entry, and the property stream is
read only up to `PROPERTY_STREAM_BYTES`.
"""

from __future__ import annotations

import codecs
import struct
import uuid
import zipfile
from collections.abc import Callable, Iterator
from typing import NamedTuple

from defusedxml import ElementTree as SafeTree

from xltool.collect.archive import BROKEN, OLE_MAGIC, FileKind, checked_parts, read_part
from xltool.collect.reader import custom_properties_alone
from xltool.errors import Unreadable
from xltool.limits import Limits


def foreign_properties(kind: FileKind, data: bytes, entries: list[zipfile.ZipInfo],
                       limits: Limits) -> dict[str, str]:
    """The custom document properties of a file of KIND that xltool does not read (an .xls,
    an .ods, an .xlsb), by name; {} for any other kind, or when they cannot be read.
    ENTRIES: the zip's entries as `sniff_entries` read them from DATA (none for an .xls)."""
    try:
        if kind == FileKind.XLS:
            return ole_properties(data)
        if kind == FileKind.ODS:
            return _ods_properties(data, entries, limits)
        if kind == FileKind.XLSB:
            return custom_properties_alone(data, entries, limits)
    except (Unreadable, UnicodeDecodeError, *BROKEN):
        return {}
    return {}


# -- .ods: meta.xml ------------------------------------------------------------------------

ODS_META = "meta.xml"
_META_NS = "urn:oasis:names:tc:opendocument:xmlns:meta:1.0"
_USER_DEFINED, _META_NAME = f"{{{_META_NS}}}user-defined", f"{{{_META_NS}}}name"


def _ods_properties(data: bytes, entries: list[zipfile.ZipInfo],
                    limits: Limits) -> dict[str, str]:
    parts = checked_parts(entries, limits)
    if ODS_META not in parts:
        return {}
    root = SafeTree.fromstring(read_part(data, parts[ODS_META], limits), forbid_dtd=True)
    return {field.get(_META_NAME, ""): "".join(field.itertext())
            for field in root.iter(_USER_DEFINED)}


# -- .xls: the compound file (MS-CFB) ------------------------------------------------------


class BadCompound(ValueError):
    """A compound file, or its property set, that does not hold together."""


PROPERTY_STREAM = "\x05DocumentSummaryInformation"
PROPERTY_STREAM_BYTES = 256 * 1024
"""Read no more of it: it holds a few hundred bytes, a few kilobytes with many properties."""

# signature, (CLSID), minor and major version, byte order, sector and mini-sector shifts,
# (reserved), then directory sectors, FAT sectors, first directory sector, transaction,
# mini-stream cut-off, first mini-FAT sector, mini-FAT sectors, first DIFAT sector, DIFAT sectors
_HEADER = struct.Struct("<8s16xHHHHH6x9I")
_HEADER_DIFAT = 109  # FAT sector numbers in the header itself
_LAST_SECTOR = 0xFFFFFFFA  # numbers above are markers: end of chain, free, FAT, DIFAT
_END_OF_CHAIN = 0xFFFFFFFE
_ENTRY_BYTES = 128
_NO_ENTRY = 0xFFFFFFFF
_STREAM, _ROOT = 2, 5
# name length, type, (colour), left sibling, right sibling, child; start sector, size
_ENTRY = struct.Struct("<HBxIII")
_ENTRY_STREAM = struct.Struct("<IQ")


class _Entry(NamedTuple):
    name: str
    kind: int
    left: int
    right: int
    child: int
    start: int
    size: int


def ole_properties(data: bytes) -> dict[str, str]:
    """The user-defined properties of an OLE compound file (an .xls), by name: strings and
    integers, as text. `BadCompound` (or `struct.error`) when the file does not hold together."""
    compound = _Compound(data)
    stream = compound.stream(PROPERTY_STREAM)
    return user_defined_properties(stream) if stream is not None else {}


def ole_stream_names(data: bytes) -> set[str]:
    """The names of the streams and storages at the top of an OLE compound file (`Workbook`
    for an .xls, `WordDocument` for a .doc); `BadCompound` (or `struct.error`) when the file
    does not hold together."""
    return {entry.name for entry in _Compound(data)._root_children()}


class _Compound:
    """A compound file's sectors, FAT and directory, each checked against the file's size."""

    def __init__(self, data: bytes) -> None:
        (magic, _, major, order, shift, mini_shift, _, fat_count, directory, _, cutoff,
         mini_fat, _, difat, difat_count) = _HEADER.unpack_from(data)
        if magic != OLE_MAGIC or order != 0xFFFE or (major, shift) not in ((3, 9), (4, 12)) \
                or mini_shift != 6:
            raise BadCompound("not a compound file of version 3 or 4")
        self.data = data
        self.size = 1 << shift
        self.mini_size = 1 << mini_shift
        self.cutoff = cutoff
        self.sectors = max(0, -(-len(data) // self.size) - 1)  # the header takes the first
        self.fat = self._fat_sectors(data, fat_count, difat, difat_count)
        # version 3 keeps a stream's size in 32 bits: the high half may hold anything
        self.size_mask = 0xFFFFFFFF if major == 3 else (1 << 64) - 1
        self.directory = self._chain(directory, self.sectors)
        self.mini_fat = mini_fat

    # sectors and chains

    def sector(self, number: int) -> memoryview:
        if number >= self.sectors:
            raise BadCompound(f"sector {number} beyond the file")
        start = (number + 1) * self.size
        return memoryview(self.data)[start:start + self.size]

    def _fat_sectors(self, data: bytes, count: int, difat: int, difat_count: int) -> list[int]:
        """Where the FAT lies: the header's numbers, then those of the DIFAT chain."""
        count = min(count, self.sectors)
        found = [n for n in struct.unpack_from(f"<{_HEADER_DIFAT}I", data, _HEADER.size)
                 if n <= _LAST_SECTOR][:count]
        per_sector = self.size // 4 - 1  # the last number of a DIFAT sector is the next one
        for _ in range(min(difat_count, self.sectors)):
            if len(found) >= count or difat > _LAST_SECTOR:
                break
            numbers = struct.unpack_from(f"<{per_sector + 1}I", self.sector(difat))
            found += [n for n in numbers[:per_sector] if n <= _LAST_SECTOR][:count - len(found)]
            difat = numbers[per_sector]
        return found

    def _next(self, table: list[int], number: int) -> int:
        """The sector after NUMBER in the FAT (TABLE: its sectors) or the mini FAT."""
        per_sector = self.size // 4
        at = number // per_sector
        if at >= len(table):
            raise BadCompound(f"no allocation entry for sector {number}")
        following: int = struct.unpack_from("<I", self.sector(table[at]),
                                             (number % per_sector) * 4)[0]
        return following

    def _chain(self, start: int, most: int, table: list[int] | None = None) -> list[int]:
        """The sectors of a chain from START, at most MOST of them, and each once: a chain is
        cut where it comes back to a sector, or at the length its stream needs, so a loop
        costs no more than the stream (one cut short reads short, and is refused so)."""
        chain: dict[int, None] = {}
        number = start
        while number != _END_OF_CHAIN and len(chain) < most and number not in chain:
            if number > _LAST_SECTOR:
                raise BadCompound("a chain broken by a marker")
            chain[number] = None
            number = self._next(self.fat if table is None else table, number)
        return list(chain)

    # the directory

    def entry(self, number: int) -> _Entry:
        per_sector = self.size // _ENTRY_BYTES
        if number // per_sector >= len(self.directory):
            raise BadCompound(f"directory entry {number} beyond the directory")
        raw = self.sector(self.directory[number // per_sector])
        at = (number % per_sector) * _ENTRY_BYTES
        length, kind, left, right, child = _ENTRY.unpack_from(raw, at + 64)
        start, size = _ENTRY_STREAM.unpack_from(raw, at + 116)
        name = bytes(raw[at:at + min(length, 64)]).decode("utf-16-le", "replace").rstrip("\0")
        return _Entry(name, kind, left, right, child, start, size & self.size_mask)

    def _root_children(self) -> Iterator[_Entry]:
        """The entries at the top of the file (siblings in a tree under the root), each once:
        an object embedded in the workbook has a property stream of its own, further down."""
        root = self.entry(0)
        if root.kind != _ROOT:
            raise BadCompound("no root entry")
        seen: set[int] = set()
        waiting = [root.child]
        while waiting:
            number = waiting.pop()
            if number == _NO_ENTRY or number in seen:
                continue
            seen.add(number)
            found = self.entry(number)
            yield found
            waiting += (found.left, found.right)

    # streams

    def stream(self, name: str) -> bytes | None:
        """The stream NAME at the top of the file, None when there is none or it is larger
        than `PROPERTY_STREAM_BYTES`."""
        found = next((e for e in self._root_children() if e.name == name), None)
        if found is None or found.kind != _STREAM or found.size > PROPERTY_STREAM_BYTES:
            return None
        if found.size < self.cutoff:
            return self._mini_stream(found)
        return self._read(self._chain(found.start, -(-found.size // self.size)), found.size,
                          self.sector)

    def _mini_stream(self, found: _Entry) -> bytes:
        """A small stream, in 64-byte sectors of the root's stream, chained by the mini FAT."""
        root = self.entry(0)
        container = self._chain(root.start, min(-(-root.size // self.size), self.sectors))
        mini_fat = self._chain(self.mini_fat, self.sectors)
        per_sector = self.size // self.mini_size

        def mini_sector(number: int) -> memoryview:
            if number // per_sector >= len(container):
                raise BadCompound(f"mini sector {number} beyond the mini stream")
            start = (number % per_sector) * self.mini_size
            return self.sector(container[number // per_sector])[start:start + self.mini_size]

        chain = self._chain(found.start, -(-found.size // self.mini_size), mini_fat)
        return self._read(chain, found.size, mini_sector)

    @staticmethod
    def _read(chain: list[int], size: int, sector: Callable[[int], memoryview]) -> bytes:
        read = b"".join(bytes(sector(number)) for number in chain)
        if len(read) < size:
            raise BadCompound("a stream shorter than its size")
        return read[:size]


# -- the property set (MS-OLEPS) -----------------------------------------------------------

USER_DEFINED = uuid.UUID("d5cdd505-2e9c-101b-9397-08002b2cf9ae").bytes_le
"""The section of user-defined (custom) properties: the second of DocumentSummaryInformation."""

_SET_HEADER = struct.Struct("<HH4x16xI")  # byte order, version, (system, CLSID), sections
_SECTION_AT = struct.Struct("<16sI")  # FMTID, offset
_PAIR = struct.Struct("<II")
_DICTIONARY, _CODEPAGE = 0, 1
_UNICODE = 1200  # CP_WINUNICODE: every string of the section is UTF-16
_VT_I2, _VT_I4, _VT_LPSTR, _VT_LPWSTR = 0x02, 0x03, 0x1E, 0x1F


def user_defined_properties(stream: bytes) -> dict[str, str]:
    """The user-defined properties in a DocumentSummaryInformation STREAM, by name: strings
    and integers as text; properties of other types are left out."""
    order, _, sections = _SET_HEADER.unpack_from(stream)
    if order != 0xFFFE:
        raise BadCompound("not a property set")
    for number in range(min(sections, 2)):  # the stream holds two at most
        fmtid, offset = _SECTION_AT.unpack_from(stream, _SET_HEADER.size + number * 20)
        if fmtid == USER_DEFINED:
            return _section(stream, offset)
    return {}


def _section(stream: bytes, offset: int) -> dict[str, str]:
    size, count = _PAIR.unpack_from(stream, offset)
    section = stream[offset:offset + size]
    if count > (len(section) - 8) // 8:
        raise BadCompound("more properties than the section holds")
    places = dict(_PAIR.unpack_from(section, 8 + 8 * n) for n in range(count))
    codepage = _integer(section, places[_CODEPAGE]) & 0xFFFF if _CODEPAGE in places else 1252
    encoding = _encoding(codepage)
    names = _dictionary(section, places[_DICTIONARY], codepage, encoding) \
        if _DICTIONARY in places else {}
    properties = {}
    for identifier, name in names.items():
        if identifier in places and identifier > _CODEPAGE:
            value = _value(section, places[identifier], encoding)
            if value is not None:
                properties[name] = value
    return properties


def _encoding(codepage: int) -> str:
    if codepage == _UNICODE:
        return "utf-16-le"
    try:
        return codecs.lookup(f"cp{codepage}").name  # 65001 is UTF-8, 936 GBK, 1252 Western
    except LookupError:
        return "latin-1"  # a code page Python does not know: its ASCII still reads


def _dictionary(section: bytes, at: int, codepage: int, encoding: str) -> dict[int, str]:
    """Property identifier → name. Under CP_WINUNICODE a name's length counts characters of
    two bytes, and each entry is padded to four bytes; else it counts bytes."""
    (count,) = struct.unpack_from("<I", section, at)
    if count > (len(section) - at) // 8:
        raise BadCompound("more names than the section holds")
    names = {}
    at += 4
    for _ in range(count):
        identifier, length = _PAIR.unpack_from(section, at)
        width = length * 2 if codepage == _UNICODE else length
        names[identifier] = _text(section, at + 8, width, encoding)
        at += 8 + (-(-width // 4) * 4 if codepage == _UNICODE else width)
    return names


def _value(section: bytes, at: int, encoding: str) -> str | None:
    (kind,) = struct.unpack_from("<H", section, at)
    if kind in (_VT_I2, _VT_I4):
        return str(_integer(section, at))
    if kind == _VT_LPSTR:
        (size,) = struct.unpack_from("<I", section, at + 4)
        return _text(section, at + 8, size, encoding)
    if kind == _VT_LPWSTR:
        (length,) = struct.unpack_from("<I", section, at + 4)
        return _text(section, at + 8, length * 2, "utf-16-le")
    return None


def _integer(section: bytes, at: int) -> int:
    """A VT_I2 or VT_I4 value (after its type and two bytes of padding)."""
    (kind,) = struct.unpack_from("<H", section, at)
    if kind not in (_VT_I2, _VT_I4):
        raise BadCompound(f"an integer of type {kind:#x}")
    number: int = struct.unpack_from("<h" if kind == _VT_I2 else "<i", section, at + 4)[0]
    return number


def _text(section: bytes, at: int, width: int, encoding: str) -> str:
    """WIDTH bytes at AT, decoded, up to the first NUL."""
    if at + width > len(section):
        raise BadCompound("a string beyond the section")
    return section[at:at + width].decode(encoding, "replace").split("\0", 1)[0]
