"""Fixtures shared by every tier: the stores, a settable clock, the application and the HTTP app.

Every test that touches storage runs on each store it is parametrised with. PostgreSQL is the
server named by MEDIATION_TEST_DATABASE_URL; each test gets a schema of its own, dropped after.
Without that variable PostgreSQL tests skip with the reason, unless MEDIATION_REQUIRE_POSTGRES=1
(set by .ci/run), which turns the skip into a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg import sql

from application.clock import SettableClock
from application.keys import Keys
from application.mediation import MediationApplication
from infrastructure.keyfiles import as_environment
from infrastructure.settings import Settings
from infrastructure.settings import load_settings
from interfaces.composition import open_application
from interfaces.http.app import create_app

POSTGRES_URL = os.environ.get("MEDIATION_TEST_DATABASE_URL", "")
REQUIRE_POSTGRES = os.environ.get("MEDIATION_REQUIRE_POSTGRES") == "1"

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
"""Tests run on a clock set to this instant (a Monday), moved on by hand."""

TOKENS = {
    "reporter": "reporter-token-0123456789",
    "caseworker": "caseworker-token-0123456789",
    "auditor": "auditor-token-0123456789",
    "analyst": "analyst-token-0123456789",
    "dpo": "dpo-token-0123456789",
    "platform": "platform-token-amazon-0123456789",
}
ACTORS = {role: f"{role}-1" for role in TOKENS} | {"platform": "platform:amazon"}
PLATFORM_TOKENS = {
    "amazon": TOKENS["platform"],
    "cdiscount": "platform-token-cdiscount-0123456789",
    "ebay": "platform-token-ebay-0123456789",
}
"""Each platform of tests/platforms.toml has a token of its own; `platform` is Amazon's."""
PLATFORMS_FILE = Path(__file__).with_name("platforms.toml")
TOKENS_SETTING = ",".join(
    [f"{TOKENS[r]}:{r}:{ACTORS[r]}" for r in TOKENS if r != "platform"]
    + [f"{token}:platform:{key}" for key, token in PLATFORM_TOKENS.items()]
)

TEST_KEYS = as_environment(Keys.generate())
"""One set of seal and signing keys for the whole run, so that every application on one database
shares them (each test's data keys are a ring of its own, in its tmp_path)."""
KEY_SETTINGS = {name.removeprefix("MEDIATION_").lower(): value for name, value in TEST_KEYS.items()}


def store_environment(settings: Settings) -> dict[str, str]:
    """The MEDIATION_* variables that open `settings`' store with its keys, for a process of
    the service started by a test (the CLI, a server)."""
    env = {
        **TEST_KEYS,
        "MEDIATION_DATABASE_URL": settings.database_url,
        "MEDIATION_DATABASE_SCHEMA": settings.database_schema,
        "MEDIATION_CHECKPOINT_DIR": str(settings.checkpoint_dir),
    }
    if settings.data_keys_file is not None:
        env["MEDIATION_DATA_KEYS_FILE"] = str(settings.data_keys_file)
    if settings.platforms_file is not None:
        env["MEDIATION_PLATFORMS_FILE"] = str(settings.platforms_file)
    return env


def auth(role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[role]}"}


def platform_auth(key: str) -> dict[str, str]:
    """The token of the platform `key` (tests/platforms.toml)."""
    return {"Authorization": f"Bearer {PLATFORM_TOKENS[key]}"}


def require_postgres() -> str:
    if not POSTGRES_URL:
        reason = "MEDIATION_TEST_DATABASE_URL is not set: no PostgreSQL server to test on"
        if REQUIRE_POSTGRES:
            pytest.fail(f"{reason}, and MEDIATION_REQUIRE_POSTGRES=1 forbids skipping it")
        pytest.skip(reason)
    return POSTGRES_URL


