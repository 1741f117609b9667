"""The zip guard: what a file is, and its parts inflated within firm limits.

`sniff_entries` decides from the bytes (never the name) whether a file is a workbook
we can read. `checked_parts` checks the zip before any real work — every entry's
name, declared size and compression ratio — then `read_part` inflates a part within
the limits: the actual inflated size, the checksum, and XML with a DTD (entity bombs).

`stored_zip` repacks the parts as inflated and checked, without compression, for the
value reader: it reads exactly what was bounded and inflates nothing again.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from enum import StrEnum
from typing import Any

from defusedxml import ElementTree as SafeTree

from xltool.codes import (
    FILE_BAD_ENTRY_NAME,
    FILE_BAD_ENTRY_NAME_TWICE,
    FILE_CORRUPT_COMPRESSION,
    FILE_CORRUPT_PART,
    FILE_ENCRYPTED_PART,
    FILE_TOO_LARGE_INFLATED,
    FILE_TOO_MANY_PARTS,
    FILE_XML_DTD,
    FILE_ZIP_BOMB,
    FILE_ZIP_BOMB_PART,
)
from xltool.errors import Unreadable
from xltool.limits import MB, Limits

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"  # a zip's first local header: how every zip a program saves begins
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
BROKEN = (zipfile.BadZipFile, OSError, ValueError, KeyError, EOFError, NotImplementedError,
          RuntimeError, OverflowError, struct.error, zlib.error, SafeTree.ParseError)


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
    except BROKEN:
        return FileKind.BROKEN_ZIP, []
    if "xl/workbook.bin" in names:
        return FileKind.XLSB, entries
    if "xl/workbook.xml" not in names or "[Content_Types].xml" not in names:
        return FileKind.ZIP, entries
    return (FileKind.XLSM if "xl/vbaProject.bin" in names else FileKind.XLSX), entries


def _utf16(text: bytes) -> bytes:
    return text.decode().encode("utf-16-le")


# -- the zip's directory, checked before anything is inflated ------------------------------


def checked_parts(infos: list[zipfile.ZipInfo], limits: Limits) -> dict[str, zipfile.ZipInfo]:
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


# -- one part, inflated within its limits --------------------------------------------------

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


# -- the parts repacked for the value reader -----------------------------------------------
#
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


def without(parts: list[tuple[zipfile.ZipInfo, bytes]], name: str,
            cut: slice) -> list[tuple[zipfile.ZipInfo, bytes]]:
    """PARTS with the bytes at CUT taken out of part NAME: the value reader is spared the
    workbook's list of names, which the scans have read (hundreds, in a template)."""
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
