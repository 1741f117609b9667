"""Where returns come from: an IMAP folder, a Maildir, an mbox file, or `.eml` files.

A source is named as the clerk names it: `imaps://user@host[:port]/FOLDER` (TLS from the
first byte, port 993), `imap://user@host[:port]/FOLDER` (STARTTLS, required: a password
is never sent in the clear; port 143), or a path — a Maildir (a folder with `cur/` and
`new/`), an mbox file (what Foxmail and Thunderbird export), an `.eml` file, or a folder
searched for `.eml` files. Each gives its messages' raw bytes under a key that stays the
message's (`UIDVALIDITY:UID`, the Maildir key, the SHA-256 of an mbox message or an `.eml`
file — an mbox's positions shift when a client deletes or compacts), so a rerun asks only
for what it has not recorded; and, where the mailbox knows it, when the message was
delivered there (IMAP's INTERNALDATE, a Maildir file's time, an mbox `From ` line, an
`.eml` file's time, the latest it can have been), which the sender's clock cannot move.

Nothing is deleted or changed: a mailbox is read as it is. An IMAP folder is selected
read-only (EXAMINE) unless `mark_seen` asks for the new messages to be flagged \\Seen.

What stops a source — no connection, a refused login, a timeout, a certificate that does
not verify, a folder or path that is not there — is a `MailboxUnavailable` naming the
server or the path, never a traceback.
"""

from __future__ import annotations

import contextlib
import hashlib
import imaplib
import mailbox
import os
import re
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Protocol
from urllib.parse import unquote

from xltool.errors import MailboxUnavailable
from xltool.mail.send import HOST_MISSING, typed_without_host, url_parts, without_password
from xltool.store.mailreceived import Cursor

if TYPE_CHECKING:  # imported when a server is asked: `--help` loads no mail library
    from imap_tools.mailbox import BaseMailBox

TIMEOUT = 60.0  # seconds a server may take to answer
FETCH_AT_ONCE = 50  # messages per FETCH: few round trips, a bounded response
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_UID = re.compile(rb"UID (\d+)")
_INTERNALDATE = re.compile(
    rb'INTERNALDATE "\s?(\d{1,2})-([A-Za-z]{3})-(\d{4}) (\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)"')
_FROM_LINE_DATE = re.compile(
    rb"([A-Za-z]{3}) +(\d{1,2}) (\d\d):(\d\d)(?::(\d\d))? (\d{4})\s*$")


@dataclass(frozen=True)
class RawMessage:
    key: str
    data: bytes
    delivered: datetime | None = None
    """When the mailbox received it (UTC), where the mailbox records that."""
    delivery_recorded: bool = True
    """False when DELIVERED is only the latest it can have been (an .eml file's time: when
    it was saved, maybe long after)."""


class Source(Protocol):
    """A mailbox, open: its name as recorded, and its messages not yet known."""

    name: str

    def messages(self, known: set[str], since: date | None,
                 after: Cursor | None) -> Iterator[RawMessage]:
        """The messages whose key is not in KNOWN (on or after SINCE, where the source can
        ask for that; the caller checks each message's date as well), after the cursor of
        the last run (IMAP)."""
        ...

    def cursor(self) -> Cursor | None:
        """Where the next run starts, once `messages` is done (IMAP only)."""
        ...

    def close(self) -> None: ...


def is_imap(text: str) -> bool:
    return text.lower().startswith(("imap://", "imaps://"))


@contextmanager
def opened(text: str, *, password: str | None = None, cafile: Path | None = None,
           mark_seen: bool = False) -> Iterator[Source]:
    """The source TEXT names, open for reading, closed at the end."""
    source: Source
    if is_imap(text):
        if password is None:
            raise MailboxUnavailable(f"{_imap_address(text).shown}: 需要邮箱密码")
        source = ImapFolder(_imap_address(text), password, cafile=cafile, mark_seen=mark_seen)
    else:
        source = _local(Path(text))
    try:
        yield source
    finally:
        source.close()


# -- IMAP ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImapAddress:
    host: str
    port: int
    user: str
    folder: str
    tls: bool
    """TLS from the first byte (imaps); otherwise STARTTLS."""

    @property
    def shown(self) -> str:
        return f"收件服务器 {self.host}:{self.port}"

    @property
    def name(self) -> str:
        """The source as recorded: one folder of one account on one server."""
        scheme = "imaps" if self.tls else "imap"
        return f"{scheme}://{self.user}@{self.host}:{self.port}/{self.folder}"


