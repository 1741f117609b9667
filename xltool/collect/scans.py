"""The regular-expression scans over a workbook's raw parts, and what the value reader will build.

The structure is read with regular expressions over the raw parts (C speed),
each with a quick path for the way Excel, WPS, LibreOffice and xlsxwriter
write a part (a literal search first; a pattern for a plainly written part)
that gives the same answer as the general path, which is taken otherwise.

python-calamine builds each sheet as a dense grid from its first to its last
cell, and aborts the process when that cannot be allocated: one cell typed at
XFD1048576 is seventeen billion cells. So the grid is bounded from the XML
before python-calamine sees the file: `Counted` adds up the cells and strings
of each part as it is read, within the limits.
"""

from __future__ import annotations

import html
import operator
import re
from collections.abc import Collection, Iterator
from typing import Any
from xml.etree.ElementTree import Element

from defusedxml import ElementTree as SafeTree

from xltool.codes import FILE_CORRUPT_CELL, FILE_TOO_MANY_CELLS, FILE_TOO_MANY_STRINGS
from xltool.errors import Unreadable
from xltool.limits import Limits

NS_CUSTOM = "http://schemas.openxmlformats.org/officeDocument/2006/custom-properties"
# The same part as Excel saves it in Strict Open XML (ISO/IEC 29500 Strict): only the
# namespace differs.
NS_CUSTOM_STRICT = "http://purl.oclc.org/ooxml/officeDocument/customProperties"


# -- the workbook: its sheets and defined names --------------------------------------------
#
# workbook.xml can hold thousands of defined names: scanned with regular expressions
# (C speed); `read_part` has refused it if it declares a DTD, so no entity can expand.
_SHEET_ELEMENT = re.compile(rb"<(?:\w+:)?sheet\b([^<>]*?)/?>")
_DEFINED_NAME = re.compile(rb"<(?:\w+:)?definedName\b([^<>]*)>([^<]*)</(?:\w+:)?definedName>")
_ATTRIBUTE = re.compile(rb"""(?:\w+:)?(\w+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")


def sheet_elements(workbook: bytes) -> list[re.Match[bytes]]:
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


def attributes(raw: bytes) -> dict[str, str]:
    return {m.group(1).decode(): html.unescape((m.group(2) or m.group(3) or b"").decode())
            for m in _ATTRIBUTE.finditer(raw)}


_NAME_ATTRIBUTE = re.compile(rb"""\bname\s*=\s*(?:"([^"]*)"|'([^']*)')""")


def defined_names(workbook: bytes) -> tuple[dict[str, str], slice | None]:
    """Workbook-level names (a name local to one sheet is not ours), and where the list of
    names lies when it holds nothing else (so the value reader can be spared it)."""
    plain = _plain_defined_names(workbook)
    return plain if plain is not None else (_any_defined_names(workbook), None)


# Names as Excel, WPS, LibreOffice, openpyxl and xlsxwriter write workbook-level ones.
# (a print title or area is local to its sheet: `localSheetId`, kept in the list, not read)
_PLAIN_NAME = re.compile(
    r'<definedName name="([^"&<>]*)"((?: localSheetId="[0-9]+")?)>([^<]*)</definedName>')
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
    names = {name: html.unescape(value) if "&" in value else value
             for name, local, value in found if not local}
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


# -- relationships and custom properties ---------------------------------------------------
#
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


def relation_targets(relations: bytes) -> dict[str | None, str]:
    """Each relation's id and the part it points to."""
    if _PLAIN_RELATIONS.fullmatch(relations):
        return {rid.decode(): _part_path(target.decode())
                for rid, target in _RELATION_ONE.findall(relations)}
    return {r.get("Id"): _part_path(r.get("Target", ""))
            for r in SafeTree.fromstring(relations, forbid_dtd=True)}


def _part_path(target: str) -> str:
    target = target.lstrip("/")
    return target if target.startswith("xl/") else f"xl/{target}"


