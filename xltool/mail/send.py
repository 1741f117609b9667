"""Where outgoing messages go: an SMTP server, or an outbox folder of .eml drafts.

The server is named by a URL with the user in it: `smtps://user@host:465` (TLS from the
first byte), `smtp://user@host:587` (STARTTLS, required: a server that does not offer it is
refused rather than sent a password in the clear), or `smtp+plain://host:25` for a relay
inside the office's network that offers no TLS (no password is sent over it). Certificates
are verified, against the system's authorities or an office's own CA file.

Per message the transport says what became of it — sent, with the server's response;
drafted, with the file; failed, with the reason — and goes on: a refused address or a
message over the server's SIZE limit stops that message, not the run. A connection lost
before DATA is a plain failure; one lost during or after DATA is `unconfirmed`: the server
may have taken the message, so the next run sends it again under the same Message-ID. An
address with Chinese (non-ASCII) characters goes by SMTPUTF8 where the server offers it and
is refused for that message, with the reason, where it does not. Only what stops every
message (no connection, a refused login) is an error, naming the server; the password is
never shown in one.
"""

from __future__ import annotations

import contextlib
import os
import re
import smtplib
import socket
import ssl
from dataclasses import dataclass, field
from email.utils import parseaddr
from pathlib import Path
from types import TracebackType
from typing import Literal, Protocol
from urllib.parse import SplitResult, unquote, urlsplit

from xltool.atomic import written_whole
from xltool.errors import XltoolError
from xltool.store.mailsent import Outcome

PASSWORD_VARIABLE = "XLTOOL_MAIL_PASSWORD"
TIMEOUT = 60.0  # seconds a server may take to answer one command

Security = Literal["ssl", "starttls", "plain"]
_SCHEMES: dict[str, tuple[Security, int]] = {
    "smtps": ("ssl", 465), "smtp": ("starttls", 587), "smtp+plain": ("plain", 25)}


DRY_RUN_OUTBOX = Path("邮件草稿")
"""Where `--dry-run` writes the messages it would send."""


class MailError(XltoolError):
    """Mail cannot be sent at all: the server named cannot be reached or refuses the login."""


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    user: str
    security: Security

    @property
    def shown(self) -> str:
        return f"{self.host}:{self.port}"


def smtp_server(url: str) -> SmtpServer:
    """The server a `--smtp` URL names; MailError for what is not one."""
    parts = url_parts(url)
    if typed_without_host(url) or (parts is not None and parts.netloc.endswith(":")):
        raise MailError(HOST_MISSING.format(shown=without_password(url)))
    if parts is None or parts.scheme not in _SCHEMES or not parts.hostname:
        raise MailError(f"“{without_password(url)}”不是发信服务器地址：应形如 smtps://用户名@smtp.example.com:465"
                        "（SSL）或 smtp://用户名@smtp.example.com:587（STARTTLS）")
    if parts.password is not None:
        raise MailError("密码不能写在服务器地址里：请放在环境变量 "
                        f"{PASSWORD_VARIABLE} 中，或运行时按提示输入")
    try:
        port = parts.port
    except ValueError:
        raise MailError(f"“{without_password(url)}”的端口不是数字") from None
    security, default_port = _SCHEMES[parts.scheme]
    user = unquote(parts.username or "")
    if user and security == "plain":
        raise MailError(f"{parts.hostname}: smtp+plain:// 不加密，不能在其上发送密码；"
                        "请用 smtps:// 或 smtp://（STARTTLS）")
    return SmtpServer(parts.hostname, port or default_port, user, security)


def url_parts(url: str) -> SplitResult | None:
    """URL split, or None where it cannot be (an unclosed `[`, a full-width `＠`): the
    library's error would quote the password in it."""
    try:
        return urlsplit(url)
    except ValueError:
        return None


