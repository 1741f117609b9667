"""The catalogue: every code xltool reports, declared once.

Three kinds of entry, each a frozen record with a stable code and a line of
English for the documentation (`meaning`):

* `Problem` — a finding (`xltool.findings.Finding`): a `ledger.*` problem of the
  master ledger, a `file.*`, `form.*`, `cell.*` or `rule.*` finding of a return,
  a `targets.*` or `prefill.*` finding of a prefill workbook. It carries the
  severity and the Chinese message and fix, as templates filled by
  `str.format_map` from the facts the reporting code gives (`Problem.text`,
  `Problem.finding`). A problem met in several ways keeps one code and one
  severity and has a wording per way: `Problem.worded` makes the variant, named
  after its entry (`FILE_CORRUPT_PART` is `FILE_CORRUPT` in one part).
* `Kind` — a kind of difference `reconcile` reports, with its report sheet.
* `Reason` — why `publish` leaves an issued project out, with the word shown.
* `Skip` — why `collect` leaves a file it found in a folder uncollected, with the words
  the console lists such files under.

Every entry is a module constant named after its code (`file.too_large` is
`FILE_TOO_LARGE`, the reconcile kind `moved` is `RECONCILE_MOVED`, the publish
reason `rejected` is `PUBLISH_REJECTED`, the skip `symlink` is `SKIPPED_SYMLINK`),
and code that reports one imports that constant: no module but this one spells a
code. `tests/test_codes.py` holds the package to that and fails on an entry nothing
reports; `tests/test_docs.py` fails when the README's tables of codes differ from the
catalogue.

To add a code:

1. declare its entry below, in its group's tuple (the order of a group is the
   order of its README table; the order of `KINDS` is the order of the report's
   sheets); `section` says which README table lists a problem, `reader` who acts
   on it (`Reader`: the department, by default, or the office — an office
   finding of a return reaches the 收取情况汇总, never the department's 反馈表);
2. report it through the constant (`PROBLEM.finding(facts, sheet=…, cell=…)`,
   or `ctx.finding(PROBLEM, …)` in the ledger reader);
3. regenerate the README's tables: `cog -r README.md` (cog is in the `test`
   extra; each table is a `[[[cog …]]]` block calling `markdown`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from types import MappingProxyType
from typing import TypedDict, Unpack

from xltool import states
from xltool.findings import Finding, Severity

NO_FACTS: Mapping[str, object] = MappingProxyType({})


class Section(StrEnum):
    """The README table that lists an entry: a section of the README each."""

    LEDGER = "ledger"
    COLLECT = "collect"
    LIMITS = "limits"
    PREFILL = "prefill"
    RECONCILE = "reconcile"
    PUBLISH = "publish"
    SKIPPED = "skipped"
    CRITERIA = "criteria"
    MAIL = "mail"


class Reader(StrEnum):
    """Who acts on a finding: the department that sent the file (its 反馈表 lists it), or the
    office itself (its 收取情况汇总 lists it, the department never sees it). An office
    finding says what the file is or where it came from, not what to change in it."""

    DEPARTMENT = "department"
    OFFICE = "office"


class Where(TypedDict, total=False):
    """Where a finding points: the location fields of `Finding`."""

    file: str
    department: str
    project: str
    sheet: str
    cell: str
    row: int | None
    column: str
    value: str


@dataclass(frozen=True, kw_only=True)
class Problem:
    """A kind of finding: a stable code, a severity, and Chinese templates for message and fix."""

    code: str
    severity: Severity
    message: str
    fix: str
    meaning: str
    section: Section
    reader: Reader = Reader.DEPARTMENT

    def text(self, facts: Mapping[str, object] = NO_FACTS) -> tuple[str, str]:
        """The message and the fix, each template filled from FACTS."""
        return self.message.format_map(facts), self.fix.format_map(facts)

    def finding(self, facts: Mapping[str, object] = NO_FACTS, /, **where: Unpack[Where]
                ) -> Finding:
        message, fix = self.text(facts)
        return Finding(code=self.code, severity=self.severity, message=message, fix=fix,
                       **where)

    def worded(self, message: str, fix: str = "") -> Problem:
        """This problem met another way: the same code and severity, its own message (and
        fix, if it differs)."""
        return replace(self, message=message, fix=fix or self.fix)


@dataclass(frozen=True, kw_only=True)
class Kind:
    """A kind of difference `reconcile` reports; each has a sheet of the report."""

    code: str
    sheet: str
    meaning: str


@dataclass(frozen=True, kw_only=True)
class Reason:
    """Why `publish` leaves an issued project out, and the word shown for it."""

    code: str
    label: str
    meaning: str


@dataclass(frozen=True, kw_only=True)
class Skip:
    """Why `collect` leaves a file it found in a folder (or a glob) uncollected, or a held
    file unrechecked (`--recheck`): the file is listed, its record (if any) unchanged.
    LABEL names such files in the console, NOTE says what they are."""

    code: str
    label: str
    note: str
    meaning: str


_E, _W = Severity.ERROR, Severity.WARNING
_OFFICE = Reader.OFFICE
_LEDGER, _COLLECT, _LIMITS, _PREFILL = (Section.LEDGER, Section.COLLECT, Section.LIMITS,
                                        Section.PREFILL)

# ---------------------------------------------------------------------------
# ledger.*: the master ledger (`xltool ledger`)
# ---------------------------------------------------------------------------

LEDGER_MISSING_COLUMN = Problem(
    code="ledger.missing_column", severity=_E, section=_LEDGER, reader=_OFFICE,
    message="缺少必填列“{column}”（表头可写作：{spellings}）",
    fix="在表头行加上“{column}”列，并为每个项目填写",
    meaning="a required column is not in the header")
LEDGER_DUPLICATE_COLUMN = Problem(
    code="ledger.duplicate_column", severity=_W, section=_LEDGER, reader=_OFFICE,
    message="“{column}”列出现了两次（{first}列和{again}列），只读取了{first}列",
    fix="删除多余的一列，或把它改成别的列名",
    meaning="a column twice in the header: the first one is read")
LEDGER_AMOUNT_UNIT = Problem(
    code="ledger.amount_unit", severity=_E, section=_LEDGER, reader=_OFFICE,
    message="表头写明单位是{stated}，但金额按{unit}读取，金额会差一万倍",
    fix="金额以元为单位时按元读取（命令行加 --yuan），否则改正表头中的单位",
    meaning="a header states 元 or 万元, and the amounts are read in the other unit")
LEDGER_EMPTY = Problem(
    code="ledger.empty", severity=_E, section=_LEDGER, reader=_OFFICE,
    message="总账里没有任何项目",
    fix="在表头下面每行填写一个项目；确认选对了文件",
    meaning="no project in the ledger")
LEDGER_EMPTY_CODE = Problem(
    code="ledger.empty_code", severity=_E, section=_LEDGER, reader=_OFFICE,
    message="项目“{project}”没有填项目编码",
    fix="填上该项目的项目编码",
    meaning="a project without a project code")
LEDGER_EMPTY_NAME = Problem(
    code="ledger.empty_name", severity=_E, section=_LEDGER, reader=_OFFICE,
    message="项目编码“{project}”没有填项目名称",
    fix="填上该项目的名称",
    meaning="a project without a name")
LEDGER_EMPTY_DEPARTMENT_CODE = Problem(
    code="ledger.empty_department_code", severity=_E, section=_LEDGER, reader=_OFFICE,
    message="项目“{project}”没有填主管部门编码",
    fix="填上主管部门编码（设为文本格式，保留开头的 0）",
    meaning="a project without a department code")
LEDGER_EMPTY_DEPARTMENT = Problem(
    code="ledger.empty_department", severity=_E, section=_LEDGER, reader=_OFFICE,
    message="项目“{project}”没有填主管部门名称",
    fix="填上主管部门名称",
    meaning="a project without a department name")
LEDGER_CODE_AS_NUMBER = Problem(
    code="ledger.code_as_number", severity=_E, section=_LEDGER, reader=_OFFICE,
    message="“{column}”“{value}”是按数字保存的，Excel 只保留 15 位有效数字，编码可能已经被改动",
    fix="把该列设为文本格式，再按原始编码重新录入",
    meaning="a code saved as a number: Excel keeps 15 digits, so it may be damaged already")
LEDGER_MISSING_AMOUNT = Problem(
    code="ledger.missing_amount", severity=_E, section=_LEDGER, reader=_OFFICE,
    message="“{column}”没有填",
    fix="填上金额（单位：{unit}），没有资金的填 0；若该格是公式，在 Excel 中打开并保存一次",
    meaning="no 年度资金总额 or 财政拨款")
LEDGER_BAD_AMOUNT = Problem(
    code="ledger.bad_amount", severity=_E, section=_LEDGER, reader=_OFFICE,
    message="“{column}”填的是“{value}”，不是数字",
    fix="只填数字（单位：{unit}），不要带单位、文字或公式错误",
    meaning="an amount that is not a number")
LEDGER_NEGATIVE_AMOUNT = Problem(
    code="ledger.negative_amount", severity=_E, section=_LEDGER, reader=_OFFICE,
    message="“{column}”是负数：{value}",
    fix="核对金额，资金不能为负数",
    meaning="a negative amount")
LEDGER_TOTAL_MISMATCH = Problem(
    code="ledger.total_mismatch", severity=_E, section=_LEDGER, reader=_OFFICE,
    message="年度资金总额 {total} 万元，不等于 财政拨款 {fiscal} + 其他资金 {other} + "
            "结余结转 {carryover} = {parts} 万元（相差 {difference} 万元）",
    fix="核对各项金额，使年度资金总额等于三项之和",
    meaning="年度资金总额 is not 财政拨款 + 其他资金 + 结余结转")
LEDGER_MISSING_YEAR = Problem(
    code="ledger.missing_year", severity=_E, section=_LEDGER, reader=_OFFICE,
    message="没有填年度",
    fix="填上预算年度，如 2024",
    meaning="a project without a year")
LEDGER_BAD_YEAR = Problem(
    code="ledger.bad_year", severity=_E, section=_LEDGER, reader=_OFFICE,
    message="年度填的是“{value}”，不是有效的四位年份",
    fix="填四位数字的年份，如 2024",
    meaning="a year that is not a four-digit year")
LEDGER_MIXED_YEARS = Problem(
    code="ledger.mixed_years", severity=_W, section=_LEDGER, reader=_OFFICE,
    message="本行年度是 {year}，而总账中大多数项目是 {main} 年度",
    fix="一份总账只放一个年度的项目：核对年度，或把其他年度的项目移到另一个文件",
    meaning="a project of another year than most of the ledger")
LEDGER_DUPLICATE_CODE = Problem(
    code="ledger.duplicate_code", severity=_E, section=_LEDGER, reader=_OFFICE,
    message="项目编码“{value}”重复，第{first}行已有这个编码",
    fix="每个项目只占一行：核对编码，删除或合并重复的行",
    meaning="a project code on two rows")
LEDGER_DEPARTMENT_NAME_CONFLICT = Problem(
    code="ledger.department_name_conflict", severity=_E, section=_LEDGER, reader=_OFFICE,
    message="主管部门编码“{code}”在第{first}行是“{first_name}”，本行却是“{name}”",
    fix="同一编码的部门名称要一致：统一名称，或改正编码",
    meaning="one department code with two names")
LEDGER_DEPARTMENT_CODE_CONFLICT = Problem(
    code="ledger.department_code_conflict", severity=_W, section=_LEDGER, reader=_OFFICE,
    message="主管部门“{name}”在第{first}行的编码是“{first_code}”，本行却是“{code}”",
    fix="核对该部门的编码，同一部门应只用一个编码",
    meaning="one department name with two codes")
LEDGER_ROW_WITHOUT_PROJECT = Problem(
    code="ledger.row_without_project", severity=_W, section=_LEDGER, reader=_OFFICE,
    message="本行填了金额，但没有项目编码和项目名称，没有读入",
    fix="补上项目编码和名称；若是合计行，在项目名称列写“合计”",
    meaning="amounts on a row with neither project code nor name: not read")
LEDGER_BAD_EMAIL = Problem(
    code="ledger.bad_email", severity=_W, section=_LEDGER, reader=_OFFICE,
    message="联系邮箱“{value}”格式不对（或含有中文等字符，多数发信服务器无法投递）",
    fix="填写形如 name@example.gov.cn 的地址（只用英文字母、数字和符号），多个地址用分号隔开",
    meaning="a contact e-mail address that is no address, or has non-ASCII characters "
            "(most servers offer no SMTPUTF8)")

LEDGER_PROBLEMS: tuple[Problem, ...] = (
    LEDGER_MISSING_COLUMN, LEDGER_DUPLICATE_COLUMN, LEDGER_AMOUNT_UNIT, LEDGER_EMPTY,
    LEDGER_EMPTY_CODE, LEDGER_EMPTY_NAME, LEDGER_EMPTY_DEPARTMENT_CODE, LEDGER_EMPTY_DEPARTMENT,
    LEDGER_CODE_AS_NUMBER, LEDGER_MISSING_AMOUNT, LEDGER_BAD_AMOUNT, LEDGER_NEGATIVE_AMOUNT,
    LEDGER_TOTAL_MISMATCH, LEDGER_MISSING_YEAR, LEDGER_BAD_YEAR, LEDGER_MIXED_YEARS,
    LEDGER_DUPLICATE_CODE, LEDGER_DEPARTMENT_NAME_CONFLICT, LEDGER_DEPARTMENT_CODE_CONFLICT,
    LEDGER_ROW_WITHOUT_PROJECT, LEDGER_BAD_EMAIL,
)

# ---------------------------------------------------------------------------
# file.*: what a received file is, and whether it can be read (`xltool collect`)
# ---------------------------------------------------------------------------

_SAVE_SMALLER = "删除多余内容后重新保存，或联系财政部门"
_REFILL = "使用下发的模板重新填写后报送"
_REFILL_CLEAN = "删除表格以外多余的内容后重新保存，或使用下发的模板重新填写"

FILE_EMPTY = Problem(
    code="file.empty", severity=_E, section=_COLLECT,
    message="文件是空的（0 字节）", fix="重新保存模板后再报送",
    meaning="an empty file (0 bytes)")
FILE_NOT_WORKBOOK = Problem(
    code="file.not_workbook", severity=_E, section=_COLLECT,
    message="文件不是 Excel 工作簿", fix="报送下发的 .xlsx 模板文件",
    meaning="not a workbook: another kind of file, or a zip without a workbook in it")
FILE_NOT_WORKBOOK_ZIP = FILE_NOT_WORKBOOK.worded(
    "文件是压缩包，不是 Excel 工作簿", "解压后报送其中的模板文件")
FILE_NOT_WORKBOOK_PARTS = FILE_NOT_WORKBOOK.worded(
    "文件不是完整的 Excel 工作簿", "用 Excel 或 WPS 另存为 .xlsx 后重新报送")
FILE_CORRUPT = Problem(
    code="file.corrupt", severity=_E, section=_COLLECT,
    message="文件已损坏，无法读取（{reason}）", fix="用 Excel 或 WPS 打开后另存为 .xlsx 再报送",
    meaning="a damaged file: a broken zip or part, or a cell the value reader cannot parse")
FILE_CORRUPT_ZIP = FILE_CORRUPT.worded(
    "文件已损坏（压缩结构不完整），无法读取", "重新保存模板后再报送；邮件附件可能未下载完整")
FILE_CORRUPT_PART = FILE_CORRUPT.worded("部件 {part} 已损坏（内容不完整或校验不符）")
FILE_CORRUPT_COMPRESSION = FILE_CORRUPT.worded("部件 {part} 使用了不支持的压缩方式")
FILE_CORRUPT_CELL = FILE_CORRUPT.worded("“{where}”中有无法识别的单元格位置")
FILE_CORRUPT_SHEETS = FILE_CORRUPT.worded("工作簿中有两个名为“{sheet}”的工作表")
FILE_ENCRYPTED = Problem(
    code="file.encrypted", severity=_E, section=_COLLECT,
    message="文件已加密，请去除密码后重新报送",
    fix="在 Excel 中“文件—信息—保护工作簿—用密码进行加密”清空密码后保存",
    meaning="a workbook, or a part of one, encrypted with a password")
FILE_ENCRYPTED_PART = FILE_ENCRYPTED.worded(
    "文件中的部件 {part} 已加密，无法读取", "去除密码后另存为 .xlsx 再报送")
FILE_XLS = Problem(
    code="file.xls", severity=_E, section=_COLLECT,
    message="文件是旧版 .xls 格式，无法核对",
    fix="用 Excel 或 WPS 打开后“另存为”Excel 工作簿（.xlsx）再报送",
    meaning="an old .xls workbook: save as .xlsx")
FILE_XLSB = Problem(
    code="file.xlsb", severity=_E, section=_COLLECT,
    message="文件是二进制工作簿（.xlsb），无法核对", fix="“另存为”Excel 工作簿（.xlsx）再报送",
    meaning="a binary .xlsb workbook: save as .xlsx")
FILE_ODS = Problem(
    code="file.ods", severity=_E, section=_COLLECT,
    message="文件是 OpenDocument 表格（.ods），无法核对",
    fix="在 WPS 或 LibreOffice 中“另存为”Excel 2007-365（.xlsx）再报送",
    meaning="an OpenDocument spreadsheet: save as .xlsx")
FILE_MACROS = Problem(
    code="file.macros", severity=_W, section=_COLLECT,
    message="文件含有宏，宏已忽略，未被运行", fix="今后请保存为不含宏的 .xlsx",
    meaning="an .xlsm: macros ignored, never run")
FILE_UNCHANGED_TEMPLATE = Problem(
    code="file.unchanged_template", severity=_E, section=_COLLECT, reader=_OFFICE,
    message="文件与下发的模板完全相同，未经任何修改，不予采用（是否误把下发的模板当作报送文件收取？）",
    fix="如是误收下发的模板，无需处理；如确为部门报送，请部门填写后重新报送",
    meaning="the very file that was sent out (any issued copy): recorded and kept, never "
            "accepted; addressed to the office, left out of the department's feedback")
FILE_DUPLICATE = Problem(
    code="file.duplicate", severity=_W, section=_COLLECT, reader=_OFFICE,
    message="与 {first_received} 收到的“{first}”内容完全相同，是重复收到的文件，按其结果"
            "（{result}）处理",
    fix="无需处理；部门如以为已经修改，请提醒其修改后重新报送",
    meaning="bytes received before, in this run or an earlier one: listed in the office's "
            "summary only, the department's feedback already said what the first copy needs")
FILE_STALE_TEMPLATE = Problem(
    code="file.stale_template", severity=_E, section=_COLLECT,
    message=("本文件所用模板（编号 {claimed}）已于 {reissued} 重新下发，"
             "新模板编号 {newer}；本文件不再采用"),
    fix="请使用 {reissued} 新下发的模板“{newer_file}”重新填写后报送，不要在旧模板上修改",
    meaning="a return of a template re-issued since: never displaces a return of the newer one")
FILE_TOO_LARGE = Problem(
    code="file.too_large", severity=_E, section=_COLLECT,
    message=("文件大小 {mb} MB，超过上限 {limit} MB：未读取，也未保存副本"
             "（只记下了文件名、大小和收到时间）"),
    fix=_SAVE_SMALLER,
    meaning="over `file-mb`, or parts inflating to more than `part-mb` or `total-mb`: "
            "refused before reading")
FILE_TOO_LARGE_MB = FILE_TOO_LARGE.worded("文件大小 {mb} MB，超过上限")
FILE_TOO_LARGE_INFLATED = FILE_TOO_LARGE.worded("文件解压后过大，超过上限")
FILE_TOO_MANY_PARTS = Problem(
    code="file.too_many_parts", severity=_E, section=_COLLECT,
    message="压缩包内有 {count} 个部件，超过上限", fix="使用下发的模板重新填写",
    meaning="more zip entries than `parts`: refused before reading")
FILE_ZIP_BOMB = Problem(
    code="file.zip_bomb", severity=_E, section=_COLLECT,
    message="文件压缩比异常（疑似压缩炸弹），未读取", fix=_REFILL,
    meaning="a part compressed more than `ratio`, or inflating past its declared size")
FILE_ZIP_BOMB_PART = FILE_ZIP_BOMB.worded("部件 {part} 解压后超过上限（疑似压缩炸弹），未读取")
FILE_XML_DTD = Problem(
    code="file.xml_dtd", severity=_E, section=_COLLECT,
    message="部件 {part} 含有 DTD 定义（不安全），未读取", fix=_REFILL,
    meaning="an XML part with a DTD or an entity: refused before reading")
FILE_BAD_ENTRY_NAME = Problem(
    code="file.bad_entry_name", severity=_E, section=_COLLECT,
    message="压缩包内含有可疑路径“{name}”", fix=_REFILL,
    meaning="a zip entry named with `../` or from the root, or two entries of one name")
FILE_BAD_ENTRY_NAME_TWICE = FILE_BAD_ENTRY_NAME.worded("压缩包内有两个同名部件“{name}”")
FILE_NOT_TEMPLATE = Problem(
    code="file.not_template", severity=_E, section=_COLLECT,
    message="文件不是财政部门下发的绩效目标模板（找不到模板编号）",
    fix="请使用下发的模板填写后报送，不要新建或复制到新工作簿",
    meaning="a workbook without a template number: not one of this office's templates")
FILE_UNKNOWN_TEMPLATE = Problem(
    code="file.unknown_template", severity=_E, section=_COLLECT, reader=_OFFICE,
    message="模板编号“{claimed}”不是本存储下发的模板",
    fix="核对文件从何而来、是否误收；如确为部门报送，请其改用本次下发的模板填写后重新报送",
    meaning="a template number this store never issued")
FILE_OTHER_YEAR = Problem(
    code="file.other_year", severity=_E, section=_COLLECT,
    message="这是{year}年度的模板，不是本年度下发的模板", fix="请使用本年度下发的模板填写",
    meaning="a template of a year this store has issued none of")
FILE_PROFILE_VERSION = Problem(
    code="file.profile_version", severity=_E, section=_COLLECT,
    message="存储中没有模板下发时使用的表式“{profile}”第{version}版，无法核对",
    fix="请向财政部门索取新版模板重新填写",
    meaning="a template whose profile, as issued, the store does not hold (a store kept "
            "from before profiles were kept, whose profile no longer ships)")
FILE_IDENTITY_MISMATCH = Problem(
    code="file.identity_mismatch", severity=_E, section=_COLLECT,
    message="模板编号在文件中的两处记录不一致，文件可能被改动或拼接",
    fix="请使用下发的原模板重新填写后报送",
    meaning="the template number in the document properties and in the defined name differ")
FILE_TOO_MANY_CELLS = Problem(
    code="file.too_many_cells", severity=_E, section=_LIMITS,
    message="表格范围过大：至“{where}”已相当于 {cells:,} 个单元格（上限 {limit:,}），未读取",
    fix=_REFILL_CLEAN,
    meaning="over `cells`, refused before reading")
FILE_TOO_MANY_STRINGS = Problem(
    code="file.too_many_strings", severity=_E, section=_LIMITS,
    message="文件中的文字条目过多（{strings:,} 条，上限 {limit:,}），未读取",
    fix=_REFILL_CLEAN,
    meaning="over `strings`, refused before reading")
FILE_UNREADABLE = Problem(
    code="file.unreadable", severity=_E, section=_LIMITS, reader=_OFFICE,
    message="无法打开文件（{reason}）", fix="关闭正在使用该文件的程序，或检查文件权限后重新收取",
    meaning="the file could not be opened (in use, no permission): not recorded, the next run "
            "tries again")

FILE_PROBLEMS: tuple[Problem, ...] = (
    FILE_EMPTY, FILE_NOT_WORKBOOK, FILE_CORRUPT, FILE_ENCRYPTED, FILE_XLS, FILE_XLSB, FILE_ODS,
    FILE_MACROS, FILE_UNCHANGED_TEMPLATE, FILE_DUPLICATE, FILE_STALE_TEMPLATE, FILE_TOO_LARGE,
    FILE_TOO_MANY_PARTS, FILE_ZIP_BOMB, FILE_XML_DTD, FILE_BAD_ENTRY_NAME, FILE_NOT_TEMPLATE,
    FILE_UNKNOWN_TEMPLATE, FILE_OTHER_YEAR,
    FILE_PROFILE_VERSION, FILE_IDENTITY_MISMATCH, FILE_TOO_MANY_CELLS, FILE_TOO_MANY_STRINGS,
    FILE_UNREADABLE,
)

# ---------------------------------------------------------------------------
# form.* and cell.*: a return against the template it was issued as
# ---------------------------------------------------------------------------

FORM_SHEET_MISSING = Problem(
    code="form.sheet_missing", severity=_E, section=_COLLECT,
    message="找不到项目“{project}”的工作表“{sheet}”（被删除或改名）",
    fix="请使用下发的原模板重新填写，不要删除或重命名工作表",
    meaning="a project's sheet deleted or renamed")
FORM_LOCKED_CHANGED = Problem(
    code="form.locked_changed", severity=_E, section=_COLLECT,
    message="锁定内容被改动：原为“{issued}”，现为“{found}”",
    fix="锁定内容来自预算台账，不能修改；如确有错误请联系财政部门",
    meaning="a locked cell changed (its issued and its returned value shown)")
FORM_STRUCTURE_CHANGED = Problem(
    code="form.structure_changed", severity=_E, section=_COLLECT,
    message="表格结构被改动（插入或删除了行列），{count} 个填写单元格已不在原位置",
    fix="请使用下发的原模板重新填写，不要插入或删除行、列",
    meaning="rows or columns inserted or deleted: input cells no longer where issued")
FORM_UNPROTECTED = Problem(
    code="form.unprotected", severity=_W, section=_COLLECT,
    message="工作表保护已被取消", fix="无需处理；锁定内容已逐格核对，如有改动会另行列出",
    meaning="sheet protection removed (every locked cell is compared all the same)")
FORM_OUTSIDE_CELLS = Problem(
    code="form.outside_cells", severity=_W, section=_LIMITS,
    message="表格范围以外有 {count} 个单元格填写了内容，这些内容不会被读取",
    fix="需要报送的内容请填在表格内的相应栏目；表格外的内容请删除",
    meaning="cells filled outside the form: not read")

FORM_NOT_FILLED = Problem(
    code="form.not_filled", severity=_E, section=_COLLECT,
    message="报送的表格未填写任何内容（{projects} 个项目的填写单元格全部为空），"
            "可能发回了空白模板",
    fix="请在下发的模板中填写各项目的绩效目标和指标后重新报送",
    meaning="no input cell of any project filled (the template sent back untouched but "
            "saved again): this one finding stands for every rule's")

FORM_PROBLEMS: tuple[Problem, ...] = (
    FORM_SHEET_MISSING, FORM_LOCKED_CHANGED, FORM_STRUCTURE_CHANGED, FORM_UNPROTECTED,
    FORM_OUTSIDE_CELLS, FORM_NOT_FILLED,
)

CELL_FORMULA = Problem(
    code="cell.formula", severity=_W, section=_COLLECT,
    message="填写单元格中是公式，已按其计算结果读取", fix="请直接填写文字或数字，不要使用公式",
    meaning="a formula typed into an input cell: its cached value is read")
CELL_TOO_LONG = Problem(
    code="cell.too_long", severity=_E, section=_LIMITS,
    message="填写内容过长（{length:,} 字，上限 {limit:,} 字）",
    fix="请精简为要点；详细材料请另行报送",
    meaning="an input over `text` characters")

CELL_CONTROL_CHAR = Problem(
    code="cell.control_char", severity=_E, section=_COLLECT,
    message="单元格中有不可见的控制字符 {chars}，这类字符不能保存，也无法正常显示和打印",
    fix="删除不可见的控制字符后重新报送：清空该单元格后重新输入文字（控制字符多由其他系统"
        "复制粘贴带入，粘贴时可选“只粘贴文本”）",
    meaning="a control character other than tab, line feed or carriage return in an input "
            "(named: `U+001B ESC`): never stored")

CELL_ERROR_VALUE = Problem(
    code="cell.error_value", severity=_E, section=_COLLECT,
    message="单元格显示错误值 {error}（{meaning}）",
    fix="请改正该单元格的公式或引用，或删除公式后直接填写内容",
    meaning="an error value (`#N/A`, `#DIV/0!`, `#VALUE!`, `#REF!`, `#NAME?`, `#NUM!`, "
            "`#NULL!`) in an input cell, named with what it means")
ERROR_VALUE_MEANINGS: Mapping[str, str] = MappingProxyType({
    "#N/A": "公式或引用出错，值不可用",
    "#DIV/0!": "公式中除数为零",
    "#VALUE!": "公式中的值类型不对，如文字参与了计算",
    "#REF!": "公式引用的单元格已被删除或无效",
    "#NAME?": "公式中有无法识别的函数或名称",
    "#NUM!": "公式中的数值无效或超出范围",
    "#NULL!": "公式引用的区域没有交集",
})
"""What each error value means, for `CELL_ERROR_VALUE` (another error: 公式出错)."""

CELL_PROBLEMS: tuple[Problem, ...] = (CELL_FORMULA, CELL_ERROR_VALUE, CELL_CONTROL_CHAR,
                                      CELL_TOO_LONG)

# ---------------------------------------------------------------------------
# rule.*: the profile's rules over a return's content
# ---------------------------------------------------------------------------

RULE_GOAL_EMPTY = Problem(
    code="rule.goal_empty", severity=_E, section=_COLLECT,
    message="“{label}”未填写", fix="填写本项目的{label}",
    meaning="no goal")
RULE_REQUIRED_EMPTY = Problem(
    code="rule.required_empty", severity=_E, section=_COLLECT,
    message="必填的“{category}”没有填写指标",
    fix="至少填写一条{category}及其指标值，例如 {examples}",
    meaning="a required category without an indicator")
RULE_VALUE_MISSING = Problem(
    code="rule.value_missing", severity=_E, section=_COLLECT,
    message="“{category}”的指标“{name}”没有填写指标值",
    fix="在右侧填写指标值，如 ≥95%、100次、明显",
    meaning="an indicator without a value")
RULE_NAME_MISSING = Problem(
    code="rule.name_missing", severity=_E, section=_COLLECT,
    message="“{category}”有指标值“{value}”但没有指标名称", fix="在左侧填写三级指标名称",
    meaning="a value without an indicator")
RULE_PLACEHOLDER = Problem(
    code="rule.placeholder", severity=_W, section=_COLLECT,
    message="“{category}”中留有占位文字“{name}”，已忽略",
    fix="删除占位文字；不适用的选填指标留空即可",
    meaning="`指标1：` left in (ignored)")
RULE_NOT_QUANTITATIVE = Problem(
    code="rule.not_quantitative", severity=_E, section=_COLLECT,
    message="“{category}”须为可量化的数值，“{text}”中没有数字",
    fix="写成 比较符号+数字+单位，如 ≥95%、≤20万元、100次",
    meaning="no number where the category needs one (数量/成本/满意度 by default)")
RULE_VALUE_UNPARSED = Problem(
    code="rule.value_unparsed", severity=_W, section=_COLLECT,
    message="“{text}”含有多个数值或说明文字，无法自动读出一个目标值",
    fix="尽量写成一个目标值，如 ≥3次；说明放在三级指标名称中",
    meaning="digits, but not one readable target value (`6期，每期500本`)")
RULE_SATISFACTION_RANGE = Problem(
    code="rule.satisfaction_range", severity=_E, section=_COLLECT,
    message="满意度“{text}”不在 0–100% 之间", fix="满意度填写 0–100% 的百分比，如 ≥95%",
    meaning="satisfaction outside 0–100%")
RULE_SATISFACTION_UNIT = Problem(
    code="rule.satisfaction_unit", severity=_W, section=_COLLECT,
    message="满意度“{text}”没有写成百分比", fix="写成百分比，如 ≥95%",
    meaning="satisfaction not written as a percentage")
RULE_COST_EXCEEDS_TOTAL = Problem(
    code="rule.cost_exceeds_total", severity=_E, section=_COLLECT,
    message="成本指标合计 {spent} 万元，超过年度资金总额 {total} 万元。各项成本：{counted}",
    fix="核对{cell}“{text}”等各项成本的金额和单位（万元），合计不应超过年度资金总额",
    meaning="costs (万元) over the project's total: at the cost whose unit is doubtful (one "
            "without a unit that read as 元 would fit), else the largest; every cost listed "
            "as counted")
RULE_COST_EXCEEDS_TOTAL_UNITLESS = RULE_COST_EXCEEDS_TOTAL.worded(
    "{cell}“{text}”没有写单位，按万元计为 {wan} 万元，成本指标合计 {spent} 万元，超过年度资金"
    "总额 {total} 万元；如按元计，合计为 {fitted} 万元。各项成本：{counted}",
    "“{text}”如是元，请写成“{text}元”；如确是万元，请核对各项成本，合计不应超过年度资金总额")
RULE_COST_BELOW_TOTAL = Problem(
    code="rule.cost_below_total", severity=_W, section=_COLLECT,
    message="成本指标合计 {spent} 万元，少于年度资金总额 {total} 万元。各项成本：{counted}",
    fix="核对是否漏填成本项目，以及各项成本的金额和单位（万元）",
    meaning="costs (万元) under the project's total: at a cost in 元 that read as 万元 would "
            "fit, else the first; every cost listed as counted")
RULE_COST_BELOW_TOTAL_YUAN = RULE_COST_BELOW_TOTAL.worded(
    "{cell}“{text}”按元计为 {wan} 万元，成本指标合计 {spent} 万元，少于年度资金总额 {total} "
    "万元；如按万元计，合计为 {fitted} 万元。各项成本：{counted}",
    "“{text}”如应为万元，请改写单位；否则核对是否漏填成本项目")
RULE_COST_NO_UNIT = Problem(
    code="rule.cost_no_unit", severity=_W, section=_COLLECT,
    message="成本“{text}”没有写单位，已按万元计为 {wan} 万元",
    fix="金额后写明单位：万元写成“{text}万元”，元写成“{text}元”",
    meaning="a cost without a unit: read as 万元")
RULE_WEIGHTS_SUM = Problem(
    code="rule.weights_sum", severity=_E, section=_COLLECT,
    message="{label}合计为 {found:f}，应为 {total}", fix="调整各项{label}，使合计等于 {total}",
    meaning="weighted profiles: weights not summing to the profile's total")
RULE_BAD_WEIGHT = Problem(
    code="rule.bad_weight", severity=_E, section=_COLLECT,
    message="{label}“{text}”不是数字", fix="{label}填写 {span} 之间的数字",
    meaning="weighted profiles: a weight that is no number, or outside 0 to the total")
RULE_REQUIRED_EMPTY_FEW = RULE_REQUIRED_EMPTY.worded(
    "必填的“{category}”只填写了 {found} 条指标，本局审核口径要求至少 {minimum} 条",
    "再补充{category}，至少 {minimum} 条，例如 {examples}")
RULE_SATISFACTION_RANGE_FLOOR = RULE_SATISFACTION_RANGE.worded(
    "满意度“{text}”低于本局审核口径要求的 {floor}%", "满意度目标不低于 {floor}%，如 ≥{floor}%")
RULE_BAD_WEIGHT_RANGE = RULE_BAD_WEIGHT.worded("{label} {weight} 不在 {span} 之间")
RULE_WEIGHT_MISSING = Problem(
    code="rule.weight_missing", severity=_E, section=_COLLECT,
    message="指标“{name}”没有填写{label}", fix="填写{label}（{span}）",
    meaning="weighted profiles: an indicator without a weight")

RULE_PROBLEMS: tuple[Problem, ...] = (
    RULE_GOAL_EMPTY, RULE_REQUIRED_EMPTY, RULE_VALUE_MISSING, RULE_NAME_MISSING,
    RULE_PLACEHOLDER, RULE_NOT_QUANTITATIVE, RULE_VALUE_UNPARSED, RULE_SATISFACTION_RANGE,
    RULE_SATISFACTION_UNIT, RULE_COST_EXCEEDS_TOTAL, RULE_COST_BELOW_TOTAL, RULE_COST_NO_UNIT,
    RULE_WEIGHTS_SUM, RULE_BAD_WEIGHT, RULE_WEIGHT_MISSING,
)

# ---------------------------------------------------------------------------
# review.*: the review criteria of practice (审核口径), each for the office to switch on
# (`xltool.officerules`), and last year's targets against this year's (`xltool.previous`)
# ---------------------------------------------------------------------------

_CRITERIA = Section.CRITERIA

REVIEW_TOO_FEW_INDICATORS = Problem(
    code="review.too_few_indicators", severity=_W, section=_CRITERIA,
    message="本项目只填写了 {found} 条三级指标，本局审核口径要求至少 {minimum} 条",
    fix="补充能反映项目产出和效益的三级指标，至少 {minimum} 条",
    meaning="fewer 三级 indicators in a project than the rules file's `min_indicators` (off "
            "while it is 0, the default)")
REVIEW_INPUT_AS_OUTPUT = Problem(
    code="review.input_as_output", severity=_W, section=_CRITERIA,
    message="“{category}”的指标“{text}”描述的是资金、人员或设备等投入，不是产出或效益",
    fix="财力、人力和物力等投入不能作为绩效目标：改写为投入带来的产出或效果，如完成数量、"
        "完成率、受益人数；金额写在成本指标中",
    meaning="an 产出/效益 indicator (not 成本) naming inputs — funds, staff, equipment "
            "bought — or valued in money; a result about them (`资金到位率`, `经费支出合规性`) "
            "is not one. Off by default")
REVIEW_NO_COMPARATOR = Problem(
    code="review.no_comparator", severity=_W, section=_CRITERIA,
    message="指标值“{text}”没有比较符号，看不出是下限还是上限",
    fix="写成 比较符号+数字+单位，如 ≥{text}、≤{text} 或 ={text}",
    meaning="a number without a comparator in a quantitative category other than 成本 (`95%` "
            "where `≥95%` is meant; forms with a value column). Off by default")
REVIEW_DATE_OUTSIDE_YEAR = Problem(
    code="review.date_outside_year", severity=_W, section=_CRITERIA,
    message="时效指标“{text}”写的是 {found} 年，不在预算年度 {year} 年内",
    fix="时效指标的完成时间应在预算年度内，如“{year}年12月底前完成”",
    meaning="a 时效 indicator naming a year other than the template's budget year. Off by "
            "default")
REVIEW_TARGET_LOWERED = Problem(
    code="review.target_lowered", severity=_W, section=_CRITERIA,
    message="“{name}”的目标由上年的“{before}”降为“{now}”",
    fix="绩效目标原则上不低于上年；确需降低的，请在年度总体目标或说明中写明原因",
    meaning="`--previous`: an indicator of the same project, 二级 category and name whose "
            "target is lower than last year's (`≥98%` → `≥90%`, `≤5%` → `≤8%`: same comparator "
            "direction and unit)")
REVIEW_INDICATOR_DROPPED = Problem(
    code="review.indicator_dropped", severity=_W, section=_CRITERIA,
    message="上年的“{category}”指标“{name}”（{before}）今年没有填写",
    fix="核对是否漏填；确已不适用的，请在说明中写明原因",
    meaning="`--previous`: an indicator of last year's targets for the project that this "
            "year's return no longer has (by 二级 category and name)")

REVIEW_PROBLEMS: tuple[Problem, ...] = (
    REVIEW_TOO_FEW_INDICATORS, REVIEW_INPUT_AS_OUTPUT, REVIEW_NO_COMPARATOR,
    REVIEW_DATE_OUTSIDE_YEAR, REVIEW_TARGET_LOWERED, REVIEW_INDICATOR_DROPPED,
)

OFF_BY_DEFAULT: frozenset[str] = frozenset({
    REVIEW_INPUT_AS_OUTPUT.code, REVIEW_NO_COMPARATOR.code, REVIEW_DATE_OUTSIDE_YEAR.code,
})
"""The practice's criteria an office switches on in its rules file (a severity): without
one, they are not checked."""

# ---------------------------------------------------------------------------
# targets.* and prefill.*: a targets workbook prefilling templates (`template --prefill`)
# ---------------------------------------------------------------------------

TARGETS_MISSING_CODE = Problem(
    code="targets.missing_code", severity=_E, section=_PREFILL, reader=_OFFICE,
    message="缺少项目编码，该行无法使用", fix="补填项目编码",
    meaning="a row without a project code: not used")
TARGETS_DUPLICATE_GOAL = Problem(
    code="targets.duplicate_goal", severity=_E, section=_PREFILL, reader=_OFFICE,
    message="同一项目的年度总体目标出现多次，只采用第一条", fix="删除重复的行",
    meaning="a project's goal on several rows: the first one is used")
TARGETS_BAD_WEIGHT = Problem(
    code="targets.bad_weight", severity=_E, section=_PREFILL, reader=_OFFICE,
    message="权重不是数字，已按空白处理", fix="权重填写0–100之间的数字",
    meaning="a 权重 that is not a number: read as empty")
PREFILL_UNKNOWN_PROJECT = Problem(
    code="prefill.unknown_project", severity=_E, section=_PREFILL, reader=_OFFICE,
    message="项目编码“{code}”不在本次下发的预算台账中，其目标“{what}”未能预填",
    fix="核对项目编码；项目已撤销的可忽略此条",
    meaning="a goal or an indicator of a project not in the ledger: not prefilled")
PREFILL_UNKNOWN_CATEGORY = Problem(
    code="prefill.unknown_category", severity=_E, section=_PREFILL, reader=_OFFICE,
    message="表式“{profile}”没有二级指标“{level2}”，该指标“{name}”未能预填",
    fix="把该指标改到表式中已有的二级指标下，或改用相应的表式",
    meaning="an indicator under a 二级指标 the profile does not have: not prefilled")

PREFILL_PROBLEMS: tuple[Problem, ...] = (
    TARGETS_MISSING_CODE, TARGETS_DUPLICATE_GOAL, TARGETS_BAD_WEIGHT, PREFILL_UNKNOWN_PROJECT,
    PREFILL_UNKNOWN_CATEGORY,
)

# ---------------------------------------------------------------------------
# Reconcile kinds (`xltool reconcile`), in the order of the report's sheets
# ---------------------------------------------------------------------------

RECONCILE_LEDGER_PROBLEM = Kind(code="ledger_problem", sheet="总账问题",
                                meaning="what `xltool ledger` reports")
RECONCILE_DUPLICATE = Kind(
    code="duplicate", sheet="重复编码",
    meaning="a code twice in the ledger or in several departments' returns: never matched")
RECONCILE_NOT_ISSUED = Kind(
    code="not_issued", sheet="新增项目",
    meaning="a ledger project not on its department's template: issue one")
RECONCILE_NOT_RETURNED = Kind(code="not_returned", sheet="未报送",
                              meaning="issued, but no accepted return")
RECONCILE_WITHDRAWN = Kind(code="withdrawn", sheet="已撤销",
                           meaning="returned, but no longer in the ledger")
RECONCILE_MOVED = Kind(code="moved", sheet="部门变更",
                       meaning="returned, but now belonging to another department")
RECONCILE_CODE_CHANGED = Kind(code="code_changed", sheet="编码变更",
                              meaning="matched by (fuzzy) name under a new code")
RECONCILE_RENAMED = Kind(code="renamed", sheet="名称变更",
                         meaning="same code, another name since issue")
RECONCILE_BUDGET_CHANGED = Kind(
    code="budget_changed", sheet="预算调整",
    meaning="a funding row changed since issue: the targets may be stale, re-issue")
RECONCILE_UNIT_SUSPECT = Kind(code="unit_suspect", sheet="疑似以元填写",
                              meaning="costs about 10,000 times off the total")
RECONCILE_COST_OVER = Kind(code="cost_over", sheet="成本超出", meaning="costs over the total")
RECONCILE_COST_SHORT = Kind(code="cost_short", sheet="成本不足",
                            meaning="costs under half of the total")
RECONCILE_WEIGHTS = Kind(code="weights", sheet="权重合计",
                         meaning="weights not summing to the profile's total")

KINDS: Mapping[str, Kind] = MappingProxyType({kind.code: kind for kind in (
    RECONCILE_LEDGER_PROBLEM, RECONCILE_DUPLICATE, RECONCILE_NOT_ISSUED, RECONCILE_NOT_RETURNED,
    RECONCILE_WITHDRAWN, RECONCILE_MOVED, RECONCILE_CODE_CHANGED, RECONCILE_RENAMED,
    RECONCILE_BUDGET_CHANGED, RECONCILE_UNIT_SUSPECT, RECONCILE_COST_OVER, RECONCILE_COST_SHORT,
    RECONCILE_WEIGHTS,
)})

# ---------------------------------------------------------------------------
# Publish reasons (`xltool publish`): why an issued project is not published
# ---------------------------------------------------------------------------

PUBLISH_NOT_RETURNED = Reason(code="not_returned", label=states.NOT_RETURNED,
                              meaning="issued, but no accepted return")
PUBLISH_REJECTED = Reason(code="rejected", label=states.TO_FIX,
                          meaning="the department's last file of the year has errors")
PUBLISH_STALE = Reason(code="stale", label="用旧模板报送",
                       meaning="the department's last file of the year answered a template "
                               "issued again since (`stale`)")
PUBLISH_NOT_ISSUED = Reason(code="not_issued", label=states.NOT_ISSUED,
                            meaning="a department asked for (`--department`) with no template "
                                    "issued that year")
PUBLISH_WITHDRAWN = Reason(code="withdrawn", label="已撤销",
                           meaning="`--ledger`: returned, but no longer in the ledger")
PUBLISH_MOVED = Reason(code="moved", label="已划转其他部门",
                       meaning="`--ledger`: returned, but now belonging to another department "
                               "(its own template and return are published instead)")
PUBLISH_CODE_CHANGED = Reason(code="code_changed", label="项目编码已变",
                              meaning="`--ledger`: in the ledger under a new code, found by its "
                                      "name only: re-issue the template")
PUBLISH_BUDGET_CHANGED = Reason(code="budget_changed", label="预算已调整",
                                meaning="`--ledger`: a funding row of its form changed since "
                                        "issue, so its targets were set against another amount "
                                        "(`--allow-stale` publishes it with the ledger's amounts, "
                                        "and says so under its table)")
PUBLISH_REVIEW_RETURNED = Reason(code="review_returned", label="审核退回修改",
                                 meaning="the office's latest review of the project graded it "
                                         "中 or 差 (`xltool review`): returned for revision")
PUBLISH_NOT_REVIEWED = Reason(code="not_reviewed", label="尚未审核通过",
                              meaning="once the office reviews any return of the year, only "
                                      "approved projects (优, 良) are published: accepted, but "
                                      "not yet approved")

REASONS: Mapping[str, Reason] = MappingProxyType({reason.code: reason for reason in (
    PUBLISH_NOT_RETURNED, PUBLISH_REJECTED, PUBLISH_STALE, PUBLISH_NOT_ISSUED, PUBLISH_WITHDRAWN,
    PUBLISH_MOVED, PUBLISH_CODE_CHANGED, PUBLISH_BUDGET_CHANGED, PUBLISH_REVIEW_RETURNED,
    PUBLISH_NOT_REVIEWED,
)})

# ---------------------------------------------------------------------------
# Skips (`xltool collect`): why a file found in a folder is listed, not collected
# ---------------------------------------------------------------------------

SKIPPED_SCRATCH = Skip(
    code="scratch", label="临时或系统文件",
    note="Excel/WPS 打开文件时生成的 ~$ 锁定文件、Thumbs.db 等，它们不是报送文件",
    meaning="what programs leave beside returns: the `~$…` owner files of Excel and WPS, "
            "LibreOffice's `.~lock.…#`, `Thumbs.db`, `desktop.ini`, `.DS_Store`, `._…`")
SKIPPED_NOT_SPREADSHEET = Skip(
    code="not_spreadsheet", label="不是电子表格的文件",
    note="PDF、Word、图片、文本等；如确是报送文件，请直接写出文件名收取",
    meaning="neither named as a spreadsheet nor beginning as one (a zip or an OLE file), or "
            "named as a document of another program that begins so (`.docx`, `.pptx`, `.doc`, "
            "`.zip`, …); a device or pipe")
SKIPPED_SYMLINK = Skip(
    code="symlink", label="符号链接",
    note="文件夹中的链接不会被跟随，其指向的文件未收取；如需收取，请直接写出文件名",
    meaning="a symbolic link, to a file or a folder: never followed, nothing it points to is "
            "read or kept")
SKIPPED_OWN_OUTPUT = Skip(
    code="own_output", label="xltool 写出的文件",
    note="反馈表、收取情况汇总、核对报告、公开表或目标表，不是报送文件",
    meaning="a workbook xltool wrote (feedback, status summary, reconcile report, disclosure, "
            "targets), known by its custom property `xltool.output` once opened; or a draft "
            "xltool writes under before renaming it into place (`.NAME.PID.part.xlsx`)")
SKIPPED_STORE_FILE = Skip(
    code="store_file", label="存储自身的文件",
    note="存储文件及其日志、锁文件和收到文件的副本，不会作为报送文件收取",
    meaning="the store, its `-wal`, `-shm`, `-journal` or lock file, or its folder of kept "
            "copies: known as the same file (device and inode), whatever name or link leads "
            "to it")

SKIPPED_COPY_MISSING = Skip(
    code="copy_missing", label="副本丢失的文件",
    note="无法复核；请取回原文件用 xltool collect 重新收取，副本即补回",
    meaning="`collect --recheck`: a rejected file whose kept copy is gone; its record stands "
            "(a file never kept, over `file-mb`, is not rechecked: collect the file itself)")
SKIPPED_COPY_CHANGED = Skip(
    code="copy_changed", label="副本已被改动的文件",
    note="无法复核；请取回原文件用 xltool collect 重新收取，副本即修复",
    meaning="`collect --recheck`: a rejected file whose kept copy no longer has its hash; "
            "its record stands")

SKIPS: Mapping[str, Skip] = MappingProxyType({skip.code: skip for skip in (
    SKIPPED_SCRATCH, SKIPPED_NOT_SPREADSHEET, SKIPPED_SYMLINK, SKIPPED_OWN_OUTPUT,
    SKIPPED_STORE_FILE, SKIPPED_COPY_MISSING, SKIPPED_COPY_CHANGED,
)})

EXAMINED_AGAIN: frozenset[str] = frozenset({
    FILE_TOO_LARGE.code, FILE_TOO_MANY_PARTS.code, FILE_ZIP_BOMB.code, FILE_TOO_MANY_CELLS.code,
    FILE_TOO_MANY_STRINGS.code, CELL_TOO_LONG.code, FILE_CORRUPT.code, FILE_UNREADABLE.code,
})
"""The rejections a limit or the reader caused: a file rejected with one of them is examined
again when it is collected again under other limits or by another release of xltool."""

# ---------------------------------------------------------------------------
# mail.*: mail sent (`xltool mail templates`, `feedback`, `remind`); the office acts on them
# ---------------------------------------------------------------------------

_MAIL = Section.MAIL

MAIL_NO_ADDRESS = Problem(
    code="mail.no_address", severity=_E, section=_MAIL, reader=_OFFICE,
    message="{department}没有联系邮箱，未发送",
    fix="在预算台账“联系邮箱”列填上地址后用 xltool template 重新下发，或手工发送",
    meaning="a department with no 联系邮箱 recorded when its template was issued: not mailed")
MAIL_TEMPLATE_MISSING = Problem(
    code="mail.template_missing", severity=_E, section=_MAIL, reader=_OFFICE,
    message="{department}：找不到下发的模板“{value}”（或文件已不是下发时的内容），未发送",
    fix="用 --templates 指定 xltool template 写出模板的文件夹",
    meaning="the issued template's file is not in the templates folder with the bytes the "
            "store recorded: not mailed")
MAIL_TOO_LARGE = Problem(
    code="mail.too_large", severity=_E, section=_MAIL, reader=_OFFICE,
    message="{department}：邮件超过邮件服务器的大小上限，未发送（{response}）",
    fix="请该部门另行传送，或请邮件管理员放宽上限后重新运行",
    meaning="the message is larger than the SIZE the server announces: not sent")
MAIL_REFUSED = Problem(
    code="mail.refused", severity=_E, section=_MAIL, reader=_OFFICE,
    message="{department}：邮件服务器没有接收这封邮件：{response}",
    fix="核对联系邮箱和服务器的说明后重新运行（只发送尚未发出的邮件）",
    meaning="the server refused every recipient or the message, or the connection broke: "
            "recorded as failed, sent again by the next run")
MAIL_PARTLY_REFUSED = Problem(
    code="mail.partly_refused", severity=_W, section=_MAIL, reader=_OFFICE,
    message="{department}：邮件已发出，但服务器拒收部分收件人：{refused}",
    fix="核对这些地址；改正后可用 --resend 重发",
    meaning="sent, but the server refused some of the recipients")
MAIL_UNCONFIRMED = Problem(
    code="mail.unconfirmed", severity=_E, section=_MAIL, reader=_OFFICE,
    message="{department}：发送邮件内容时与服务器的连接中断，不能确定对方是否已收到：{response}",
    fix="重新运行即可：以同一 Message-ID 重发，对方若已收到，邮件客户端只显示一封",
    meaning="the connection broke during or after DATA: the server may have taken the "
            "message; the next run sends it again under the same Message-ID")
MAIL_NO_FEEDBACK = Problem(
    code="mail.no_feedback", severity=_E, section=_MAIL, reader=_OFFICE,
    message="{department}：无法为“{value}”生成审核反馈表，未发送反馈邮件",
    fix="用 xltool collect --feedback 查看该文件的收取结果，或另行告知该部门",
    meaning="no 反馈表 could be written for the return: the feedback letter is not sent "
            "(it would say the 反馈表 is attached)")
MAIL_UNDATED_DEADLINE = Problem(
    code="mail.undated_deadline", severity=_W, section=_MAIL, reader=_OFFICE,
    message="{department}：报送截止“{value}”不是可识别的日期，--before 无从比较，照常提醒",
    fix="下发模板时 --deadline 写成“2025年3月31日”或“2025-03-31”",
    meaning="`mail remind --before`: the recorded deadline is no date; reminded anyway")

MAIL_SENDING_PROBLEMS: tuple[Problem, ...] = (
    MAIL_NO_ADDRESS, MAIL_TEMPLATE_MISSING, MAIL_TOO_LARGE, MAIL_REFUSED, MAIL_PARTLY_REFUSED,
    MAIL_UNCONFIRMED, MAIL_NO_FEEDBACK, MAIL_UNDATED_DEADLINE,
)

# mail.*: mail fetched (`xltool mail fetch`): what stands between a message and its return

_SEND_THE_WORKBOOK = "请该部门直接把填好的工作簿（.xlsx）作为附件发来，或只用 .zip 压缩一层"

MAIL_NO_WORKBOOK = Problem(
    code="mail.no_workbook", severity=_W, section=_MAIL, reader=_OFFICE,
    message="{sender} 于 {date} 发来的邮件“{subject}”没有附带工作簿",
    fix="请联系发件人补发附件（正文写“见附件”却忘了附件的，时有发生）",
    meaning="`mail fetch`: a message carrying no workbook at any depth: listed with its sender, "
            "subject and date, so the clerk can call")
MAIL_UNKNOWN_SENDER = Problem(
    code="mail.unknown_sender", severity=_W, section=_MAIL, reader=_OFFICE,
    message="“{file}”由 {sender} 发来，不是{department}登记的联系邮箱（{addresses}）",
    fix="核实是否确为该部门报送：是，则照常处理（可在预算台账中补上该邮箱）；否，则不予采用",
    meaning="`mail fetch`: a return whose sender is none of its department's 联系邮箱 as "
            "recorded at issue: collected as usual, the office decides")
MAIL_NESTED_ZIP = Problem(
    code="mail.nested_zip", severity=_E, section=_MAIL, reader=_OFFICE,
    message="压缩包“{name}”中还有压缩包“{member}”，未再解开",
    fix=_SEND_THE_WORKBOOK,
    meaning="`mail fetch`: an archive inside a zip attachment: not opened")
MAIL_ARCHIVE_FORMAT = Problem(
    code="mail.archive_format", severity=_E, section=_MAIL, reader=_OFFICE,
    message="附件“{name}”是 RAR 或 7z 压缩包，无法打开",
    fix=_SEND_THE_WORKBOOK,
    meaning="`mail fetch`: a `.rar` or `.7z` attachment: asks for the workbook itself")
MAIL_BAD_ZIP = Problem(
    code="mail.bad_zip", severity=_E, section=_MAIL, reader=_OFFICE,
    message="压缩包“{name}”未能打开：{reason}",
    fix=_SEND_THE_WORKBOOK,
    meaning="`mail fetch`: a zip attachment that is damaged or over the limits a workbook is "
            "read within: nothing taken from it")

MAIL_DATE_DOUBTFUL = Problem(
    code="mail.date_doubtful", severity=_W, section=_MAIL, reader=_OFFICE,
    message="{sender} 发来的邮件“{subject}”所署日期 {date} {why}；按 {received} 计为收到时间",
    fix="核实发件电脑的时钟：该邮件所附报送表的先后次序按邮件送达邮箱的时间确定，不按所署日期",
    meaning="`mail fetch`: a message whose Date header is in the future or more than a day "
            "from its delivery to the mailbox (a sender's clock set wrong, or a backdated "
            "mail): the delivery counts as received (for an `.eml` file, with no recorded "
            "delivery, the earlier of its Date and the file's time)")
MAIL_TOO_MANY_PARTS = Problem(
    code="mail.too_many_parts", severity=_E, section=_MAIL, reader=_OFFICE,
    message="{sender} 发来的邮件“{subject}”（{date}）附件层数过多，只检查了前 {parts} 个部分",
    fix="请发件人只附填好的工作簿（.xlsx）重新发送",
    meaning="`mail fetch`: a message with more MIME parts than are examined: the later "
            "parts are not looked at")

MAIL_FETCHING_PROBLEMS: tuple[Problem, ...] = (
    MAIL_NO_WORKBOOK, MAIL_UNKNOWN_SENDER, MAIL_NESTED_ZIP, MAIL_ARCHIVE_FORMAT, MAIL_BAD_ZIP,
    MAIL_DATE_DOUBTFUL, MAIL_TOO_MANY_PARTS,
)

# ---------------------------------------------------------------------------
# The whole catalogue, and its documentation
# ---------------------------------------------------------------------------


def _by_code(problems: Iterable[Problem]) -> Mapping[str, Problem]:
    catalogue: dict[str, Problem] = {}
    for entry in problems:
        # A code declared twice would have two wordings and maybe two severities.
        assert catalogue.setdefault(entry.code, entry) is entry, f"{entry.code} declared twice"
    return MappingProxyType(catalogue)


PROBLEMS: Mapping[str, Problem] = _by_code((
    *LEDGER_PROBLEMS, *FILE_PROBLEMS, *FORM_PROBLEMS, *CELL_PROBLEMS, *RULE_PROBLEMS,
    *PREFILL_PROBLEMS, *REVIEW_PROBLEMS, *MAIL_SENDING_PROBLEMS,
    *MAIL_FETCHING_PROBLEMS,
))


def reader_of(finding: Finding) -> Reader:
    """Who acts on FINDING: its code's `reader` (a code no longer declared: the department,
    who would otherwise never hear of it)."""
    problem = PROBLEMS.get(finding.code)
    return problem.reader if problem is not None else Reader.DEPARTMENT


def markdown(section: Section | str) -> str:
    """The README's table of the entries of SECTION (`cog -r README.md` writes them there)."""
    section = Section(section)
    if section is Section.RECONCILE:
        return _table(("kind", "sheet", "meaning"),
                      [(f"`{k.code}`", k.sheet, k.meaning) for k in KINDS.values()])
    if section is Section.PUBLISH:
        return _table(("reason", "shown as", "meaning"),
                      [(f"`{r.code}`", r.label, r.meaning) for r in REASONS.values()])
    if section is Section.SKIPPED:
        return _table(("reason", "listed as", "meaning"),
                      [(f"`{s.code}`", s.label, s.meaning) for s in SKIPS.values()])
    return _table(("code", "severity", "reader", "meaning"),
                  [(f"`{p.code}`", p.severity.value, p.reader.value, p.meaning)
                   for p in PROBLEMS.values() if p.section is section])


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    rule = "|---" * len(header) + "|\n"
    return "".join(f"| {' | '.join(cells)} |\n" + (rule if n == 0 else "")
                   for n, cells in enumerate([header, *rows]))
