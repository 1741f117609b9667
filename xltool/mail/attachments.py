"""Every workbook a message carries, at any depth, and what stands in the way of the rest.

A message is parsed with `email.policy.default` (never the legacy `compat32`), and its
parts are searched whatever the client did: plain attachments, inline parts with a file
name, forwarded messages (`message/rfc822`, or an attached `.eml`), and `.zip` archives —
departments zip the workbook with a stamped PDF. A zip is opened by the collect stage's zip
guard (`xltool.collect.archive`), within the limits a workbook is read within; a zip inside
it is refused, and a `.rar` or `.7z`, which no standard library opens, asks for the
workbook itself. Those are findings for the office (`mail.*`), never a failure.

A part is taken as a workbook by its bytes (what `collect` would read as a spreadsheet,
an old `.xls` and an `.ods` too: collect tells the department to save it again) or by a
spreadsheet's name (a damaged one is then reported by collect). The name is a hint only;
each file is identified by its bytes. An OLE compound file is a workbook only when its
directory holds a workbook stream (`Workbook`, `Book`) or an encrypted package (an
encrypted .xlsx, which collect reports as encrypted): a Word 97 `.doc` or an `.msi` is OLE
too. Each workbook carries the suffix its bytes call for (`Attachment.suffix`), whatever
its name says.
"""

from __future__ import annotations

import email
import email.policy
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage, Message
from pathlib import PurePath

from xltool.codes import MAIL_ARCHIVE_FORMAT, MAIL_BAD_ZIP, MAIL_NESTED_ZIP
from xltool.collect.archive import FileKind, checked_parts, read_part, sniff_entries
from xltool.collect.foreign import ole_stream_names
from xltool.collect.inputs import SPREADSHEET_SUFFIXES
from xltool.errors import ReturnRefused
from xltool.findings import Finding
from xltool.limits import DEFAULT_LIMITS, Limits
from xltool.mail.filenames import attachment_name, zip_member_name

WORKBOOK_KINDS = frozenset({FileKind.XLSX, FileKind.XLSM, FileKind.XLS, FileKind.XLSB,
                            FileKind.ODS, FileKind.ENCRYPTED})
_ZIP_TYPES = frozenset({"application/zip", "application/x-zip-compressed",
                        "application/x-zip"})
_OTHER_ARCHIVES = {b"Rar!\x1a\x07": ".rar", b"7z\xbc\xaf\x27\x1c": ".7z"}
_OTHER_ARCHIVE_SUFFIXES = frozenset({".rar", ".7z"})
_MAX_DEPTH = 8  # forwards of forwards: deeper than any client nests, shallow enough for any
_MAX_PARTS = 2_000  # parts of one message examined, however many it claims
# What an OLE file must hold at its top to be a workbook: BIFF8, BIFF5, an encrypted OOXML.
_WORKBOOK_STREAMS = frozenset({"Workbook", "Book", "EncryptedPackage"})
_SUFFIX_OF_KIND = {FileKind.XLSX: ".xlsx", FileKind.XLSM: ".xlsm", FileKind.XLSB: ".xlsb",
                   FileKind.XLS: ".xls", FileKind.ODS: ".ods", FileKind.ENCRYPTED: ".xlsx"}


@dataclass(frozen=True)
class Attachment:
    """A workbook found in a message: its decoded name, its bytes, and where it lay
    (`转发邮件` for a forward, the zip's name for a zipped one)."""

    name: str
    data: bytes
    within: str = ""
    suffix: str = ".xlsx"
    """The suffix of what the bytes are (of the name, for a damaged spreadsheet)."""


@dataclass
class Contents:
    """What a message carries: the workbooks, and findings about what could not be taken.
    PARTS_LEFT: the message had more parts than are examined (`_MAX_PARTS`)."""

    workbooks: list[Attachment] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    parts_left: bool = False
    parts_examined: int = _MAX_PARTS


def parse_message(data: bytes) -> EmailMessage:
    """The message in DATA, by the modern policy. The parser takes any bytes: what it
    cannot read it notes as defects and goes on."""
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def contents(message: Message, limits: Limits = DEFAULT_LIMITS) -> Contents:
    """Every workbook in MESSAGE, at any depth, and findings for what stands in the way."""
    found = Contents()
    for part, within in _leaves(message, "", 0, found):
        try:
            _take(part, within, found, limits)
        except Exception:  # a part no decoder takes is one part, not the message
            continue
    return found


