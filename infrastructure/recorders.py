"""The stores behind the application: the library's recorders, plus the table of case keys and
the register of data keys.

A case's wrapped key is written in the same transaction as the case's first event, and
destroyed in the same transaction as the event that records its erasure: creating a case stays
one durable commit, and an erasure is never half done. The same transaction refuses a new case
key wrapped by a data key the register does not know or has retired (application.data_keys).
Each store has a factory that the settings name in PERSISTENCE_MODULE.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Mapping
from collections.abc import Sequence
from contextlib import AbstractContextManager
from contextlib import contextmanager
from contextlib import nullcontext
from dataclasses import replace
from datetime import datetime
from typing import Any
from typing import LiteralString
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder
from eventsourcing.persistence import PersistenceError
from eventsourcing.persistence import StoredEvent
from eventsourcing.popo import POPOApplicationRecorder
from eventsourcing.popo import POPOFactory
from eventsourcing.postgres import PostgresAggregateRecorder
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.postgres import PostgresDatastore
from eventsourcing.postgres import PostgresFactory
from eventsourcing.sqlite import SQLiteApplicationRecorder
from eventsourcing.sqlite import SQLiteCursor
from eventsourcing.sqlite import SQLiteFactory
from eventsourcing.utils import Environment
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL
from psycopg.sql import Identifier

from application.data_keys import DataKeyRetired
from application.data_keys import RegisteredDataKey
from application.personal_data import WrappedKey
from infrastructure.postgres_pool import replace_pool

NewKeys = Mapping[UUID, WrappedKey] | None
DestroyedKeys = Iterable[UUID]


# SQLite


class SQLiteMediationRecorder(SQLiteApplicationRecorder):
    """The library's SQLite recorder, with the case keys and the data-key register."""

    def construct_create_table_statements(self) -> list[str]:
        return [
            *super().construct_create_table_statements(),
            "CREATE TABLE IF NOT EXISTS case_keys ("
            "case_id TEXT PRIMARY KEY, kek_id TEXT NOT NULL, wrapped BLOB NOT NULL)",
            "CREATE TABLE IF NOT EXISTS data_keys (kek_id TEXT PRIMARY KEY, ring TEXT NOT NULL, "
            "created_at TEXT NOT NULL, retired_at TEXT)",
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
            # Inside the write transaction: a retirement committed before it is seen here.
            c.execute("SELECT retired_at FROM data_keys WHERE kek_id = ?", (key.kek_id,))
            row = c.fetchone()
            if row is None or row["retired_at"] is not None:
                raise DataKeyRetired(f"data key {key.kek_id!r} is retired or unknown")
        for case_id in destroyed_case_keys:
            # Overwrite the deleted bytes, so the key does not linger in free pages.
            c.execute("PRAGMA secure_delete = ON")
            c.execute("DELETE FROM case_keys WHERE case_id = ?", (case_id.hex,))
        return super()._insert_events(c, stored_events, **kwargs)

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        return super().insert_events(stored_events, **kwargs)

    def positions_of(self, events: Sequence[tuple[UUID, int]]) -> list[int]:
        with self.datastore.transaction(commit=False) as c:
            found = []
            for originator_id, version in events:
                c.execute(
                    f"SELECT rowid FROM {self.events_table_name} "  # noqa: S608 (the library's)
                    "WHERE originator_id = ? AND originator_version = ?",
                    (originator_id.hex, version),
                )
                found += [row["rowid"] for row in c.fetchall()]
        return found

    def wrapped_case_key(self, case_id: UUID) -> WrappedKey | None:
        with self.datastore.transaction(commit=False) as c:
            c.execute("SELECT kek_id, wrapped FROM case_keys WHERE case_id = ?", (case_id.hex,))
            row = c.fetchone()
        return None if row is None else WrappedKey(row["kek_id"], bytes(row["wrapped"]))

    def wrapped_case_keys(self, case_ids: Sequence[UUID]) -> dict[UUID, WrappedKey]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                "SELECT case_id, kek_id, wrapped FROM case_keys "  # noqa: S608 (only ?s)
                f"WHERE case_id IN ({', '.join('?' for _ in case_ids)})",
                [case_id.hex for case_id in case_ids],
            )
            rows = c.fetchall()
        return {UUID(r["case_id"]): WrappedKey(r["kek_id"], bytes(r["wrapped"])) for r in rows}

    def case_keys_not_wrapped_by(self, kek_id: str, limit: int) -> list[tuple[UUID, WrappedKey]]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                "SELECT case_id, kek_id, wrapped FROM case_keys WHERE kek_id != ? LIMIT ?",
                (kek_id, limit),
            )
            rows = c.fetchall()
        return [(UUID(r["case_id"]), WrappedKey(r["kek_id"], bytes(r["wrapped"]))) for r in rows]

    def registered_data_keys(self) -> list[RegisteredDataKey]:
        with self.datastore.transaction(commit=False) as c:
            c.execute("SELECT * FROM data_keys ORDER BY created_at, kek_id")
            rows = c.fetchall()
        retired = [r["retired_at"] and datetime.fromisoformat(r["retired_at"]) for r in rows]
        return [
            RegisteredDataKey(r["kek_id"], r["ring"], datetime.fromisoformat(r["created_at"]), at)
            for r, at in zip(rows, retired, strict=True)
        ]

    def register_data_key(self, key_id: str, ring_id: str, created_at: datetime) -> None:
        with self.datastore.transaction(commit=True) as c:
            c.execute(
                "INSERT INTO data_keys (kek_id, ring, created_at) VALUES (?, ?, ?) "
                "ON CONFLICT (kek_id) DO NOTHING",
                (key_id, ring_id, created_at.isoformat()),
            )

    def retire_data_keys(self, key_ids: Sequence[str], at: datetime) -> None:
        # SQLite has one writer at a time: no insert is in flight while this commits.
        with self.datastore.transaction(commit=True) as c:
            c.executemany(
                "UPDATE data_keys SET retired_at = ? WHERE kek_id = ? AND retired_at IS NULL",
                [(at.isoformat(), key_id) for key_id in key_ids],
            )

    def count_case_keys(self) -> dict[str, int]:
        with self.datastore.transaction(commit=False) as c:
            c.execute("SELECT kek_id, count(*) AS n FROM case_keys GROUP BY kek_id")
            return {r["kek_id"]: int(r["n"]) for r in c.fetchall()}

    def rewrite_case_keys(self) -> None:
        """Deleted and replaced rows were overwritten in place (secure_delete): empty the WAL,
        whose older page images still hold them."""
        with self.datastore.get_connection(commit=True) as connection:
            connection.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def rotation_lock(self) -> AbstractContextManager[bool]:
        return nullcontext(True)  # one host: the ring file's own lock is enough

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
    """What PERSISTENCE_MODULE names for SQLite."""

    application_recorder_class = SQLiteMediationRecorder