def _imap_address(url: str) -> ImapAddress:
    parts = url_parts(url)
    if typed_without_host(url) or (parts is not None and parts.netloc.endswith(":")):
        raise MailboxUnavailable(HOST_MISSING.format(shown=without_password(url)))
    tls = parts is not None and parts.scheme.lower() == "imaps"
    try:
        port = (parts.port if parts else 0) or (993 if tls else 143)
    except ValueError:
        port = 0
    if parts is None or not parts.hostname or not parts.username or not port:
        raise MailboxUnavailable(f"“{without_password(url)}”不是收件服务器地址：应形如 imaps://用户名@imap.example.com"
                                 "/INBOX（SSL）或 imap://用户名@imap.example.com/INBOX（STARTTLS）")
    if parts.password is not None:
        raise MailboxUnavailable("密码不能写在服务器地址里：请放在环境变量 XLTOOL_MAIL_PASSWORD "
                                 "中，或运行时按提示输入")
    folder = unquote(parts.path.lstrip("/")) or "INBOX"
    return ImapAddress(parts.hostname, port, unquote(parts.username), folder, tls)


class ImapFolder:
    """One IMAP folder, read by UID after the cursor of the last run.

    A server that renumbered the folder (a UIDVALIDITY other than the cursor's) lists all
    of it again; the messages recorded before are then known by Message-ID and workbooks
    (`xltool.store.mailreceived.ReceivedMail.seen_before`).
    """

    def __init__(self, address: ImapAddress, password: str, *, cafile: Path | None,
                 mark_seen: bool) -> None:
        self.address, self.name = address, address.name
        self._mark_seen = mark_seen
        with _server_errors(address, cafile):
            self._box = _connected(address, _tls_context(cafile))
            try:
                self._box.login(address.user, password, initial_folder=None)
                self._box.folder.set(address.folder, readonly=not mark_seen)
                self._uidvalidity = int(self._box.folder.status(
                    address.folder, ["UIDVALIDITY"])["UIDVALIDITY"])
            except BaseException:
                _hang_up(self._box)
                raise
        self._last_uid = 0

    def messages(self, known: set[str], since: date | None,
                 after: Cursor | None) -> Iterator[RawMessage]:
        renumbered = after is None or after.uidvalidity != self._uidvalidity
        first = 1 if renumbered or after is None else after.last_uid + 1
        self._last_uid = first - 1
        criteria = f"UID {first}:*" + (f" SENTSINCE {_imap_date(since)}" if since else "")
        with _server_errors(self.address, None):
            uids = sorted(int(uid) for uid in self._box.uids(criteria) if int(uid) >= first)
        wanted = [uid for uid in uids if f"{self._uidvalidity}:{uid}" not in known]
        for start in range(0, len(wanted), FETCH_AT_ONCE):
            chunk = wanted[start:start + FETCH_AT_ONCE]
            for uid, data, delivered in self._fetch(chunk):
                yield RawMessage(f"{self._uidvalidity}:{uid}", data, delivered)
        if uids and since is None:  # with --since the older messages are still to come
            self._last_uid = max(self._last_uid, uids[-1])

    def _fetch(self, uids: list[int]) -> list[tuple[int, bytes, datetime | None]]:
        """The raw messages of UIDS and their INTERNALDATE: BODY.PEEK leaves \\Seen alone,
        BODY sets it."""
        item = "(UID INTERNALDATE BODY[])" if self._mark_seen else \
            "(UID INTERNALDATE BODY.PEEK[])"
        with _server_errors(self.address, None):
            status, response = self._box.client.uid(
                "FETCH", ",".join(map(str, uids)), item)
        if status != "OK":
            raise MailboxUnavailable(f"{self.address.shown} 未能取回邮件（{status}）")
        fetched: list[tuple[int, bytes, datetime | None]] = []
        for at, entry in enumerate(response):
            if isinstance(entry, tuple) and len(entry) == 2:
                found = _UID.search(entry[0])
                if found:
                    # a server may answer INTERNALDATE after the body, in the closing line
                    after = response[at + 1] if at + 1 < len(response) else b""
                    closing = after if isinstance(after, bytes) else b""
                    fetched.append((int(found[1]), bytes(entry[1]),
                                    _internaldate(entry[0] + b" " + closing)))
        return fetched

    def cursor(self) -> Cursor | None:
        return Cursor(self._uidvalidity, self._last_uid) if self._last_uid > 0 else None

    def close(self) -> None:
        # what was read is read; a server that is gone ends the session itself
        with contextlib.suppress(imaplib.IMAP4.error, OSError):
            self._box.logout()
        _hang_up(self._box)


