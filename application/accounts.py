"""Named staff accounts for the web console: who may sign in, with which role, and their
sessions.

The console's sign-in page calls `StaffAccounts.sign_in(...)` and keeps the token it answers
in a cookie; each console request calls `StaffAccounts.session(token, now)`, which answers the
account while its session is live. An account acts in the cases under its username: that is
the actor its commands record (`Account.actor`). A username never has a colon, so it never
reads as a token's `platform:<key>` actor nor as `system:deadlines`.

Passwords are kept as argon2id hashes (argon2-cffi's defaults), never in clear; a session's
token is kept only as its SHA-256. A refused sign-in says nothing of why: an unknown
username, a wrong password and a disabled account answer alike, and take the time of one
hash. Five failures in a row for a username (known or not) pause its sign-ins for a minute,
each further failure doubles the pause, up to an hour; a success ends the count.

These tables are not a projection of the case log: they are the only record of the accounts,
and are never rebuilt.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable
from dataclasses import KW_ONLY
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from datetime import datetime
from datetime import timedelta
from enum import Enum
from typing import Protocol

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError
from argon2.exceptions import VerificationError

from application.access import Role
from application.clock import Clock
from application.clock import SystemClock
from application.errors import ApplicationError
from domain.platforms import PlatformDirectory

USERNAME = re.compile(r"[a-z0-9.-]{3,64}")
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024
FAILURES_BEFORE_PAUSE = 5
FIRST_PAUSE = timedelta(minutes=1)
LONGEST_PAUSE = timedelta(hours=1)
TOUCH_EVERY = timedelta(minutes=1)
"""A live session's last use is written at most this often (a console request is a read)."""


class AccountError(ApplicationError):
    """A change to the accounts that cannot be made; the message says why, in one line."""


class NoSuchAccount(AccountError):
    def __init__(self, username: str) -> None:
        super().__init__(f"no account {username!r}")
        self.username = username


class ChangeKind(Enum):
    """What a change did to an account."""

    CREATED = "created"
    DISABLED = "disabled"
    ENABLED = "enabled"
    ROLE_CHANGED = "role changed"
    PASSWORD_CHANGED = "password changed"  # noqa: S105 (the name of a change, not a password)

    @property
    def ends_sessions(self) -> bool:
        """A disabled account, or a new password, signs out every session of the account."""
        return self in (ChangeKind.DISABLED, ChangeKind.PASSWORD_CHANGED)


@dataclass(frozen=True)
class Account:
    """A member of staff who signs in to the console: a platform's account (role PLATFORM) is
    bound to one platform of the directory, by its key; no other account names a platform."""

    username: str
    role: Role
    platform: str | None = None
    disabled: bool = False

    @property
    def actor(self) -> str:
        """Who the events this account causes name: its username."""
        return self.username


@dataclass(frozen=True)
class AccountChange:
    """One line of the accounts' log: when, by whom, to which account, what, and the role
    (and platform) the account had after it."""

    at: datetime
    by: str
    username: str
    what: ChangeKind
    role: Role
    platform: str | None


@dataclass(frozen=True)
class StoredSession:
    """A session as the store keeps it: the SHA-256 of its token, never the token."""

    token_hash: str
    username: str
    created_at: datetime
    last_seen_at: datetime
    client: str


@dataclass(frozen=True)
class SignedIn:
    """The password was right: `token` is the new session's, to hand to the browser (it is
    kept nowhere else)."""

    account: Account
    token: str = field(repr=False)  # never printed by accident


@dataclass(frozen=True)
class Refused:
    """Not signed in, and no reason given: unknown username, wrong password or disabled."""


@dataclass(frozen=True)
class Locked:
    """Too many failures in a row for this username: no attempt is checked before `until`."""

    until: datetime


SignInOutcome = SignedIn | Refused | Locked


