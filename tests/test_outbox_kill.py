"""The worker killed (SIGKILL) in the middle of a delivery: once it is started again, every
message reaches the SMTP server, and a message that arrives twice arrives under the same
Message-ID (at least once, never lost)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from application.mail import message_id
from application.mediation import ReportRequest
from application.notifications import notices_for
from application.outbox import Delivery
from application.outbox import Outbox
from domain.platforms import Platform
from domain.values import Category
from domain.values import PersonalText
from domain.values import Priority
from infrastructure.outbox_store import NAME as OUTBOX
from infrastructure.settings import Settings
from interfaces.composition import open_application
from interfaces.composition import projection_runner
from tests.conftest import TOKENS_SETTING
from tests.conftest import settings_for
from tests.conftest import store_environment
from tests.domain.factories import company
from tests.smtp_server import Inbox
from tests.smtp_server import smtp_server
from tests.test_multiprocess import WORKER

pytestmark = pytest.mark.slow


class SlowInbox(Inbox):
    """Takes its time over the first message it is given, long enough to kill the sender."""

    def __init__(self) -> None:
        super().__init__()
        self.first_data = threading.Event()
        self.slow = True

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.first_data.set()
        if self.slow:
            await asyncio.sleep(2)
        return await super().handle_DATA(server, session, envelope)


def start_worker(settings: Settings, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        **store_environment(settings),
        "MEDIATION_TOKENS": TOKENS_SETTING,
        "MEDIATION_MAIL_URL": f"smtp://127.0.0.1:{port}",
        "MEDIATION_MAIL_EVERY_SECONDS": "0.2",
        "MEDIATION_MAIL_LEASE_SECONDS": "2",
        "MEDIATION_DEADLINES_EVERY_SECONDS": "0",
    }
    with log.open("ab") as out:
        return subprocess.Popen(WORKER, env=env, stdout=out, stderr=subprocess.STDOUT)


def until(condition: Any, seconds: float, what: str) -> None:
    """Wait for something another process does (an SMTP delivery), up to `seconds`."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {seconds} s: {what}")
        time.sleep(0.05)


def test_a_worker_killed_mid_delivery_loses_no_message(
    durable_store: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    settings = settings_for(durable_store, tmp_path, request)
    application = open_application(settings)
    try:
        projection_runner(application)  # the outbox exists before the events: it sends them all
        expected = set()
        for number in range(3):
            report = ReportRequest(
                company=company(),
                platform=Platform.parse("Amazon", settings.platforms),
                description=PersonalText(f"Report {number}."),
                occurred_on=application.clock.now().date(),
            )
            case_id = application.report_case(report, actor="reporter").case_id
            application.qualify_case(
                case_id,
                category=Category.DELISTING,
                priority=Priority.NORMAL,
                summary=PersonalText("Delisted."),
                actor="alice",
            )
            application.send_to_platform(case_id, message=PersonalText("Why?"), actor="alice")
            for event in application.events.get(case_id):
                expected |= {message_id(n.id) for n in notices_for(event)}
        assert len(expected) == 9

        inbox = SlowInbox()
        with smtp_server(inbox=inbox) as server:
            log = tmp_path / "worker.log"
            first = start_worker(settings, server.port, log)
            try:
                assert inbox.first_data.wait(60), log.read_text()
            finally:
                first.send_signal(signal.SIGKILL)
                first.wait(timeout=30)
            inbox.slow = False
            second = start_worker(settings, server.port, log)
            try:

                def arrived() -> set[str]:
                    return {str(r.message["Message-ID"]) for r in inbox.received}

                until(lambda: arrived() >= expected, 60, "every message at the server")
                outbox: Outbox = projection_runner(application).view(OUTBOX)
                until(lambda: outbox.counts()[Delivery.SENT] == 9, 30, "every message sent")
            finally:
                second.terminate()
                second.wait(timeout=30)
        received = [str(r.message["Message-ID"]) for r in inbox.received]
        assert set(received) == expected, "only the outbox's messages, each at least once"
        assert first.returncode == -signal.SIGKILL
    finally:
        application.close()
