"""The platforms file names platforms for the reports: a platform the service did not know is
recognised by its aliases, a known one keeps its spellings."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from application.clock import SettableClock
from interfaces.http.app import create_app
from tests.conftest import auth
from tests.conftest import report_body
from tests.conftest import settings_for

EXAMPLE = Path(__file__).parents[2] / "examples" / "platforms.toml"


@pytest.fixture
def example_http(
    durable_store: str, tmp_path: Path, request: pytest.FixtureRequest, clock: SettableClock
) -> TestClient:
    settings = settings_for(
        durable_store,
        tmp_path,
        request,
        platforms_file=EXAMPLE,
        tokens=",".join(
            f"{role}-token-0123456789:{role}:{role}-1" for role in ("reporter", "caseworker")
        ),
    )
    return TestClient(create_app(settings, clock=clock), raise_server_exceptions=False)


@pytest.mark.parametrize(
    ("written", "key"),
    [
        ("labelleboutique.fr", "la_belle_boutique"),  # only the platforms file knows it
        ("La Belle Boutique", "la_belle_boutique"),
        ("Amazon EU", "amazon"),  # an alias the file adds
        ("amazon.fr", "amazon"),  # a built-in spelling, kept
    ],
)
def test_a_report_names_its_platform_as_the_platforms_file_says(
    example_http: TestClient, written: str, key: str
) -> None:
    with example_http as http:
        answer = http.post("/cases", json=report_body(platform=written), headers=auth("reporter"))
        assert answer.status_code == 201, answer.text
        case = http.get(f"/cases/{answer.json()['id']}", headers=auth("caseworker")).json()
        assert case["platform"] == key
        assert case["platform_name"] == written
