"""Real mail servers for the mail tests, on loopback: no mock of smtplib or imaplib counts.

- `make_tls`: a certificate authority and a server certificate for 127.0.0.1 and localhost,
  generated with `cryptography`, so the tests verify TLS as an office does (`--cafile`).
- Dovecot (`dovecot` fixture, `running_dovecot`): a real IMAP server started with a
  generated configuration on free loopback ports — IMAPS and IMAP with STARTTLS — and one
  user from a passwd file. It runs unprivileged: as root (the tests run as root here and in
  CI) its login processes run as `dovenull` and the mail as `nobody`, since Dovecot refuses
  root for either; otherwise everything runs as the current user. Its folder lies outside
  pytest's (owner-only) temporary folder so those users can reach it. Mail is delivered by
  IMAP APPEND, as a client files a message.
- SMTP (`smtp_server`, `smtp` fixture): aiosmtpd in-process on a free loopback port, plain
  or with STARTTLS and AUTH required; it keeps every message's bytes and envelope, refuses
  the recipients it is told to, and announces and enforces a SIZE limit. With a
  `Delivering` handler it is also the office's mail server: what is sent to the office's
  address lands in Dovecot's INBOX (IMAP APPEND), where `mail fetch` finds it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import grp
import imaplib
import ipaddress
import os
import pwd
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

DOVECOT = Path("/usr/sbin/dovecot")
needs_dovecot = pytest.mark.skipif(
    not DOVECOT.exists(),
    reason="Dovecot is not installed (apt-get install dovecot-imapd; .ci/run installs it)")


# -- TLS -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TlsFiles:
    ca: Path
    """The authority's certificate (PEM): what `--cafile` is given."""
    cert: Path
    key: Path


def make_tls(folder: Path) -> TlsFiles:
    """A fresh CA, and a certificate it signed for 127.0.0.1 and localhost."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    folder.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "xltool test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - dt.timedelta(days=1))
          .not_valid_after(now + dt.timedelta(days=30))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False,
                                       encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                         critical=False)
          .sign(ca_key, hashes.SHA256()))
    server = (x509.CertificateBuilder()
              .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
              .issuer_name(ca_name).public_key(key.public_key())
              .serial_number(x509.random_serial_number())
              .not_valid_before(now - dt.timedelta(days=1))
              .not_valid_after(now + dt.timedelta(days=30))
              .add_extension(x509.SubjectAlternativeName([
                  x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                  critical=False)
              .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                             critical=False)
              .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                  ca_key.public_key()), critical=False)
              .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    files = TlsFiles(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    files.ca.write_bytes(ca.public_bytes(pem))
    files.cert.write_bytes(server.public_bytes(pem))
    files.key.write_bytes(key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption()))
    files.key.chmod(0o600)
    return files


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# -- Dovecot -------------------------------------------------------------------------------

USER, PASSWORD = "clerk", "app-auth-code-1234"


@dataclass(frozen=True)
class Dovecot:
    root: Path
    config: Path
    imaps_port: int
    imap_port: int
    tls: TlsFiles

    def url(self, *, starttls: bool = False, folder: str = "INBOX") -> str:
        if starttls:
            return f"imap://{USER}@127.0.0.1:{self.imap_port}/{folder}"
        return f"imaps://{USER}@127.0.0.1:{self.imaps_port}/{folder}"

    def client(self) -> imaplib.IMAP4_SSL:
        context = ssl.create_default_context(cafile=str(self.tls.ca))
        client = imaplib.IMAP4_SSL("127.0.0.1", self.imaps_port, ssl_context=context,
                                   timeout=30)
        client.login(USER, PASSWORD)
        return client

    def deliver(self, *messages: bytes, folder: str = "INBOX",
                at: dt.datetime | None = None) -> None:
        """File MESSAGES into FOLDER by IMAP APPEND, unread, delivered (INTERNALDATE) AT, or
        when each says it was sent, as a server receives a mail moments after."""
        client = self.client()
        try:
            for message in messages:
                status, said = client.append(folder, "", at or sent_at(message), message)
                assert status == "OK", said
        finally:
            client.logout()

    def flags(self, folder: str = "INBOX") -> list[str]:
        """Each message's flags, in UID order."""
        client = self.client()
        try:
            client.select(folder, readonly=True)
            _status, data = client.uid("FETCH", "1:*", "(FLAGS)")
            return [entry.decode() for entry in data if isinstance(entry, bytes)]
        finally:
            client.logout()

    def count(self, folder: str = "INBOX") -> int:
        client = self.client()
        try:
            _status, data = client.select(folder, readonly=True)
            return int(data[0] or 0)
        finally:
            client.logout()


