"""Staff accounts on each durable store: signing in, the pause after failures, sessions, the
log of changes, and what the tables keep (never a password nor a session's token)."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from argon2 import PasswordHasher
from hypothesis import given
from hypothesis import strategies as st

from application.access import Role
from application.accounts import USERNAME
from application.accounts import Account
from application.accounts import AccountError
from application.accounts import ChangeKind
from application.accounts import Locked
from application.accounts import NoSuchAccount
from application.accounts import Refused
from application.accounts import SignedIn
from application.accounts import StaffAccounts
from application.accounts import check_username
from application.accounts import pause_after
from application.clock import SettableClock
from infrastructure.settings import Settings
from infrastructure.settings import SettingsError
from infrastructure.settings import load_settings
from interfaces.composition import open_application
from interfaces.composition import staff_accounts
from tests.conftest import START

PASSWORD = "correct horse battery staple"
CLIENT = "192.0.2.7 Firefox"


@pytest.fixture
def staff(durable_settings: Settings, clock: SettableClock) -> Iterator[StaffAccounts]:
    """The accounts of an application on the store, its clock the test's."""
    application = open_application(durable_settings, clock)
    try:
        yield staff_accounts(application, durable_settings)
    finally:
        application.close()


def sign_in(staff: StaffAccounts, clock: SettableClock, password: str = PASSWORD) -> Any:
    return staff.sign_in("alice", password, clock.now(), CLIENT)


def signed_in(staff: StaffAccounts, clock: SettableClock) -> str:
    outcome = sign_in(staff, clock)
    assert isinstance(outcome, SignedIn), outcome
    return outcome.token


def raw_rows(settings: Settings, table: str) -> list[tuple[Any, ...]]:
    """A table of the accounts as the database holds it, read without the service."""
    if settings.sqlite_path is not None:
        with sqlite3.connect(settings.sqlite_path) as connection:
            return connection.execute(f"SELECT * FROM {table}").fetchall()
    url = settings.database_url
    with psycopg.connect(url) as connection:
        query = f'SELECT * FROM "{settings.database_schema}"."mediation_{table}"'
        return connection.execute(query).fetchall()  # type: ignore[arg-type]


def test_an_account_signs_in_and_its_session_answers_its_account(
    staff: StaffAccounts, clock: SettableClock
) -> None:
    added = staff.add("alice", Role.CASEWORKER, PASSWORD, by="root")
    assert added == Account("alice", Role.CASEWORKER)
    assert added.actor == "alice"

    outcome = sign_in(staff, clock)

    assert isinstance(outcome, SignedIn)
    assert outcome.account == added
    assert len(outcome.token) >= 40
    assert outcome.token not in repr(outcome)
    assert staff.session(outcome.token, clock.now()) == added
    assert staff.session("not-a-token", clock.now()) is None


def test_a_wrong_password_an_unknown_user_and_a_disabled_account_are_refused_alike(
    staff: StaffAccounts, clock: SettableClock
) -> None:
    verified: list[str] = []

    class CountingHasher(PasswordHasher):
        def verify(self, hash: str | bytes, password: str | bytes) -> bool:
            verified.append(str(hash)[:9])
            return super().verify(hash, password)

    staff.hasher = CountingHasher()
    staff.add("alice", Role.CASEWORKER, PASSWORD, by="root")
    staff.add("bruno", Role.AUDITOR, PASSWORD, by="root")
    staff.disable("bruno", by="root")
    now = clock.now()

    wrong = staff.sign_in("alice", "wrong password here", now, CLIENT)
    unknown = staff.sign_in("zoe", PASSWORD, now, CLIENT)
    disabled = staff.sign_in("bruno", PASSWORD, now, CLIENT)
    malformed = staff.sign_in("Not A User", PASSWORD, now, CLIENT)

    assert wrong == unknown == disabled == malformed == Refused()
    # Each checked a password against an argon2id hash: the time of one hash, whoever asks.
    assert verified == ["$argon2id"] * 4


def test_passwords_are_kept_as_argon2id_hashes_and_tokens_as_their_sha256(
    durable_settings: Settings, staff: StaffAccounts, clock: SettableClock
) -> None:
    staff.add("alice", Role.CASEWORKER, PASSWORD, by="root")
    token = signed_in(staff, clock)
    staff.set_password("alice", "another long password", by="root")
    token_after = signed_in_with(staff, clock, "another long password")

    (account,) = raw_rows(durable_settings, "staff_accounts")
    assert any(str(v).startswith("$argon2id$") for v in account)
    everything = repr(
        [raw_rows(durable_settings, t) for t in ("staff_accounts", "staff_sessions",
                                                  "staff_account_changes")]
    )  # fmt: skip
    for secret in (PASSWORD, "another long password", token, token_after):
        assert secret not in everything
    assert hashlib.sha256(token_after.encode()).hexdigest() in everything