def custom_properties(xml: bytes) -> dict[str, str]:
    if _PLAIN_PROPERTIES.fullmatch(xml):
        return {name.decode(): value.decode() for name, _, value in _PROPERTY_ONE.findall(xml)}
    root: Element | None = SafeTree.fromstring(xml, forbid_dtd=True)
    if root is None:
        return {}
    properties = {}
    namespace = NS_CUSTOM_STRICT if root.tag == f"{{{NS_CUSTOM_STRICT}}}Properties" else NS_CUSTOM
    for prop in root.iter(f"{{{namespace}}}property"):
        value = next(iter(prop), None)
        properties[prop.get("name", "")] = (value.text or "") if value is not None else ""
    return properties


# -- a sheet: its protection and formula cells ---------------------------------------------

_PROTECTION = re.compile(rb"<(?:\w+:)?sheetProtection\b([^<>]*)>")
_SHEET_ON = re.compile(rb"""\bsheet\s*=\s*["'](?:1|true)["']""")
_FORMULA = re.compile(rb"<(?:\w+:)?f[\s>/]")
_CELL_START = re.compile(rb"<(?:\w+:)?c\s[^<>]*?\br\s*=\s*[\"']([A-Z]{1,3}[0-9]{1,7})[\"']")


def is_protected(xml: bytes) -> bool:
    at = xml.find(b"sheetProtection")  # the tag's name first: one fast scan, not one per tag
    match = _PROTECTION.search(xml, xml.rfind(b"<", 0, at)) if at >= 0 else None
    return bool(match and _SHEET_ON.search(match.group(1)))


def formula_cells_in(xml: bytes) -> Iterator[str]:
    """Cells holding a formula: the last cell opened before each <f> element of the cells."""
    if not may_hold(xml, b"f"):
        return
    end = _cells_end(xml)
    starts = [(m.start(), m.group(1).decode()) for m in _CELL_START.finditer(xml)] \
        if _FORMULA.search(xml, 0, end) else []
    position = 0
    for formula in _FORMULA.finditer(xml, 0, end):
        while position + 1 < len(starts) and starts[position + 1][0] < formula.start():
            position += 1
        if starts and starts[position][0] < formula.start():
            yield starts[position][1]


_CELLS_END = re.compile(rb"</(?:\w+:)?sheetData\s*>")


def _cells_end(xml: bytes) -> int:
    """Where the cells end: at the close of `<sheetData>`. An `<xm:f>` after it is a
    formula of a list validation or a conditional format (Excel 2010 and WPS write those
    that refer to another sheet in an x14 extension), not of a cell."""
    end = xml.rfind(b"</sheetData>")  # never in text, where `<` is escaped
    if end < 0:
        for found in _CELLS_END.finditer(xml):  # a prefixed tag; or none: cells to the end
            end = found.start()
    return end if end >= 0 else len(xml)


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


class Counted:
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


# -- what a cell shows: its style, its error value -----------------------------------------
#
# The value reader gives a cell's value, not its number format, and an error value (`#N/A`)
# as an empty cell. The few input cells that hold a number, and the cells holding an error,
# are looked up in the sheet's XML: one pass over the cell tags, only when asked.

_CELL_TAG = re.compile(rb"<(?:\w+:)?c(?=[\s/>])([^<>]*)>")
_REFERENCE = re.compile(rb"""(?:^|\s)r\s*=\s*["']([A-Za-z]{1,3}[0-9]{1,7})["']""")
_STYLE = re.compile(rb"""(?:^|\s)s\s*=\s*["']\s*([0-9]{1,9})\s*["']""")
_ERROR_TYPE = re.compile(rb"""(?:^|\s)t\s*=\s*["']e["']""")
_CELL_CLOSE = re.compile(rb"</(?:\w+:)?c\s*>")
_CELL_VALUE = re.compile(rb"<(?:\w+:)?v>([^<]*)</(?:\w+:)?v\s*>")


