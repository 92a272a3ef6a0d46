"""The stores behind the application: the library's recorders, plus the table of case keys.

A case's wrapped data key is written in the same transaction as the case's first event, and
destroyed in the same transaction as the event that records its erasure: creating a case stays
one durable commit, and an erasure is never half done. Each store has a factory that the
settings name in PERSISTENCE_MODULE.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder, StoredEvent
from eventsourcing.popo import POPOApplicationRecorder, POPOFactory
from eventsourcing.postgres import (
    PostgresAggregateRecorder,
    PostgresApplicationRecorder,
    PostgresDatastore,
    PostgresFactory,
)
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor, SQLiteFactory
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier

from application.personal_data import WrappedKey

NewKeys = Mapping[UUID, WrappedKey] | None
DestroyedKeys = Iterable[UUID]


# SQLite


class SQLiteMediationRecorder(SQLiteApplicationRecorder):
    def construct_create_table_statements(self) -> list[str]:
        return [
            *super().construct_create_table_statements(),
            "CREATE TABLE IF NOT EXISTS case_keys ("
            "case_id TEXT PRIMARY KEY, kek_id TEXT NOT NULL, wrapped BLOB NOT NULL)",
        ]

    def _insert_events(
        self,
        c: SQLiteCursor,
        stored_events: Sequence[StoredEvent],
        *,
        new_case_keys: NewKeys = None,
        destroyed_case_keys: DestroyedKeys = (),
        **kwargs: Any,
    ) -> Sequence[int] | None:
        for case_id, key in (new_case_keys or {}).items():
            c.execute(
                "INSERT INTO case_keys VALUES (?, ?, ?)", (case_id.hex, key.kek_id, key.wrapped)
            )
        for case_id in destroyed_case_keys:
            # Overwrite the deleted bytes, so the key does not linger in free pages.
            c.execute("PRAGMA secure_delete = ON")
            c.execute("DELETE FROM case_keys WHERE case_id = ?", (case_id.hex,))
        return super()._insert_events(c, stored_events, **kwargs)

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        ids = super().insert_events(stored_events, **kwargs)
        if kwargs.get("destroyed_case_keys"):
            # Copy the WAL back into the file and empty it: older page images held the key.
            with self.datastore.get_connection(commit=True) as connection:
                connection.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return ids

    def wrapped_case_key(self, case_id: UUID) -> WrappedKey | None:
        with self.datastore.transaction(commit=False) as c:
            c.execute("SELECT kek_id, wrapped FROM case_keys WHERE case_id = ?", (case_id.hex,))
            row = c.fetchone()
        return None if row is None else WrappedKey(row["kek_id"], bytes(row["wrapped"]))

    def case_keys_not_wrapped_by(self, kek_id: str, limit: int) -> list[tuple[UUID, WrappedKey]]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                "SELECT case_id, kek_id, wrapped FROM case_keys WHERE kek_id != ? LIMIT ?",
                (kek_id, limit),
            )
            rows = c.fetchall()
        return [(UUID(r["case_id"]), WrappedKey(r["kek_id"], bytes(r["wrapped"]))) for r in rows]

    def replace_wrapped_case_key(self, case_id: UUID, old: WrappedKey, new: WrappedKey) -> bool:
        with self.datastore.transaction(commit=True) as c:
            c.execute("PRAGMA secure_delete = ON")
            c.execute(
                "UPDATE case_keys SET kek_id = ?, wrapped = ? "
                "WHERE case_id = ? AND kek_id = ? AND wrapped = ?",
                (new.kek_id, new.wrapped, case_id.hex, old.kek_id, old.wrapped),
            )
            c.execute("SELECT changes() AS changed")
            return bool(c.fetchone()["changed"])


class MediationSQLiteFactory(SQLiteFactory):
    application_recorder_class = SQLiteMediationRecorder


# PostgreSQL
#
# The library retries each statement ten times, each attempt waiting the full connection
# timeout: during an outage a request hung for about a minute. Here each statement is tried
# once (`__wrapped__` is the undecorated method its @retry keeps); dead pooled connections are
# discarded by the pre-ping, and clients retry safely on a 503.


class OneAttemptAggregateRecorder(PostgresAggregateRecorder):
    insert_events = PostgresAggregateRecorder.insert_events.__wrapped__
    select_events = PostgresAggregateRecorder.select_events.__wrapped__


class PostgresMediationRecorder(PostgresApplicationRecorder):
    insert_events_with_retries = PostgresApplicationRecorder.insert_events.__wrapped__
    select_events = PostgresApplicationRecorder.select_events.__wrapped__
    select_notifications = PostgresApplicationRecorder.select_notifications.__wrapped__
    max_notification_id = PostgresApplicationRecorder.max_notification_id.__wrapped__

    def __init__(
        self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"
    ) -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        table = events_table_name.removesuffix("_events") + "_case_keys"
        self.check_identifier_length(table)
        self.case_keys_table = Identifier(datastore.schema, table)
        self.sql_create_statements.append(
            SQL(
                "CREATE TABLE IF NOT EXISTS {table} ("
                "case_id uuid PRIMARY KEY, kek_id text NOT NULL, wrapped bytea NOT NULL)"
            ).format(table=self.case_keys_table)
        )

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        ids: Sequence[int] | None = self.insert_events_with_retries(stored_events, **kwargs)
        if kwargs.get("destroyed_case_keys"):
            # Remove the dead row versions now rather than at the next autovacuum.
            with self.datastore.get_connection() as connection:
                connection.execute(SQL("VACUUM {table}").format(table=self.case_keys_table))
        return ids

    def _insert_events(
        self,
        curs: Cursor[DictRow],
        stored_events: Sequence[StoredEvent],
        *,
        new_case_keys: NewKeys = None,
        destroyed_case_keys: DestroyedKeys = (),
        **kwargs: Any,
    ) -> None:
        for case_id, key in (new_case_keys or {}).items():
            curs.execute(
                SQL("INSERT INTO {table} VALUES (%s, %s, %s)").format(table=self.case_keys_table),
                (case_id, key.kek_id, key.wrapped),
            )
        for case_id in destroyed_case_keys:
            curs.execute(
                SQL("DELETE FROM {table} WHERE case_id = %s").format(table=self.case_keys_table),
                (case_id,),
            )
        super()._insert_events(curs, stored_events, **kwargs)

    def wrapped_case_key(self, case_id: UUID) -> WrappedKey | None:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                SQL("SELECT kek_id, wrapped FROM {table} WHERE case_id = %s").format(
                    table=self.case_keys_table
                ),
                (case_id,),
            )
            row = curs.fetchone()
        return None if row is None else WrappedKey(row["kek_id"], bytes(row["wrapped"]))

    def case_keys_not_wrapped_by(self, kek_id: str, limit: int) -> list[tuple[UUID, WrappedKey]]:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                SQL(
                    "SELECT case_id, kek_id, wrapped FROM {table} WHERE kek_id != %s LIMIT %s"
                ).format(table=self.case_keys_table),
                (kek_id, limit),
            )
            rows = curs.fetchall()
        return [(r["case_id"], WrappedKey(r["kek_id"], bytes(r["wrapped"]))) for r in rows]

    def replace_wrapped_case_key(self, case_id: UUID, old: WrappedKey, new: WrappedKey) -> bool:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                SQL(
                    "UPDATE {table} SET kek_id = %s, wrapped = %s "
                    "WHERE case_id = %s AND kek_id = %s AND wrapped = %s"
                ).format(table=self.case_keys_table),
                (new.kek_id, new.wrapped, case_id, old.kek_id, old.wrapped),
            )
            return bool(curs.rowcount)


class MediationPostgresFactory(PostgresFactory):
    aggregate_recorder_class = OneAttemptAggregateRecorder
    application_recorder_class = PostgresMediationRecorder


# In memory (tests, demonstrations)


class POPOMediationRecorder(POPOApplicationRecorder):
    def __init__(self) -> None:
        super().__init__()
        self._case_keys: dict[UUID, WrappedKey] = {}

    def _insert_events(
        self,
        stored_events: Sequence[StoredEvent],
        *,
        new_case_keys: NewKeys = None,
        destroyed_case_keys: DestroyedKeys = (),
        **kwargs: Any,
    ) -> Sequence[int] | None:
        with self._database_lock:
            ids = super()._insert_events(stored_events, **kwargs)
            self._case_keys.update(new_case_keys or {})
            for case_id in destroyed_case_keys:
                self._case_keys.pop(case_id, None)
            return ids

    def wrapped_case_key(self, case_id: UUID) -> WrappedKey | None:
        with self._database_lock:
            return self._case_keys.get(case_id)

    def case_keys_not_wrapped_by(self, kek_id: str, limit: int) -> list[tuple[UUID, WrappedKey]]:
        with self._database_lock:
            found = [(c, k) for c, k in self._case_keys.items() if k.kek_id != kek_id]
            return found[:limit]

    def replace_wrapped_case_key(self, case_id: UUID, old: WrappedKey, new: WrappedKey) -> bool:
        with self._database_lock:
            if self._case_keys.get(case_id) != old:
                return False
            self._case_keys[case_id] = new
            return True


class MediationPOPOFactory(POPOFactory):
    def application_recorder(self) -> ApplicationRecorder:
        return POPOMediationRecorder()
