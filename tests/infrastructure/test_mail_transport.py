"""Mail delivery: to a real SMTP server on loopback (plain, STARTTLS, implicit TLS), and to a
folder of .eml files; what fails says whether to try again, and logs name no one."""

from __future__ import annotations

import email
import email.policy
import logging
import socket
from datetime import UTC
from datetime import datetime
from pathlib import Path

import pytest

from application.mail import MailTemplate
from application.mail import PermanentMailError
from application.mail import RenderedMail
from application.mail import TransientMailError
from application.mail import build_message
from application.mail import message_id
from domain.values import Language
from infrastructure.mail_transport import FolderTransport
from infrastructure.mail_transport import MailTarget
from infrastructure.mail_transport import SmtpTransport
from infrastructure.mail_transport import parse_mail_url
from infrastructure.mail_transport import transport_for
from infrastructure.settings import SettingsError
from infrastructure.settings import load_settings
from tests.smtp_server import Inbox
from tests.smtp_server import free_port
from tests.smtp_server import smtp_server

SENDER = "Médiation P2B <mediation@mediation.example>"
BUSINESS = "jeanne@atelier-dupont.example"
RENDERED = RenderedMail(
    subject="Votre signalement est enregistré",
    text="Bonjour,\nVotre code de suivi : ABCD-EFGH.\n",
    html="<p>Bonjour,</p><p>Votre code de suivi : <b>ABCD-EFGH</b>.</p>",
)


def message(key: str = "42", to: tuple[str, ...] = (BUSINESS,)) -> email.message.EmailMessage:
    return build_message(
        sender=SENDER,
        to=to,
        rendered=RENDERED,
        message_id=message_id(key),
        template=MailTemplate.ACKNOWLEDGEMENT,
        language=Language.FR,
        date=datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
    )


def smtp(port: int, scheme: str = "smtp", user: str = "", **options: object) -> SmtpTransport:
    credentials = f"{user}@" if user else ""
    target = parse_mail_url(f"{scheme}://{credentials}127.0.0.1:{port}")
    return SmtpTransport(target, timeout=5, **options)  # type: ignore[arg-type]


def test_a_message_is_text_and_html_alternatives_with_the_message_id_given() -> None:
    built = message("7f0c2a9e-outbox-1")
    assert built["Message-ID"] == "<7f0c2a9e-outbox-1@p2b-mediation>"
    assert built.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in built.iter_parts()] == [
        "text/plain",
        "text/html",
    ]
    assert built["Auto-Submitted"] == "auto-generated"
    assert built["Content-Language"] == "fr"
    assert built["X-Mediation-Template"] == "acknowledgement"
    assert built["Date"] == "Mon, 02 Mar 2026 09:00:00 +0000"
    assert message_id(12345) == "<12345@p2b-mediation>"
    with pytest.raises(ValueError, match="Message-ID"):
        build_message(
            sender=SENDER,
            to=[BUSINESS],
            rendered=RENDERED,
            message_id="42",
            template=MailTemplate.ACKNOWLEDGEMENT,
            language=Language.FR,
            date=datetime(2026, 3, 2, tzinfo=UTC),
        )


def test_a_subject_stays_one_line() -> None:
    built = build_message(
        sender=SENDER,
        to=[BUSINESS],
        rendered=RENDERED._replace(subject="Case\r\nBcc: someone@example.org"),
        message_id=message_id(1),
        template=MailTemplate.ACKNOWLEDGEMENT,
        language=Language.EN,
        date=datetime(2026, 3, 2, tzinfo=UTC),
    )
    assert built["Subject"] == "Case Bcc: someone@example.org"
    assert built["Bcc"] is None


def test_smtp_delivers_the_message_with_its_message_id_and_both_alternatives() -> None:
    with smtp_server() as server:
        smtp(server.port).deliver(message())
    (received,) = server.received
    assert received.mail_from == "mediation@mediation.example"
    assert received.rcpt_tos == [BUSINESS]
    assert received.message["Message-ID"] == "<42@p2b-mediation>"
    assert received.message["Subject"] == RENDERED.subject
    assert received.message.get_content_type() == "multipart/alternative"
    text = received.message.get_body(("plain",))
    html = received.message.get_body(("html",))
    assert text is not None
    assert html is not None
    assert "ABCD-EFGH" in text.get_content()
    assert "<b>ABCD-EFGH</b>" in html.get_content()
    assert not received.tls


def test_smtp_switches_to_tls_when_offered_then_logs_in(tmp_path: Path) -> None:
    with smtp_server(tmp_path, tls="starttls", credentials=("mailer", "s3cret:pass")) as server:
        smtp(server.port, user="mailer:s3cret%3Apass", ssl_context=server.client_context).deliver(
            message()
        )
    (received,) = server.received
    assert (received.tls, received.login) == (True, "mailer")
    assert received.message["Message-ID"] == "<42@p2b-mediation>"