# PostgreSQL
#
# The library retries each statement ten times, each attempt waiting the full connection
# timeout: during an outage a request hung for about a minute. Here each statement is tried
# once (`__wrapped__` is the undecorated method its @retry keeps); dead pooled connections are
# not handed out (infrastructure.postgres_pool), and clients retry safely on a 503.


RECORD_FUNCTION = """
CREATE OR REPLACE FUNCTION {function}(
    events {event_type}[], key_ids uuid[], key_keks text[], key_wrapped bytea[]
) RETURNS SETOF bigint LANGUAGE plpgsql AS $body$
BEGIN
    SET LOCAL lock_timeout = '{timeout}s';
    IF cardinality(key_ids) > 0 THEN
        INSERT INTO {keys} (case_id, kek_id, wrapped)
            SELECT * FROM unnest(key_ids, key_keks, key_wrapped);
        -- Checked after the insert took its lock on the keys: a retirement either committed
        -- before (and is seen) or waits for this transaction (RETIRE_FENCE).
        IF EXISTS (
            SELECT 1 FROM unnest(key_keks) AS k(id) LEFT JOIN {data_keys} d ON d.kek_id = k.id
            WHERE d.kek_id IS NULL OR d.retired_at IS NOT NULL
        ) THEN
            RAISE EXCEPTION 'a new case key is wrapped by a retired or unknown data key'
                USING ERRCODE = '{retired}';
        END IF;
    END IF;
    LOCK TABLE {events} IN EXCLUSIVE MODE;
    NOTIFY {channel};
    RETURN QUERY
        INSERT INTO {events} (originator_id, originator_version, topic, state)
        SELECT originator_id, originator_version, topic, state FROM unnest(events)
        RETURNING notification_id;
END;
$body$
"""
"""Records a command's events and its case's new key in one statement, run as a transaction of
its own.

Why: the library's write path sends its statements one by one inside a transaction that holds
an exclusive lock on the events table, so under concurrent requests the lock holder waited for
its own Python thread to get the GIL back, and every other writer waited for it (PostgreSQL
shows the holder "idle in transaction"). Here the lock is held only while the server inserts
and commits.

The lock is what keeps notification ids in commit order, so that a reader following ids never
passes a gap that a slower transaction fills later (tests/infrastructure/test_log_order.py):
the library's own database function leaves it out, which lets ids become visible out of order.
PostgreSQL releases a transaction's locks only once its commit is visible."""