def cell_styles(xml: bytes, wanted: Collection[str]) -> dict[str, int]:
    """The style index (`s`) of each cell of WANTED (`C12`) the sheet gives one.

    The few cells wanted are looked for as Excel, WPS and LibreOffice write their position
    (`r="C12"`: one quick search each, the last such cell taken, as the scan of every cell
    tag takes it); where one is not found so, every cell tag is read."""
    styles: dict[str, int] = {}
    for cell in wanted:
        at = xml.rfind(b'r="' + cell.encode() + b'"')
        tag = _CELL_TAG.match(xml, xml.rfind(b"<", 0, at)) if at > 0 else None
        reference = _REFERENCE.search(tag[1]) if tag and tag.end() > at else None
        if reference is None or reference[1].decode().upper() != cell:
            return _cell_styles_scanned(xml, wanted)
        style = _STYLE.search(tag[1]) if tag else None
        styles[cell] = int(style[1]) if style else 0
    return styles


def _cell_styles_scanned(xml: bytes, wanted: Collection[str]) -> dict[str, int]:
    styles: dict[str, int] = {}
    for tag in _CELL_TAG.finditer(xml):
        reference = _REFERENCE.search(tag[1])
        if reference is None:
            continue
        cell = reference[1].decode().upper()
        if cell in wanted:
            style = _STYLE.search(tag[1])
            styles[cell] = int(style[1]) if style else 0
    return styles


def error_cells(xml: bytes) -> dict[str, str]:
    """Each cell holding an error value (`t="e"`), and the error it shows (`#N/A`)."""
    # No error type anywhere, as nearly always: one quick look (and one more where single
    # quotes are used at all, which Excel, WPS and LibreOffice never do).
    if b'"e"' not in xml and (b"'" not in xml or b"'e'" not in xml):
        return {}
    errors: dict[str, str] = {}
    for tag in _CELL_TAG.finditer(xml):
        attributes, opened = tag[1], tag.end()
        if attributes.endswith(b"/") or not _ERROR_TYPE.search(attributes):
            continue
        reference = _REFERENCE.search(attributes)
        close = _CELL_CLOSE.search(xml, opened)
        if reference is None or close is None:
            continue
        value = _CELL_VALUE.search(xml, opened, close.start())
        error = html.unescape(value[1].decode("utf-8", "replace")).strip() if value else ""
        errors[reference[1].decode().upper()] = error or "#N/A"
    return errors


def cell_formats(styles: bytes) -> tuple[tuple[int, ...], dict[int, str]]:
    """The styles part's cell formats: each cell style's number format id (`cellXfs`, in
    order), and the format codes the part itself defines (`numFmts`), by id."""
    xfs: tuple[int, ...] = ()
    listed = _CELL_XFS.search(styles, max(styles.find(b"cellXfs") - 64, 0))
    if listed:
        xfs = tuple(int(found[1]) if found else 0 for found in map(
            _FORMAT_ID.search, _XF.findall(listed[1])))
    codes = {}
    for found in _NUMBER_FORMAT.findall(styles):
        given = attributes(found)
        if "formatCode" in given:
            number = _FORMAT_ID.search(found)
            codes[int(number[1]) if number else 0] = given["formatCode"]
    return xfs, codes


_CELL_XFS = re.compile(rb"<(?:\w+:)?cellXfs\b[^<>]*?>(.*?)</(?:\w+:)?cellXfs\s*>", re.S)
_XF = re.compile(rb"<(?:\w+:)?xf\b([^<>]*)>")
_NUMBER_FORMAT = re.compile(rb"<(?:\w+:)?numFmt\b([^<>]*)>")
_FORMAT_ID = re.compile(rb"""(?:^|\s)numFmtId\s*=\s*["']\s*([0-9]{1,9})""")
_DATE_1904 = re.compile(rb"""<(?:\w+:)?workbookPr\b[^<>]*?\sdate1904\s*=\s*["'](?:1|true)["']""")


def uses_1904(workbook: bytes) -> bool:
    """Whether the workbook counts its dates from 1904 (old Mac Excel's `date1904`)."""
    at = workbook.find(b"date1904")  # the attribute's name first: one fast scan
    return at >= 0 and bool(_DATE_1904.search(workbook, max(workbook.rfind(b"<", 0, at), 0)))