class AccountStore(Protocol):
    """Where the accounts, their log, the sessions and the failed sign-ins are kept."""

    def add(self, account: Account, password_hash: str, change: AccountChange) -> bool:
        """Add the account and its change in one transaction; False if the username is taken."""
        ...

    def save(
        self, account: Account, change: AccountChange, password_hash: str | None = None
    ) -> None:
        """Store the account as it now is (its password hash too unless None) with its change,
        ending its sessions if the change does, in one transaction."""
        ...

    def account(self, username: str) -> tuple[Account, str] | None:
        """The account and its password hash."""
        ...

    def accounts(self) -> list[Account]:
        """Every account, by username."""
        ...

    def changes(self, username: str | None = None) -> list[AccountChange]:
        """The log, oldest first (one account's, or everyone's)."""
        ...

    def locked_until(self, username: str) -> datetime | None:
        """The end of the pause of this username's last failure, if any."""
        ...

    def record_failure(
        self, username: str, at: datetime, pause: Callable[[int], timedelta | None]
    ) -> datetime | None:
        """Count one more failure in a row for this username; `pause(count)` says how long
        its sign-ins pause after it (None: no pause). Answers the pause's end, if any."""
        ...

    def signed_in(
        self, session: StoredSession, password_hash: str | None, expired_before: datetime
    ) -> None:
        """Forget the username's failures, open the session, replace the password's hash
        unless None, and forget every session begun before `expired_before`, in one
        transaction."""
        ...

    def session(self, token_hash: str) -> tuple[StoredSession, Account] | None:
        """A session by its token's hash, with its account as it is now."""
        ...

    def touch(self, token_hash: str, at: datetime) -> None:
        """Record the session's latest use."""
        ...

    def end_session(self, token_hash: str) -> None:
        """Forget one session (nothing if it is not there)."""
        ...


def check_username(username: str) -> str:
    """Lower-case letters, digits, `.` and `-`, 3 to 64 of them."""
    if not USERNAME.fullmatch(username):
        raise AccountError(
            f"{username!r} is not a username: 3 to 64 lower-case letters, digits, '.' and '-'"
        )
    return username


def check_password(password: str) -> str:
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise AccountError(
            f"a password is {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters long"
        )
    return password


def token_hash(token: str) -> str:
    """What the store keeps of a session's token."""
    return hashlib.sha256(token.encode()).hexdigest()


def pause_after(failures: int) -> timedelta | None:
    """No pause before the 5th failure in a row; then 1 minute, doubling with each further
    failure, up to an hour."""
    if failures < FAILURES_BEFORE_PAUSE:
        return None
    doublings = min(failures - FAILURES_BEFORE_PAUSE, 12)
    return min(FIRST_PAUSE * (1 << doublings), LONGEST_PAUSE)