def signed_in_with(staff: StaffAccounts, clock: SettableClock, password: str) -> str:
    outcome = staff.sign_in("alice", password, clock.now(), CLIENT)
    assert isinstance(outcome, SignedIn), outcome
    return outcome.token


def test_five_failures_in_a_row_pause_sign_ins_for_a_pause_that_doubles_up_to_an_hour(
    staff: StaffAccounts, clock: SettableClock
) -> None:
    staff.add("alice", Role.CASEWORKER, PASSWORD, by="root")
    for _ in range(4):
        assert sign_in(staff, clock, "wrong password!") == Refused()
    assert sign_in(staff, clock, "wrong password!") == Locked(clock.now() + timedelta(minutes=1))

    # During the pause even the right password is not checked.
    clock.advance(timedelta(seconds=59))
    assert sign_in(staff, clock) == Locked(START + timedelta(minutes=1))

    pauses = []
    for _ in range(8):
        clock.set(staff.store.locked_until("alice") or START)
        outcome = sign_in(staff, clock, "wrong password!")
        assert isinstance(outcome, Locked)
        pauses.append(outcome.until - clock.now())
    assert pauses == [timedelta(minutes=m) for m in (2, 4, 8, 16, 32, 60, 60, 60)]


def test_a_success_after_the_pause_ends_the_count(
    staff: StaffAccounts, clock: SettableClock
) -> None:
    staff.add("alice", Role.CASEWORKER, PASSWORD, by="root")
    for _ in range(5):
        sign_in(staff, clock, "wrong password!")
    clock.advance(timedelta(minutes=1))
    signed_in(staff, clock)

    for _ in range(4):
        assert sign_in(staff, clock, "wrong password!") == Refused()
    assert sign_in(staff, clock, "wrong password!") == Locked(clock.now() + timedelta(minutes=1))


def test_an_unknown_username_is_paused_like_a_known_one(
    staff: StaffAccounts, clock: SettableClock
) -> None:
    outcomes = [staff.sign_in("nobody", PASSWORD, clock.now(), CLIENT) for _ in range(6)]
    until = clock.now() + timedelta(minutes=1)
    assert outcomes == [Refused()] * 4 + [Locked(until)] * 2


def test_the_pause_grows_from_a_minute_to_an_hour() -> None:
    assert [pause_after(n) for n in range(5)] == [None] * 5
    assert pause_after(5) == timedelta(minutes=1)
    assert pause_after(10) == timedelta(minutes=32)
    assert pause_after(11) == pause_after(1000) == timedelta(hours=1)


def test_a_session_ends_when_idle_and_after_its_lifetime(
    staff: StaffAccounts, clock: SettableClock
) -> None:
    account = staff.add("alice", Role.CASEWORKER, PASSWORD, by="root")
    idle = signed_in(staff, clock)
    busy = signed_in(staff, clock)

    clock.advance(timedelta(minutes=29))
    assert staff.session(busy, clock.now()) == account
    clock.advance(timedelta(minutes=1))  # 30 minutes since idle was last used
    assert staff.session(idle, clock.now()) is None
    assert staff.session(busy, clock.now()) == account

    # Used every 20 minutes, a session lives 10 hours from its start, no longer.
    while clock.now() + timedelta(minutes=20) < START + timedelta(hours=10):
        clock.advance(timedelta(minutes=20))
        assert staff.session(busy, clock.now()) == account
    clock.set(START + timedelta(hours=10))
    assert staff.session(busy, clock.now()) is None
    # Ended, it stays ended.
    clock.set(START + timedelta(minutes=1))
    assert staff.session(busy, clock.now()) is None


def test_signing_out_ends_the_session(staff: StaffAccounts, clock: SettableClock) -> None:
    staff.add("alice", Role.CASEWORKER, PASSWORD, by="root")
    token, other = signed_in(staff, clock), signed_in(staff, clock)
    staff.sign_out(token)
    staff.sign_out(token)  # twice: nothing more
    assert staff.session(token, clock.now()) is None
    assert staff.session(other, clock.now()) is not None


def test_disabling_an_account_ends_its_sessions_at_once(
    staff: StaffAccounts, clock: SettableClock
) -> None:
    staff.add("alice", Role.CASEWORKER, PASSWORD, by="root")
    token = signed_in(staff, clock)
    staff.disable("alice", by="root")
    assert staff.session(token, clock.now()) is None
    assert sign_in(staff, clock) == Refused()

    staff.enable("alice", by="root")
    assert staff.session(token, clock.now()) is None  # enabled, it signs in anew
    signed_in(staff, clock)