def test_smtps_speaks_tls_from_the_first_byte(tmp_path: Path) -> None:
    with smtp_server(tmp_path, tls="implicit", credentials=("mailer", "pw")) as server:
        transport = transport_for(
            parse_mail_url(f"smtps://mailer:pw@127.0.0.1:{server.port}"),
            timeout=5,
            ssl_context=server.client_context,
        )
        transport.deliver(message())
    (received,) = server.received
    assert (received.tls, received.login) == (True, "mailer")


def test_a_certificate_not_trusted_is_a_transient_failure(tmp_path: Path) -> None:
    with (
        smtp_server(tmp_path, tls="starttls") as server,
        pytest.raises(TransientMailError, match="SSLCertVerificationError"),
    ):
        smtp(server.port).deliver(message())  # the system's trust store: not the test's
    assert server.received == []


def test_a_password_goes_in_clear_only_to_a_server_on_this_machine(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with smtp_server(credentials=("mailer", "pw")) as server:
        smtp(server.port, user="mailer:pw").deliver(message())  # loopback: allowed
        monkeypatch.setattr("infrastructure.mail_transport._is_loopback", lambda host: False)
        with pytest.raises(PermanentMailError, match="does not offer STARTTLS"):
            smtp(server.port, user="mailer:pw").deliver(message("43"))
    assert [r.message["Message-ID"] for r in server.received] == ["<42@p2b-mediation>"]


def test_a_wrong_password_is_a_permanent_failure() -> None:
    with (
        smtp_server(credentials=("mailer", "pw")) as server,
        pytest.raises(PermanentMailError, match="refused the login: 535"),
    ):
        smtp(server.port, user="mailer:wrong").deliver(message())


def test_a_server_down_is_a_transient_failure() -> None:
    with pytest.raises(TransientMailError, match="cannot be reached"):
        smtp(free_port()).deliver(message())


@pytest.mark.parametrize(
    ("reply", "error", "said"),
    [
        ("451 4.3.0 Try again later", TransientMailError, "refused the message: 451 4.3.0"),
        ("552 5.3.4 Message too big", PermanentMailError, "refused the message: 552 5.3.4"),
        ("554 Transaction failed", PermanentMailError, "refused the message: 554"),
    ],
)
def test_a_4xx_is_transient_and_a_5xx_permanent(
    reply: str, error: type[Exception], said: str
) -> None:
    with smtp_server(inbox=Inbox(data_reply=reply)) as server, pytest.raises(error) as raised:
        smtp(server.port).deliver(message())
    assert str(raised.value).endswith(said)


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (f"550 5.1.1 <{BUSINESS}>: Recipient address rejected", PermanentMailError),
        (f"450 4.2.0 <{BUSINESS}>: Mailbox busy", TransientMailError),
    ],
)
def test_a_refused_recipient_is_said_by_its_codes_without_its_address(
    reply: str, error: type[Exception], caplog: pytest.LogCaptureFixture
) -> None:
    inbox = Inbox(rcpt_reply={BUSINESS: reply})
    with smtp_server(inbox=inbox) as server, pytest.raises(error) as raised:
        smtp(server.port).deliver(message())
    assert str(raised.value).startswith("the SMTP server refused the recipients: ")
    assert BUSINESS not in str(raised.value)
    assert BUSINESS not in caplog.text


def test_one_recipient_of_two_refused_fails_the_delivery() -> None:
    inbox = Inbox(rcpt_reply={"gone@platform.example": "550 5.1.1 no such user"})
    with smtp_server(inbox=inbox) as server, pytest.raises(PermanentMailError, match="550"):
        smtp(server.port).deliver(message(to=("legal@platform.example", "gone@platform.example")))
    assert [r.rcpt_tos for r in server.received] == [["legal@platform.example"]]


def test_logs_name_a_message_by_its_message_id_and_template_only(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="mediation.mail")
    with smtp_server() as server:
        smtp(server.port).deliver(message())
    with (
        smtp_server(inbox=Inbox(data_reply="554 5.7.1 rejected")) as server,
        pytest.raises(PermanentMailError),
    ):
        smtp(server.port).deliver(message("43"))
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 2
    assert "<42@p2b-mediation> (acknowledgement)" in lines[0]
    assert "<43@p2b-mediation> (acknowledgement)" in lines[1]
    for secret in (BUSINESS, "jeanne", "ABCD-EFGH", "signalement", "mediation@mediation.example"):
        assert secret not in caplog.text


