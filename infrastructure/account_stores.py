"""The staff accounts' store: four tables beside the events, in SQLite (a file, or in memory)
and PostgreSQL.

`staff_accounts` (one row an account, its password's argon2id hash), `staff_account_changes`
(the log, only ever added to), `staff_sessions` (by the SHA-256 of their token) and
`staff_sign_in_failures` (the failures in a row of a username, and the end of its pause).
They are the accounts' only record, not a projection of the case log: nothing rebuilds them.

Every transaction that writes begins with its write: in SQLite a transaction that read first
could not wait for another process's write ("database is locked").
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any

from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore

from application.access import Role
from application.accounts import Account
from application.accounts import AccountChange
from application.accounts import ChangeKind
from application.accounts import StoredSession
from infrastructure.read_model_store import Dialect
from infrastructure.read_model_store import Index
from infrastructure.read_model_store import PostgresDialect
from infrastructure.read_model_store import SQLiteDialect
from infrastructure.read_model_store import Table
from infrastructure.read_model_store import columns_of
from infrastructure.read_model_store import memory_datastore


@dataclass(frozen=True)
class AccountRow:
    username: str
    role: Role
    platform: str | None
    disabled: int
    password_hash: str


@dataclass(frozen=True)
class ChangeRow:
    at: datetime
    changed_by: str
    username: str
    what: ChangeKind
    role: Role
    platform: str | None


@dataclass(frozen=True)
class FailureRow:
    username: str
    failures: int
    last_failure_at: datetime
    locked_until: datetime | None


ACCOUNTS = Table("staff_accounts", columns_of(AccountRow, key="username"), key=("username",))
SESSIONS = Table(
    "staff_sessions",
    columns_of(StoredSession, key="token_hash"),
    key=("token_hash",),
    indexes=(Index("username", "username"), Index("created_at", "created_at")),
)
FAILURES = Table(
    "staff_sign_in_failures", columns_of(FailureRow, key="username"), key=("username",)
)
CHANGES = "staff_account_changes"
CHANGE_COLUMNS = columns_of(ChangeRow, key="at")
NUMBERED = {
    # The log's order is the order changes were added: a number the database gives.
    SQLiteDialect: "number INTEGER PRIMARY KEY AUTOINCREMENT",
    PostgresDialect: "number bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
}


class SQLAccountStore:
    """The accounts in a SQL database (`application.accounts.AccountStore`)."""

    def __init__(self, datastore: Any, dialect: Dialect) -> None:
        self.datastore = datastore
        self.dialect = dialect
        self.accounts_table = dialect.name(ACCOUNTS.name)
        self.changes_table = dialect.name(CHANGES)
        self.sessions_table = dialect.name(SESSIONS.name)
        self.failures_table = dialect.name(FAILURES.name)
        columns = ", ".join(
            f"{c.name} {dialect.sql_type(c.type)}{' NOT NULL' if c.name != 'platform' else ''}"
            for c in CHANGE_COLUMNS
        )
        with datastore.transaction(commit=True) as c:
            for table in (ACCOUNTS, SESSIONS, FAILURES):
                dialect.create(c, table, table.name)
            c.execute(
                f"CREATE TABLE IF NOT EXISTS {self.changes_table} "
                f"({NUMBERED[type(dialect)]}, {columns})"
            )

    def add(self, account: Account, password_hash: str, change: AccountChange) -> bool:
        m = self.dialect.mark
        row = self._encode(
            account.username, account.role, account.platform, int(account.disabled), password_hash
        )
        with self.datastore.transaction(commit=True) as c:
            c.execute(
                f"INSERT INTO {self.accounts_table} "
                f"(username, role, platform, disabled, password_hash) "
                f"VALUES ({m}, {m}, {m}, {m}, {m}) ON CONFLICT (username) DO NOTHING "
                "RETURNING username",
                row,
            )
            if not c.fetchall():
                return False
            self._log(c, change)
            return True

    def save(
        self, account: Account, change: AccountChange, password_hash: str | None = None
    ) -> None:
        m = self.dialect.mark
        values: dict[str, Any] = {
            "role": account.role,
            "platform": account.platform,
            "disabled": int(account.disabled),
        }
        if password_hash is not None:
            values["password_hash"] = password_hash
        assignments = ", ".join(f"{name} = {m}" for name in values)
        with self.datastore.transaction(commit=True) as c:
            c.execute(
                f"UPDATE {self.accounts_table} SET {assignments} WHERE username = {m}",
                self._encode(*values.values(), account.username),
            )
            self._log(c, change)
            if change.what.ends_sessions:
                c.execute(
                    f"DELETE FROM {self.sessions_table} WHERE username = {m}", (account.username,)
                )

    def account(self, username: str) -> tuple[Account, str] | None:
        m = self.dialect.mark
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT username, role, platform, disabled, password_hash "
                f"FROM {self.accounts_table} WHERE username = {m}",
                (username,),
            )
            row = c.fetchone()
        return None if row is None else (self._account(row), str(row["password_hash"]))

    def accounts(self) -> list[Account]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT username, role, platform, disabled FROM {self.accounts_table} "
                "ORDER BY username"
            )
            return [self._account(row) for row in c.fetchall()]

    def changes(self, username: str | None = None) -> list[AccountChange]:
        m = self.dialect.mark
        names = ", ".join(c.name for c in CHANGE_COLUMNS)
        where, values = ("", ()) if username is None else (f" WHERE username = {m}", (username,))
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT {names} FROM {self.changes_table}{where} ORDER BY number", values)
            rows = c.fetchall()
        return [
            AccountChange(
                at=self._decode(datetime, row["at"]),
                by=row["changed_by"],
                username=row["username"],
                what=ChangeKind(row["what"]),
                role=Role(row["role"]),
                platform=row["platform"],
            )
            for row in rows
        ]

    def locked_until(self, username: str) -> datetime | None:
        m = self.dialect.mark
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT locked_until FROM {self.failures_table} WHERE username = {m}", (username,)
            )
            row = c.fetchone()
        return None if row is None else self._decode(datetime, row["locked_until"])

    def record_failure(
        self, username: str, at: datetime, pause: Callable[[int], timedelta | None]
    ) -> datetime | None:
        m, t = self.dialect.mark, self.failures_table
        with self.datastore.transaction(commit=True) as c:
            c.execute(
                f"INSERT INTO {t} (username, failures, last_failure_at) VALUES ({m}, 1, {m}) "
                f"ON CONFLICT (username) DO UPDATE SET failures = {t}.failures + 1, "
                "last_failure_at = excluded.last_failure_at RETURNING failures",
                self._encode(username, at),
            )
            paused = pause(int(c.fetchone()["failures"]))
            until = None if paused is None else at + paused
            c.execute(
                f"UPDATE {t} SET locked_until = {m} WHERE username = {m}",
                self._encode(until, username),
            )
        return until

    def signed_in(
        self, session: StoredSession, password_hash: str | None, expired_before: datetime
    ) -> None:
        m = self.dialect.mark
        with self.datastore.transaction(commit=True) as c:
            c.execute(
                f"DELETE FROM {self.failures_table} WHERE username = {m}", (session.username,)
            )
            c.execute(
                f"DELETE FROM {self.sessions_table} WHERE created_at < {m}",
                self._encode(expired_before),
            )
            c.execute(
                f"INSERT INTO {self.sessions_table} "
                "(token_hash, username, created_at, last_seen_at, client) "
                f"VALUES ({m}, {m}, {m}, {m}, {m})",
                self._encode(
                    session.token_hash,
                    session.username,
                    session.created_at,
                    session.last_seen_at,
                    session.client,
                ),
            )
            if password_hash is not None:
                c.execute(
                    f"UPDATE {self.accounts_table} SET password_hash = {m} WHERE username = {m}",
                    (password_hash, session.username),
                )

    def session(self, token_hash: str) -> tuple[StoredSession, Account] | None:
        m = self.dialect.mark
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                "SELECT s.token_hash, s.username, s.created_at, s.last_seen_at, s.client, "
                "a.role, a.platform, a.disabled "
                f"FROM {self.sessions_table} s JOIN {self.accounts_table} a "
                f"ON a.username = s.username WHERE s.token_hash = {m}",
                (token_hash,),
            )
            row = c.fetchone()
        if row is None:
            return None
        session = StoredSession(
            token_hash=row["token_hash"],
            username=row["username"],
            created_at=self._decode(datetime, row["created_at"]),
            last_seen_at=self._decode(datetime, row["last_seen_at"]),
            client=row["client"],
        )
        return session, self._account(row)

    def touch(self, token_hash: str, at: datetime) -> None:
        m = self.dialect.mark
        with self.datastore.transaction(commit=True) as c:
            c.execute(
                f"UPDATE {self.sessions_table} SET last_seen_at = {m} WHERE token_hash = {m}",
                self._encode(at, token_hash),
            )

    def end_session(self, token_hash: str) -> None:
        m = self.dialect.mark
        with self.datastore.transaction(commit=True) as c:
            c.execute(f"DELETE FROM {self.sessions_table} WHERE token_hash = {m}", (token_hash,))

    def _log(self, c: Any, change: AccountChange) -> None:
        m = self.dialect.mark
        names = ", ".join(column.name for column in CHANGE_COLUMNS)
        marks = ", ".join(m for _ in CHANGE_COLUMNS)
        c.execute(
            f"INSERT INTO {self.changes_table} ({names}) VALUES ({marks})",
            self._encode(
                change.at, change.by, change.username, change.what, change.role, change.platform
            ),
        )

    def _account(self, row: Any) -> Account:
        return Account(
            username=row["username"],
            role=Role(row["role"]),
            platform=row["platform"],
            disabled=bool(row["disabled"]),
        )

    def _encode(self, *values: Any) -> list[Any]:
        return [self.dialect.encode(v) for v in values]

    def _decode(self, kind: type[datetime], value: Any) -> Any:
        instant = self.dialect.decode(kind, value)
        return None if instant is None else instant.astimezone(UTC)


_in_memory: weakref.WeakKeyDictionary[Any, SQLAccountStore] = weakref.WeakKeyDictionary()


def accounts_for(recorder: Any) -> SQLAccountStore:
    """The accounts beside the application's events, in the same database; for a store in
    memory, a SQLite database in memory of its own, the same for every call with that
    recorder."""
    datastore = getattr(recorder, "datastore", None)
    if isinstance(datastore, PostgresDatastore):
        prefix = recorder.events_table_name.removesuffix("_events")
        return SQLAccountStore(datastore, PostgresDialect(datastore.schema, prefix))
    if isinstance(datastore, SQLiteDatastore):
        return SQLAccountStore(datastore, SQLiteDialect())
    if recorder not in _in_memory:
        _in_memory[recorder] = SQLAccountStore(memory_datastore(), SQLiteDialect())
    return _in_memory[recorder]