def test_a_new_password_ends_the_sessions_and_the_old_one_no_longer_signs_in(
    staff: StaffAccounts, clock: SettableClock
) -> None:
    staff.add("alice", Role.CASEWORKER, PASSWORD, by="root")
    token = signed_in(staff, clock)
    staff.set_password("alice", "a brand new password", by="alice")
    assert staff.session(token, clock.now()) is None
    assert sign_in(staff, clock) == Refused()
    signed_in_with(staff, clock, "a brand new password")


def test_a_new_role_applies_to_a_live_session_from_its_next_request(
    staff: StaffAccounts, clock: SettableClock
) -> None:
    staff.add("alice", Role.CASEWORKER, PASSWORD, by="root")
    token = signed_in(staff, clock)
    staff.set_role("alice", Role.PLATFORM, by="root", platform="amazon")
    assert staff.session(token, clock.now()) == Account("alice", Role.PLATFORM, "amazon")


def test_the_log_says_who_changed_what_and_when(staff: StaffAccounts, clock: SettableClock) -> None:
    staff.add("alice", Role.CASEWORKER, PASSWORD, by="root")
    clock.advance(timedelta(hours=1))
    staff.add("amz", Role.PLATFORM, PASSWORD, by="root", platform="amazon")
    staff.set_role("alice", Role.AUDITOR, by="dora")
    clock.advance(timedelta(days=1))
    staff.disable("alice", by="dora")
    staff.enable("alice", by="root")
    staff.set_password("alice", "another long password", by="alice")

    rows = [(c.at - START, c.by, c.username, c.what, c.role, c.platform) for c in staff.changes()]
    hour, day = timedelta(hours=1), timedelta(hours=25)
    assert rows == [
        (timedelta(0), "root", "alice", ChangeKind.CREATED, Role.CASEWORKER, None),
        (hour, "root", "amz", ChangeKind.CREATED, Role.PLATFORM, "amazon"),
        (hour, "dora", "alice", ChangeKind.ROLE_CHANGED, Role.AUDITOR, None),
        (day, "dora", "alice", ChangeKind.DISABLED, Role.AUDITOR, None),
        (day, "root", "alice", ChangeKind.ENABLED, Role.AUDITOR, None),
        (day, "alice", "alice", ChangeKind.PASSWORD_CHANGED, Role.AUDITOR, None),
    ]
    assert [c.what for c in staff.changes("amz")] == [ChangeKind.CREATED]
    assert staff.accounts() == [
        Account("alice", Role.AUDITOR),
        Account("amz", Role.PLATFORM, "amazon"),
    ]


@pytest.mark.parametrize(
    ("role", "platform", "refusal"),
    [
        (Role.PLATFORM, None, "names its platform"),
        (Role.PLATFORM, "nowhere", "no platform 'nowhere'"),
        (Role.PLATFORM, "fnac_darty", "may not use the portal"),
        (Role.CASEWORKER, "amazon", "only a platform's account names a platform"),
    ],
)
def test_a_platform_account_names_a_platform_that_may_use_the_portal(
    staff: StaffAccounts, role: Role, platform: str | None, refusal: str
) -> None:
    with pytest.raises(AccountError, match=refusal):
        staff.add("shop", role, PASSWORD, by="root", platform=platform)
    staff.add("shop", Role.CASEWORKER, PASSWORD, by="root")
    with pytest.raises(AccountError, match=refusal):
        staff.set_role("shop", role, by="root", platform=platform)
    assert staff.accounts() == [Account("shop", Role.CASEWORKER)]
    assert len(staff.changes()) == 1


def test_changes_that_cannot_be_made_are_refused_and_not_logged(
    staff: StaffAccounts,
) -> None:
    staff.add("alice", Role.CASEWORKER, PASSWORD, by="root")
    with pytest.raises(AccountError, match="taken"):
        staff.add("alice", Role.AUDITOR, PASSWORD, by="root")
    with pytest.raises(AccountError, match="12 to 1024"):
        staff.add("bruno", Role.AUDITOR, "too short", by="root")
    with pytest.raises(AccountError, match="not a username"):
        staff.add("platform:amazon", Role.AUDITOR, PASSWORD, by="root")
    with pytest.raises(AccountError, match="enabled already"):
        staff.enable("alice", by="root")
    with pytest.raises(AccountError, match="has that role already"):
        staff.set_role("alice", Role.CASEWORKER, by="root")
    with pytest.raises(NoSuchAccount):
        staff.disable("nobody", by="root")
    with pytest.raises(AccountError, match="one line"):
        staff.disable("alice", by=" ")
    assert len(staff.changes()) == 1


