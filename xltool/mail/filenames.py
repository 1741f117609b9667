"""Attachment names, whatever the sending client did to them.

The standard library (`email.policy.default`) reads RFC 2231 names (continuations too),
RFC 2047 words in a quoted parameter and raw UTF-8; it gives no name for an RFC 2047 word
in an unquoted parameter, and decodes raw 8-bit GBK bytes as UTF-8 with replacement
characters, losing them. Chinese clients send both, and label GBK text `gb2312`, which
Python's codec of that name refuses for every character outside GB 2312. So: the library's
name when it is clean, otherwise the name recovered from the header's own bytes, with
every GB label read as GB18030 (a superset of GB 2312 and GBK).

Zip member names are the same story: without the UTF-8 flag a zip's names are cp437 by
the format, and a zip made on a Chinese Windows writes GBK there.

Nothing here raises on any input: a name that cannot be decoded at all comes back with
replacement characters, and a part without any name gives "".

A decoded name is the sender's choice, so the name a workbook is saved under in the inbox
(`inbox_name`) is made from it: no folder part, no character or device name Windows
refuses (`CON`, `NUL`, `COM1`…), not too long, not a name collect passes over as an
editor's scratch file, and ending in the suffix of what the bytes are — never the name's.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import quopri
import re
import struct
import zipfile
from email.message import Message
from pathlib import Path, PurePosixPath

from xltool.collect.inputs import is_scratch_file

# Labels under which Chinese clients send GBK (or GB18030) text; GB18030 decodes all of it.
_GB_LABELS = frozenset({"gb2312", "gbk", "cp936", "x-gbk", "gb_2312-80", "euc-cn", "x-euc-cn",
                        "csgb2312", "ms936", "windows-936", "gb18030", "chinese"})
_NAME_PARAMETERS = (("content-disposition", "filename"), ("content-type", "name"))
_ENCODED_WORD = re.compile(rb"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")
_BETWEEN_WORDS = re.compile(rb"\s+")
_PARAMETER = re.compile(
    rb';\s*([^\s=;"]+)\s*=\s*("(?:[^"\\]|\\.)*"?|[^;]*)', re.DOTALL)
_CONTINUATION = re.compile(r"^(?P<name>[^*]+)(?:\*(?P<index>\d+))?(?P<encoded>\*)?$")
_UNICODE_PATH_EXTRA = 0x7075  # Info-ZIP's UTF-8 name beside the legacy one
_UTF8_FLAG = 0x800
_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]+')
# A name's own suffix, replaced by the suffix of what the file is.
_NAME_SUFFIX = re.compile(r"\.[A-Za-z0-9]{1,8}$")
# Device names Windows opens instead of a file, whatever follows the first dot.
_RESERVED = frozenset({"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$", "CLOCK$",
                       *(f"{port}{n}" for port in ("COM", "LPT") for n in "0123456789¹²³")})
LONGEST_STEM = 120  # characters of a saved name: well within every file system's limit
NAMELESS = "附件"


def attachment_name(part: Message) -> str:
    """The file name of PART, decoded; "" when it has none."""
    try:
        given = part.get_filename()
    except Exception:  # a header the library's parser cannot take: recovered below
        given = None
    if given and _clean(given):
        return given.strip()
    recovered = _recovered_name(part)
    return recovered or (_readable(given) if given else "")


def _clean(name: str) -> bool:
    """A name the library decoded fully: no replacement character, no undecoded byte
    (surrogate) and no encoded word it left as it was."""
    return "\ufffd" not in name and "=?" not in name and not any(
        "\udc80" <= ch <= "\udcff" for ch in name)


def _readable(name: str) -> str:
    """NAME with any undecoded bytes (surrogates) decoded as GB18030 or UTF-8."""
    return decode_bytes(name.encode("utf-8", "surrogateescape"))


def _recovered_name(part: Message) -> str:
    """The name read from the raw bytes of Content-Disposition, else of Content-Type."""
    for header, parameter in _NAME_PARAMETERS:
        for raw in _raw_headers(part, header):
            name = _parameter(raw, parameter)
            if name:
                return name
    return ""


def _raw_headers(part: Message, wanted: str) -> list[bytes]:
    """The header's values as the message carried them: the parser keeps undecodable bytes
    as surrogates, which give those bytes back."""
    return [value.encode("utf-8", "surrogateescape") if isinstance(value, str) else b""
            for name, value in part.raw_items() if name.lower() == wanted]


def _parameter(header: bytes, wanted: str) -> str:
    """Parameter WANTED of a raw header, RFC 2231 (`wanted*`, `wanted*0*`, …) before the
    plain parameter, whose RFC 2047 words and raw bytes are decoded."""
    pieces: dict[int, tuple[bool, bytes]] = {}
    plain: bytes | None = None
    for key, value in _PARAMETER.findall(header):
        match = _CONTINUATION.match(key.decode("ascii", "replace").lower())
        if match is None or match["name"] != wanted:
            continue
        value = _unquoted(value.strip())
        if match["index"] is None and not match["encoded"]:
            plain = value if plain is None else plain
        else:
            pieces.setdefault(int(match["index"] or 0), (bool(match["encoded"]), value))
    if pieces:
        joined = _rfc2231(pieces)
        if joined:
            return joined
    return decode_words(plain).strip() if plain else ""


def _unquoted(value: bytes) -> bytes:
    if value.startswith(b'"'):
        value = value[1:-1] if value.endswith(b'"') and len(value) > 1 else value[1:]
        return re.sub(rb"\\(.)", rb"\1", value)
    return value


def _rfc2231(pieces: dict[int, tuple[bool, bytes]]) -> str:
    """The value of RFC 2231 segments: `charset'language'percent-encoded`, continued."""
    charset = ""
    collected = b""
    for index in sorted(pieces):
        encoded, value = pieces[index]
        if encoded:
            if index == min(pieces) and value.count(b"'") >= 2:
                label, _language, value = value.split(b"'", 2)
                charset = label.decode("ascii", "replace")
            collected += _percent_decoded(value)
        else:
            collected += value
    return decode_bytes(collected, charset).strip()


def _percent_decoded(value: bytes) -> bytes:
    return re.sub(rb"%([0-9A-Fa-f]{2})", lambda m: bytes([int(m[1], 16)]), value)


def decode_words(text: bytes) -> str:
    """TEXT with its RFC 2047 encoded words decoded (adjacent words of one charset joined
    before decoding: clients split a character's bytes across words) and its other bytes
    decoded as UTF-8, else GB18030."""
    out: list[str] = []
    position = 0
    pending: tuple[str, bytes] | None = None
    for match in _ENCODED_WORD.finditer(text):
        between = text[position:match.start()]
        if pending is not None and not _BETWEEN_WORDS.fullmatch(between or b" "):
            out.append(decode_bytes(pending[1], pending[0]))
            pending = None
        if pending is None and between:
            out.append(decode_bytes(between))
        charset = match[1].decode("ascii", "replace").split("*")[0]
        data = _word_bytes(match[2].upper(), match[3])
        if pending is not None and _same_charset(pending[0], charset):
            pending = (charset, pending[1] + data)
        else:
            if pending is not None:
                out.append(decode_bytes(pending[1], pending[0]))
            pending = (charset, data)
        position = match.end()
    if pending is not None:
        out.append(decode_bytes(pending[1], pending[0]))
    out.append(decode_bytes(text[position:]))
    return "".join(out)


def _word_bytes(encoding: bytes, payload: bytes) -> bytes:
    if encoding == b"B":
        try:
            return base64.b64decode(payload + b"=" * (-len(payload) % 4))
        except (binascii.Error, ValueError):
            return payload
    return quopri.decodestring(payload.replace(b"_", b" "), header=True)


def _same_charset(first: str, second: str) -> bool:
    return _codec(first) == _codec(second)


def _codec(label: str) -> str | None:
    """The Python codec for a MIME charset label: every GB label as GB18030; None for a
    label Python does not know."""
    label = label.strip().strip('"').lower()
    if label in _GB_LABELS:
        return "gb18030"
    try:
        return codecs.lookup(label).name
    except (LookupError, ValueError):
        return None


def decode_bytes(data: bytes, charset: str = "") -> str:
    """DATA as text: by CHARSET when it fits, else UTF-8, else GB18030 — the encodings
    Chinese offices' mail comes in — else with a replacement character per bad byte."""
    tried = [codec for codec in (_codec(charset) if charset else None, "utf-8", "gb18030")
             if codec]
    for codec in dict.fromkeys(tried):
        try:
            return data.decode(codec)
        except (UnicodeDecodeError, LookupError):
            continue
    return data.decode(tried[0] if tried else "utf-8", "replace")


def zip_member_name(info: zipfile.ZipInfo) -> str:
    """A zip member's name: UTF-8 when the zip says so (the flag, or Info-ZIP's Unicode
    path field), else its bytes as written — UTF-8 from a Mac, GBK from a Chinese Windows,
    cp437 by the format."""
    if info.flag_bits & _UTF8_FLAG:
        return info.filename
    unicode_path = _unicode_path(info.extra)
    if unicode_path:
        return unicode_path
    try:
        raw = info.filename.encode("cp437")
    except UnicodeEncodeError:  # not decoded as cp437 by zipfile: take it as it is
        return info.filename
    for codec in ("utf-8", "gb18030"):
        try:
            return raw.decode(codec)
        except UnicodeDecodeError:
            continue
    return info.filename


def _unicode_path(extra: bytes) -> str:
    """The UTF-8 name in Info-ZIP's Unicode Path extra field (0x7075), if any."""
    position = 0
    while position + 4 <= len(extra):
        kind, size = struct.unpack_from("<HH", extra, position)
        body = extra[position + 4:position + 4 + size]
        if kind == _UNICODE_PATH_EXTRA and len(body) > 5 and body[0] == 1:
            try:
                return body[5:].decode("utf-8")
            except UnicodeDecodeError:
                return ""
        position += 4 + size
    return ""


def inbox_name(name: str, suffix: str) -> str:
    """NAME (as a message gave it) as a file name on any system, ending in SUFFIX (what the
    file is: `.xlsx`, `.xls`…)."""
    last = PurePosixPath(name.replace("\\", "/")).name
    stem = _UNSAFE.sub("_", _NAME_SUFFIX.sub("", last)).strip(" .")[:LONGEST_STEM].rstrip(" .")
    if not stem:
        stem = NAMELESS
    if stem.split(".")[0].rstrip(" ").upper() in _RESERVED:
        stem = "_" + stem
    if is_scratch_file(Path(stem + suffix)):
        stem = "_" + stem
    return stem + suffix


def numbered_name(name: str, tag: str) -> str:
    """NAME (made by `inbox_name`) with TAG before its suffix: `报表-1a2b3c4d.xlsx`."""
    stem, dot, suffix = name.rpartition(".")
    return f"{stem}-{tag}{dot}{suffix}" if dot else f"{name}-{tag}"
