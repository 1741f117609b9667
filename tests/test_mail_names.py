"""Attachment names and message parsing: every encoding Chinese offices' clients send, and
no input that makes either crash."""

from __future__ import annotations

import base64
import hashlib
import io
import re
import tempfile
import urllib.parse
import zipfile
from email.message import EmailMessage
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.office_variants import compound_file, old_xls_of
from xltool.collect.archive import OLE_MAGIC
from xltool.collect.inputs import is_scratch_file
from xltool.mail.attachments import Attachment, contents, parse_message
from xltool.mail.filenames import (
    attachment_name,
    decode_bytes,
    decode_words,
    inbox_name,
    zip_member_name,
)

NAME = "2024年项目支出绩效目标表（财政局）.xlsx"
XLSX = b"PK\x03\x04 not really a workbook, named as one"


def _message(part_headers: str, *, raw: dict[bytes, bytes] | None = None) -> bytes:
    """A multipart message whose one attachment has PART_HEADERS (RAW: placeholders
    replaced by bytes, for names in raw 8-bit)."""
    text = ("From: 单位 <dept@example.gov.cn>\r\nTo: office@example.gov.cn\r\n"
            "Subject: =?utf-8?b?" + base64.b64encode("报送".encode()).decode() + "?=\r\n"
            "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=BOUND\r\n\r\n"
            "--BOUND\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n见附件\r\n"
            f"--BOUND\r\n{part_headers}\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            f"{base64.b64encode(XLSX).decode()}\r\n--BOUND--\r\n")
    data = text.encode()
    for placeholder, value in (raw or {}).items():
        data = data.replace(placeholder, value)
    return data


def _name_of(data: bytes) -> str:
    [part] = list(parse_message(data).iter_attachments())
    return attachment_name(part)


def _b64(text: str, codec: str) -> str:
    return base64.b64encode(text.encode(codec)).decode()


# -- one test per encoding -------------------------------------------------------------------


def test_rfc2047_in_a_quoted_parameter_gb18030_as_foxmail_and_qq_send() -> None:
    word = f"=?gb18030?B?{_b64(NAME, 'gb18030')}?="
    data = _message(f'Content-Type: application/octet-stream; name="{word}"\r\n'
                    f'Content-Disposition: attachment; filename="{word}"')
    assert _name_of(data) == NAME


def test_rfc2047_gbk_in_an_unquoted_parameter_which_the_library_drops() -> None:
    word = f"=?GBK?B?{_b64(NAME, 'gbk')}?="
    data = _message(f"Content-Type: application/octet-stream; name={word}\r\n"
                    f"Content-Disposition: attachment; filename={word}")
    [part] = list(parse_message(data).iter_attachments())
    assert part.get_filename() is None  # what the standard library gives
    assert attachment_name(part) == NAME


def test_rfc2047_labelled_gb2312_holding_gbk_characters() -> None:
    name = "镕基项目绩效表.xlsx"  # 镕 is GBK, not GB 2312: Python's gb2312 codec refuses it
    word = f"=?gb2312?B?{_b64(name, 'gbk')}?="
    data = _message(f'Content-Type: application/octet-stream; name="{word}"')
    assert _name_of(data) == name


def test_rfc2047_split_inside_a_character_across_words() -> None:
    raw = NAME.encode("gbk")
    first, second = base64.b64encode(raw[:5]).decode(), base64.b64encode(raw[5:]).decode()
    data = _message("Content-Type: application/octet-stream;\r\n"
                    f' name="=?GBK?B?{first}?=\r\n =?GBK?B?{second}?="')
    assert _name_of(data) == NAME


def test_rfc2047_quoted_printable_utf8() -> None:
    encoded = "".join(f"={b:02X}" for b in NAME.encode())
    data = _message(f'Content-Type: application/octet-stream; name="=?UTF-8?Q?{encoded}?="')
    assert _name_of(data) == NAME


def test_rfc2231_with_continuations_utf8() -> None:
    escapes = re.findall(r"%[0-9A-F]{2}|.", urllib.parse.quote(NAME.encode(), safe=""))
    pieces = ["".join(escapes[i:i + 10]) for i in range(0, len(escapes), 10)]
    parameters = "".join(f";\r\n filename*{n}*={'utf-8' + chr(39) * 2 if n == 0 else ''}{p}"
                         for n, p in enumerate(pieces))
    data = _message(f"Content-Type: application/octet-stream\r\n"
                    f"Content-Disposition: attachment{parameters}")
    assert _name_of(data) == NAME


def test_rfc2231_in_gb18030() -> None:
    quoted = urllib.parse.quote(NAME.encode("gb18030"), safe="")
    data = _message("Content-Type: application/octet-stream\r\n"
                    f"Content-Disposition: attachment; filename*=gb18030''{quoted}")
    assert _name_of(data) == NAME


def test_raw_8bit_utf8() -> None:
    data = _message('Content-Type: application/octet-stream; name="@@"\r\n'
                    'Content-Disposition: attachment; filename="@@"',
                    raw={b"@@": NAME.encode()})
    assert _name_of(data) == NAME


def test_raw_8bit_gbk_is_recovered_from_the_header_bytes() -> None:
    data = _message('Content-Type: application/octet-stream; name="@@"\r\n'
                    'Content-Disposition: attachment; filename="@@"',
                    raw={b"@@": NAME.encode("gbk")})
    [part] = list(parse_message(data).iter_attachments())
    assert part.get_filename() != NAME  # the library loses it
    assert attachment_name(part) == NAME


def test_a_part_without_a_name_has_none() -> None:
    data = _message("Content-Type: application/octet-stream")
    assert _name_of(data) == ""


def _zip_info(name: bytes, flags: int = 0, extra: bytes = b"") -> zipfile.ZipInfo:
    """A member as zipfile reads it from a zip whose directory holds NAME's bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("PLACEHOLDER.xlsx", b"x")
    data = buffer.getvalue()
    data = data.replace(b"PLACEHOLDER.xlsx", name.ljust(16, b"_")[:16]) if len(name) <= 16 \
        else data
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        [info] = archive.infolist()
    info.flag_bits |= flags
    info.extra = extra
    return info


def test_zip_member_names_gbk_without_the_utf8_flag_as_chinese_windows_writes() -> None:
    raw = "绩效目标表.xlsx".encode("gbk")  # 15 bytes: fits the placeholder
    info = _zip_info(raw)
    assert zip_member_name(info).startswith("绩效目标表.xlsx")


def test_zip_member_names_utf8_without_the_flag_as_a_mac_writes() -> None:
    raw = "绩效表.xlsx".encode()  # 14 bytes
    assert zip_member_name(_zip_info(raw)).startswith("绩效表.xlsx")


def test_zip_member_names_with_the_utf8_flag_and_plain_cp437() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("返回表.xlsx", b"x")  # zipfile sets the flag for a non-ASCII name
        archive.writestr("plain.xlsx", b"y")
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as archive:
        assert [zip_member_name(i) for i in archive.infolist()] == ["返回表.xlsx", "plain.xlsx"]


def test_zip_member_names_from_the_info_zip_unicode_path_field() -> None:
    utf8 = "报送表.xlsx".encode()
    extra = (0x7075).to_bytes(2, "little") + (5 + len(utf8)).to_bytes(2, "little") + \
        b"\x01" + b"\x00" * 4 + utf8
    assert zip_member_name(_zip_info(b"______.xlsx", extra=extra)) == "报送表.xlsx"


# -- never a crash ---------------------------------------------------------------------------

CHARSETS = st.sampled_from(["utf-8", "gbk", "gb2312", "GB18030", "big5", "x-unknown", "",
                            "utf-8*zh", "latin-1"])


@given(st.binary(max_size=200), CHARSETS)
def test_decoding_any_bytes_gives_text(data: bytes, charset: str) -> None:
    assert isinstance(decode_bytes(data, charset), str)
    assert isinstance(decode_words(data), str)


@given(st.text(max_size=40), st.sampled_from(["utf-8", "gbk", "gb18030"]),
       st.sampled_from(["B", "Q"]))
def test_any_name_encoded_as_a_word_decodes_back(name: str, charset: str, encoding: str) -> None:
    try:
        raw = name.encode(charset)
    except UnicodeEncodeError:
        return
    payload = (base64.b64encode(raw).decode() if encoding == "B"
               else "".join(f"={b:02X}" for b in raw))
    assert decode_words(f"=?{charset}?{encoding}?{payload}?=".encode()) == name


PARAMETER_VALUES = st.one_of(
    st.binary(max_size=60).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b"")),
    st.text(max_size=30).map(lambda t: f"=?gbk?B?{base64.b64encode(t.encode('gb18030')).decode()}?="
                             .encode()),
    st.just(b'"unterminated'), st.just(b"=?utf-8?B?!!!?="), st.just(b"utf-8''%ZZ%"),
)


@given(st.lists(st.tuples(st.sampled_from([b"name", b"filename", b"filename*", b"filename*0*",
                                           b"filename*1", b"name*0", b"x"]),
                          PARAMETER_VALUES), max_size=5))
@settings(max_examples=200)
def test_any_parameters_give_a_name_or_nothing(parameters: list[tuple[bytes, bytes]]) -> None:
    header = b"; ".join([b"attachment", *(k + b"=" + v for k, v in parameters)])
    data = _message("Content-Type: application/octet-stream; name=@@\r\n"
                    "Content-Disposition: @@@", raw={b"@@@": header, b"@@": b"x"})
    for part in parse_message(data).walk():
        assert isinstance(attachment_name(part), str)


ONE_LINE = st.text(max_size=20).filter(lambda t: t == "".join(t.splitlines()))
"""What a client can put in a header: any text, but no line break of any kind."""


def _mime(draw: st.DrawFn, depth: int) -> EmailMessage:
    message = EmailMessage()
    kind = draw(st.sampled_from(["text", "file", "zip", "forward", "multi"] if depth < 3
                                else ["text", "file"]))
    if kind == "text":
        message.set_content(draw(st.text(max_size=30)))
    elif kind == "file":
        message.set_content(draw(st.binary(max_size=60)), maintype="application",
                            subtype="octet-stream",
                            filename=draw(ONE_LINE) or None)
    elif kind == "zip":
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for n in range(draw(st.integers(0, 3))):
                archive.writestr(f"{n}{draw(st.sampled_from(['.xlsx', '.zip', '.pdf']))}",
                                 draw(st.binary(max_size=40)))
        data = buffer.getvalue()
        cut = draw(st.integers(0, len(data)))  # a zip cut short is a damaged attachment
        message.set_content(data[:cut] if draw(st.booleans()) else data, maintype="application",
                            subtype="zip", filename="附件.zip")
    elif kind == "forward":
        message.set_content(_mime(draw, depth + 1))
    else:
        message.make_mixed()
        message.set_boundary(f"=={depth}-{draw(st.integers(0, 99))}==")  # else random's
        for _ in range(draw(st.integers(0, 3))):
            message.attach(_mime(draw, depth + 1))
    return message


@st.composite
def messages(draw: st.DrawFn) -> bytes:
    data = bytes(_mime(draw, 0))
    if draw(st.booleans()):  # and then the transport damages it
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.binary(max_size=20)) + data[at + draw(st.integers(0, 20)):]
    return data


@given(messages())
@settings(max_examples=200, deadline=None)
def test_any_message_structure_parses_without_a_crash(data: bytes) -> None:
    found = contents(parse_message(data))
    assert all(isinstance(w.data, bytes) and isinstance(w.name, str) for w in found.workbooks)
    assert all(f.code.startswith("mail.") for f in found.findings)


# -- what a message carries ----------------------------------------------------------------


def _zipped(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _with_attachment(data: bytes, name: str, subtype: str = "octet-stream") -> EmailMessage:
    message = EmailMessage()
    message["From"] = "dept@example.gov.cn"
    message.set_content("见附件")
    message.add_attachment(data, maintype="application", subtype=subtype, filename=name)
    return message


def test_a_workbook_in_a_zip_in_a_forward_is_found() -> None:
    inner = _with_attachment(_zipped({"绩效表.xlsx": XLSX, "盖章页.pdf": b"%PDF-1.4"}), "报送.zip",
                             "zip")
    outer = EmailMessage()
    outer.set_content("转发")
    outer.add_attachment(inner)
    found = contents(parse_message(bytes(outer)))
    assert [(w.name, w.data, w.within) for w in found.workbooks] == [
        ("绩效表.xlsx", XLSX, "转发邮件／报送.zip")]
    assert found.findings == []


def test_a_zip_inside_a_zip_and_a_rar_are_findings_not_workbooks() -> None:
    nested = _zipped({"inner.zip": _zipped({"绩效表.xlsx": XLSX})})
    message = _with_attachment(nested, "外层.zip", "zip")
    message.add_attachment(b"Rar!\x1a\x07\x00rest", maintype="application",
                           subtype="octet-stream", filename="报送.rar")
    found = contents(parse_message(bytes(message)))
    assert found.workbooks == []
    assert [f.code for f in found.findings] == ["mail.nested_zip", "mail.archive_format"]


def test_a_zip_over_the_limits_is_refused_by_the_zip_guard() -> None:
    from xltool.limits import Limits

    bomb = _zipped({"绩效表.xlsx": b"\x00" * 1_000_000})
    found = contents(parse_message(bytes(_with_attachment(bomb, "b.zip", "zip"))),
                     Limits(max_ratio=50))
    assert found.workbooks == [] and [f.code for f in found.findings] == ["mail.bad_zip"]


def test_a_word_file_is_not_opened_as_an_archive() -> None:
    docx = _zipped({"word/document.xml": b"<w/>", "[Content_Types].xml": b"<T/>"})
    found = contents(parse_message(bytes(_with_attachment(docx, "说明.docx"))))
    assert found.workbooks == [] and found.findings == []


# -- OLE files: a workbook only with a workbook inside ---------------------------------------


def _ole_attachments(*named: tuple[bytes, str]) -> list[tuple[str, str]]:
    message = EmailMessage()
    message["From"] = "dept@example.gov.cn"
    message.set_content("见附件")
    for data, name in named:
        message.add_attachment(data, maintype="application", subtype="octet-stream",
                               filename=name)
    return [(w.name, w.suffix) for w in contents(parse_message(bytes(message))).workbooks]


def test_a_word_97_document_or_an_installer_beside_the_return_is_not_a_workbook() -> None:
    doc = compound_file({"WordDocument": b"\xec\xa5" + b"\x00" * 100, "1Table": b"\x00"})
    msi = compound_file({"\u4840\u3f3f\u4577\u446c\u3e6a": b"\x00" * 10})  # an MSI's tables
    assert _ole_attachments((doc, "情况说明.doc"), (msi, "报表.msi"), (doc, "伪装.xls")) == []


def test_an_old_xls_and_an_encrypted_xlsx_are_workbooks_saved_as_what_they_are() -> None:
    xls = old_xls_of({})
    encrypted = compound_file({"EncryptionInfo": b"\x04\x00\x04\x00", "EncryptedPackage": b"x"})
    biff5 = compound_file({"Book": b"\x09\x08"})
    assert _ole_attachments((xls, "旧版.msi"), (encrypted, "加密.xlsx"), (biff5, "biff5")) == [
        ("旧版.msi", ".xls"), ("加密.xlsx", ".xlsx"), ("biff5", ".xls")]


def test_a_damaged_compound_file_is_taken_by_a_spreadsheet_name_only() -> None:
    broken = OLE_MAGIC + b"\x00" * 600
    assert _ole_attachments((broken, "情况说明.doc"), (broken, "报表.xls")) == [
        ("报表.xls", ".xls")]


# -- inbox names -------------------------------------------------------------------------------

_WINDOWS_REFUSES = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]')
_DEVICES = re.compile(r"(CON|PRN|AUX|NUL|CONIN\$|CONOUT\$|CLOCK\$|(COM|LPT)[0-9¹²³])",
                      re.IGNORECASE)
SUFFIXES = st.sampled_from([".xlsx", ".xlsm", ".xls", ".xlsb", ".ods", ".et"])
NAMES = st.one_of(
    st.text(max_size=300),
    st.builds("".join, st.lists(st.sampled_from(
        ["CON", "nul", "Com1", "LPT9", " ", ".", "..", "/", "\\", ".xlsx", ".msi", "~$", "報",
         ":", "\x00", "a"]), max_size=8)))


@given(NAMES, SUFFIXES)
@settings(max_examples=500)
def test_any_name_becomes_a_safe_name_with_the_suffix_of_the_bytes(name: str, suffix: str) -> None:
    saved = inbox_name(name, suffix)
    stem = saved[:-len(suffix)]
    assert saved.endswith(suffix) and stem and stem == stem.strip(" .")
    assert not _WINDOWS_REFUSES.search(saved)
    assert not _DEVICES.fullmatch(stem.split(".")[0].rstrip(" "))
    assert not is_scratch_file(Path(saved))
    assert len(stem) <= 121


@given(st.lists(st.tuples(st.sampled_from(["报表.xlsx", "CON", " ../ .xlsx", "报表-1.xlsx"]),
                          st.binary(min_size=1, max_size=4)), max_size=12))
@settings(max_examples=100, deadline=None)
def test_saving_never_overwrites_another_file(workbooks: list[tuple[str, bytes]]) -> None:
    from xltool.mail.fetch import _saved

    with tempfile.TemporaryDirectory() as folder:
        inbox = Path(folder)
        kept: dict[Path, bytes] = {}
        for name, data in workbooks:
            sha256 = hashlib.sha256(data).hexdigest()
            path = _saved(inbox, Attachment(name, data, suffix=".xlsx"), sha256)
            assert path.parent == inbox and path.suffix == ".xlsx"
            assert kept.setdefault(path, data) == data  # a path holds one content, ever
            for earlier, content in kept.items():
                assert earlier.read_bytes() == content