def sent_at(message: bytes) -> dt.datetime | None:
    """The Date header of MESSAGE, None without one."""
    from email import message_from_bytes
    from email.utils import parsedate_to_datetime

    date = message_from_bytes(message)["Date"]
    return parsedate_to_datetime(date) if date else None


def _accounts() -> tuple[str, str, int, int]:
    """(login user, internal user, mail uid, mail gid): unprivileged whoever runs the tests."""
    if os.geteuid() != 0:
        me = pwd.getpwuid(os.geteuid())
        return me.pw_name, me.pw_name, me.pw_uid, me.pw_gid
    names = {entry.pw_name: entry for entry in pwd.getpwall()}
    nobody = names["nobody"]
    login = "dovenull" if "dovenull" in names else "nobody"
    internal = "dovecot" if "dovecot" in names else "nobody"
    return login, internal, nobody.pw_uid, nobody.pw_gid


def _config(root: Path, tls: TlsFiles, imaps: int, imap: int) -> str:
    login, internal, uid, gid = _accounts()
    return f"""
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
default_internal_user = {internal}
default_internal_group = {grp.getgrgid(pwd.getpwnam(internal).pw_gid).gr_name}
default_login_user = {login}
first_valid_uid = 1
first_valid_gid = 1
ssl = yes
ssl_cert = <{tls.cert}
ssl_key = <{tls.key}
auth_mechanisms = plain login
auth_failure_delay = 0
mail_location = maildir:{root}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/mail/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
service stats {{
  chroot =
}}
"""


