"""Where e-mails go (MEDIATION_MAIL_URL): an SMTP server, or a folder of .eml files.

`smtp://user:password@host:port` speaks SMTP and switches to TLS when the server offers
STARTTLS (a password is never sent in clear, but to a server on this machine);
`smtps://user:password@host:port` speaks it over TLS from the first byte; `folder:path`
writes each message to `path/<Message-ID>.eml`, whole or not at all, so that a first start
needs no mail server. Delivery either hands the message over or raises TransientMailError
(the server unreachable or busy, an SMTP 4xx: try again later) or PermanentMailError (an SMTP
5xx: it will not work as it is). Logs and errors name a message by its Message-ID and its
template, never by an address or a word of its text.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import smtplib
import ssl
import tempfile
from dataclasses import dataclass
from dataclasses import field
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import unquote
from urllib.parse import urlsplit

from application.mail import TEMPLATE_HEADER
from application.mail import MailDeliveryError
from application.mail import MailTransport
from application.mail import PermanentMailError
from application.mail import TransientMailError

log = logging.getLogger("mediation.mail")

DEFAULT_PORTS = {"smtp": 25, "smtps": 465}
URL_FORM = "smtp://user:password@host:port, smtps://user:password@host:port or folder:path"


@dataclass(frozen=True)
class MailTarget:
    """A parsed MEDIATION_MAIL_URL; its repr and `describe` leave the password out."""

    scheme: str  # smtp, smtps or folder
    host: str = ""
    port: int = 0
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    folder: Path | None = None

    def describe(self) -> str:
        """Where messages go, without the password."""
        if self.folder is not None:
            return f"the folder {self.folder}"
        user = f"{self.username}@" if self.username else ""
        return f"{self.scheme}://{user}{self.host}:{self.port}"


def parse_mail_url(url: str) -> MailTarget:
    """A mail URL, or ValueError in one line (which never repeats the URL: it may hold a
    password)."""
    scheme, colon, rest = url.strip().partition(":")
    scheme = scheme.lower()
    if not colon or scheme not in ("smtp", "smtps", "folder"):
        raise ValueError(f"a mail URL is {URL_FORM}")
    if scheme == "folder":
        if not rest.strip():
            raise ValueError("folder: needs a path, as folder:./outbox")
        return MailTarget("folder", folder=Path(rest.strip()))
    parts = urlsplit(url.strip())
    if not parts.hostname:
        raise ValueError(f"{scheme}: needs a host, as {scheme}://user:password@host:port")
    try:
        port = parts.port or DEFAULT_PORTS[scheme]
    except ValueError:
        raise ValueError(f"{scheme}: the port is not a number from 1 to 65535") from None
    if parts.path.strip("/") or parts.query or parts.fragment:
        raise ValueError(f"{scheme}: nothing may follow host:port")
    if parts.password is not None and not parts.username:
        raise ValueError(f"{scheme}: a password needs its user name, as user:password@host")
    return MailTarget(
        scheme,
        host=parts.hostname,
        port=port,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
    )


def transport_for(
    target: MailTarget, *, timeout: float = 30, ssl_context: ssl.SSLContext | None = None
) -> MailTransport:
    """The transport that delivers to `target`."""
    if target.folder is not None:
        return FolderTransport(target.folder)
    return SmtpTransport(target, timeout=timeout, ssl_context=ssl_context)


def describe(message: EmailMessage) -> str:
    """How logs and errors name a message: its Message-ID and its template."""
    return f"{message['Message-ID']} ({message.get(TEMPLATE_HEADER, 'no template')})"


def _deliverable(message: EmailMessage) -> str:
    """The message's Message-ID, once it is known the message can be delivered at all."""
    message_id = message["Message-ID"]
    if not message_id:
        raise PermanentMailError("the message has no Message-ID: it could not be deduplicated")
    if not any(message.get_all(header) for header in ("To", "Cc", "Bcc")):
        raise PermanentMailError("the message has no recipient")
    return str(message_id)