def _leaves(message: Message, within: str, depth: int, found: Contents
            ) -> Iterator[tuple[Message, str]]:
    """The leaf parts, forwarded messages opened (to _MAX_DEPTH), at most _MAX_PARTS (FOUND
    is told when parts are left)."""
    count = 0
    stack: list[tuple[Message, str, int]] = [(message, within, depth)]
    while stack and count < _MAX_PARTS:
        part, where, level = stack.pop()
        count += 1
        if level > _MAX_DEPTH:
            continue
        payload = part.get_payload()
        if part.is_multipart() and isinstance(payload, list):
            # a message/rfc822 part is "multipart" to the library, its one payload the forward
            inner = where or ("转发邮件" if part.get_content_type() == "message/rfc822" else "")
            stack.extend((sub, inner, level + 1) for sub in reversed(payload)
                         if isinstance(sub, Message))
        else:
            forwarded = _attached_message(part)
            if forwarded is not None:
                stack.append((forwarded, "转发邮件", level + 1))
            else:
                yield part, where
    found.parts_left = bool(stack)


def _attached_message(part: Message) -> Message | None:
    """An `.eml` attached as a file (some clients forward so), parsed."""
    if not attachment_name(part).lower().endswith(".eml"):
        return None
    data = part.get_payload(decode=True)
    return parse_message(data) if isinstance(data, bytes) and data else None


def _take(part: Message, within: str, found: Contents, limits: Limits) -> None:
    name = attachment_name(part)
    if not name and part.get_content_maintype() in ("text", "multipart"):
        return  # the message's own text
    data = part.get_payload(decode=True)
    if not isinstance(data, bytes) or not data:
        return
    suffix = PurePath(name).suffix.lower() if name else ""
    kind, _entries = sniff_entries(data)
    workbook = _workbook_suffix(data, kind, suffix)
    if workbook:
        found.workbooks.append(Attachment(name, data, within, workbook))
    elif _other_archive(data, suffix):
        found.findings.append(MAIL_ARCHIVE_FORMAT.finding({"name": name or "附件"},
                                                          file=name))
    elif kind in (FileKind.ZIP, FileKind.BROKEN_ZIP) and _is_zip(part, suffix):
        _open_zip(name or "附件.zip", data, within, found, limits)


def _workbook_suffix(data: bytes, kind: FileKind, suffix: str) -> str:
    """The suffix a workbook in DATA (of KIND) is saved under, "" when DATA is no workbook:
    its kind's; else a spreadsheet SUFFIX its name gives (a damaged workbook, which collect
    reports)."""
    if kind in (FileKind.XLS, FileKind.ENCRYPTED):
        streams = _ole_streams(data)
        if streams is not None:  # a compound file that holds together says what it is
            return _SUFFIX_OF_KIND[kind] if streams & _WORKBOOK_STREAMS else ""
    elif kind in WORKBOOK_KINDS:
        return _SUFFIX_OF_KIND[kind]
    return suffix if suffix in SPREADSHEET_SUFFIXES else ""


def _ole_streams(data: bytes) -> set[str] | None:
    """The top entries of an OLE file; None when its directory cannot be read."""
    try:
        return ole_stream_names(data)
    except Exception:  # any damage: the file's name decides, and collect reports it
        return None


def _other_archive(data: bytes, suffix: str) -> bool:
    return suffix in _OTHER_ARCHIVE_SUFFIXES or any(data.startswith(m) for m in _OTHER_ARCHIVES)


def _is_zip(part: Message, suffix: str) -> bool:
    """A zip sent as an archive, not a Word or PowerPoint file (which are zips as well)."""
    return suffix == ".zip" or (not suffix and part.get_content_type() in _ZIP_TYPES)


def _open_zip(name: str, data: bytes, within: str, found: Contents, limits: Limits) -> None:
    """The workbooks in zip NAME, through the zip guard: every entry checked before any is
    inflated, each inflated within the limits. A zip in the zip is refused."""
    where = f"{within}／{name}" if within else name
    try:
        if len(data) > limits.max_file_bytes:
            raise ReturnRefused(MAIL_BAD_ZIP, {"name": name, "reason": "压缩包超过大小上限"})
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
        for info in checked_parts(infos, limits).values():
            if info.is_dir():
                continue
            member = zip_member_name(info)
            suffix = PurePath(member).suffix.lower()
            content = read_part(data, info, limits)
            kind, _entries = sniff_entries(content)
            workbook = _workbook_suffix(content, kind, suffix)
            if workbook:
                found.workbooks.append(Attachment(PurePath(member).name, content, where,
                                                  workbook))
            elif (kind in (FileKind.ZIP, FileKind.BROKEN_ZIP) and suffix == ".zip") or \
                    _other_archive(content, suffix):
                found.findings.append(MAIL_NESTED_ZIP.finding(
                    {"name": name, "member": member}, file=name))
    except ReturnRefused as refused:
        found.findings.append(MAIL_BAD_ZIP.finding({"name": name, "reason": refused.message},
                                                   file=name))
    except Exception:  # any damage the zip module meets: a broken archive
        found.findings.append(MAIL_BAD_ZIP.finding(
            {"name": name, "reason": "压缩包已损坏，无法打开"}, file=name))