@contextmanager
def running_dovecot() -> Iterator[Dovecot]:
    root = Path(tempfile.mkdtemp(prefix="xltool-dovecot-"))
    root.chmod(0o755)  # the login and mail users reach their sockets and the mail through it
    try:
        tls = make_tls(root / "tls")
        _login, _internal, uid, gid = _accounts()
        (root / "mail").mkdir()
        os.chown(root / "mail", uid, gid)
        (root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
        imaps, imap = free_port(), free_port()
        config = root / "dovecot.conf"
        config.write_text(_config(root, tls, imaps, imap))
        said = root / "start.log"  # a file, not a pipe: the daemon keeps what it inherits open
        with said.open("wb") as out:
            started = subprocess.run([str(DOVECOT), "-c", str(config)], check=False,
                                     stdin=subprocess.DEVNULL, stdout=out, stderr=out)
        if started.returncode != 0:
            raise RuntimeError(f"Dovecot did not start: {said.read_text(errors='replace')}")
        server = Dovecot(root, config, imaps, imap, tls)
        try:
            _wait_for(imaps, root)
            _wait_for(imap, root)
            yield server
        finally:
            _stop(config, root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _wait_for(port: int, root: Path, seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        time.sleep(0.05)
    log = (root / "dovecot.log").read_text(errors="replace") if (root / "dovecot.log").exists() \
        else ""
    raise RuntimeError(f"Dovecot did not listen on {port}:\n{log}")


def _stop(config: Path, root: Path) -> None:
    """Stop the master this test started (by its pid file) and wait until it is gone."""
    pid_file = root / "run" / "master.pid"
    pid = int(pid_file.read_text().strip()) if pid_file.exists() else None
    if pid is None:  # (`dovecot stop` finds the master as this does, and then waits seconds)
        subprocess.run([str(DOVECOT), "-c", str(config), "stop"], check=False,
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    else:  # at once: a clean shutdown waits seconds for its children, here for nothing
        for process in (pid, *_children(pid)):
            with contextlib.suppress(ProcessLookupError):
                os.kill(process, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while pid is not None and time.monotonic() < deadline and _alive(pid):
        time.sleep(0.02)


def _children(pid: int) -> list[int]:
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        with contextlib.suppress(OSError):
            if f"\nPPid:\t{pid}\n" in status.read_text():
                found.append(int(status.parent.name))
    return found


def _alive(pid: int) -> bool:
    """Whether PID still runs (a zombie waiting to be reaped does not)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    if not DOVECOT.exists():
        pytest.skip("Dovecot is not installed (apt-get install dovecot-imapd; .ci/run installs it)")
    with running_dovecot() as server:
        yield server


# -- SMTP (aiosmtpd) -----------------------------------------------------------------------
# `smtp_server(...)`: aiosmtpd on 127.0.0.1 and a free port; plain, or with STARTTLS (the
# certificate `make_tls` made) and AUTH required. Its `Recorder` keeps every message's raw
# bytes and envelope, and refuses the recipients in `refuse`; `size` is the SIZE limit the
# server announces (and enforces).


@dataclass(frozen=True)
class Received:
    """One message as the server took it: the envelope and the bytes exactly."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes


@dataclass
class Recorder:
    """aiosmtpd's handler: keeps every message; refuses the addresses in `refuse`."""

    messages: list[Received] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        if address in self.refuse:
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        data = envelope.original_content or envelope.content
        self.messages.append(Received(envelope.mail_from, tuple(envelope.rcpt_tos), data))
        return f"250 2.0.0 Ok: queued as Q{len(self.messages)}"


@dataclass
class Delivering(Recorder):
    """A Recorder that is also the office's mail server: each message for LOCAL (the office's
    address) is filed into MAILBOX's INBOX by IMAP APPEND, as an MTA hands it to the IMAP
    server's store, before the sender is told it is queued."""

    mailbox: Dovecot | None = None
    local: str = ""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        queued = await super().handle_DATA(server, session, envelope)
        if self.mailbox is not None and self.local.lower() in (
                address.lower() for address in envelope.rcpt_tos):
            try:
                self.mailbox.deliver(self.messages[-1].data)
            except (OSError, imaplib.IMAP4.error, AssertionError) as error:
                self.messages.pop()
                return f"451 4.3.0 Not delivered: {error}"
        return queued


@dataclass(frozen=True)
class RunningSmtp:
    port: int
    recorder: Recorder
    user: str | None
    wrapped: bool = False
    """TLS from the first byte (smtps://), not STARTTLS."""

    @property
    def messages(self) -> list[Received]:
        return self.recorder.messages

    @property
    def url(self) -> str:
        """`smtps://…` (TLS from the first byte), `smtp://user@…` (STARTTLS) for the server
        with AUTH, `smtp+plain://…` otherwise."""
        if self.wrapped:
            return f"smtps://{self.user + '@' if self.user else ''}127.0.0.1:{self.port}"
        if self.user:
            return f"smtp://{self.user}@127.0.0.1:{self.port}"
        return f"smtp+plain://127.0.0.1:{self.port}"


@contextmanager
def smtp_server(*, tls: TlsFiles | None = None, wrapped: bool = False, user: str | None = None,
                password: str | None = None, size: int | None = None,
                recorder: Recorder | None = None, utf8: bool = False) -> Iterator[RunningSmtp]:
    """An SMTP server on loopback while the block runs. With TLS, STARTTLS is required (or,
    WRAPPED, TLS from the first byte); with USER, AUTH as USER with PASSWORD (aiosmtpd
    offers it after STARTTLS only: it does not count TLS from the first byte as TLS).
    RECORDER: the handler, when it is to do more than keep the messages (`Delivering`).
    UTF8: the server offers SMTPUTF8 (addresses with Chinese characters)."""
    from aiosmtpd.controller import Controller

    recorder = recorder or Recorder()
    options: dict[str, Any] = {"data_size_limit": size or 33_554_432, "enable_SMTPUTF8": utf8}
    if tls is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(tls.cert, tls.key)
        options.update({"ssl_context": context} if wrapped else
                       {"tls_context": context, "require_starttls": True})
    if user is not None:
        options.update(auth_required=True, authenticator=_authenticator(user, password or ""))
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        yield RunningSmtp(port, recorder, user, wrapped)
    finally:
        controller.stop()


def _authenticator(user: str, password: str) -> Any:
    from aiosmtpd.smtp import AuthResult, LoginPassword

    def check(server: Any, session: Any, envelope: Any, mechanism: str,
              auth_data: Any) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == user \
            and auth_data.password.decode() == password
        return AuthResult(success=ok, handled=False)
    return check


@pytest.fixture
def smtp() -> Iterator[RunningSmtp]:
    """A plain SMTP server on loopback, for a test's whole run."""
    with smtp_server() as server:
        yield server