def _hang_up(box: BaseMailBox) -> None:
    """The connection closed, whatever state the conversation is in."""
    with contextlib.suppress(OSError):
        box.client.shutdown()


def _connected(address: ImapAddress, context: ssl.SSLContext) -> BaseMailBox:
    """A connection to the server, encrypted before any password is sent: TLS from the
    first byte, or STARTTLS by imaplib itself (imap-tools renamed its class for it)."""
    from imap_tools.mailbox import MailBox, MailBoxUnencrypted

    if address.tls:
        return MailBox(address.host, address.port, timeout=TIMEOUT, ssl_context=context)
    box = MailBoxUnencrypted(address.host, address.port, timeout=TIMEOUT)
    try:
        box.client.starttls(ssl_context=context)
    except BaseException:
        _hang_up(box)
        raise
    return box


def _tls_context(cafile: Path | None) -> ssl.SSLContext:
    """Certificates verified, by the system's authorities or the office's own CA file."""
    try:
        return ssl.create_default_context(cafile=str(cafile) if cafile else None)
    except (OSError, ssl.SSLError) as error:
        raise MailboxUnavailable(f"无法读取证书文件“{cafile}”（{error}）：--cafile 应是 PEM "
                                 "格式的 CA 证书") from error


@contextmanager
def _server_errors(address: ImapAddress, cafile: Path | None) -> Iterator[None]:
    """What stops the server's conversation, said as what it is, naming the server."""
    from imap_tools.errors import MailboxFolderSelectError, MailboxLoginError

    shown = address.shown
    try:
        yield
    except MailboxUnavailable:
        raise
    except MailboxLoginError as error:
        raise MailboxUnavailable(
            f"{shown} 拒绝登录（用户 {address.user}）：请核对用户名和密码；QQ、163 等邮箱须用"
            "邮箱设置中生成的授权码，而不是登录密码") from error
    except MailboxFolderSelectError as error:
        raise MailboxUnavailable(f"{shown} 上没有邮件夹“{address.folder}”") from error
    except ssl.SSLCertVerificationError as error:
        hint = "" if cafile else "；单位自建的证书请用 --cafile 指定其 CA 证书"
        raise MailboxUnavailable(
            f"{shown} 的证书无法验证（{error.verify_message}）{hint}") from error
    except ssl.SSLError as error:
        raise MailboxUnavailable(f"与{shown} 建立加密连接失败（{error.reason}）") from error
    except TimeoutError as error:
        raise MailboxUnavailable(f"{shown} 在 {TIMEOUT:.0f} 秒内没有响应（超时）；"
                                 "请检查网络后重新运行") from error
    except socket.gaierror as error:
        raise MailboxUnavailable(f"找不到{shown}（域名无法解析）：请核对服务器地址") from error
    except ConnectionRefusedError as error:
        raise MailboxUnavailable(f"{shown} 拒绝连接：请核对端口（SSL 一般是 993，"
                                 "STARTTLS 一般是 143）") from error
    except (imaplib.IMAP4.error, OSError) as error:
        raise MailboxUnavailable(f"{shown} 出错：{error or type(error).__name__}") from error
    except Exception as error:  # imap-tools' own: an answer it did not expect
        raise MailboxUnavailable(f"{shown} 的应答无法处理：{error}") from error


def _internaldate(response: bytes) -> datetime | None:
    """The INTERNALDATE in a FETCH response (`"06-Dec-2026 07:00:00 +0800"`), in UTC."""
    found = _INTERNALDATE.search(response)
    if found is None or found[2].decode().title() not in _MONTHS:
        return None
    day, month, year = int(found[1]), _MONTHS.index(found[2].decode().title()) + 1, int(found[3])
    offset = (int(found[8]) * 60 + int(found[9])) * (-1 if found[7] == b"-" else 1)
    try:
        local = datetime(year, month, day, int(found[4]), int(found[5]), int(found[6]),
                         tzinfo=UTC)
    except ValueError:
        return None
    return local - timedelta(minutes=offset)


def _imap_date(day: date) -> str:
    """A date as IMAP's SEARCH takes it (`1-Mar-2025`), whatever the locale."""
    return f"{day.day}-{_MONTHS[day.month - 1]}-{day.year}"


