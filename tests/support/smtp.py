"""A real aiosmtpd SMTP server on 127.0.0.1 for tests, with optional AUTH and TLS.

Why: email delivery is only proven by a server that speaks SMTP; this one collects the parsed
messages so tests can check subject, text and HTML parts exactly as a mail client would see them.

Usage (pytest)::

    from tests.support.smtp import smtp_server, smtp_server_factory  # noqa: F401

    def test_x(smtp_server):
        send(smtp_server.url(to="ops@example.org"), ...)
        [mail] = smtp_server.messages          # email.message.EmailMessage
        assert mail["Subject"] == "..."

    def test_tls(smtp_server_factory):
        server = smtp_server_factory(tls="starttls", auth=("tocsin", "s3cret"))
        url = server.url(to="ops@example.org")   # mailtos://tocsin:s3cret@127.0.0.1:PORT?mode=...

Options of ``smtp_server_factory``: ``auth=(user, password)`` requires AUTH LOGIN/PLAIN with those
credentials; ``tls="starttls"`` offers STARTTLS (and requires it before AUTH), ``tls="ssl"`` speaks
implicit TLS. Both TLS modes use a throw-away self-signed certificate made with ``cryptography``;
the test is skipped when that package is missing. Client URLs carry ``verify=no`` for that reason.

Scripting: ``refuse_next(n, code=554)`` answers the DATA of the next n messages with that code
(451 = temporary, 554 = permanent); refused messages are counted in ``refused``, not collected.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote, urlencode

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPProtocol
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

TlsMode = Literal["none", "starttls", "ssl"]

_REFUSAL_TEXT = {451: "4.3.0 Temporarily unable to accept (scripted)",
                 554: "5.7.1 Message rejected (scripted)"}


@dataclass(frozen=True)
class ReceivedMail:
    """One accepted message with its envelope and how the session was secured."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage
    tls: bool
    login: str | None


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self._server = server

    async def handle_MAIL(
        self, smtp: SMTPProtocol, session: Session, envelope: Envelope, address: str,
        mail_options: list[str],
    ) -> str:
        if self._server.auth is not None and not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_DATA(self, smtp: SMTPProtocol, session: Session, envelope: Envelope) -> str:
        transport: Any = smtp.transport  # STARTTLS swaps it for a TLS one; implicit TLS has one
        tls = transport is not None and transport.get_extra_info("ssl_object") is not None
        return self._server._receive(session, envelope, tls=tls)


class _EphemeralController(Controller):
    """A Controller that binds port 0 and learns the port the OS chose."""

    def _trigger_server(self) -> None:
        server: Any = self.server  # an asyncio.Server, which has .sockets
        if self.port == 0 and server is not None:
            self.port = int(server.sockets[0].getsockname()[1])
        super()._trigger_server()  # type: ignore[no-untyped-call]


