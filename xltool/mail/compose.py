"""One outgoing message, as Chinese offices' mail clients read it.

Built on `email.message.EmailMessage` with `email.policy.default`: a UTF-8 subject and
body, a Message-ID of the office's own domain (from its From address), a Date, and for a
reply In-Reply-To and References. The attachment's name is written twice: as RFC 2231
`filename*` on Content-Disposition (what the standard library writes) and as an RFC 2047
`name="=?utf-8?B?…?="` on Content-Type, which the standard library never writes (it turns
a `name` it is given into RFC 2231 too) but Outlook needs: it shows an RFC 2231-only name
as "untitled attachment". That header is therefore written by hand, folded into lines short
enough that the policy keeps it as written.

Texts come from a template the office can replace: `{placeholder}` is filled where a fact
of that name is known and left as typed otherwise, so a stray brace in an office's own text
never stops a run.
"""

from __future__ import annotations

import base64
import hashlib
import mimetypes
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, localtime, make_msgid, parseaddr
from pathlib import Path

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# What SMTP carries: CRLF line ends; a header written by hand (the attachment's
# Content-Type) kept as written, the others folded by the policy.
WIRE = policy.default.clone(linesep="\r\n", refold_source="none")
# UTF-8 bytes per encoded-word: whole characters, and a line of ` =?utf-8?B?…?="` within 78
_WORD_BYTES = 42


@dataclass(frozen=True)
class Attachment:
    name: str
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True)
class Reply:
    """The message a reply answers: its Message-ID and its own References."""

    message_id: str
    references: tuple[str, ...] = ()


_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def fill(text: str, facts: Mapping[str, object]) -> str:
    """TEXT with each `{name}` whose fact is known replaced by it; any other brace as typed."""
    return _PLACEHOLDER.sub(
        lambda m: str(facts[m.group(1)]) if m.group(1) in facts else m.group(0), text)


def office_text(path: Path) -> str:
    """An office's own subject or body text: UTF-8 (with or without the mark Notepad writes),
    or else GB18030, what Notepad on a Chinese Windows saves as "ANSI"."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("gb18030", "replace")


def domain_of(sender: str) -> str:
    """The domain of a From address (`预算科 <ys@czj.example.gov.cn>` → czj.example.gov.cn)."""
    return parseaddr(sender)[1].rpartition("@")[2] or "localhost"


def new_message_id(sender: str) -> str:
    return make_msgid(domain=domain_of(sender))


def compose(*, sender: str, recipients: Sequence[str], subject: str, body: str,
            message_id: str, attachment: Attachment | None = None,
            reply: Reply | None = None) -> EmailMessage:
    """The message, ready to send: headers, a UTF-8 text body, the attachment if any."""
    message = EmailMessage(policy=policy.default)
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Subject"] = subject
    message["Date"] = format_datetime(localtime())
    message["Message-ID"] = message_id
    if reply is not None:
        message["In-Reply-To"] = reply.message_id
        message["References"] = " ".join([*reply.references, reply.message_id])
    message.set_content(body, charset="utf-8", cte="base64")  # 7-bit clean: no 8BITMIME needed
    if attachment is not None:
        _attach(message, attachment)
    return message


def wire_bytes(message: EmailMessage) -> bytes:
    """MESSAGE as SMTP carries it and an .eml file keeps it."""
    return message.as_bytes(policy=WIRE)


def _attach(message: EmailMessage, attachment: Attachment) -> None:
    content_type = _content_type(attachment.name)
    maintype, subtype = content_type.split("/")
    message.add_attachment(attachment.data, maintype=maintype, subtype=subtype,
                           filename=attachment.name)
    part = list(message.iter_attachments())[-1]
    del part["Content-Type"]
    part.set_raw("Content-Type", f"{content_type};\r\n name=\"{_encoded_words(attachment.name)}\"")


def _content_type(name: str) -> str:
    if name.lower().endswith(".xlsx"):
        return XLSX_TYPE
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def _encoded_words(text: str) -> str:
    """TEXT as RFC 2047 base64 encoded-words of whole characters, one per folded line."""
    if text.isascii():
        return text.replace("\\", "\\\\").replace('"', '\\"')
    words, chunk = [], b""
    for character in text:
        encoded = character.encode()
        if len(chunk) + len(encoded) > _WORD_BYTES:
            words.append(chunk)
            chunk = b""
        chunk += encoded
    words.append(chunk)
    return "\r\n ".join(f"=?utf-8?B?{base64.b64encode(w).decode()}?=" for w in words)