DATA_KEY_RETIRED = "MK001"
"""The SQLSTATE the database raises for a new case key wrapped by a retired or unknown data key."""

ROTATION_LOCK_KEY = 0x6D656472  # "medr": one rotation at a time on a database


class OneAttemptAggregateRecorder(PostgresAggregateRecorder):
    """The library's PostgreSQL recorder of snapshots, each statement tried once."""

    insert_events = PostgresAggregateRecorder.insert_events.__wrapped__
    select_events = PostgresAggregateRecorder.select_events.__wrapped__


class PostgresMediationRecorder(PostgresApplicationRecorder):
    """The library's PostgreSQL recorder, with the case keys, the data-key register, and a
    command's events and keys written in one statement."""

    insert_events_with_retries = PostgresApplicationRecorder.insert_events.__wrapped__
    select_events = PostgresApplicationRecorder.select_events.__wrapped__
    select_notifications = PostgresApplicationRecorder.select_notifications.__wrapped__
    max_notification_id = PostgresApplicationRecorder.max_notification_id.__wrapped__

    def __init__(
        self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"
    ) -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        prefix = events_table_name.removesuffix("_events")
        self.case_keys_table = self._table(
            f"{prefix}_case_keys",
            "case_id uuid PRIMARY KEY, kek_id text NOT NULL, wrapped bytea NOT NULL",
        )
        self.data_keys_table = self._table(
            f"{prefix}_data_keys",
            "kek_id text PRIMARY KEY, ring text NOT NULL, created_at timestamptz NOT NULL, "
            "retired_at timestamptz",
        )
        function = events_table_name.removesuffix("_events") + "_record"
        self.check_identifier_length(function)
        self.sql_create_statements.append(
            SQL(RECORD_FUNCTION).format(
                function=Identifier(datastore.schema, function),
                event_type=Identifier(datastore.schema, self.stored_event_type_name),
                events=Identifier(datastore.schema, events_table_name),
                keys=self.case_keys_table,
                data_keys=self.data_keys_table,
                retired=SQL(DATA_KEY_RETIRED),
                channel=Identifier(self.channel_name),
                timeout=datastore.lock_timeout,
            )
        )
        self.record_statement = SQL(
            "SELECT id FROM {function}(%s, %s::uuid[], %s::text[], %s::bytea[]) AS id"
        ).format(function=Identifier(datastore.schema, function))

    def _table(self, name: str, columns: str) -> Identifier:
        """A table of ours beside the events, created with them."""
        self.check_identifier_length(name)
        table = Identifier(self.datastore.schema, name)
        self.sql_create_statements.append(
            SQL("CREATE TABLE IF NOT EXISTS {table} (" + columns + ")").format(table=table)
        )
        return table

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        if not kwargs.get("destroyed_case_keys"):
            return self._record(stored_events, kwargs.get("new_case_keys") or {})
        # An erasure (rare): the library's transaction.
        ids: Sequence[int] | None = self.insert_events_with_retries(stored_events, **kwargs)
        return ids

    def _record(
        self, stored_events: Sequence[StoredEvent], new_case_keys: Mapping[UUID, WrappedKey]
    ) -> Sequence[int]:
        """Events and new case keys in one statement, so one round trip (see RECORD_FUNCTION)."""
        events = [
            self.construct_pg_stored_event(e.originator_id, e.originator_version, e.topic, e.state)
            for e in stored_events
        ]
        keys = list(new_case_keys.items())
        try:
            with self.datastore.get_connection() as connection, connection.cursor() as curs:
                curs.execute(
                    self.record_statement,
                    (
                        events,
                        [case_id for case_id, _ in keys],
                        [key.kek_id for _, key in keys],
                        [key.wrapped for _, key in keys],
                    ),
                    prepare=True,
                )
                return [row["id"] for row in curs.fetchall()]
        except PersistenceError as error:
            if getattr(error.__cause__, "sqlstate", None) == DATA_KEY_RETIRED:
                raise DataKeyRetired(str(error.__cause__)) from None
            raise

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
        # Read on every command: one autocommit statement, not BEGIN, SELECT and ROLLBACK.
        with self.datastore.get_connection() as connection, connection.cursor() as curs:
            curs.execute(
                SQL("SELECT kek_id, wrapped FROM {table} WHERE case_id = %s").format(
                    table=self.case_keys_table
                ),
                (case_id,),
            )
            row = curs.fetchone()
        return None if row is None else WrappedKey(row["kek_id"], bytes(row["wrapped"]))

    def positions_of(self, events: Sequence[tuple[UUID, int]]) -> list[int]:
        with self.datastore.get_connection() as connection, connection.cursor() as curs:
            curs.execute(
                SQL(
                    "SELECT notification_id FROM {table} e JOIN unnest(%s::uuid[], %s::int[]) "
                    "AS w(id, version) ON e.originator_id = w.id AND e.originator_version = "
                    "w.version"
                ).format(table=Identifier(self.datastore.schema, self.events_table_name)),
                ([i for i, _ in events], [v for _, v in events]),
            )
            return [row["notification_id"] for row in curs.fetchall()]

    def wrapped_case_keys(self, case_ids: Sequence[UUID]) -> dict[UUID, WrappedKey]:
        with self.datastore.get_connection() as connection, connection.cursor() as curs:
            curs.execute(
                SQL("SELECT case_id, kek_id, wrapped FROM {table} WHERE case_id = ANY(%s)").format(
                    table=self.case_keys_table
                ),
                (list(case_ids),),
            )
            rows = curs.fetchall()
        return {r["case_id"]: WrappedKey(r["kek_id"], bytes(r["wrapped"])) for r in rows}

    def _read(
        self, statement: LiteralString, table: Identifier, params: Sequence[Any] = ()
    ) -> list[DictRow]:
        """The rows of one statement on `table`, read in a transaction of its own."""
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(SQL(statement).format(table=table), params)
            return curs.fetchall()

    def _write(self, statement: LiteralString, table: Identifier, params: Sequence[Any]) -> int:
        """One statement on `table`, committed in a transaction of its own: the rows it
        changed."""
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(SQL(statement).format(table=table), params)
            return curs.rowcount

    def case_keys_not_wrapped_by(self, kek_id: str, limit: int) -> list[tuple[UUID, WrappedKey]]:
        rows = self._read(
            "SELECT case_id, kek_id, wrapped FROM {table} WHERE kek_id != %s LIMIT %s",
            self.case_keys_table,
            (kek_id, limit),
        )
        return [(r["case_id"], WrappedKey(r["kek_id"], bytes(r["wrapped"]))) for r in rows]

    def registered_data_keys(self) -> list[RegisteredDataKey]:
        rows = self._read("SELECT * FROM {table} ORDER BY created_at, kek_id", self.data_keys_table)
        return [
            RegisteredDataKey(r["kek_id"], r["ring"], r["created_at"], r["retired_at"])
            for r in rows
        ]

    def register_data_key(self, key_id: str, ring_id: str, created_at: datetime) -> None:
        self._write(
            "INSERT INTO {table} (kek_id, ring, created_at) VALUES (%s, %s, %s) "
            "ON CONFLICT (kek_id) DO NOTHING",
            self.data_keys_table,
            (key_id, ring_id, created_at),
        )

    def retire_data_keys(self, key_ids: Sequence[str], at: datetime) -> None:
        # RETIRE_FENCE: the SHARE lock waits for every transaction inserting case keys (they
        # hold ROW EXCLUSIVE until they commit) and holds new ones back until this commits.
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(SQL("LOCK TABLE {table} IN SHARE MODE").format(table=self.case_keys_table))
            curs.execute(
                SQL(
                    "UPDATE {table} SET retired_at = %s "
                    "WHERE kek_id = ANY(%s) AND retired_at IS NULL"
                ).format(table=self.data_keys_table),
                (at, list(key_ids)),
            )

    def count_case_keys(self) -> dict[str, int]:
        rows = self._read(
            "SELECT kek_id, count(*) AS n FROM {table} GROUP BY kek_id", self.case_keys_table
        )
        return {r["kek_id"]: int(r["n"]) for r in rows}

    def rewrite_case_keys(self) -> None:
        """VACUUM FULL writes the table anew and unlinks its old files: a plain VACUUM only
        marks dead rows as free space, and their bytes stay in the file until reused. It locks
        the table (every command reads a case key) while it copies it, so it waits for that
        lock a few seconds at most; if it cannot have it, the next rotation rewrites it."""
        timeout = SQL(f"'{max(self.datastore.lock_timeout, 1)}s'")
        try:
            with self.datastore.get_connection() as connection:
                connection.execute(SQL("SET lock_timeout = {}").format(timeout))
                try:
                    connection.execute(
                        SQL("VACUUM FULL {table}").format(table=self.case_keys_table)
                    )
                finally:
                    connection.execute("RESET lock_timeout")
        except PersistenceError as error:  # what it tidies is already committed
            logging.getLogger("mediation.keys").warning(
                "the case-key table was not rewritten now (%s); the next rotation will",
                type(error).__name__,
            )

    @contextmanager
    def rotation_lock(self) -> Iterator[bool]:
        with self.datastore.get_connection() as connection:
            row = connection.execute(
                "SELECT pg_try_advisory_lock(%s) AS held", (ROTATION_LOCK_KEY,)
            ).fetchone()
            held = bool(row and row["held"])
            try:
                yield held
            finally:
                if held:
                    connection.execute("SELECT pg_advisory_unlock(%s)", (ROTATION_LOCK_KEY,))

    def replace_wrapped_case_key(self, case_id: UUID, old: WrappedKey, new: WrappedKey) -> bool:
        changed = self._write(
            "UPDATE {table} SET kek_id = %s, wrapped = %s "
            "WHERE case_id = %s AND kek_id = %s AND wrapped = %s",
            self.case_keys_table,
            (new.kek_id, new.wrapped, case_id, old.kek_id, old.wrapped),
        )
        return bool(changed)