@pytest.mark.parametrize(
    ("header", "said"), [("Message-ID", "no Message-ID"), ("To", "no recipient")]
)
def test_a_message_without_a_message_id_or_a_recipient_is_refused_for_good(
    tmp_path: Path, header: str, said: str
) -> None:
    built = message()
    del built[header]
    with pytest.raises(PermanentMailError, match=said):
        FolderTransport(tmp_path).deliver(built)
    with pytest.raises(PermanentMailError, match=said):
        smtp(free_port()).deliver(built)
    assert list(tmp_path.iterdir()) == []


def test_a_server_that_never_answers_is_a_transient_failure() -> None:
    with socket.socket() as silent:  # accepts connections (its backlog) and never greets
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        target = parse_mail_url(f"smtp://127.0.0.1:{silent.getsockname()[1]}")
        with pytest.raises(TransientMailError, match="cannot be reached"):
            SmtpTransport(target, timeout=0.3).deliver(message())


def test_the_folder_gets_one_eml_file_per_message_named_by_its_message_id(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "outbox"
    transport = transport_for(parse_mail_url(f"folder:{folder}"))
    transport.deliver(message("42"))
    transport.deliver(message("42"))  # delivered again: the same file
    transport.deliver(message("43"))
    assert sorted(p.name for p in folder.iterdir()) == [
        "42@p2b-mediation.eml",
        "43@p2b-mediation.eml",
    ]
    written = email.message_from_bytes(
        (folder / "42@p2b-mediation.eml").read_bytes(), policy=email.policy.default
    )
    assert written["Message-ID"] == "<42@p2b-mediation>"
    assert written["To"] == BUSINESS
    assert written.get_content_type() == "multipart/alternative"
    assert folder.stat().st_mode & 0o777 == 0o700  # messages hold personal data
    assert (folder / "42@p2b-mediation.eml").stat().st_mode & 0o077 == 0


def test_a_file_is_whole_or_absent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def full_disk(source: object, target: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("infrastructure.mail_transport.os.replace", full_disk)
    with pytest.raises(TransientMailError, match="No space left on device"):
        FolderTransport(tmp_path).deliver(message())
    assert list(tmp_path.iterdir()) == []  # no temporary file left, no half message


def test_a_folder_that_cannot_be_written_is_a_transient_failure(tmp_path: Path) -> None:
    (tmp_path / "outbox").write_text("a file, not a folder")
    with pytest.raises(TransientMailError, match="cannot be written"):
        FolderTransport(tmp_path / "outbox").deliver(message())


def test_the_default_is_a_folder_and_no_password_is_shown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("MEDIATION_MAIL_URL", "MEDIATION_MAIL_FROM"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings()
    assert settings.mail_target == MailTarget("folder", folder=Path("outbox"))
    assert "@" in settings.mail_from
    settings = load_settings(mail_url="smtp://mailer:p%40ss@mail.example:587")
    assert settings.mail_target == MailTarget(
        "smtp", host="mail.example", port=587, username="mailer", password="p@ss"
    )
    assert settings.mail_target.describe() == "smtp://mailer@mail.example:587"
    assert "p@ss" not in repr(settings)
    assert "p%40ss" not in repr(settings)
    assert "p@ss" not in repr(settings.mail_target)
    assert parse_mail_url("smtps://mail.example").port == 465
    assert parse_mail_url("smtp://mail.example").port == 25


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("MEDIATION_MAIL_URL", "mailto:someone@example.org", "a mail URL is smtp://"),
        ("MEDIATION_MAIL_URL", "smtp://u:secret@", "smtp: needs a host"),
        ("MEDIATION_MAIL_URL", "smtp://u:secret@host:99999", "the port is not a number"),
        ("MEDIATION_MAIL_URL", "smtps://:secret@host", "a password needs its user name"),
        ("MEDIATION_MAIL_URL", "smtp://u:secret@host/x", "nothing may follow host:port"),
        ("MEDIATION_MAIL_URL", "folder:", "folder: needs a path"),
        ("MEDIATION_MAIL_FROM", "mediation", "one e-mail address"),
        ("MEDIATION_MAIL_FROM", "a@example.org, b@example.org", "one e-mail address"),
        ("MEDIATION_MAIL_FROM", "a@example.org\nBcc: b@example.org", "one e-mail address"),
        ("MEDIATION_MAIL_TIMEOUT_SECONDS", "0", "greater than 0"),
    ],
)
def test_a_bad_mail_setting_stops_the_start_in_one_line(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as raised:
        load_settings()
    assert str(raised.value).startswith(f"{variable}: ")
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)
    assert "secret" not in str(raised.value)
