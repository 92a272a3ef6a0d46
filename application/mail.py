"""E-mails: the messages the service sends, and what delivering one may answer.

The outbox derives each message from an event and delivers it at least once; a receiver drops
duplicates by the message's `Message-ID`, stable for a message however often it is delivered
(`message_id`). How a message is worded is a template's business (`MailRenderer`), how it
travels a transport's (`MailTransport`): both are implemented in infrastructure/.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from collections.abc import Sequence
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from enum import Enum
from typing import Any
from typing import NamedTuple
from typing import Protocol

from domain.values import Language

MESSAGE_ID_DOMAIN = "p2b-mediation"
TEMPLATE_HEADER = "X-Mediation-Template"
"""Names the message's template: with the Message-ID, all a log may say about a message."""


class Audience(Enum):
    """Who a message is written to."""

    BUSINESS = "business"
    PLATFORM = "platform"


class MailTemplate(Enum):
    """Each message the service sends, named as its template files are."""

    # To the business, at each step of its case.
    ACKNOWLEDGEMENT = "acknowledgement"
    SENT_TO_PLATFORM = "sent_to_platform"
    PLATFORM_ANSWERED = "platform_answered"
    ESCALATED = "escalated"
    OUTCOME = "outcome"
    # To the platform's contact addresses.
    CASE_SENT = "case_sent"
    REMINDER = "reminder"

    @property
    def audience(self) -> Audience:
        platform = {MailTemplate.CASE_SENT, MailTemplate.REMINDER}
        return Audience.PLATFORM if self in platform else Audience.BUSINESS


class RenderedMail(NamedTuple):
    """A message as its template words it: a one-line subject, plain text and HTML."""

    subject: str
    text: str
    html: str


class MailRenderer(Protocol):
    """Words a message from its template, in a language, with the facts of its context."""

    def render(
        self, template: MailTemplate | str, language: Language | str, context: Mapping[str, Any]
    ) -> RenderedMail: ...


class MailDeliveryError(Exception):
    """Delivering a message failed; the message says how without naming any recipient."""


class TransientMailError(MailDeliveryError):
    """It may work later (the server is down or busy, an SMTP 4xx): try again, backing off."""


class PermanentMailError(MailDeliveryError):
    """It will not work as it is (an SMTP 5xx, a message that cannot be sent): do not retry."""


class MailTransport(Protocol):
    """Hands a message over for delivery, or raises a MailDeliveryError saying which kind."""

    def deliver(self, message: EmailMessage) -> None: ...


def message_id(key: object) -> str:
    """The Message-ID of the message `key` names (an outbox row's id): the same every time."""
    local = re.sub(r"[^A-Za-z0-9._-]", "-", str(key)).strip(".-")
    if not local:
        raise ValueError(f"a Message-ID needs a key of letters or digits, not {key!r}")
    return f"<{local}@{MESSAGE_ID_DOMAIN}>"


def build_message(
    *,
    sender: str,
    to: Sequence[str],
    rendered: RenderedMail,
    message_id: str,
    template: MailTemplate,
    language: Language,
    date: datetime,
) -> EmailMessage:
    """The message to deliver: plain text with its HTML alternative, the stable Message-ID
    given, marked as sent by a machine (RFC 3834) so that auto-replies do not answer it."""
    if not to:
        raise ValueError("a message needs at least one recipient")
    if not re.fullmatch(r"<[^<>@\s]+@[^<>@\s]+>", message_id):
        raise ValueError(f"not a Message-ID: {message_id!r} (e.g. <id@{MESSAGE_ID_DOMAIN}>)")
    message = EmailMessage()
    message["From"] = sender
    message["To"] = [Address(addr_spec=address) for address in to]
    message["Subject"] = " ".join(rendered.subject.split())
    message["Message-ID"] = message_id
    message["Date"] = format_datetime(date)
    message["Auto-Submitted"] = "auto-generated"
    message[TEMPLATE_HEADER] = template.value
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    message["Content-Language"] = language.value  # after: making it multipart moves Content-*
    return message
