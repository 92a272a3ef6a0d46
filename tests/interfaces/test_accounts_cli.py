"""`mediation users …`: the staff accounts from the shell, on each durable store."""

from __future__ import annotations

import getpass
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from typer.testing import CliRunner
from typer.testing import Result

from application.access import Role
from application.accounts import Account
from application.accounts import ChangeKind
from application.accounts import Refused
from application.accounts import SignedIn
from application.clock import SettableClock
from infrastructure.settings import Settings
from interfaces.cli import cli
from interfaces.composition import open_application
from interfaces.composition import staff_accounts
from tests.conftest import store_environment
from tests.test_tampering import MEDIATION
from tests.test_tampering import cli_env

PASSWORD = "correct horse battery staple"


@pytest.fixture
def users(durable_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Any:
    """`mediation users ARGS` in this process, on the test's store; `input` is typed in."""
    for name, value in store_environment(durable_settings).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("COLUMNS", "200")

    def run(*args: str, input: str | None = None) -> Result:
        return CliRunner().invoke(cli, ["users", *args], input=input)

    return run


@pytest.fixture
def sign_in(durable_settings: Settings, clock: SettableClock) -> Iterator[Any]:
    """Sign in as the console would, on the test's store."""
    application = open_application(durable_settings, clock)
    staff = staff_accounts(application, durable_settings)
    try:
        yield lambda username, password: staff.sign_in(username, password, clock.now(), "test")
    finally:
        application.close()


def test_users_add_asks_the_password_twice_and_the_account_signs_in(
    users: Any, sign_in: Any
) -> None:
    added = users("add", "alice", "--role", "caseworker", input=f"{PASSWORD}\n{PASSWORD}\n")
    assert added.exit_code == 0, added.output
    assert "added alice, caseworker" in added.output
    assert PASSWORD not in added.output  # the prompt does not echo it

    outcome = sign_in("alice", PASSWORD)
    assert isinstance(outcome, SignedIn)
    assert outcome.account == Account("alice", Role.CASEWORKER)


def test_two_different_passwords_add_nothing(users: Any) -> None:
    typed = f"{PASSWORD}\nanother long password\n"
    mismatched = users("add", "alice", "--role", "caseworker", input=typed)
    assert mismatched.exit_code != 0
    assert "do not match" in mismatched.output
    listed = users("list")
    assert "alice" not in listed.output


def test_users_list_role_disable_enable_and_history(users: Any, sign_in: Any) -> None:
    for name, role in (("alice", "caseworker"), ("bruno", "auditor")):
        added = users("add", name, "--role", role, "--by", "root", "--password-stdin",
                      input=f"{PASSWORD}\n")  # fmt: skip
        assert added.exit_code == 0, added.output
    assert users("role", "alice", "platform", "--platform", "amazon", "--by", "dora").exit_code == 0
    assert users("disable", "bruno").exit_code == 0

    listed = users("list")
    assert listed.exit_code == 0, listed.output
    rows = [r.split("│")[1:-1] for r in listed.output.splitlines() if "│" in r]
    assert [[c.strip() for c in row] for row in rows] == [
        ["alice", "platform", "amazon", "enabled"],
        ["bruno", "auditor", "", "disabled"],
    ]
    assert sign_in("bruno", PASSWORD) == Refused()

    assert users("enable", "bruno", "--by", "dora").exit_code == 0
    assert isinstance(sign_in("bruno", PASSWORD), SignedIn)
    changed = users("password", "bruno", "--password-stdin", input="a brand new password\n")
    assert changed.exit_code == 0, changed.output
    assert sign_in("bruno", PASSWORD) == Refused()

    history = users("history", "bruno")
    assert history.exit_code == 0, history.output
    lines = [r for r in history.output.splitlines() if "bruno" in r]
    me = getpass.getuser()
    expected = [
        ("root", ChangeKind.CREATED),
        (me, ChangeKind.DISABLED),
        ("dora", ChangeKind.ENABLED),
        (me, ChangeKind.PASSWORD_CHANGED),
    ]
    assert len(lines) == len(expected), history.output
    for line, (by, what) in zip(lines, expected, strict=True):
        cells = [c.strip() for c in line.split("│")[1:-1]]
        assert cells[1:5] == [by, "bruno", what.value, "auditor"], line
    everyone = users("history")
    assert "amazon" in everyone.output
    assert everyone.output.count("created") == 2


@pytest.mark.parametrize(
    ("args", "refusal"),
    [
        (("add", "shop", "--role", "platform"), "names its platform"),
        (("add", "shop", "--role", "platform", "--platform", "nowhere"), "no platform 'nowhere'"),
        (("add", "shop", "--role", "platform", "--platform", "rakuten"), "may not use the portal"),
        (("add", "shop", "--role", "dpo", "--platform", "amazon"), "only a platform's account"),
        (("add", "Shop", "--role", "dpo"), "is not a username"),
        (("add", "alice", "--role", "dpo"), "taken"),
        (("role", "alice", "platform"), "names its platform"),
        (("role", "nobody", "auditor"), "no account 'nobody'"),
        (("disable", "nobody"), "no account 'nobody'"),
        (("enable", "alice"), "enabled already"),
    ],
)
def test_a_change_that_cannot_be_made_is_one_line_on_stderr(
    durable_settings: Settings, users: Any, args: tuple[str, ...], refusal: str
) -> None:
    assert users("add", "alice", "--role", "caseworker", "--password-stdin",
                 input=f"{PASSWORD}\n").exit_code == 0  # fmt: skip
    refused = mediation(durable_settings, "users", *args, "--password-stdin", input=PASSWORD)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    (line,) = refused.stderr.strip().splitlines()
    assert line.startswith("mediation: "), refused.stderr
    assert refusal in line, line
    assert "Traceback" not in refused.stderr
    assert users("history").output.count("│ created") == 1


def test_a_short_password_is_refused_before_the_store_is_opened(
    durable_settings: Settings,
) -> None:
    refused = mediation(
        durable_settings, "users", "add", "alice", "--role", "dpo", "--password-stdin",
        input="too short\n",
    )  # fmt: skip
    assert refused.returncode == 2
    assert refused.stderr.strip() == "mediation: a password is 12 to 1024 characters long"


def mediation(settings: Settings, *args: str, input: str) -> subprocess.CompletedProcess[str]:
    """The command as a person runs it, in a process of its own; `--password-stdin` is dropped
    where the command takes no password."""
    if args[1] not in ("add", "password"):
        args = tuple(a for a in args if a != "--password-stdin")
    return subprocess.run(
        [*MEDIATION, *args],
        env=cli_env(settings),
        input=input,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