# -- files ---------------------------------------------------------------------------------


def _local(path: Path) -> Source:
    if path.is_dir():
        if (path / "cur").is_dir() and (path / "new").is_dir():
            return MaildirFolder(path)
        return EmlFiles(path, sorted(p for p in path.rglob("*")
                                     if p.suffix.lower() == ".eml" and p.is_file()))
    if path.is_file():
        with path.open("rb") as file:
            first = file.read(5)
        if first == b"From " and path.suffix.lower() != ".eml":
            return MboxFile(path)
        return EmlFiles(path, [path])
    raise MailboxUnavailable(f"“{without_password(str(path))}”不存在：应是收件服务器地址"
                             "（imaps://…）、Maildir 文件夹、mbox 文件、.eml 文件"
                             "或存放 .eml 的文件夹")


class _Local:
    """A mailbox on disk: no cursor, each message known by its key."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = str(path.resolve())

    def cursor(self) -> Cursor | None:
        return None

    def close(self) -> None:
        pass


class MaildirFolder(_Local):
    """A Maildir, read by its keys (its file names without the flags a client adds); a
    message's file time is when it was delivered (Dovecot keeps INTERNALDATE there)."""

    def messages(self, known: set[str], since: date | None,
                 after: Cursor | None) -> Iterator[RawMessage]:
        box = mailbox.Maildir(self.path, factory=None, create=False)
        delivered = _file_times(self.path, box.colon)
        for key in sorted(box.iterkeys()):
            if key not in known:
                try:
                    yield RawMessage(key, box.get_bytes(key), delivered.get(key))
                except (KeyError, OSError):
                    continue  # moved by a mail client meanwhile: the next run finds it


def _file_times(path: Path, colon: str) -> dict[str, datetime]:
    """The time of each message file in Maildir PATH, by its key."""
    times: dict[str, datetime] = {}
    for folder in ("new", "cur"):
        with contextlib.suppress(OSError):
            for entry in os.scandir(path / folder):
                with contextlib.suppress(OSError, ValueError, OverflowError):
                    times[entry.name.split(colon)[0]] = _utc(entry.stat().st_mtime)
    return times


def _utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


class MboxFile(_Local):
    """An mbox file, each message known by the SHA-256 of its bytes: a client that deletes
    a message and compacts the file, or exports it in another order, moves the others to
    new positions, so a position would skip new messages and repeat old ones."""

    def messages(self, known: set[str], since: date | None,
                 after: Cursor | None) -> Iterator[RawMessage]:
        box = mailbox.mbox(self.path, factory=None, create=False)
        given = set(known)  # a message twice in the file is one message
        try:
            for position in box.iterkeys():
                whole = box.get_bytes(position, from_=True)
                from_line, _, data = whole.partition(b"\n")
                key = hashlib.sha256(data).hexdigest()
                if key not in given:
                    given.add(key)
                    yield RawMessage(key, data, _from_line_date(from_line))
        finally:
            box.close()


def _from_line_date(line: bytes) -> datetime | None:
    """The delivery time an mbox `From ` line ends with (`Sat Dec  6 07:00:00 2026`), in UTC.
    The line carries no zone; Thunderbird and Foxmail, which write the mboxes an office
    exports, write it in local time, so it is read as this machine's local time (the
    office's own, where the mailbox was exported)."""
    found = _FROM_LINE_DATE.search(line.rstrip(b"\r"))
    month = found[1].decode().title() if found else ""
    if found is None or month not in _MONTHS:
        return None
    try:
        return datetime(int(found[6]), _MONTHS.index(month) + 1, int(found[2]), int(found[3]),
                        int(found[4]), int(found[5] or 0)).astimezone(UTC)
    except ValueError:
        return None


class EmlFiles(_Local):
    """`.eml` files (one named, or a folder's), each known by the SHA-256 of its bytes; a
    file's time is the latest it can have been received (saved from a client, or copied)."""

    def __init__(self, path: Path, files: list[Path]) -> None:
        super().__init__(path)
        self.files = files

    def messages(self, known: set[str], since: date | None,
                 after: Cursor | None) -> Iterator[RawMessage]:
        given = set(known)
        for file in self.files:
            data = file.read_bytes()
            key = hashlib.sha256(data).hexdigest()
            if key not in given:
                given.add(key)
                yield RawMessage(key, data, _utc(file.stat().st_mtime), delivery_recorded=False)
