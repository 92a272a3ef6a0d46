"""Settings from the environment: what the library is told, and what stops the start."""

from __future__ import annotations

from pathlib import Path

import pytest

from application.access import Role
from infrastructure.settings import Settings
from infrastructure.settings import SettingsError
from infrastructure.settings import Store
from infrastructure.settings import load_settings
from tests.conftest import KEY_SETTINGS

LONG = "0123456789abcdef"
EXAMPLE_PLATFORMS = Path(__file__).parents[2] / "examples" / "platforms.toml"
"""Amazon may use the portal there, Cdiscount may not."""


def test_the_default_is_a_sqlite_file_in_the_working_directory(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("MEDIATION_DATABASE_URL", "MEDIATION_TOKENS"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings()
    assert settings.store is Store.SQLITE
    env = settings.eventsourcing_env()
    assert env["PERSISTENCE_MODULE"].endswith(":MediationSQLiteFactory")
    assert env["SQLITE_DBNAME"] == "mediation.db"


def test_settings_are_read_from_mediation_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDIATION_DATABASE_URL", "sqlite:////var/lib/mediation/cases.db")
    monkeypatch.setenv("MEDIATION_TOKENS", f"{LONG}:caseworker:alice, {LONG}x:dpo:dora")
    monkeypatch.setenv("MEDIATION_RESPONSE_DAYS_STANDARD", "20")
    settings = load_settings()
    assert settings.eventsourcing_env()["SQLITE_DBNAME"] == "/var/lib/mediation/cases.db"
    assert [(c.role, c.actor) for c in settings.tokens] == [
        (Role.CASEWORKER, "alice"),
        (Role.DPO, "dora"),
    ]
    assert settings.deadlines.standard_days == 20


def test_a_postgresql_url_is_rendered_for_the_library_with_its_password_decoded() -> None:
    settings = load_settings(
        database_url="postgresql://mediation:p%40ss%3Aword@db.internal:6543/cases",
        database_schema="mediation",
        data_keys_file="/var/lib/mediation/data-keys.json",
        **KEY_SETTINGS,
    )
    env = settings.eventsourcing_env()
    assert env["PERSISTENCE_MODULE"].endswith(":MediationPostgresFactory")
    assert (env["POSTGRES_HOST"], env["POSTGRES_PORT"], env["POSTGRES_DBNAME"]) == (
        "db.internal",
        "6543",
        "cases",
    )
    assert (env["POSTGRES_USER"], env["POSTGRES_PASSWORD"]) == ("mediation", "p@ss:word")
    assert env["POSTGRES_SCHEMA"] == "mediation"
    assert "p@ss" not in settings.describe_store()
    assert "p%40ss" not in settings.describe_store()


def test_a_token_never_shows_in_a_repr() -> None:
    settings = load_settings(tokens=f"{LONG}:auditor:aude")
    assert LONG not in repr(settings)
    assert LONG not in repr(settings.tokens)


@pytest.mark.parametrize(
    ("overrides", "variable"),
    [
        ({"database_url": "mysql://x@y/z"}, "MEDIATION_DATABASE_URL"),
        ({"database_url": "sqlite://relative.db"}, "MEDIATION_DATABASE_URL"),
        ({"database_url": "postgresql://user@host"}, "MEDIATION_DATABASE_URL"),
        ({"database_url": "postgresql://user@host:port/db"}, "MEDIATION_DATABASE_URL"),
        ({"database_schema": "Drop Table"}, "MEDIATION_DATABASE_SCHEMA"),
        ({"tokens": f"{LONG}:boss:x"}, "MEDIATION_TOKENS"),
        ({"tokens": f"{LONG}:caseworker"}, "MEDIATION_TOKENS"),
        ({"tokens": f"{LONG}:caseworker:alice,{LONG}:auditor:aude"}, "MEDIATION_TOKENS"),
        ({"tokens": "short:caseworker:alice"}, "MEDIATION_TOKENS"),
        ({"tokens": f"{LONG} x:caseworker:alice"}, "MEDIATION_TOKENS"),
        ({"response_days_urgent": 20}, "MEDIATION_RESPONSE_DAYS_URGENT"),
        ({"response_days_standard": 0}, "MEDIATION_RESPONSE_DAYS_STANDARD"),
        ({"database_pool_size": 0}, "MEDIATION_DATABASE_POOL_SIZE"),
        ({"environment": "staging"}, "MEDIATION_ENVIRONMENT"),
        ({"max_body_bytes": 1023}, "MEDIATION_MAX_BODY_BYTES"),
        ({"max_body_bytes": 100 * 1_048_576 + 1}, "MEDIATION_MAX_BODY_BYTES"),
        ({"reminder_days_standard": "14,7"}, "MEDIATION_REMINDER_DAYS_STANDARD"),
        ({"reminder_days_urgent": "two"}, "MEDIATION_REMINDER_DAYS_URGENT"),
        ({"reminder_days_urgent": "0,2"}, "MEDIATION_REMINDER_DAYS_URGENT"),
        ({"public_url": "mediation.example"}, "MEDIATION_PUBLIC_URL"),
        ({"public_url": "ftp://mediation.example"}, "MEDIATION_PUBLIC_URL"),
        # A platform's token names a platform of the platforms file that may use the portal.
        ({"tokens": f"{LONG}:platform:Amazon Inc"}, "MEDIATION_TOKENS"),
        ({"tokens": f"{LONG}:platform:nowhere"}, "MEDIATION_TOKENS"),
        ({"tokens": f"{LONG}:platform:amazon"}, "MEDIATION_TOKENS"),  # built in: no portal
        (
            {"tokens": f"{LONG}:platform:cdiscount", "platforms_file": EXAMPLE_PLATFORMS},
            "MEDIATION_TOKENS",
        ),
    ],
)
def test_unsafe_or_contradictory_settings_stop_with_one_line_naming_the_variable(
    overrides: dict[str, object], variable: str
) -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings(**overrides)
    message = str(raised.value)
    assert message.startswith(variable)
    assert "\n" not in message


def test_a_platform_token_is_bound_to_its_platform_and_acts_in_its_name() -> None:
    settings = load_settings(tokens=f"{LONG}:platform:amazon", platforms_file=EXAMPLE_PLATFORMS)
    [credential] = settings.tokens
    assert credential.role is Role.PLATFORM
    assert credential.platform == "amazon"
    assert credential.actor == "platform:amazon"


def test_short_tokens_are_allowed_only_in_development() -> None:
    settings = load_settings(environment="development", tokens="s3cret:caseworker:alice")
    assert settings.tokens[0].token == "s3cret"


def test_settings_are_frozen() -> None:
    settings = load_settings()
    with pytest.raises(ValueError, match="frozen"):
        settings.database_url = "memory:"  # type: ignore[misc]
    assert isinstance(settings, Settings)


def test_reminder_days_are_read_as_a_list_of_days(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDIATION_REMINDER_DAYS_STANDARD", "5, 10,12")
    rules = load_settings().deadlines
    assert rules.standard_reminders == (5, 10, 12)
    assert rules.urgent_reminders == (2, 4)
