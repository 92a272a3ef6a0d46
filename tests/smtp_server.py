"""A real SMTP server on loopback for the tests (aiosmtpd, in a thread of the test process).

`SmtpServer` listens on a free port of 127.0.0.1 and keeps what it received; it may offer
STARTTLS or speak TLS from the first byte with a self-signed certificate made for the test, ask
for a password, and answer a chosen reply to RCPT or DATA (a 4xx, a 5xx).
"""

from __future__ import annotations

import datetime
import email
import email.policy
import ipaddress
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from aiosmtpd.smtp import LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass
class Received:
    """One message as the server received it."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    tls: bool
    login: str | None


@dataclass
class Inbox:
    """aiosmtpd's handler: keeps each message, or answers the reply it is told to."""

    rcpt_reply: dict[str, str] = field(default_factory=dict)  # address -> reply
    data_reply: str | None = None
    received: list[Received] = field(default_factory=list)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        if address in self.rcpt_reply:
            return self.rcpt_reply[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.data_reply is not None:
            return self.data_reply
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        login = session.auth_data
        self.received.append(
            Received(
                mail_from=envelope.mail_from,
                rcpt_tos=list(envelope.rcpt_tos),
                message=message,
                tls=server.transport.get_extra_info("ssl_object") is not None,
                login=login.decode() if isinstance(login, bytes) else login,
            )
        )
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost, and its key (PEM files in `folder`)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@dataclass
class SmtpServer:
    """A running server: its port, what it received, and how a client trusts its certificate."""

    port: int
    inbox: Inbox
    client_context: ssl.SSLContext | None

    @property
    def received(self) -> list[Received]:
        return self.inbox.received


@contextmanager
def smtp_server(
    folder: Path | None = None,
    *,
    tls: str = "none",  # "none", "starttls" or "implicit"
    credentials: tuple[str, str] | None = None,
    inbox: Inbox | None = None,
) -> Iterator[SmtpServer]:
    """An SMTP server on a free loopback port for the `with` block."""
    inbox = inbox or Inbox()
    server_context = client_context = None
    if tls != "none":
        assert folder is not None, "a certificate needs a folder"
        cert, key = self_signed_certificate(folder)
        server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server_context.load_cert_chain(cert, key)
        client_context = ssl.create_default_context(cafile=str(cert))
    options: dict[str, Any] = {}
    if tls == "starttls":
        options["tls_context"] = server_context
    if credentials is not None:

        def authenticate(
            server: Any, session: Any, envelope: Any, mechanism: str, data: Any
        ) -> AuthResult:
            given = (data.login, data.password) if isinstance(data, LoginPassword) else None
            ok = given == tuple(part.encode() for part in credentials)
            return AuthResult(success=ok, handled=False, auth_data=data.login if ok else None)

        # aiosmtpd offers AUTH over implicit TLS only when told TLS is not required (it knows
        # of STARTTLS alone); the client's TLS is checked as it connects.
        options.update(authenticator=authenticate, auth_require_tls=tls == "starttls")
    port = free_port()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        ssl_context=server_context if tls == "implicit" else None,
        server_hostname="localhost",
        **options,
    )
    controller.start()
    try:
        yield SmtpServer(port, inbox, client_context)
    finally:
        controller.stop()