HOST_MISSING = ("“{shown}”里没有“@服务器”：冒号后面是不是写了密码？密码不能写在地址里，"
                 "请放在环境变量 XLTOOL_MAIL_PASSWORD 中或运行时按提示输入；地址应形如 "
                 "用户名@服务器:端口")


def without_password(url: str) -> str:
    """URL (or what was meant as one) as it may be shown: a password typed into it replaced
    by `***`. A password may hold `/`, `@`, `#`, `?`, so everything from `//user:` to the
    last `@` goes; without an `@`, everything after `//user:` goes unless it is a port
    (`smtps://clerk:S3cret` is a password typed without its host)."""
    scheme = _SCHEME.search(url)  # `scheme:/` too: a path made of the URL lost a slash
    if scheme is None:
        return url
    colon = url.find(":", scheme.end())
    if colon < 0 or any(c in url[scheme.end():colon] for c in "/@?#"):
        return url  # no `user:` right after `//`: nothing that could be a password
    at = url.rfind("@")
    if at > colon and _HOST.match(url[at + 1:]):
        return f"{url[:colon]}:***{url[at:]}"
    if at > colon:  # what follows the last `@` is no host: it is the password's too
        return f"{url[:colon]}:***"
    if _PORT.fullmatch(url[colon + 1:]) and not typed_without_host(url):
        return url
    return f"{url[:colon]}:***"


def typed_without_host(url: str) -> bool:
    """Whether URL reads `scheme://name:digits` with no `@`, digits that are no port (above
    65535) and a NAME that is no host name (no dot, not localhost): most likely
    `user:password` typed without `@host`. A dotless name with a port is an intranet host
    (`smtp+plain://mailrelay:25`) and is taken as one."""
    found = _NAME_DIGITS.fullmatch(url.strip())
    return (found is not None and "." not in found[1] and found[1].lower() != "localhost"
            and int(found[2]) > 65535)


_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:/+")
_HOST = re.compile(r"(?:[A-Za-z0-9.-]*|\[[0-9A-Fa-f:.]+\])(?::\d*)?(?:[/?#]|$)")
_PORT = re.compile(r"\d+/?")
_NAME_DIGITS = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://([^/:@?#\s\[]+):(\d+)/?")


@dataclass(frozen=True)
class Handed:
    """What became of one message: its outcome, what the server (or the outbox) said, and,
    for a refusal, which recipients it refused."""

    outcome: Outcome
    response: str
    refused: tuple[str, ...] = ()
    too_large: bool = False


class Transport(Protocol):
    """Opened (`with`) for the messages of a run, each handed to it in turn."""

    def __enter__(self) -> Transport: ...

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None: ...

    def hand(self, sender: str, recipients: list[str], data: bytes, name: str) -> Handed: ...

    @property
    def drafts(self) -> bool:
        """Whether messages are written as drafts (an outbox), not sent: drafts need no
        pace, and a message sent before is sent, not drafted."""
        ...


@dataclass
class Outbox:
    """Messages written as .eml files into FOLDER, each whole or not at all."""

    folder: Path
    drafts: bool = True

    def hand(self, sender: str, recipients: list[str], data: bytes, name: str) -> Handed:
        path = self.folder / f"{name}.eml"
        written_whole(path, lambda draft: draft.write_bytes(data))
        return Handed(Outcome.DRAFTED, str(path))

    def __enter__(self) -> Outbox:
        self.folder.mkdir(parents=True, exist_ok=True)
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        return None