class MediationPostgresFactory(PostgresFactory):
    """What PERSISTENCE_MODULE names for PostgreSQL."""

    aggregate_recorder_class = OneAttemptAggregateRecorder
    application_recorder_class = PostgresMediationRecorder

    def __init__(self, env: Environment | Mapping[str, str]) -> None:
        super().__init__(env)
        replace_pool(self.datastore)


# In memory (tests, demonstrations)


class POPOMediationRecorder(POPOApplicationRecorder):
    """The library's in-memory recorder, with the case keys and the data-key register."""

    def __init__(self) -> None:
        super().__init__()
        self._case_keys: dict[UUID, WrappedKey] = {}
        self._data_keys: dict[str, RegisteredDataKey] = {}

    def _insert_events(
        self,
        stored_events: Sequence[StoredEvent],
        *,
        new_case_keys: NewKeys = None,
        destroyed_case_keys: DestroyedKeys = (),
        **kwargs: Any,
    ) -> Sequence[int] | None:
        with self._database_lock:
            for key in (new_case_keys or {}).values():
                registered = self._data_keys.get(key.kek_id)
                if registered is None or registered.retired_at is not None:
                    raise DataKeyRetired(f"data key {key.kek_id!r} is retired or unknown")
            ids = super()._insert_events(stored_events, **kwargs)
            self._case_keys.update(new_case_keys or {})
            for case_id in destroyed_case_keys:
                self._case_keys.pop(case_id, None)
            return ids

    def positions_of(self, events: Sequence[tuple[UUID, int]]) -> list[int]:
        with self._database_lock:
            index = self._stored_events_index
            return [
                index[str(i)][v] + 1 for i, v in events if v in index.get(str(i), {})
            ]  # positions count from 1

    def wrapped_case_key(self, case_id: UUID) -> WrappedKey | None:
        with self._database_lock:
            return self._case_keys.get(case_id)

    def wrapped_case_keys(self, case_ids: Sequence[UUID]) -> dict[UUID, WrappedKey]:
        with self._database_lock:
            return {c: self._case_keys[c] for c in case_ids if c in self._case_keys}

    def case_keys_not_wrapped_by(self, kek_id: str, limit: int) -> list[tuple[UUID, WrappedKey]]:
        with self._database_lock:
            found = [(c, k) for c, k in self._case_keys.items() if k.kek_id != kek_id]
            return found[:limit]

    def registered_data_keys(self) -> list[RegisteredDataKey]:
        with self._database_lock:
            return sorted(self._data_keys.values(), key=lambda k: (k.created_at, k.id))

    def register_data_key(self, key_id: str, ring_id: str, created_at: datetime) -> None:
        with self._database_lock:
            self._data_keys.setdefault(
                key_id, RegisteredDataKey(key_id, ring_id, created_at, retired_at=None)
            )

    def retire_data_keys(self, key_ids: Sequence[str], at: datetime) -> None:
        with self._database_lock:
            for key_id in key_ids:
                known = self._data_keys.get(key_id)
                if known is not None and known.retired_at is None:
                    self._data_keys[key_id] = replace(known, retired_at=at)

    def count_case_keys(self) -> dict[str, int]:
        with self._database_lock:
            return dict(Counter(k.kek_id for k in self._case_keys.values()))

    def rewrite_case_keys(self) -> None:
        pass  # nothing lingers on a disk

    def rotation_lock(self) -> AbstractContextManager[bool]:
        return nullcontext(True)

    def replace_wrapped_case_key(self, case_id: UUID, old: WrappedKey, new: WrappedKey) -> bool:
        with self._database_lock:
            if self._case_keys.get(case_id) != old:
                return False
            self._case_keys[case_id] = new
            return True


class MediationPOPOFactory(POPOFactory):
    """What PERSISTENCE_MODULE names for the in-memory store."""

    def application_recorder(self) -> ApplicationRecorder:
        return POPOMediationRecorder()
