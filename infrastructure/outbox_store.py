"""The outbox's store: one table of entries beside the events, in SQLite (a file, or in
memory) and PostgreSQL, with the position of the outbox projection in the read models'
position table.

Unlike the queues and the statistics, the outbox is never built again from the log: its rows
say what was sent, and a rebuild would send it all again. So it has one copy, its entries are
added once (a notice's id is its key: adding it again changes nothing), and a new outbox starts
at the log's head: e-mails are sent for the events recorded after it was set up, not for a
deployment's past. Its shape is versioned like the other read models' (a change of shape
starts a new table from the head, the old one is kept for the operator to drop).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore

from application.mail import MailTemplate
from application.notifications import Notice
from application.outbox import Delivery
from application.outbox import Outbox
from application.outbox import OutboxEntry
from infrastructure.read_model_store import STATE
from infrastructure.read_model_store import Dialect
from infrastructure.read_model_store import Index
from infrastructure.read_model_store import PostgresDialect
from infrastructure.read_model_store import ProjectionState
from infrastructure.read_model_store import Shape
from infrastructure.read_model_store import SQLiteDialect
from infrastructure.read_model_store import Table
from infrastructure.read_model_store import columns_of
from infrastructure.read_model_store import memory_datastore


@dataclass(frozen=True)
class OutboxRow:
    """An entry as the table keeps it."""

    id: UUID
    case_id: UUID
    case_version: int
    template: MailTemplate
    delivery: Delivery
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None
    last_error: str | None
    sent_at: datetime | None


ENTRIES = Table(
    "entries",
    columns_of(OutboxRow, key="id"),
    key=("id",),
    indexes=(Index("due", "delivery, next_attempt_at"),),
)
SHAPE = Shape("outbox", "outbox", (ENTRIES,))
COLUMNS = [column.name for column in ENTRIES.columns]
NAME = "outbox"


class SQLOutbox(Outbox):
    """The outbox in a SQL database; `apply` is its projection's write."""

    name = NAME

    def __init__(self, datastore: Any, dialect: Dialect, head: int) -> None:
        self.datastore = datastore
        self.dialect = dialect
        self.entries_table = dialect.name(SHAPE.table_name(ENTRIES, "a"))
        self.state = ProjectionState(dialect, SHAPE.live)
        m = dialect.mark
        with datastore.transaction(commit=True) as c:
            dialect.create(c, STATE, STATE.name)
            dialect.create(c, ENTRIES, SHAPE.table_name(ENTRIES, "a"))
        # A transaction of its own, which begins with its write: in SQLite a transaction that
        # read first (the tables above, already there) could not wait for another writer.
        with datastore.transaction(commit=True) as c:
            c.execute(
                f"INSERT INTO {self.state.table} (name, position, live_copy) "
                f"VALUES ({m}, {m}, 'a') ON CONFLICT (name) DO NOTHING",
                (SHAPE.live, head),
            )

    def position(self) -> int:
        with self.datastore.transaction(commit=False) as c:
            return self.state.peek(c, SHAPE.live, None)[0]

    def apply(self, notices: Sequence[tuple[Notice, datetime]], position: int) -> bool:
        """Add the notices (each due at its event's instant) and record `position`, in one
        transaction, unless the outbox has reached it already: each is added once."""
        rows = [
            [n.id, n.case_id, n.case_version, n.template, Delivery.PENDING, 0, at, at]
            for n, at in notices
        ]
        columns = COLUMNS[:8]
        with self.datastore.transaction(commit=True) as c:
            reached, _ = self.state.claim(c, SHAPE.live, "a")
            if reached >= position:
                return False
            if rows:
                self.dialect.insert_new(c, ENTRIES, SHAPE.table_name(ENTRIES, "a"), columns, rows)
            self.state.record(c, SHAPE.live, position)
            return True

    def lease(self, now: datetime, until: datetime, limit: int) -> list[OutboxEntry]:
        m, t = self.dialect.mark, self.entries_table
        due = (
            f"SELECT id FROM {t} WHERE delivery = {m} AND next_attempt_at <= {m} "
            f"ORDER BY next_attempt_at LIMIT {m}{self.dialect.skip_locked}"
        )
        with self.datastore.transaction(commit=True) as c:
            c.execute(
                f"UPDATE {t} SET next_attempt_at = {m} WHERE id IN ({due}) "
                f"RETURNING {', '.join(COLUMNS)}",
                [self.dialect.encode(v) for v in (until, Delivery.PENDING, now)] + [limit],
            )
            return sorted((self._entry(r) for r in c.fetchall()), key=lambda e: e.notice.id)

    def delivered(self, entry_id: UUID, at: datetime) -> None:
        self._set(entry_id, delivery=Delivery.SENT, sent_at=at, next_attempt_at=None)

    def failed(self, entry_id: UUID, error: str, retry_at: datetime | None) -> None:
        delivery = Delivery.PENDING if retry_at is not None else Delivery.DEAD
        m = self.dialect.mark
        with self.datastore.transaction(commit=True) as c:
            c.execute(
                f"UPDATE {self.entries_table} SET delivery = {m}, attempts = attempts + 1, "
                f"last_error = {m}, next_attempt_at = {m} WHERE id = {m}",
                [self.dialect.encode(v) for v in (delivery, error[:500], retry_at, entry_id)],
            )

    def cancelled(self, entry_id: UUID, reason: str) -> None:
        self._set(entry_id, delivery=Delivery.CANCELLED, last_error=reason, next_attempt_at=None)

    def retry(self, entry_id: UUID, now: datetime) -> bool:
        m = self.dialect.mark
        with self.datastore.transaction(commit=True) as c:
            c.execute(
                f"UPDATE {self.entries_table} SET delivery = {m}, attempts = 0, "
                f"next_attempt_at = {m} WHERE id = {m} AND delivery = {m} RETURNING id",
                [self.dialect.encode(v) for v in (Delivery.PENDING, now, entry_id, Delivery.DEAD)],
            )
            return bool(c.fetchall())

    def counts(self) -> dict[Delivery, int]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT delivery, COUNT(*) AS n FROM {self.entries_table} GROUP BY delivery")
            found = {Delivery(r["delivery"]): int(r["n"]) for r in c.fetchall()}
        return {d: found.get(d, 0) for d in Delivery}

    def entries(self, delivery: Delivery, limit: int) -> list[OutboxEntry]:
        m = self.dialect.mark
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT {', '.join(COLUMNS)} FROM {self.entries_table} "
                f"WHERE delivery = {m} ORDER BY created_at, id LIMIT {m}",
                [self.dialect.encode(delivery), limit],
            )
            return [self._entry(r) for r in c.fetchall()]

    def _set(self, entry_id: UUID, **values: Any) -> None:
        m = self.dialect.mark
        assignments = ", ".join(f"{name} = {m}" for name in values)
        with self.datastore.transaction(commit=True) as c:
            c.execute(
                f"UPDATE {self.entries_table} SET {assignments} WHERE id = {m}",
                [self.dialect.encode(v) for v in (*values.values(), entry_id)],
            )

    def _entry(self, row: Any) -> OutboxEntry:
        value: dict[str, Any] = {
            c.name: self.dialect.decode(c.type, row[c.name]) for c in ENTRIES.columns
        }
        notice = Notice(value["id"], value["case_id"], value["case_version"], value["template"])
        return OutboxEntry(
            notice=notice,
            delivery=value["delivery"],
            attempts=value["attempts"],
            next_attempt_at=value["next_attempt_at"],
            last_error=value["last_error"],
            sent_at=value["sent_at"],
        )


def outbox_for(recorder: Any, head: int) -> SQLOutbox:
    """The outbox beside the application's events (for a store in memory, a SQLite database in
    memory of its own); a new one starts at `head`, the log's head."""
    datastore = getattr(recorder, "datastore", None)
    if isinstance(datastore, PostgresDatastore):
        prefix = recorder.events_table_name.removesuffix("_events")
        return SQLOutbox(datastore, PostgresDialect(datastore.schema, prefix), head)
    if not isinstance(datastore, SQLiteDatastore):
        datastore = memory_datastore()
    return SQLOutbox(datastore, SQLiteDialect(), head)
