"""The outbox: the e-mails the events called for, and their delivery.

The outbox projection keeps one entry per message an event calls for (application.
notifications), in the same transaction as its position in the log: exactly once. The sender
delivers them at least once: it leases the entries that are due (so that two senders never
take the same one, and an entry whose sender died is taken again when its lease runs out),
words each from the case as it stood right after its event, and hands it to the transport
under a Message-ID that never changes, by which a receiver drops a duplicate. A failure that
may pass is tried again later and later (`Backoff`); after too many, or one that will not
pass, the entry is a dead letter, shown by /readyz, /metrics and `mediation mail status`,
until `mediation mail retry` sends it again. No entry holds an address or any other personal
data: an erasure leaves the business nothing to be written to.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import KW_ONLY
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from datetime import timedelta
from enum import Enum
from typing import TYPE_CHECKING
from typing import Protocol
from uuid import UUID

from application.clock import Clock
from application.errors import CaseNotFound
from application.mail import MailDeliveryError
from application.mail import MailRenderer
from application.mail import MailTransport
from application.mail import PermanentMailError
from application.mail import TransientMailError
from application.mail import build_message
from application.mail import message_id
from application.notifications import Notice
from application.notifications import addressed
from domain.platforms import PlatformDirectory

if TYPE_CHECKING:  # the application imports the projections, which import this module
    from application.mediation import MediationApplication

log = logging.getLogger("mediation.mail")


class Delivery(Enum):
    """Where a message stands."""

    PENDING = "pending"  # to be sent, at `next_attempt_at`
    SENT = "sent"
    DEAD = "dead"  # given up on: a dead letter, until retried
    CANCELLED = "cancelled"  # no one to write to (an erased business, a platform without contact)


@dataclass(frozen=True)
class OutboxEntry:
    """A message of the outbox and how its delivery goes."""

    notice: Notice
    delivery: Delivery
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None = None
    sent_at: datetime | None = None


class OutboxLog(Protocol):
    """The outbox as its projection writes it."""

    name: str

    def position(self) -> int: ...

    def apply(self, notices: Sequence[tuple[Notice, datetime]], position: int) -> bool:
        """Add the notices, each due at the instant given, with `position`, once."""
        ...


class Outbox(Protocol):
    """The outbox's entries, for its sender and its operators."""

    def lease(self, now: datetime, until: datetime, limit: int) -> list[OutboxEntry]:
        """Up to `limit` pending entries due by `now`, each now due again only at `until`
        (another sender skips them meanwhile)."""
        ...

    def delivered(self, entry_id: UUID, at: datetime) -> None: ...

    def failed(self, entry_id: UUID, error: str, retry_at: datetime | None) -> None:
        """One attempt more; pending again at `retry_at`, or dead if None."""
        ...

    def cancelled(self, entry_id: UUID, reason: str) -> None: ...

    def retry(self, entry_id: UUID, now: datetime) -> bool:
        """A dead letter pending again, its attempts counted anew; whether there was one."""
        ...

    def counts(self) -> dict[Delivery, int]: ...

    def entries(self, delivery: Delivery, limit: int) -> list[OutboxEntry]: ...


@dataclass(frozen=True)
class Backoff:
    """When a message that failed is tried again: 1 minute after the first failure, then twice
    as long each time up to 6 hours; after 10 failures (about 2 days) it is a dead letter."""

    first: timedelta = timedelta(minutes=1)
    longest: timedelta = timedelta(hours=6)
    attempts: int = 10

    def retry_after(self, failures: int) -> timedelta | None:
        """The wait after `failures` failures in a row; None: give up."""
        if failures >= self.attempts:
            return None
        wait: timedelta = self.first * 2 ** (failures - 1)
        return min(wait, self.longest)


LEASE = timedelta(minutes=5)
"""By default, how long a sender may take over a message before another may take it again."""


@dataclass
class SendRun:
    """What one pass of the sender did."""

    sent: list[UUID] = field(default_factory=list)
    failed: list[UUID] = field(default_factory=list)
    dead: list[UUID] = field(default_factory=list)
    cancelled: list[UUID] = field(default_factory=list)


@dataclass(frozen=True)
class MailSettings:
    """What the sender needs to know of the deployment."""

    sender: str  # the From address
    public_url: str  # where the tracking pages and the portal are, for the links
    platforms: PlatformDirectory
    lease: timedelta = LEASE  # a message a sender took is another's again after this


@dataclass(eq=False)  # a service: equal only to itself
class OutboxSender:
    """Delivers the outbox's due messages, at least once each."""

    outbox: Outbox
    mediation: MediationApplication
    transport: MailTransport
    renderer: MailRenderer
    settings: MailSettings
    _: KW_ONLY
    clock: Clock
    backoff: Backoff = field(default_factory=Backoff)

    def send_due(self, limit: int = 100) -> SendRun:
        """Send the messages due now, up to `limit` of them."""
        now = self.clock.now()
        run = SendRun()
        for entry in self.outbox.lease(now, now + self.settings.lease, limit):
            self._send(entry, run)
        return run

    def _send(self, entry: OutboxEntry, run: SendRun) -> None:
        notice, now = entry.notice, self.clock.now()
        try:
            case = self.mediation.get_case(notice.case_id, version=notice.case_version)
        except CaseNotFound:
            self.outbox.failed(notice.id, "case not found", None)
            run.dead.append(notice.id)
            return
        mail = addressed(notice, case, self.settings.platforms, self.settings.public_url)
        if mail is None:
            self.outbox.cancelled(notice.id, "no one to write to")
            run.cancelled.append(notice.id)
            return
        identity = message_id(notice.id)
        message = build_message(
            sender=self.settings.sender,
            to=mail.to,
            rendered=self.renderer.render(notice.template, mail.language, mail.context),
            message_id=identity,
            template=notice.template,
            language=mail.language,
            date=now,
        )
        try:
            self.transport.deliver(message)
        except MailDeliveryError as error:
            self._failed(entry, error, now, run)
            return
        self.outbox.delivered(notice.id, now)
        run.sent.append(notice.id)
        log.info("sent %s %s", notice.template.value, identity)

    def _failed(
        self, entry: OutboxEntry, error: MailDeliveryError, now: datetime, run: SendRun
    ) -> None:
        wait = None
        if isinstance(error, TransientMailError):
            wait = self.backoff.retry_after(entry.attempts + 1)
        else:
            assert isinstance(error, PermanentMailError)
        self.outbox.failed(entry.notice.id, str(error), None if wait is None else now + wait)
        (run.failed if wait is not None else run.dead).append(entry.notice.id)
        identity = message_id(entry.notice.id)
        if wait is None:
            log.warning("gave up on %s %s: %s", entry.notice.template.value, identity, error)
        else:
            log.info(
                "will retry %s %s in %s: %s", entry.notice.template.value, identity, wait, error
            )