@dataclass(eq=False)  # a service: equal only to itself
class StaffAccounts:
    """The accounts: changed from the command line, signed in to from the console.

    `idle` ends a session not used for that long, `lifetime` ends every session that long
    after it began; disabling an account or changing its password ends its sessions at once.
    """

    store: AccountStore
    platforms: PlatformDirectory
    _: KW_ONLY
    idle: timedelta
    lifetime: timedelta
    clock: Clock = field(default_factory=SystemClock)
    hasher: PasswordHasher = field(default_factory=PasswordHasher)

    def __post_init__(self) -> None:
        # What an unknown username's password is checked against: the same work as a real one.
        self._decoy = self.hasher.hash(secrets.token_urlsafe(16))

    # Changes, each recorded in the log with who made it.

    def add(
        self, username: str, role: Role, password: str, by: str, platform: str | None = None
    ) -> Account:
        """A new account, enabled. A platform's account names a platform that may use the
        portal; no other role names one."""
        account = Account(check_username(username), role, self._platform_for(role, platform))
        change = self._change(account, ChangeKind.CREATED, by)
        password_hash = self.hasher.hash(check_password(password))
        if not self.store.add(account, password_hash, change):
            raise AccountError(f"the username {username!r} is taken")
        return account

    def disable(self, username: str, by: str) -> Account:
        """The account can no longer sign in, and its sessions end now."""
        account = self._get(username)
        if account.disabled:
            raise AccountError(f"{username!r} is disabled already")
        return self._save(replace(account, disabled=True), ChangeKind.DISABLED, by)

    def enable(self, username: str, by: str) -> Account:
        """A disabled account may sign in again."""
        account = self._get(username)
        if not account.disabled:
            raise AccountError(f"{username!r} is enabled already")
        return self._save(replace(account, disabled=False), ChangeKind.ENABLED, by)

    def set_role(self, username: str, role: Role, by: str, platform: str | None = None) -> Account:
        """Another role (and platform, for a platform's account); its sessions keep going and
        act with the new role from their next request."""
        account = self._get(username)
        changed = replace(account, role=role, platform=self._platform_for(role, platform))
        if changed == account:
            raise AccountError(f"{username!r} has that role already")
        return self._save(changed, ChangeKind.ROLE_CHANGED, by)

    def set_password(self, username: str, password: str, by: str) -> Account:
        """A new password; the account's sessions end now."""
        account = self._get(username)
        password_hash = self.hasher.hash(check_password(password))
        return self._save(account, ChangeKind.PASSWORD_CHANGED, by, password_hash)

    def accounts(self) -> list[Account]:
        """Every account, by username."""
        return self.store.accounts()

    def changes(self, username: str | None = None) -> list[AccountChange]:
        """Who gave whom which role, disabled, enabled or changed a password, and when; oldest
        first."""
        return self.store.changes(username)

    # Signing in, and sessions.

    def sign_in(self, username: str, password: str, now: datetime, client: str) -> SignInOutcome:
        """Check a password and open a session (`client` says from where: kept with it).

        Refused alike, in the time of one hash, for an unknown username, a wrong password or a
        disabled account; every refusal counts towards the username's pause (`pause_after`),
        during which the answer is `Locked` and the password is not checked. The failure that
        starts a pause answers `Locked` already, with the pause's end."""
        if not USERNAME.fullmatch(username):
            self._verify(self._decoy, password)
            return Refused()
        until = self.store.locked_until(username)
        if until is not None and now < until:
            return Locked(until)
        found = self.store.account(username)
        account, stored_hash = found if found is not None else (None, self._decoy)
        right = self._verify(stored_hash, password)
        if account is None or account.disabled or not right:
            until = self.store.record_failure(username, now, pause_after)
            return Refused() if until is None else Locked(until)
        token = secrets.token_urlsafe(32)
        rehashed = (
            self.hasher.hash(password) if self.hasher.check_needs_rehash(stored_hash) else None
        )
        session = StoredSession(token_hash(token), username, now, now, client[:200])
        self.store.signed_in(session, rehashed, expired_before=now - self.lifetime)
        return SignedIn(account, token)

    def session(self, token: str, now: datetime) -> Account | None:
        """The account of a live session, as it is now; None once the session was idle for
        `idle`, began `lifetime` ago, was signed out, or its account is disabled."""
        key = token_hash(token)
        found = self.store.session(key)
        if found is None:
            return None
        session, account = found
        if (
            account.disabled
            or now >= session.last_seen_at + self.idle
            or now >= session.created_at + self.lifetime
        ):
            self.store.end_session(key)
            return None
        if now - session.last_seen_at >= TOUCH_EVERY:
            self.store.touch(key, now)
        return account

    def sign_out(self, token: str) -> None:
        """End the session of this token (nothing if it has ended already)."""
        self.store.end_session(token_hash(token))

    # Helpers.

    def _verify(self, stored_hash: str, password: str) -> bool:
        try:
            return self.hasher.verify(stored_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def _get(self, username: str) -> Account:
        found = self.store.account(username)
        if found is None:
            raise NoSuchAccount(username)
        return found[0]

    def _save(
        self, account: Account, what: ChangeKind, by: str, password_hash: str | None = None
    ) -> Account:
        change = self._change(account, what, by)
        self.store.save(account, change, password_hash)
        return account

    def _change(self, account: Account, what: ChangeKind, by: str) -> AccountChange:
        by = by.strip()
        if not by or len(by) > 100 or not by.isprintable():
            raise AccountError("who makes the change is named in one line of 1 to 100 characters")
        return AccountChange(
            self.clock.now(), by, account.username, what, account.role, account.platform
        )

    def _platform_for(self, role: Role, platform: str | None) -> str | None:
        if role is not Role.PLATFORM:
            if platform is not None:
                raise AccountError(
                    f"only a platform's account names a platform, not a {role.value}'s"
                )
            return None
        if platform is None:
            raise AccountError("a platform's account names its platform (its key)")
        known = self.platforms.get(platform)
        if known is None:
            raise AccountError(f"no platform {platform!r} in the platforms directory")
        if not known.portal:
            raise AccountError(
                f"the platform {platform!r} may not use the portal: give it `portal = true` in "
                "MEDIATION_PLATFORMS_FILE"
            )
        return platform