class SmtpServer:
    """A running aiosmtpd server; see the module docstring."""

    sender = "tocsin@example.org"

    def __init__(
        self,
        *,
        auth: tuple[str, str] | None = None,
        tls: TlsMode = "none",
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if tls != "none" and ssl_context is None:
            raise ValueError("a TLS mode needs an ssl_context (see make_self_signed_context)")
        self.auth = auth
        self.tls: TlsMode = tls
        self._lock = threading.Lock()
        self._refusals: list[int] = []
        self.received: list[ReceivedMail] = []
        self.refused = 0
        smtp_kwargs: dict[str, Any] = {
            "enable_SMTPUTF8": True,
            "server_hostname": "tocsin-test-smtp",
        }
        if auth is not None:
            # AUTH is enforced in handle_MAIL: aiosmtpd's auth_required warns when combined with
            # implicit TLS, which it cannot see. With STARTTLS, AUTH is offered only after it.
            smtp_kwargs.update(
                authenticator=self._authenticate,
                auth_required=False,
                auth_require_tls=tls == "starttls",
            )
        if tls == "starttls":
            smtp_kwargs.update(tls_context=ssl_context, require_starttls=True)
        self._controller = _EphemeralController(
            _Handler(self),
            hostname="127.0.0.1",
            port=0,
            ssl_context=ssl_context if tls == "ssl" else None,
            **smtp_kwargs,
        )

    def start(self) -> SmtpServer:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def port(self) -> int:
        return int(self._controller.port)

    @property
    def messages(self) -> list[EmailMessage]:
        """Accepted messages, parsed with the modern email policy, in arrival order."""
        with self._lock:
            return [r.message for r in self.received]

    def refuse_next(self, n: int = 1, *, code: int = 554) -> None:
        with self._lock:
            self._refusals.extend([code] * n)

    def url(self, *, to: str = "ops@example.org", **params: str) -> str:
        """An Apprise URL that reaches this server with its TLS mode and credentials."""
        query: dict[str, str] = {"from": self.sender, "to": to}
        scheme = "mailto"
        if self.tls != "none":
            scheme = "mailtos"
            query.update(mode="starttls" if self.tls == "starttls" else "ssl", verify="no")
        query.update(params)
        credentials = ""
        if self.auth is not None:
            credentials = f"{quote(self.auth[0], safe='')}:{quote(self.auth[1], safe='')}@"
        return f"{scheme}://{credentials}{self.host}:{self.port}/?{urlencode(query)}"

    # --- server side (runs on the aiosmtpd loop thread) --------------------------------------
    def _authenticate(
        self, server: SMTPProtocol, session: Session, envelope: Envelope, mechanism: str,
        auth_data: Any,
    ) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and self.auth is not None
            and (auth_data.login.decode(), auth_data.password.decode()) == self.auth
        )
        if not ok:
            return AuthResult(success=False, handled=False)  # aiosmtpd answers 535
        return AuthResult(success=True, auth_data=auth_data)

    def _receive(self, session: Session, envelope: Envelope, *, tls: bool) -> str:
        with self._lock:
            if self._refusals:
                code = self._refusals.pop(0)
                self.refused += 1
                return f"{code} {_REFUSAL_TEXT.get(code, 'Refused (scripted)')}"
        raw = envelope.original_content or envelope.content or b""
        data = raw if isinstance(raw, bytes) else raw.encode("utf-8")
        message = email.message_from_bytes(data, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        login = None
        if isinstance(session.auth_data, LoginPassword):
            login = session.auth_data.login.decode()
        mail = ReceivedMail(
            mail_from=str(envelope.mail_from),
            rcpt_tos=tuple(envelope.rcpt_tos),
            message=message,
            tls=tls,
            login=login,
        )
        with self._lock:
            self.received.append(mail)
        return "250 OK"


def make_self_signed_context(directory: Path) -> ssl.SSLContext:
    """Server SSLContext with a new self-signed cert for 127.0.0.1 (skips without cryptography)."""
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
    except ImportError:  # pragma: no cover - depends on the environment
        pytest.skip("TLS SMTP tests need the 'cryptography' package to make a test certificate")
    import ipaddress

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    return context


SmtpServerFactory = Callable[..., SmtpServer]


@pytest.fixture
def smtp_server_factory(tmp_path: Path) -> Iterator[SmtpServerFactory]:
    """Start SmtpServers with options (auth=, tls=); all are stopped after the test."""
    started: list[SmtpServer] = []

    def start(*, auth: tuple[str, str] | None = None, tls: TlsMode = "none") -> SmtpServer:
        context = make_self_signed_context(tmp_path) if tls != "none" else None
        server = SmtpServer(auth=auth, tls=tls, ssl_context=context).start()
        started.append(server)
        return server

    try:
        yield start
    finally:
        for server in started:
            server.stop()


@pytest.fixture
def smtp_server(smtp_server_factory: SmtpServerFactory) -> SmtpServer:
    """A plain SMTP server (no TLS, no AUTH) on 127.0.0.1, collecting messages."""
    return smtp_server_factory()
