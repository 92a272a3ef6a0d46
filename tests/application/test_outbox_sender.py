"""The outbox's sender, against a real SMTP server on loopback: each message goes out under the
Message-ID its entry names, a failure that may pass is tried again later and later, one that
will not pass (or too many) makes a dead letter, and no one is written to after an erasure.

The outbox here is a plain dictionary: the store's own contract is tested with the store."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from uuid import UUID

import pytest

from application.clock import SettableClock
from application.mail import MailTemplate
from application.mail import message_id
from application.mediation import MediationApplication
from application.mediation import ReportRequest
from application.notifications import notices_for
from application.outbox import Backoff
from application.outbox import Delivery
from application.outbox import MailSettings
from application.outbox import OutboxEntry
from application.outbox import OutboxSender
from domain.platforms import BUILTIN_PLATFORMS
from domain.platforms import KnownPlatform
from domain.platforms import Platform
from domain.values import Category
from domain.values import PersonalText
from domain.values import Priority
from infrastructure.mail_rendering import renderer
from infrastructure.mail_transport import MailTarget
from infrastructure.mail_transport import transport_for
from interfaces.composition import open_application
from tests.conftest import START
from tests.conftest import settings_for
from tests.domain.factories import company
from tests.smtp_server import Inbox
from tests.smtp_server import smtp_server

AMAZON = KnownPlatform.parse(
    key="amazon", name="Amazon", contacts=["p2b@amazon.example"], portal=True
)
SETTINGS = MailSettings(
    sender="mediation@mediation.example",
    public_url="https://mediation.example",
    platforms=BUILTIN_PLATFORMS.with_platform(AMAZON),
)


class DictOutbox:
    """The Outbox protocol over a dictionary."""

    def __init__(self) -> None:
        self.rows: dict[UUID, OutboxEntry] = {}

    def add(self, entry: OutboxEntry) -> None:
        self.rows[entry.notice.id] = entry

    def lease(self, now: datetime, until: datetime, limit: int) -> list[OutboxEntry]:
        due = [
            e
            for e in self.rows.values()
            if e.delivery is Delivery.PENDING and e.next_attempt_at and e.next_attempt_at <= now
        ][:limit]
        for entry in due:
            self.rows[entry.notice.id] = replace(entry, next_attempt_at=until)
        return due

    def delivered(self, entry_id: UUID, at: datetime) -> None:
        entry = self.rows[entry_id]
        self.rows[entry_id] = replace(entry, delivery=Delivery.SENT, sent_at=at)

    def failed(self, entry_id: UUID, error: str, retry_at: datetime | None) -> None:
        entry = self.rows[entry_id]
        self.rows[entry_id] = replace(
            entry,
            delivery=Delivery.PENDING if retry_at else Delivery.DEAD,
            attempts=entry.attempts + 1,
            next_attempt_at=retry_at,
            last_error=error,
        )

    def cancelled(self, entry_id: UUID, reason: str) -> None:
        entry = self.rows[entry_id]
        self.rows[entry_id] = replace(entry, delivery=Delivery.CANCELLED, last_error=reason)

    def retry(self, entry_id: UUID, now: datetime) -> bool:
        entry = self.rows[entry_id]
        if entry.delivery is not Delivery.DEAD:
            return False
        self.rows[entry_id] = replace(
            entry, delivery=Delivery.PENDING, attempts=0, next_attempt_at=now
        )
        return True

    def counts(self) -> dict[Delivery, int]:
        return {d: sum(e.delivery is d for e in self.rows.values()) for d in Delivery}

    def entries(self, delivery: Delivery, limit: int) -> list[OutboxEntry]:
        return [e for e in self.rows.values() if e.delivery is delivery][:limit]


@pytest.fixture
def clock() -> SettableClock:
    return SettableClock(START)


@pytest.fixture
def mediation(
    tmp_path: Path, request: pytest.FixtureRequest, clock: SettableClock
) -> Iterator[MediationApplication]:
    app = open_application(settings_for("memory", tmp_path, request), clock)
    yield app
    app.close()


def a_case_sent_to_amazon(mediation: MediationApplication, outbox: DictOutbox) -> UUID:
    """A case reported, qualified and sent; its messages in the outbox as the projection would
    put them, due at once."""
    report = ReportRequest(
        company=company(),
        platform=Platform.parse("Amazon"),
        description=PersonalText("Delisted without a reason."),
        occurred_on=START.date(),
    )
    case_id = mediation.report_case(report, actor="reporter").case_id
    summary = PersonalText("Delisting.")
    mediation.qualify_case(
        case_id, category=Category.DELISTING, priority=Priority.NORMAL, summary=summary, actor="a"
    )
    mediation.send_to_platform(case_id, message=PersonalText("Please explain."), actor="alice")
    for event in mediation.events.get(case_id):
        for notice in notices_for(event):
            outbox.add(OutboxEntry(notice, Delivery.PENDING, 0, mediation.clock.now()))
    return case_id


def sender_to(
    port: int, outbox: DictOutbox, mediation: MediationApplication, clock: SettableClock
) -> OutboxSender:
    transport = transport_for(MailTarget("smtp", "127.0.0.1", port), timeout=5)
    return OutboxSender(outbox, mediation, transport, renderer(), SETTINGS, clock=clock)


def test_each_message_arrives_under_the_message_id_of_its_entry(
    mediation: MediationApplication, clock: SettableClock
) -> None:
    outbox = DictOutbox()
    case_id = a_case_sent_to_amazon(mediation, outbox)
    with smtp_server() as server:
        run = sender_to(server.port, outbox, mediation, clock).send_due()
    assert len(run.sent) == len(outbox.rows) == 3
    assert outbox.counts()[Delivery.SENT] == 3
    received = {r.message["Message-ID"]: r for r in server.received}
    assert set(received) == {message_id(i) for i in outbox.rows}
    for entry in outbox.rows.values():
        got = received[message_id(entry.notice.id)]
        if entry.notice.template is MailTemplate.CASE_SENT:
            assert got.rcpt_tos == list(AMAZON.contacts)
            assert str(case_id) in got.message.get_body(("plain",)).get_content()
        else:
            assert got.rcpt_tos == [company().contact_email.text]
    tracking_code = str(mediation.get_case(case_id).tracking_code)
    [ack] = [r for r in server.received if r.message["X-Mediation-Template"] == "acknowledgement"]
    assert tracking_code in ack.message.get_body(("plain",)).get_content()


def test_a_failure_that_may_pass_is_tried_again_later_and_later_then_given_up(
    mediation: MediationApplication, clock: SettableClock
) -> None:
    outbox = DictOutbox()
    a_case_sent_to_amazon(mediation, outbox)
    backoff = Backoff(first=timedelta(minutes=1), longest=timedelta(minutes=8), attempts=5)
    inbox = Inbox(data_reply="451 try again later")
    with smtp_server(inbox=inbox) as server:
        sender = sender_to(server.port, outbox, mediation, clock)
        sender.backoff = backoff
        waits = []
        for failures in range(1, 5):
            before = clock.now()
            run = sender.send_due()
            assert len(run.failed) == 3, failures
            assert sender.send_due().failed == []  # none due before its time
            [wait] = {e.next_attempt_at - before for e in outbox.rows.values()}  # type: ignore[operator]
            waits.append(wait)
            clock.advance(wait)
        assert waits == [timedelta(minutes=m) for m in (1, 2, 4, 8)]
        run = sender.send_due()  # the fifth failure: given up
        assert len(run.dead) == 3
        assert outbox.counts()[Delivery.DEAD] == 3
        assert server.received == []

        inbox.data_reply = None  # the server mended: an operator retries the dead letters
        for entry_id in list(outbox.rows):
            assert outbox.retry(entry_id, clock.now())
        assert len(sender.send_due().sent) == 3
    assert len(server.received) == 3


def test_a_refusal_is_a_dead_letter_at_once(
    mediation: MediationApplication, clock: SettableClock
) -> None:
    outbox = DictOutbox()
    a_case_sent_to_amazon(mediation, outbox)
    with smtp_server(inbox=Inbox(data_reply="554 no thanks")) as server:
        run = sender_to(server.port, outbox, mediation, clock).send_due()
    assert len(run.dead) == 3
    assert all(e.attempts == 1 and e.last_error for e in outbox.rows.values())


def test_a_server_that_is_not_there_is_a_failure_that_may_pass(
    mediation: MediationApplication, clock: SettableClock
) -> None:
    outbox = DictOutbox()
    a_case_sent_to_amazon(mediation, outbox)
    with smtp_server() as server:
        port = server.port
    run = sender_to(port, outbox, mediation, clock).send_due()  # the server has stopped
    assert len(run.failed) == 3
    assert outbox.counts()[Delivery.PENDING] == 3


def test_after_an_erasure_the_business_is_written_to_no_more(
    mediation: MediationApplication, clock: SettableClock
) -> None:
    outbox = DictOutbox()
    case_id = a_case_sent_to_amazon(mediation, outbox)
    mediation.erase_personal_data(case_id, reason="request", actor="dpo")
    with smtp_server() as server:
        run = sender_to(server.port, outbox, mediation, clock).send_due()
    assert len(run.cancelled) == 2  # the acknowledgement and the step, to the business
    assert [r.rcpt_tos for r in server.received] == [list(AMAZON.contacts)]
    sent = server.received[0].message.get_body(("plain",)).get_content()
    assert company().contact_email.text not in sent