@dataclass
class Smtp:
    """One connection to SERVER for a run, opened on the first message and again after the
    server drops it."""

    server: SmtpServer
    password: str | None = field(default=None, repr=False)
    cafile: Path | None = None
    drafts: bool = False
    _connection: smtplib.SMTP | None = field(default=None, init=False, repr=False)

    def __enter__(self) -> Smtp:
        self._connection = self._connect()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self._connection is not None:
            try:
                self._connection.quit()
            except (smtplib.SMTPException, OSError):
                self._connection.close()
            self._connection = None

    def hand(self, sender: str, recipients: list[str], data: bytes, name: str) -> Handed:
        if self._connection is None:
            self._connection = self._connect()
        connection = self._connection
        try:
            envelope = _envelope(connection, sender, recipients, data)
        except (OSError, UnicodeEncodeError) as error:  # smtplib's errors are OSErrors
            return self._dropped(error, Outcome.FAILED)
        if isinstance(envelope, Handed):
            return envelope
        try:
            return _data(connection, data, envelope)
        except OSError as error:  # the server may have taken the message before it went
            return self._dropped(error, Outcome.UNCONFIRMED)

    def _dropped(self, error: BaseException, outcome: Outcome) -> Handed:
        """The connection is of no further use: closed, to be opened again for the next."""
        if self._connection is not None:
            self._connection.close()
        self._connection = None
        said = f"与服务器 {self.server.shown} 的连接中断：{_said(error)}"
        if outcome is Outcome.UNCONFIRMED:
            said += "（发生在发送邮件内容时，服务器可能已收下）"
        return Handed(outcome, said)

    def _connect(self) -> smtplib.SMTP:
        server, shown = self.server, self.server.shown
        context = ssl.create_default_context(cafile=str(self.cafile) if self.cafile else None)
        try:
            if server.security == "ssl":
                connection: smtplib.SMTP = smtplib.SMTP_SSL(server.host, server.port,
                                                            timeout=TIMEOUT, context=context)
            else:
                connection = smtplib.SMTP(server.host, server.port, timeout=TIMEOUT)
        except (smtplib.SMTPException, OSError) as error:
            raise _refusal(shown, error) from error
        try:
            self._greet(connection, context)
        except (smtplib.SMTPException, OSError, UnicodeEncodeError, MailError) as error:
            connection.close()
            raise error if isinstance(error, MailError) else _refusal(shown, error) from error
        return connection

    def _greet(self, connection: smtplib.SMTP, context: ssl.SSLContext) -> None:
        """EHLO, STARTTLS where the URL asks for it, and the login."""
        server = self.server
        connection.ehlo()
        if server.security == "starttls":
            if not connection.has_extn("starttls"):
                raise MailError(f"发信服务器 {server.shown} 不支持 STARTTLS 加密；"
                                "请改用 smtps://（端口 465），不会以明文发送密码")
            connection.starttls(context=context)
            connection.ehlo()
        if server.user:
            connection.login(server.user, self._password())

    def _password(self) -> str:
        password = self.password if self.password is not None else os.environ.get(
            PASSWORD_VARIABLE)
        if password is None:
            raise MailError(f"发信服务器 {self.server.shown} 需要密码：请设置环境变量 "
                            f"{PASSWORD_VARIABLE}，或在终端中运行以便输入")
        return password


def transport(smtp: str | None, outbox: Path | None, *, cafile: Path | None = None,
              password: str | None = None) -> Smtp | Outbox:
    """Where a run's messages go: OUTBOX when given, else the server SMTP names."""
    if outbox is not None:
        return Outbox(outbox)
    if smtp is None:
        raise MailError("请用 --smtp 指定发信服务器（如 smtps://用户名@smtp.example.com:465），"
                        "或用 --outbox 把邮件写成草稿")
    return Smtp(smtp_server(smtp), password, cafile)


