"""Reading a returned file: what it is, and what it holds, within firm limits.

`sniff` decides from the bytes (never the name) whether a file is a workbook
we can read. `open_xlsx` checks the zip before any real work — entry names,
declared and actual inflated sizes, XML with a DTD (entity bombs) — then
reads the small structural parts itself (identity, sheet list, defined names,
protection, formula cells) and leaves the cell values to python-calamine, a
Rust reader some hundred times faster than openpyxl.

Problems are returned as `Unreadable` with a code and a Chinese message; this
module never lets a malformed file raise past it.
"""

from __future__ import annotations

import functools
import html
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from enum import StrEnum
from typing import Any
from xml.etree.ElementTree import Element

import python_calamine
from defusedxml import ElementTree as SafeTree
from xlsxwriter.utility import xl_cell_to_rowcol

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


@dataclass(frozen=True)
class Limits:
    """Checked before the work, so a hostile file costs seconds and megabytes, not the run."""

    max_file_bytes: int = 50 * 1024 * 1024
    max_part_bytes: int = 64 * 1024 * 1024
    max_total_bytes: int = 256 * 1024 * 1024
    max_entries: int = 2_000
    max_ratio: int = 200
    max_cells: int = 200_000


DEFAULT_LIMITS = Limits()


class Unreadable(Exception):
    """The file cannot be read as a workbook; `code` and `message` say why."""

    def __init__(self, code: str, message: str, fix: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.fix = fix


def sniff(data: bytes) -> FileKind:
    """What the bytes are, whatever the file is called."""
    if not data:
        return FileKind.EMPTY
    if data.startswith(OLE_MAGIC):
        return FileKind.ENCRYPTED if _utf16(b"EncryptedPackage") in data else FileKind.XLS
    if not data.startswith(b"PK"):
        return FileKind.UNKNOWN
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            if "mimetype" in names and archive.read("mimetype").strip() == ODS_MIMETYPE:
                return FileKind.ODS
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, EOFError):
        return FileKind.BROKEN_ZIP
    if "xl/workbook.bin" in names:
        return FileKind.XLSB
    if "xl/workbook.xml" not in names or "[Content_Types].xml" not in names:
        return FileKind.ZIP
    return FileKind.XLSM if "xl/vbaProject.bin" in names else FileKind.XLSX


def _utf16(text: bytes) -> bytes:
    return text.decode().encode("utf-16-le")


# -- the workbook's structure --------------------------------------------------------------


@dataclass(frozen=True)
class SheetInfo:
    name: str
    part: str
    state: str
    protected: bool
    formula_cells: frozenset[str]


@dataclass
class XlsxContent:
    """An opened return: structure parsed, values read on demand, sheet by sheet."""

    data: bytes
    sheets: dict[str, SheetInfo]
    defined_names: dict[str, str]
    properties: dict[str, str]
    _values: dict[str, list[list[Any]]] = field(default_factory=dict)
    _book: Any = None

    def values(self, sheet: str) -> list[list[Any]]:
        if sheet not in self._values:
            if self._book is None:
                self._book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(self.data))
            rows = self._book.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
            self._values[sheet] = rows
        return self._values[sheet]

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


def open_xlsx(data: bytes, limits: Limits = DEFAULT_LIMITS) -> XlsxContent:
    """Check the package and read its structure; raise `Unreadable` with the reason."""
    if len(data) > limits.max_file_bytes:
        raise Unreadable("file.too_large", f"文件大小 {len(data) // 1048576} MB，超过上限",
                         "删除多余内容后重新保存，或联系财政部门")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            parts = _checked_parts(archive, limits)
            return _structure(archive, parts, data, limits)
    except Unreadable:
        raise
    except (zipfile.BadZipFile, OSError, ValueError, KeyError, EOFError, NotImplementedError,
            SafeTree.ParseError) as error:
        raise Unreadable("file.corrupt", f"文件已损坏，无法读取（{type(error).__name__}）",
                         "用 Excel 或 WPS 打开后另存为 .xlsx 再报送") from error
    except python_calamine.CalamineError as error:
        raise Unreadable("file.corrupt", f"文件已损坏，无法读取（{error}）"[:200],
                         "用 Excel 或 WPS 打开后另存为 .xlsx 再报送") from error


def _checked_parts(archive: zipfile.ZipFile, limits: Limits) -> dict[str, zipfile.ZipInfo]:
    infos = archive.infolist()
    if len(infos) > limits.max_entries:
        raise Unreadable("file.too_many_parts", f"压缩包内有 {len(infos)} 个部件，超过上限",
                         "使用下发的模板重新填写")
    declared = 0
    for info in infos:
        name = info.filename
        if name.startswith(("/", "\\")) or ".." in name.replace("\\", "/").split("/"):
            raise Unreadable("file.bad_entry_name", f"压缩包内含有可疑路径“{name[:80]}”",
                             "使用下发的模板重新填写后报送")
        declared += info.file_size
        if info.file_size > limits.max_part_bytes or declared > limits.max_total_bytes:
            raise Unreadable("file.too_large", "文件解压后过大，超过上限",
                             "删除多余内容后重新保存，或联系财政部门")
        if info.compress_size and info.file_size / info.compress_size > limits.max_ratio:
            raise Unreadable("file.zip_bomb", "文件压缩比异常（疑似压缩炸弹），未读取",
                             "使用下发的模板重新填写后报送")
    return {info.filename: info for info in infos}