def test_a_hash_of_older_parameters_is_replaced_at_sign_in(
    durable_settings: Settings, staff: StaffAccounts, clock: SettableClock
) -> None:
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    weak = StaffAccounts(
        staff.store, staff.platforms, idle=staff.idle, lifetime=staff.lifetime, hasher=cheap
    )
    weak.add("alice", Role.CASEWORKER, PASSWORD, by="root")
    before = staff.store.account("alice")
    assert before is not None
    assert "m=1024" in before[1]

    signed_in(staff, clock)

    after = staff.store.account("alice")
    assert after is not None
    assert "m=65536,t=3,p=4" in after[1]
    signed_in(staff, clock)


def test_another_process_sees_the_pause_and_the_sessions(
    durable_settings: Settings, staff: StaffAccounts, clock: SettableClock
) -> None:
    staff.add("alice", Role.CASEWORKER, PASSWORD, by="root")
    token = signed_in(staff, clock)
    for _ in range(5):
        sign_in(staff, clock, "wrong password!")

    other_application = open_application(durable_settings, clock)
    try:
        other = staff_accounts(other_application, durable_settings)
        assert other.session(token, clock.now()) == Account("alice", Role.CASEWORKER)
        assert sign_in(other, clock) == Locked(clock.now() + timedelta(minutes=1))
        other.sign_out(token)
        other.disable("alice", by="root")
    finally:
        other_application.close()
    assert staff.session(token, clock.now()) is None
    assert staff.accounts() == [Account("alice", Role.CASEWORKER, disabled=True)]


@given(st.text(alphabet="abcXYZ019.-_: é", max_size=70))
def test_a_username_is_3_to_64_lower_case_letters_digits_dots_and_dashes(text: str) -> None:
    valid = 3 <= len(text) <= 64 and all(
        c in "abcdefghijklmnopqrstuvwxyz0123456789.-" for c in text
    )
    if valid:
        assert check_username(text) == text
    else:
        with pytest.raises(AccountError):
            check_username(text)


@given(st.from_regex(USERNAME, fullmatch=True))
def test_every_username_of_the_form_is_accepted(text: str) -> None:
    assert check_username(text) == text
    assert ":" not in text


@pytest.mark.parametrize(
    ("overrides", "variable"),
    [
        ({"session_idle_minutes": 0}, "MEDIATION_SESSION_IDLE_MINUTES"),
        ({"session_hours": 0}, "MEDIATION_SESSION_HOURS"),
        ({"session_hours": 1, "session_idle_minutes": 61}, "MEDIATION_SESSION_IDLE_MINUTES"),
    ],
)
def test_the_session_settings_are_checked(overrides: dict[str, int], variable: str) -> None:
    with pytest.raises(SettingsError, match=variable):
        load_settings(database_url="memory:", **overrides)
    defaults = load_settings(database_url="memory:")
    assert (defaults.session_idle_minutes, defaults.session_hours) == (30, 10)


def test_processes_signing_in_at_once_never_find_the_database_locked(
    durable_settings: Settings, staff: StaffAccounts, clock: SettableClock
) -> None:
    """Each write transaction begins with its write: in SQLite one that read first could not
    wait for another writer, and would fail at once with "database is locked"."""
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    names = [f"user-{n}" for n in range(4)]
    for name in names:
        staff.add(name, Role.CASEWORKER, PASSWORD, by="root")
    applications = [open_application(durable_settings, clock) for _ in range(2)]
    try:
        others = [staff_accounts(a, durable_settings) for a in applications]
        for other in others:
            other.hasher = cheap

        def work(n: int) -> None:
            accounts = others[n % 2]
            for step in range(15):
                now = clock.now() + timedelta(minutes=step)
                wrong = accounts.sign_in(names[n], "wrong password!", now, CLIENT)
                assert isinstance(wrong, Refused | Locked)
                accounts.sign_in(names[(n + 1) % 4], "wrong password!", now, CLIENT)
                outcome = accounts.sign_in(names[n], PASSWORD, now + timedelta(hours=2), CLIENT)
                if isinstance(outcome, SignedIn):
                    accounts.session(outcome.token, now + timedelta(hours=2, minutes=5))
                    accounts.sign_out(outcome.token)

        with ThreadPoolExecutor(4) as pool:
            list(pool.map(work, range(4)))
    finally:
        for application in applications:
            application.close()