class FolderTransport:
    """Writes each message to `<folder>/<Message-ID>.eml`: a temporary file, flushed to disk,
    then renamed, so a reader never sees half a message; delivering it again replaces it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path_of(self, message: EmailMessage) -> Path:
        """The file a message is written to, named after its Message-ID."""
        name = re.sub(r"[^A-Za-z0-9._@+-]", "_", _deliverable(message).strip("<>"))
        return self.folder / f"{name.lstrip('.')[:200]}.eml"

    def deliver(self, message: EmailMessage) -> None:
        path = self.path_of(message)
        try:
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            descriptor, temporary = tempfile.mkstemp(dir=self.folder, prefix=".", suffix=".tmp")
            try:
                with os.fdopen(descriptor, "wb") as file:
                    file.write(message.as_bytes())
                    file.flush()
                    os.fsync(file.fileno())
                os.replace(temporary, path)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
            folder = os.open(self.folder, os.O_RDONLY)
            try:
                os.fsync(folder)
            finally:
                os.close(folder)
        except OSError as error:
            log.warning("mail %s not written: %s", describe(message), error.strerror)
            raise TransientMailError(
                f"the outbox folder cannot be written ({error.strerror or error})"
            ) from None
        log.info("mail %s written to the outbox folder", describe(message))


class SmtpTransport:
    """Delivers each message over one SMTP connection of its own."""

    def __init__(
        self,
        target: MailTarget,
        *,
        timeout: float = 30,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if target.scheme not in DEFAULT_PORTS:
            raise ValueError(f"not an SMTP target: {target.scheme}")
        self.target = target
        self.timeout = timeout
        self.ssl_context = ssl_context or ssl.create_default_context()

    def deliver(self, message: EmailMessage) -> None:
        _deliverable(message)
        try:
            self._send(message)
        except TransientMailError as error:
            log.warning("mail %s not delivered, to be tried again: %s", describe(message), error)
            raise
        except PermanentMailError as error:
            log.warning("mail %s not delivered, for good: %s", describe(message), error)
            raise
        log.info("mail %s delivered to %s", describe(message), self.target.host)

    def _send(self, message: EmailMessage) -> None:
        try:
            smtp = self._connect()
        except smtplib.SMTPConnectError as error:
            raise _response_error("greeted", error.smtp_code, error.smtp_error) from None
        except (smtplib.SMTPException, OSError) as error:
            raise TransientMailError(
                f"the SMTP server {self.target.host}:{self.target.port} cannot be reached "
                f"({type(error).__name__})"
            ) from None
        try:
            refused = self._hand_over(smtp, message)
        finally:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()  # the message is handed over or not: QUIT changes nothing
        if refused:  # some recipients took it, others refused it
            codes = [code for code, _ in refused.values()]
            raise _response_error("refused a recipient", max(codes), b"")

    def _connect(self) -> smtplib.SMTP:
        target = self.target
        if target.scheme == "smtps":
            return smtplib.SMTP_SSL(
                target.host, target.port, timeout=self.timeout, context=self.ssl_context
            )
        return smtplib.SMTP(target.host, target.port, timeout=self.timeout)

    def _hand_over(self, smtp: smtplib.SMTP, message: EmailMessage) -> dict[str, tuple[int, bytes]]:
        target = self.target
        try:
            smtp.ehlo()
            if target.scheme == "smtp":
                if smtp.has_extn("starttls"):
                    smtp.starttls(context=self.ssl_context)
                    smtp.ehlo()
                elif target.username and not _is_loopback(target.host):
                    raise PermanentMailError(
                        f"the SMTP server {target.host}:{target.port} does not offer STARTTLS: "
                        "the password is not sent in clear (use smtps:// or a server with TLS)"
                    )
            if target.username:
                smtp.login(target.username, target.password or "")
            return smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _ in error.recipients.values()]
            raise _response_error("refused the recipients", max(codes), b"") from None
        except smtplib.SMTPAuthenticationError as error:
            raise _response_error("refused the login", error.smtp_code, error.smtp_error) from None
        except smtplib.SMTPSenderRefused as error:
            raise _response_error("refused the sender", error.smtp_code, error.smtp_error) from None
        except smtplib.SMTPDataError as error:
            raise _response_error(
                "refused the message", error.smtp_code, error.smtp_error
            ) from None
        except smtplib.SMTPResponseException as error:
            raise _response_error("answered", error.smtp_code, error.smtp_error) from None
        except smtplib.SMTPNotSupportedError:
            raise PermanentMailError(
                f"the SMTP server {target.host}:{target.port} does not offer what is needed "
                "(AUTH for a user name, or SMTPUTF8 for an address that is not ASCII)"
            ) from None
        except (smtplib.SMTPException, OSError) as error:
            raise TransientMailError(
                f"the connection to the SMTP server {target.host}:{target.port} failed "
                f"({type(error).__name__})"
            ) from None


def _response_error(what: str, code: int, reply: bytes | str) -> MailDeliveryError:
    """An SMTP reply as an error: 4xx (and no reply at all) transient, 5xx permanent. Only the
    codes are kept: the server's words may repeat an address."""
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    status = re.match(r"\s*([245]\.\d{1,3}\.\d{1,3})\b", text)
    detail = f"the SMTP server {what}: {code}" + (f" {status.group(1)}" if status else "")
    if 500 <= code < 600:
        return PermanentMailError(detail)
    return TransientMailError(detail)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
