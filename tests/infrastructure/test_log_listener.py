"""A projection worker in another process than the writer is woken by PostgreSQL's NOTIFY,
not by its next poll."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from application.clock import SettableClock
from application.mediation import MediationApplication
from application.mediation import ReportRequest
from domain.platforms import Platform
from domain.values import PersonalText
from infrastructure.settings import Settings
from interfaces.composition import open_application
from interfaces.composition import projection_runner
from tests.conftest import START
from tests.conftest import settings_for
from tests.domain.factories import company

pytestmark = pytest.mark.postgres

NEVER = 3600.0
"""A poll interval the test cannot wait out: only a notification can wake the runner."""


def report(app: MediationApplication) -> int:
    request = ReportRequest(
        company=company(),
        platform=Platform.parse("Amazon"),
        description=PersonalText("Delisted without explanation"),
        occurred_on=START.date(),
    )
    return app.report_case(request, actor="reporter-1").position


def wait_for_position(runner: object, position: int, timeout: float) -> bool:
    """Watch the read models' positions without waking the runner (its wait_for would)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(p.position() >= position for p in runner.projections):  # type: ignore[attr-defined]
            return True
        time.sleep(0.01)
    return False


def test_a_write_elsewhere_wakes_the_projections_at_once(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    settings: Settings = settings_for("postgres", tmp_path, request)
    writer = open_application(settings, SettableClock(START))
    follower = open_application(settings, SettableClock(START))
    runner = projection_runner(follower, settings)
    runner.poll_seconds = NEVER
    runner.start()
    try:
        runner.wake.set()  # the first catch-up, then only notifications
        assert wait_for_position(runner, follower.log_position(), 10)
        for _ in range(3):
            position = report(writer)
            assert wait_for_position(runner, position, 10), "no notification woke the runner"
    finally:
        runner.stop()
        writer.close()
        follower.close()


def test_without_its_settings_a_runner_only_polls(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    settings: Settings = settings_for("postgres", tmp_path, request)
    app = open_application(settings, SettableClock(START))
    try:
        assert projection_runner(app).waker is None
        assert projection_runner(app, settings).waker is not None
    finally:
        app.close()