def _envelope(connection: smtplib.SMTP, sender: str, recipients: list[str],
              data: bytes) -> Handed | tuple[str, ...]:
    """MAIL FROM and RCPT TO, as `sendmail` does: the recipients refused, or the failure
    that stops the message before any of it is sent."""
    limit = int(connection.esmtp_features.get("size", "0") or 0)
    if limit and len(data) > limit:
        return Handed(Outcome.FAILED, f"邮件大小 {_size(len(data))}，超过服务器上限 "
                      f"{_size(limit)}", too_large=True)
    utf8 = connection.has_extn("smtputf8")
    address = parseaddr(sender)[1] or sender  # what MAIL FROM carries: no display name
    if not (utf8 or address.isascii()):
        return Handed(Outcome.FAILED, f"发件地址“{address}”{_NOT_ASCII}")
    options = [f"SIZE={len(data)}"] if connection.has_extn("size") else []
    if utf8 and not all(a.isascii() for a in (address, *recipients)):
        options.append("SMTPUTF8")
    try:
        code, said = connection.mail(sender, options)
        if code != 250:
            return _refused(connection, code, said)
        refused = []
        for recipient in recipients:
            if not (utf8 or recipient.isascii()):
                refused.append(f"{recipient}（{_NOT_ASCII}）")
                continue
            code, said = connection.rcpt(recipient)
            if code not in (250, 251):
                refused.append(f"{recipient}（{code} {_text(said)}）")
    except smtplib.SMTPResponseException as error:
        return _refused(connection, error.smtp_code, error.smtp_error)
    if len(refused) == len(recipients):
        connection.rset()
        return Handed(Outcome.FAILED, "；".join(refused), tuple(refused))
    return tuple(refused)


# smtplib writes commands in ASCII unless the server takes SMTPUTF8 (RFC 6531)
_NOT_ASCII = ("含有中文等非 ASCII 字符，而发信服务器不支持 SMTPUTF8，无法投递；"
              "请改用纯英文字母的地址")


def _data(connection: smtplib.SMTP, data: bytes, refused: tuple[str, ...]) -> Handed:
    """DATA, keeping the server's last word; the recipients refused before, if any."""
    try:
        code, said = connection.data(data)
    except smtplib.SMTPDataError as error:  # DATA itself refused: nothing was sent
        return _refused(connection, error.smtp_code, error.smtp_error)
    if code != 250:
        return _refused(connection, code, said)
    return Handed(Outcome.SENT, f"{code} {_text(said)}", refused)


def _refused(connection: smtplib.SMTP, code: int, said: bytes | str) -> Handed:
    # a server that hangs up after refusing has refused all the same
    with contextlib.suppress(OSError):
        connection.rset()
    # 552: "exceeded storage allocation", what a server says of a message over its size
    return Handed(Outcome.FAILED, f"{code} {_text(said)}", too_large=code == 552)


def _refusal(shown: str, error: BaseException) -> MailError:
    """What a clerk is told when the server cannot be used at all."""
    if isinstance(error, smtplib.SMTPAuthenticationError):
        return MailError(f"发信服务器 {shown} 拒绝登录（{_said(error)}）："
                         "请核对用户名和密码（QQ、163 等邮箱须用授权码）")
    if isinstance(error, UnicodeEncodeError):  # smtplib sends a user and password as ASCII
        return MailError(f"发信服务器 {shown}：用户名或密码含有中文等非 ASCII 字符，无法登录；"
                         "请核对（QQ、163 等邮箱的授权码只含字母和数字）")
    if isinstance(error, ssl.SSLCertVerificationError):
        return MailError(f"发信服务器 {shown} 的证书无法验证（{error.verify_message}）；"
                         "单位自建的证书请用 --cafile 指定其 CA 证书")
    return MailError(f"无法连接发信服务器 {shown}：{_said(error)}")


def _text(said: bytes | str) -> str:
    return said.decode("utf-8", "replace") if isinstance(said, bytes) else said


def _said(error: BaseException) -> str:
    if isinstance(error, smtplib.SMTPResponseException):
        return f"{error.smtp_code} {_text(error.smtp_error)}"
    if isinstance(error, socket.timeout | TimeoutError):
        return f"{TIMEOUT:.0f} 秒内无响应"
    return str(error) or type(error).__name__


def _size(count: int) -> str:
    return f"{count / 1_048_576:.1f} MB"
