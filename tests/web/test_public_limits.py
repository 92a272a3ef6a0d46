"""The public pages' defences against robots: the honeypot field, and how often one address may
send a report or look up a tracking code. Each refusal records nothing."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from application.clock import SettableClock
from application.mediation import MediationApplication
from interfaces.http.app import create_app
from tests.conftest import settings_for
from tests.web.test_public import FORM
from tests.web.test_public import post_report
from tests.web.test_public import report

REPORTS_PER_HOUR = 2
LOOKUPS_PER_MINUTE = 3


@pytest.fixture
def strict_app(
    durable_store: str, tmp_path: Path, request: pytest.FixtureRequest, clock: SettableClock
) -> FastAPI:
    """The real app with small limits, on a SQLite file then on PostgreSQL."""
    settings = settings_for(
        durable_store,
        tmp_path,
        request,
        reports_per_hour=REPORTS_PER_HOUR,
        tracking_lookups_per_minute=LOOKUPS_PER_MINUTE,
    )
    return create_app(settings, clock=clock)


def browser_at(app: FastAPI, address: str) -> TestClient:
    return TestClient(app, raise_server_exceptions=False, client=(address, 50000))


@pytest.fixture
def http(strict_app: FastAPI) -> Iterator[TestClient]:
    with browser_at(strict_app, "192.0.2.1") as client:
        yield client


def log_position(http: TestClient) -> int | None:
    mediation: MediationApplication = http.app.state.mediation  # type: ignore[attr-defined]
    return mediation.log_position()


def test_a_report_with_the_robots_field_filled_in_is_answered_but_recorded_nowhere(
    http: TestClient,
) -> None:
    form = http.get("/signaler")
    assert 'name="website"' in form.text
    assert re.search(r'<label for="website">[^<]+</label>', form.text), "labelled, for readers"
    before = log_position(http)

    answer = post_report(http, website="https://cheap-pills.example")

    assert answer.history[0].status_code == 303
    assert log_position(http) == before


def test_over_its_hourly_reports_an_address_is_told_to_wait_and_nothing_is_recorded(
    http: TestClient,
) -> None:
    for _ in range(REPORTS_PER_HOUR):
        report(http)
    before = log_position(http)

    refused = post_report(http, description="One report too many.")

    assert refused.status_code == 429
    assert 0 < int(refused.headers["retry-after"]) <= 3600
    assert "Trop de tentatives" in refused.text
    assert log_position(http) == before


def test_the_report_limit_counts_each_address_on_its_own(strict_app: FastAPI) -> None:
    with browser_at(strict_app, "192.0.2.1") as first:
        for _ in range(REPORTS_PER_HOUR):
            report(first)
        assert post_report(first).status_code == 429
    with browser_at(strict_app, "198.51.100.7") as other:
        code, _ = report(other)

    assert code


def test_looking_up_codes_too_often_is_refused_whether_the_codes_exist_or_not(
    http: TestClient,
) -> None:
    code, _ = report(http)
    for guess in range(LOOKUPS_PER_MINUTE - 1):
        assert http.get(f"/suivi/guess-{guess}").status_code == 404
    assert http.get(f"/suivi/{code}").status_code == 200

    for address in (f"/suivi/{code}", "/suivi/another-guess", f"/en/track/{code}"):
        refused = http.get(address)
        assert refused.status_code == 429, address
        assert int(refused.headers["retry-after"]) <= 60
        assert FORM["company_name"] not in refused.text
