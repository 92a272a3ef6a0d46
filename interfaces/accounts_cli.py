"""`mediation users …`: the staff accounts of the web console, from the shell.

Every change is recorded with who made it (`--by`, by default the system user running the
command) and when; `mediation users history` lists them.
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from application.access import Role
from application.accounts import Account
from application.accounts import StaffAccounts
from application.accounts import check_password
from application.errors import ApplicationError
from infrastructure.settings import load_settings
from interfaces.composition import staff_accounts
from interfaces.trust_cli import fail
from interfaces.trust_cli import opened

users = typer.Typer(help="The staff accounts of the web console: add, disable, roles, history.")

ByOption = Annotated[
    str | None,
    typer.Option("--by", help="who makes the change, for the log (default: the system user)"),
]
PlatformOption = Annotated[
    str | None,
    typer.Option(help="the platform's key, for a platform's account (its entry has portal = true)"),
]
UsernameArgument = Annotated[str, typer.Argument(help="the account's username")]


@contextmanager
def accounts() -> Iterator[StaffAccounts]:
    with opened() as (application, _):
        yield staff_accounts(application, load_settings())


def who(by: str | None) -> str:
    return by if by is not None else getpass.getuser()


def new_password(from_stdin: bool) -> str:
    """The password, asked twice without echo, or the first line of standard input."""
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        return check_password(password)
    except ApplicationError as error:
        raise fail(str(error)) from None


PasswordStdin = Annotated[
    bool,
    typer.Option("--password-stdin", help="read the password from standard input (one line)"),
]


@users.command("add")
def add(
    username: UsernameArgument,
    role: Annotated[Role, typer.Option(help="what the account may do")],
    platform: PlatformOption = None,
    by: ByOption = None,
    password_stdin: PasswordStdin = False,
) -> None:
    """Add an account, enabled, with a password asked twice (or read from standard input)."""
    password = new_password(password_stdin)
    with accounts() as staff:
        account = staff.add(username, role, password, by=who(by), platform=platform)
    typer.echo(f"added {describe(account)}")


@users.command("disable")
def disable(username: UsernameArgument, by: ByOption = None) -> None:
    """Disable an account: it can no longer sign in, and its sessions end now."""
    with accounts() as staff:
        staff.disable(username, by=who(by))
    typer.echo(f"disabled {username}")


@users.command("enable")
def enable(username: UsernameArgument, by: ByOption = None) -> None:
    """Enable a disabled account: it may sign in again."""
    with accounts() as staff:
        staff.enable(username, by=who(by))
    typer.echo(f"enabled {username}")


@users.command("role")
def role(
    username: UsernameArgument,
    new_role: Annotated[Role, typer.Argument(metavar="ROLE", help="the account's new role")],
    platform: PlatformOption = None,
    by: ByOption = None,
) -> None:
    """Give an account another role (and platform, for a platform's account)."""
    with accounts() as staff:
        account = staff.set_role(username, new_role, by=who(by), platform=platform)
    typer.echo(f"now {describe(account)}")


@users.command("password")
def password(
    username: UsernameArgument, by: ByOption = None, password_stdin: PasswordStdin = False
) -> None:
    """Set an account's password, asked twice (or read from standard input); its sessions end."""
    new = new_password(password_stdin)
    with accounts() as staff:
        staff.set_password(username, new, by=who(by))
    typer.echo(f"password of {username} changed")


@users.command("list")
def list_accounts() -> None:
    """Every account: its role, its platform, whether it is disabled."""
    with accounts() as staff:
        found = staff.accounts()
    table = Table("username", "role", "platform", "state")
    for account in found:
        state = "disabled" if account.disabled else "enabled"
        table.add_row(account.username, account.role.value, account.platform or "", state)
    Console().print(table)


@users.command("history")
def history(
    username: Annotated[str | None, typer.Argument(help="one account's changes only")] = None,
) -> None:
    """The accounts' changes, oldest first: when, by whom, to whom, what."""
    with accounts() as staff:
        changes = staff.changes(username)
    table = Table("when (UTC)", "by", "account", "change", "role after")
    for change in changes:
        role_after = change.role.value + (f" ({change.platform})" if change.platform else "")
        table.add_row(
            f"{change.at:%Y-%m-%d %H:%M:%S}",
            change.by,
            change.username,
            change.what.value,
            role_after,
        )
    Console().print(table)


def describe(account: Account) -> str:
    platform = f" of {account.platform}" if account.platform else ""
    return f"{account.username}, {account.role.value}{platform}"