def read_part(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limits: Limits) -> bytes:
    """Inflate one part, stopping at the limit whatever its header claims."""
    with archive.open(info) as stream:
        data = stream.read(limits.max_part_bytes + 1)
    if len(data) > limits.max_part_bytes:
        raise Unreadable("file.zip_bomb", f"部件 {info.filename} 解压后超过上限，未读取",
                         "使用下发的模板重新填写后报送")
    if b"<!DOCTYPE" in data[:4096] or b"<!ENTITY" in data[:65536]:
        raise Unreadable("file.xml_dtd", f"部件 {info.filename} 含有 DTD 定义（不安全），未读取",
                         "使用下发的模板重新填写后报送")
    return data


def _xml(archive: zipfile.ZipFile, parts: dict[str, zipfile.ZipInfo], name: str,
         limits: Limits) -> Element | None:
    if name not in parts:
        return None
    root: Element = SafeTree.fromstring(read_part(archive, parts[name], limits),
                                        forbid_dtd=True)
    return root


def _structure(archive: zipfile.ZipFile, parts: dict[str, zipfile.ZipInfo], data: bytes,
               limits: Limits) -> XlsxContent:
    rels = _xml(archive, parts, "xl/_rels/workbook.xml.rels", limits)
    if "xl/workbook.xml" not in parts or rels is None:
        raise Unreadable("file.not_workbook", "文件不是完整的 Excel 工作簿",
                         "用 Excel 或 WPS 另存为 .xlsx 后重新报送")
    workbook = read_part(archive, parts["xl/workbook.xml"], limits)
    targets = {r.get("Id"): _part_path(r.get("Target", "")) for r in rels}
    for part in ("xl/sharedStrings.xml", "xl/styles.xml"):
        if part in parts:
            read_part(archive, parts[part], limits)
    sheets = {}
    for attributes in _SHEET_ELEMENT.finditer(workbook):
        found = _attributes(attributes.group(1))
        path = targets.get(found.get("id"), "")
        if path not in parts:
            continue
        xml = read_part(archive, parts[path], limits)
        name = found.get("name", "")
        sheets[name] = SheetInfo(name, path, found.get("state", "visible"), _protected(xml),
                                 frozenset(_formula_cells(xml)))
    return XlsxContent(data, sheets, _defined_names(workbook),
                       _custom_properties(_xml(archive, parts, "docProps/custom.xml", limits)))


def _part_path(target: str) -> str:
    target = target.lstrip("/")
    return target if target.startswith("xl/") else f"xl/{target}"


# workbook.xml can hold thousands of defined names: scanned with regular expressions
# (C speed); it has already been refused if it declares a DTD, so no entity can expand.
_SHEET_ELEMENT = re.compile(rb"<(?:\w+:)?sheet\b([^>]*?)/?>")
_DEFINED_NAME = re.compile(rb"<(?:\w+:)?definedName\b([^>]*)>(.*?)</(?:\w+:)?definedName>", re.S)
_ATTRIBUTE = re.compile(rb"""(?:\w+:)?(\w+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")


def _attributes(raw: bytes) -> dict[str, str]:
    return {m.group(1).decode(): html.unescape((m.group(2) or m.group(3) or b"").decode())
            for m in _ATTRIBUTE.finditer(raw)}


_NAME_ATTRIBUTE = re.compile(rb"""\bname\s*=\s*(?:"([^"]*)"|'([^']*)')""")


def _defined_names(workbook: bytes) -> dict[str, str]:
    """Workbook-level names (a name local to one sheet is not ours)."""
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


def _custom_properties(root: Element | None) -> dict[str, str]:
    if root is None:
        return {}
    properties = {}
    for prop in root.iter(f"{{{NS_CUSTOM}}}property"):
        value = next(iter(prop), None)
        properties[prop.get("name", "")] = (value.text or "") if value is not None else ""
    return properties


_PROTECTION = re.compile(rb"<(?:\w+:)?sheetProtection\b([^>]*)>")
_SHEET_ON = re.compile(rb"""\bsheet\s*=\s*["'](?:1|true)["']""")
_FORMULA = re.compile(rb"<(?:\w+:)?f[\s>/]")
_CELL_START = re.compile(rb"<(?:\w+:)?c\s[^>]*?\br\s*=\s*[\"']([A-Z]{1,3}[0-9]{1,7})[\"']")


def _protected(xml: bytes) -> bool:
    match = _PROTECTION.search(xml)
    return bool(match and _SHEET_ON.search(match.group(1)))


def _formula_cells(xml: bytes) -> Iterator[str]:
    """Cells holding a formula: the last cell opened before each <f> element."""
    starts = [(m.start(), m.group(1).decode()) for m in _CELL_START.finditer(xml)] \
        if _FORMULA.search(xml) else []
    position = 0
    for formula in _FORMULA.finditer(xml):
        while position + 1 < len(starts) and starts[position + 1][0] < formula.start():
            position += 1
        if starts and starts[position][0] < formula.start():
            yield starts[position][1]


# -- cell values as text -------------------------------------------------------------------


def cell_text(value: Any) -> str:
    """A cell value as a clerk sees it: 100 not 100.0, dates as 2024-01-31, trimmed."""
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