class PostgresSchema:
    """A fresh schema on the test server, dropped when the test ends."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.name = f"t_{uuid.uuid4().hex[:16]}"

    def connect(self) -> psycopg.Connection[Any]:
        return psycopg.connect(
            self.url.replace("postgresql+psycopg", "postgresql"), autocommit=True
        )

    def drop(self) -> None:
        with self.connect() as connection:
            connection.execute(
                sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(self.name))
            )


@pytest.fixture
def clock() -> SettableClock:
    return SettableClock(START)


def settings_for(
    store: str, tmp_path: Path, request: pytest.FixtureRequest, **overrides: Any
) -> Settings:
    base: dict[str, Any] = {
        "tokens": TOKENS_SETTING,
        "platforms_file": PLATFORMS_FILE,
        "database_pool_size": 2,
        "checkpoint_dir": tmp_path / "checkpoints",
        # Tests run the deadline process themselves, at the instants they choose; a scheduled
        # run in the background would escalate cases at a moment no test controls.
        "deadlines_every_seconds": 0,
        # Likewise the e-mails: tests send them themselves, and keep them in their own folder.
        "mail_every_seconds": 0,
        "mail_url": f"folder:{tmp_path / 'outbox'}",
        **KEY_SETTINGS,
    }
    if store == "memory":
        base["database_url"] = "memory:"
    elif store == "sqlite":
        base["database_url"] = f"sqlite:///{tmp_path / 'mediation.db'}"
    elif store == "postgres":
        schema = PostgresSchema(require_postgres())
        request.addfinalizer(schema.drop)
        base["database_url"] = schema.url
        base["database_schema"] = schema.name
        # Every application of a test on this schema reads the same data keys.
        base["data_keys_file"] = tmp_path / "data-keys.json"
    else:
        raise ValueError(store)
    base.update(overrides)
    return load_settings(**base)


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_store(request: pytest.FixtureRequest) -> str:
    """Every store: the in-memory one, a SQLite file and PostgreSQL."""
    return str(request.param)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def durable_store(request: pytest.FixtureRequest) -> str:
    """The stores a deployment uses: a SQLite file and PostgreSQL."""
    return str(request.param)


@pytest.fixture
def settings(any_store: str, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    return settings_for(any_store, tmp_path, request)


@pytest.fixture
def durable_settings(
    durable_store: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Settings:
    return settings_for(durable_store, tmp_path, request)


@pytest.fixture
def mediation(settings: Settings, clock: SettableClock) -> Iterator[MediationApplication]:
    app = open_application(settings, clock)
    yield app
    app.close()


@pytest.fixture
def http(durable_settings: Settings, clock: SettableClock) -> Iterator[TestClient]:
    """The real HTTP app on a SQLite file, then on PostgreSQL."""
    app = create_app(durable_settings, clock=clock)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def impatient_http(
    durable_store: str, tmp_path: Path, request: pytest.FixtureRequest, clock: SettableClock
) -> Iterator[TestClient]:
    """The real app, its read models standing still (no projections run in it), waiting only
    0.2 s for them."""
    settings = settings_for(
        durable_store, tmp_path, request, read_model_wait_seconds=0.2, run_projections=False
    )
    with TestClient(create_app(settings, clock=clock), raise_server_exceptions=False) as client:
        yield client


def report_body(**changes: Any) -> dict[str, Any]:
    """A valid report; keyword arguments replace its fields (company fields too)."""
    company = {
        "name": "Atelier Dupont",
        "siren": "732829320",
        "size": "micro",
        "contact_name": "Jeanne Dupont",
        "contact_email": "jeanne@atelier-dupont.fr",
    }
    body: dict[str, Any] = {
        "company": company,
        "platform": "Amazon Marketplace",
        "description": "Our shop was delisted overnight without any explanation.",
        "occurred_on": "2026-02-20",
        "category_hint": "delisting",
        "channel": "web",
    }
    for key, value in changes.items():
        if key in company:
            company[key] = value
        else:
            body[key] = value
    return body
