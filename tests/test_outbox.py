"""The outbox: its store on every backend, its projection (each message added once, with the
position), and the e-mails delivered through a real SMTP server on loopback, at least once
each under a Message-ID that never changes; what operators see of it (/readyz, /metrics,
`mediation mail`).

No test sleeps to wait for a projection: each catches the runner up, or waits for a position."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from application.clock import SettableClock
from application.mail import MailTemplate
from application.mail import message_id
from application.mediation import MediationApplication
from application.notifications import Notice
from application.outbox import Delivery
from application.outbox import Outbox
from infrastructure.outbox_store import NAME as OUTBOX
from infrastructure.outbox_store import outbox_for
from infrastructure.settings import Settings
from interfaces.cli import cli
from interfaces.composition import mail_sender
from interfaces.composition import open_application
from interfaces.composition import projection_runner
from interfaces.http.app import create_app
from tests.conftest import START
from tests.conftest import auth
from tests.conftest import report_body
from tests.conftest import settings_for
from tests.conftest import store_environment
from tests.smtp_server import Inbox
from tests.smtp_server import smtp_server

QUALIFY = {"category": "delisting", "priority": "normal", "summary": "Delisted."}
SEND = {"message": "Please state your reasons."}


def notices(n: int) -> list[Notice]:
    case_id = uuid4()
    templates = list(MailTemplate)
    return [Notice(uuid4(), case_id, i + 1, templates[i % len(templates)]) for i in range(n)]


# The store's contract, on every backend.


def test_notices_are_added_once_with_the_position(mediation: MediationApplication) -> None:
    outbox = outbox_for(mediation.recorder, head=0)
    batch = [(n, START) for n in notices(3)]
    assert outbox.apply(batch, 3)
    assert not outbox.apply(batch, 3)  # that position was applied: nothing again
    assert outbox.apply(batch[:1], 4)  # the same notice at a later position: still one entry
    assert outbox.position() == 4
    assert outbox.counts()[Delivery.PENDING] == 3
    pending = outbox.entries(Delivery.PENDING, 10)
    assert {e.notice for e in pending} == {n for n, _ in batch}
    assert all(e.attempts == 0 and e.next_attempt_at == START for e in pending)


def test_a_new_outbox_starts_at_the_head_of_the_log(
    durable_settings: Settings, clock: SettableClock
) -> None:
    application = open_application(durable_settings, clock)
    try:
        assert outbox_for(application.recorder, head=42).position() == 42
        assert outbox_for(application.recorder, head=99).position() == 42  # made once
    finally:
        application.close()


def test_a_leased_entry_is_not_leased_again_until_its_lease_runs_out(
    mediation: MediationApplication,
) -> None:
    outbox = outbox_for(mediation.recorder, head=0)
    outbox.apply([(n, START) for n in notices(5)], 1)
    lease = START + timedelta(minutes=5)
    first = outbox.lease(START, lease, 3)
    second = outbox.lease(START, lease, 3)
    assert len(first) == 3
    assert len(second) == 2
    assert not {e.notice.id for e in first} & {e.notice.id for e in second}
    assert outbox.lease(START + timedelta(minutes=4), lease, 10) == []
    assert len(outbox.lease(lease, lease + timedelta(minutes=5), 10)) == 5


def test_deliveries_are_recorded(mediation: MediationApplication) -> None:
    outbox = outbox_for(mediation.recorder, head=0)
    sent, retried, dead, cancelled = notices(4)
    outbox.apply([(n, START) for n in (sent, retried, dead, cancelled)], 1)
    later = START + timedelta(minutes=1)
    outbox.delivered(sent.id, START)
    outbox.failed(retried.id, "421 busy", later)
    outbox.failed(dead.id, "550 no such user", None)
    outbox.cancelled(cancelled.id, "no one to write to")
    counts = outbox.counts()
    assert [counts[d] for d in Delivery] == [1, 1, 1, 1]
    [again] = outbox.entries(Delivery.PENDING, 10)
    assert (again.notice, again.attempts, again.next_attempt_at) == (retried, 1, later)
    [letter] = outbox.entries(Delivery.DEAD, 10)
    assert (letter.notice, letter.last_error) == (dead, "550 no such user")
    assert outbox.entries(Delivery.SENT, 10)[0].sent_at == START
    assert not outbox.retry(sent.id, later)  # only a dead letter is retried
    assert outbox.retry(dead.id, later)
    assert outbox.counts()[Delivery.DEAD] == 0
    assert {e.notice for e in outbox.lease(later, later + timedelta(minutes=5), 10)} == {
        retried,
        dead,
    }


@pytest.mark.postgres
def test_two_senders_leasing_at_once_never_take_the_same_entry(
    tmp_path: Path, request: pytest.FixtureRequest, clock: SettableClock
) -> None:
    settings = settings_for("postgres", tmp_path, request)
    application = open_application(settings, clock)
    try:
        outbox = outbox_for(application.recorder, head=0)
        outbox.apply([(n, START) for n in notices(200)], 1)
        taken: list[list[Any]] = [[], []]
        start = threading.Barrier(2)

        def take(mine: list[Any]) -> None:
            start.wait()
            while batch := outbox.lease(START, START + timedelta(hours=1), 7):
                mine += [e.notice.id for e in batch]

        threads = [threading.Thread(target=take, args=(t,)) for t in taken]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not set(taken[0]) & set(taken[1])
        assert len(taken[0]) + len(taken[1]) == 200
    finally:
        application.close()


# Through the service: events, projection, sender, SMTP.


@pytest.fixture
def mailed(
    durable_store: str, tmp_path: Path, request: pytest.FixtureRequest, clock: SettableClock
) -> Iterator[tuple[TestClient, Inbox, Settings]]:
    """The service writing to a real SMTP server on loopback (the projections run in it, the
    sender is run by the test)."""
    inbox = Inbox()
    with smtp_server(inbox=inbox) as server:
        settings = settings_for(
            durable_store, tmp_path, request, mail_url=f"smtp://127.0.0.1:{server.port}"
        )
        with TestClient(create_app(settings, clock=clock), raise_server_exceptions=False) as http:
            yield http, inbox, settings


def reported_and_sent(http: TestClient) -> tuple[str, int]:
    """A case reported against Amazon, qualified and sent: its id and the last position."""
    answer = http.post("/cases", json=report_body(), headers=auth("reporter"))
    case_id = answer.json()["id"]
    for name, body in (("qualify", QUALIFY), ("send-to-platform", SEND)):
        answer = http.post(f"/cases/{case_id}/{name}", json=body, headers=auth("caseworker"))
        assert answer.status_code == 200, answer.text
    return case_id, answer.json()["position"]


def send_due(http: TestClient, settings: Settings, position: int) -> Any:
    app: Any = http.app
    runner = app.state.runner
    assert runner.wait_for(position, timeout=10)
    return mail_sender(app.state.mediation, runner, settings).send_due()


def test_the_business_and_the_platform_each_get_their_message_once(
    mailed: tuple[TestClient, Inbox, Settings],
) -> None:
    http, inbox, settings = mailed
    case_id, position = reported_and_sent(http)
    run = send_due(http, settings, position)
    assert len(run.sent) == 3
    by_template = {r.message["X-Mediation-Template"]: r for r in inbox.received}
    assert set(by_template) == {"acknowledgement", "sent_to_platform", "case_sent"}
    business = report_body()["company"]["contact_email"]
    tracking_code = http.get(f"/cases/{case_id}", headers=auth("caseworker")).json()[
        "tracking_code"
    ]
    ack = by_template["acknowledgement"]
    assert ack.rcpt_tos == [business]
    assert tracking_code in ack.message.get_body(("plain",)).get_content()
    assert by_template["case_sent"].rcpt_tos == ["p2b@amazon.example"]  # tests/platforms.toml
    assert sorted(r.message["Message-ID"] for r in inbox.received) == sorted(
        message_id(i) for i in run.sent
    )
    assert send_due(http, settings, position).sent == []  # each once
    assert len(inbox.received) == 3


def test_the_server_down_then_up_loses_nothing_and_a_refused_message_is_a_dead_letter(
    mailed: tuple[TestClient, Inbox, Settings], clock: SettableClock
) -> None:
    http, inbox, settings = mailed
    _, position = reported_and_sent(http)
    inbox.data_reply = "451 down for maintenance"
    assert len(send_due(http, settings, position).failed) == 3
    inbox.data_reply = None
    assert send_due(http, settings, position).sent == []  # backing off: not due yet
    clock.advance(timedelta(minutes=1))
    assert len(send_due(http, settings, position).sent) == 3

    inbox.rcpt_reply[report_body()["company"]["contact_email"]] = "550 no such mailbox"
    answer = http.post("/cases", json=report_body(), headers=auth("reporter"))
    run = send_due(http, settings, answer.json()["position"])
    assert len(run.dead) == 1
    ready = http.get("/readyz", headers=auth("auditor")).json()
    assert ready["mail"] == {"pending": 0, "sent": 3, "dead": 1, "cancelled": 0}
    assert "dead letter" in ready["checks"]["mail"]
    metrics = http.get("/metrics").text
    assert 'mediation_outbox_messages{delivery="dead"} 1.0' in metrics


def test_the_outbox_keeps_no_personal_data(mailed: tuple[TestClient, Inbox, Settings]) -> None:
    http, _, _ = mailed
    case_id, position = reported_and_sent(http)
    app: Any = http.app
    assert app.state.runner.wait_for(position, timeout=10)
    outbox: Any = app.state.runner.view(OUTBOX)
    with outbox.datastore.transaction(commit=False) as c:
        c.execute(f"SELECT * FROM {outbox.entries_table}")
        rows = repr([tuple(dict(row).values()) for row in c.fetchall()])
    assert case_id.replace("-", "") in rows.replace("-", "")
    body = report_body()
    for text in (body["company"]["contact_email"], body["company"]["name"], "Amazon"):
        assert text not in rows


def test_mail_status_lists_the_dead_letters_and_retry_sends_them_again(
    mailed: tuple[TestClient, Inbox, Settings],
    monkeypatch: pytest.MonkeyPatch,
    clock: SettableClock,
) -> None:
    http, inbox, settings = mailed
    _, position = reported_and_sent(http)
    inbox.data_reply = "554 rejected"
    assert len(send_due(http, settings, position).dead) == 3
    for name, value in store_environment(settings).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("MEDIATION_MAIL_URL", settings.mail_url)
    shown = CliRunner().invoke(cli, ["mail", "status"])
    assert shown.exit_code == 0, shown.output
    assert "3 dead" in shown.output
    letters = [line for line in shown.output.splitlines() if line.startswith("dead ")]
    assert len(letters) == 3
    assert all(line.endswith(": 554") for line in letters), letters
    inbox.data_reply = None
    retried = CliRunner().invoke(cli, ["mail", "retry", "--all-dead"])
    assert retried.exit_code == 0, retried.output
    assert "3 e-mail(s) pending again" in retried.output
    sent = CliRunner().invoke(cli, ["mail", "send"])
    assert sent.exit_code == 0, sent.output
    assert sent.output.startswith("3 sent")
    assert len(inbox.received) == 3
    wrong = CliRunner().invoke(cli, ["mail", "retry", str(uuid4())])
    assert wrong.exit_code != 0
    assert "not a dead letter" in wrong.output


def test_only_the_read_models_are_rebuilt_never_the_outbox(
    mediation: MediationApplication,
) -> None:
    from interfaces.projections_cli import READ_MODELS

    runner = projection_runner(mediation)
    assert {p.name for p in runner.rebuildable} == set(READ_MODELS)
    assert {p.name for p in runner.projections} == {*READ_MODELS, OUTBOX}
    outbox: Outbox = runner.view(OUTBOX)
    assert outbox.counts()[Delivery.PENDING] == 0


def test_an_erasure_with_messages_pending_leaves_no_address_in_the_database(
    mailed: tuple[TestClient, Inbox, Settings],
) -> None:
    from tests.test_personal_data import stored_bytes

    http, inbox, settings = mailed
    case_id, position = reported_and_sent(http)
    app: Any = http.app
    assert app.state.runner.wait_for(position, timeout=10)
    erased = http.post(
        f"/cases/{case_id}/erase-personal-data",
        json={"reason": "GDPR art. 17 request"},
        headers=auth("dpo"),
    )
    assert erased.status_code == 200, erased.text
    address = report_body()["company"]["contact_email"].encode()
    assert address not in stored_bytes(settings)
    run = send_due(http, settings, erased.json()["position"])
    assert len(run.cancelled) == 2  # the business's: no one left to write to
    assert [r.rcpt_tos for r in inbox.received] == [["p2b@amazon.example"]]
    assert address not in stored_bytes(settings)


def test_a_business_that_reported_in_english_is_written_to_in_english(
    mailed: tuple[TestClient, Inbox, Settings],
) -> None:
    http, inbox, settings = mailed
    answer = http.post("/cases", json=report_body(language="en"), headers=auth("reporter"))
    assert answer.status_code == 201, answer.text
    assert len(send_due(http, settings, answer.json()["position"]).sent) == 1
    [ack] = inbox.received
    assert ack.message["Content-Language"] == "en"
    assert answer.json()["tracking_code"] in ack.message.get_body(("plain",)).get_content()
    answer = http.post("/cases", json=report_body(), headers=auth("reporter"))
    send_due(http, settings, answer.json()["position"])
    assert inbox.received[-1].message["Content-Language"] == "fr"


def test_the_platform_gets_each_reminder_the_deadline_process_records(
    mailed: tuple[TestClient, Inbox, Settings], clock: SettableClock
) -> None:
    from application.case_queues import CaseQueues
    from application.deadlines import DeadlineProcess

    http, inbox, settings = mailed
    case_id, position = reported_and_sent(http)
    send_due(http, settings, position)
    app: Any = http.app
    process = DeadlineProcess(app.state.mediation, app.state.runner.view(CaseQueues.name))
    sent_at = clock.now()
    for days in (6, 7, 14):  # days after sending: nothing, the first reminder, the second
        clock.advance(sent_at + timedelta(days=days) - clock.now())
        app.state.runner.catch_up()
        process.run(clock.now().date())
        send_due(http, settings, app.state.mediation.log_position())
    to_platform = [r for r in inbox.received if r.message["X-Mediation-Template"] == "reminder"]
    assert [r.rcpt_tos for r in to_platform] == [["p2b@amazon.example"]] * 2  # D+7, D+14
    texts = [r.message.get_body(("plain",)).get_content() for r in to_platform]
    assert all(f"/platform/cases/{case_id}" in text for text in texts)
    assert len({r.message["Message-ID"] for r in to_platform}) == 2
