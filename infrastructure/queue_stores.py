"""The queue read model in SQLite, in PostgreSQL and in memory.

Each store keeps its rows and its position in the event log in the same database as the events,
and writes both in one transaction: an event's effect is committed with the position that says
it was applied, so a crash at any instant neither loses nor repeats it.
"""

from __future__ import annotations

import threading
from datetime import date, datetime
from typing import Any
from uuid import UUID

from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore
from psycopg.sql import SQL, Composed, Identifier

from application.case_queues import (
    COLUMNS,
    QUEUES,
    CaseQueues,
    Cursor,
    Queue,
    QueueFilters,
    QueueItem,
    RowUpdates,
    sort_value,
    sortable,
)
from domain.values import Status

FILTERS = ("platform", "category", "priority", "assignee")
DATE_COLUMNS = frozenset({"response_due"})
TIME_COLUMNS = frozenset({"reported_at", "updated_at", "resolved_at"})


def _item(row: Any, parse: bool) -> QueueItem:
    def instant(value: Any) -> datetime | None:
        if value is None or not parse:
            return value  # type: ignore[no-any-return]
        return datetime.fromisoformat(value)

    due = row["response_due"]
    return QueueItem(
        id=row["case_id"] if isinstance(row["case_id"], UUID) else UUID(row["case_id"]),
        status=Status(row["status"]),
        platform=row["platform"],
        category=row["category"],
        priority=row["priority"],
        assignee=row["assignee"],
        company_name=row["company_name"],
        reported_at=instant(row["reported_at"]),  # type: ignore[arg-type]
        updated_at=instant(row["updated_at"]),  # type: ignore[arg-type]
        response_due=date.fromisoformat(due) if parse and due else due,
        resolved_at=instant(row["resolved_at"]),
    )


def _text(column: str, value: Any) -> Any:
    """SQLite keeps instants as fixed-width UTC text (see `sortable`): text order is time order."""
    if isinstance(value, date):
        return sortable(value)
    if isinstance(value, UUID):
        return value.hex
    return value


# SQLite

SQLITE_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS projection_positions ("
    "name TEXT PRIMARY KEY, position INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS queue_cases ("
    "case_id TEXT PRIMARY KEY, status TEXT NOT NULL, platform TEXT, category TEXT, "
    "priority TEXT, assignee TEXT, company_name TEXT, reported_at TEXT, updated_at TEXT, "
    "response_due TEXT, resolved_at TEXT)",
    "CREATE INDEX IF NOT EXISTS queue_by_report ON queue_cases (status, reported_at, case_id)",
    "CREATE INDEX IF NOT EXISTS queue_by_due ON queue_cases (status, response_due, case_id)",
    "CREATE INDEX IF NOT EXISTS queue_by_news ON queue_cases (status, updated_at, case_id)",
    "CREATE INDEX IF NOT EXISTS queue_by_resolution ON queue_cases (status, resolved_at, case_id)",
    "CREATE INDEX IF NOT EXISTS queue_by_platform ON queue_cases (platform, status)",
    "CREATE INDEX IF NOT EXISTS queue_by_category ON queue_cases (category, status)",
    "CREATE INDEX IF NOT EXISTS queue_by_assignee ON queue_cases (assignee, status)",
)
SQLITE_POSITION = "SELECT position FROM projection_positions WHERE name = ?"
SQLITE_SET_POSITION = (
    "INSERT INTO projection_positions (name, position) VALUES (?, ?) "
    "ON CONFLICT (name) DO UPDATE SET position = excluded.position"
)


class SQLiteCaseQueues(CaseQueues):
    def __init__(self, datastore: SQLiteDatastore) -> None:
        self.datastore = datastore
        with self.datastore.transaction(commit=True) as c:
            for statement in SQLITE_SCHEMA:
                c.execute(statement)

    def position(self) -> int:
        with self.datastore.transaction(commit=False) as c:
            return self._position(c)

    def _position(self, c: Any) -> int:
        c.execute(SQLITE_POSITION, (self.name,))
        row = c.fetchone()
        return int(row["position"]) if row else 0

    def apply(self, updates: RowUpdates, position: int) -> bool:
        with self.datastore.transaction(commit=True) as c:
            if self._position(c) >= position:
                return False
            for case_id, fields in updates.items():
                columns = ["case_id", *fields]
                assignments = ", ".join(f"{c_} = excluded.{c_}" for c_ in fields)
                c.execute(
                    f"INSERT INTO queue_cases ({', '.join(columns)}) "  # noqa: S608 (our column names)
                    f"VALUES ({', '.join('?' for _ in columns)}) "
                    f"ON CONFLICT (case_id) DO UPDATE SET {assignments}",
                    [
                        _text(c_, v)
                        for c_, v in zip(columns, [case_id, *fields.values()], strict=True)
                    ],
                )
            c.execute(SQLITE_SET_POSITION, (self.name, position))
            return True

    def page(
        self, queue: Queue, filters: QueueFilters, as_of: date, limit: int, after: Cursor | None
    ) -> tuple[list[QueueItem], int]:
        rule = QUEUES[queue]
        column = rule.order.value
        where, params = ["status = ?"], [rule.status.value]
        if rule.overdue_only:
            where.append("response_due < ?")
            params.append(as_of.isoformat())
        for name in FILTERS:
            if getattr(filters, name) is not None:
                where.append(f"{name} = ?")
                params.append(getattr(filters, name))
        direction = "DESC" if rule.descending else "ASC"
        if after is not None:
            where.append(f"({column}, case_id) {'<' if rule.descending else '>'} (?, ?)")
            params += [after.value, after.case_id.hex]
        statement = (
            f"SELECT {', '.join(COLUMNS)} FROM queue_cases WHERE {' AND '.join(where)} "  # noqa: S608
            f"ORDER BY {column} {direction}, case_id {direction} LIMIT ?"
        )
        with self.datastore.transaction(commit=False) as c:
            c.execute(statement, [*params, limit])
            rows = c.fetchall()
            position = self._position(c)
        return [_item(row, parse=True) for row in rows], position

    def clear(self) -> None:
        with self.datastore.transaction(commit=True) as c:
            c.execute("DELETE FROM queue_cases")
            c.execute("DELETE FROM projection_positions WHERE name = ?", (self.name,))


# PostgreSQL


class PostgresCaseQueues(CaseQueues):
    def __init__(self, datastore: PostgresDatastore, prefix: str = "mediation") -> None:
        self.datastore = datastore
        schema = datastore.schema
        self.table = Identifier(schema, f"{prefix}_queue_cases")
        self.positions = Identifier(schema, f"{prefix}_projection_positions")
        statements = [
            SQL(
                "CREATE TABLE IF NOT EXISTS {positions} ("
                "name text PRIMARY KEY, position bigint NOT NULL)"
            ).format(positions=self.positions),
            SQL(
                "CREATE TABLE IF NOT EXISTS {table} ("
                "case_id uuid PRIMARY KEY, status text NOT NULL, platform text, category text, "
                "priority text, assignee text, company_name text, reported_at timestamptz, "
                "updated_at timestamptz, response_due date, resolved_at timestamptz)"
            ).format(table=self.table),
        ]
        for suffix, columns in (
            ("report", "status, reported_at, case_id"),
            ("due", "status, response_due, case_id"),
            ("news", "status, updated_at, case_id"),
            ("resolution", "status, resolved_at, case_id"),
            ("platform", "platform, status"),
            ("category", "category, status"),
            ("assignee", "assignee, status"),
        ):
            statements.append(
                SQL("CREATE INDEX IF NOT EXISTS {index} ON {table} (" + columns + ")").format(
                    index=Identifier(f"{prefix}_queue_by_{suffix}"), table=self.table
                )
            )
        with self.datastore.transaction(commit=True) as curs:
            for statement in statements:
                curs.execute(statement)

    def position(self) -> int:
        with self.datastore.transaction(commit=False) as curs:
            return self._position(curs, lock=False)

    def _position(self, curs: Any, *, lock: bool) -> int:
        statement = SQL("SELECT position FROM {positions} WHERE name = %s").format(
            positions=self.positions
        )
        if lock:
            statement = SQL("{statement} FOR UPDATE").format(statement=statement)
        curs.execute(statement, (self.name,))
        row = curs.fetchone()
        return int(row["position"]) if row else 0

    def apply(self, updates: RowUpdates, position: int) -> bool:
        with self.datastore.transaction(commit=True) as curs:
            # The row lock serialises two runners; the first to commit wins the position.
            curs.execute(
                SQL(
                    "INSERT INTO {positions} (name, position) VALUES (%s, 0) "
                    "ON CONFLICT (name) DO NOTHING"
                ).format(positions=self.positions),
                (self.name,),
            )
            if self._position(curs, lock=True) >= position:
                return False
            for case_id, fields in updates.items():
                columns = ["case_id", *fields]
                curs.execute(
                    SQL(
                        "INSERT INTO {table} ({columns}) VALUES ({values}) "
                        "ON CONFLICT (case_id) DO UPDATE SET {assignments}"
                    ).format(
                        table=self.table,
                        columns=SQL(", ").join(map(Identifier, columns)),
                        values=SQL(", ").join(SQL("%s") for _ in columns),
                        assignments=SQL(", ").join(
                            SQL("{c} = excluded.{c}").format(c=Identifier(c)) for c in fields
                        ),
                    ),
                    [case_id, *fields.values()],
                )
            curs.execute(
                SQL("UPDATE {positions} SET position = %s WHERE name = %s").format(
                    positions=self.positions
                ),
                (position, self.name),
            )
            return True

    def page(
        self, queue: Queue, filters: QueueFilters, as_of: date, limit: int, after: Cursor | None
    ) -> tuple[list[QueueItem], int]:
        rule = QUEUES[queue]
        column = Identifier(rule.order.value)
        cast = SQL("date" if rule.order.value in DATE_COLUMNS else "timestamptz")
        where: list[Composed | SQL] = [SQL("status = %s")]
        params: list[Any] = [rule.status.value]
        if rule.overdue_only:
            where.append(SQL("response_due < %s"))
            params.append(as_of)
        for name in FILTERS:
            if getattr(filters, name) is not None:
                where.append(SQL("{} = %s").format(Identifier(name)))
                params.append(getattr(filters, name))
        direction = SQL("DESC" if rule.descending else "ASC")
        if after is not None:
            where.append(
                SQL("({column}, case_id) {op} (%s::{cast}, %s::uuid)").format(
                    column=column, op=SQL("<" if rule.descending else ">"), cast=cast
                )
            )
            params += [after.value, after.case_id]
        statement = SQL(
            "SELECT {columns} FROM {table} WHERE {where} "
            "ORDER BY {column} {direction}, case_id {direction} LIMIT %s"
        ).format(
            columns=SQL(", ").join(map(Identifier, COLUMNS)),
            table=self.table,
            where=SQL(" AND ").join(where),
            column=column,
            direction=direction,
        )
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(statement, [*params, limit])
            rows = curs.fetchall()
            position = self._position(curs, lock=False)
        return [_item(row, parse=False) for row in rows], position

    def clear(self) -> None:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(SQL("DELETE FROM {table}").format(table=self.table))
            curs.execute(
                SQL("DELETE FROM {positions} WHERE name = %s").format(positions=self.positions),
                (self.name,),
            )


# In memory


class MemoryCaseQueues(CaseQueues):
    def __init__(self) -> None:
        self._rows: dict[UUID, dict[str, Any]] = {}
        self._position = 0
        self._lock = threading.Lock()

    def position(self) -> int:
        with self._lock:
            return self._position

    def apply(self, updates: RowUpdates, position: int) -> bool:
        with self._lock:
            if self._position >= position:
                return False
            for case_id, fields in updates.items():
                self._rows.setdefault(case_id, {"case_id": case_id}).update(fields)
            self._position = position
            return True

    def page(
        self, queue: Queue, filters: QueueFilters, as_of: date, limit: int, after: Cursor | None
    ) -> tuple[list[QueueItem], int]:
        rule = QUEUES[queue]
        with self._lock:
            rows = [dict(row) for row in self._rows.values()]
            position = self._position
        items = [
            _item({c: row.get(c) for c in COLUMNS}, parse=False)
            for row in rows
            if row["status"] == rule.status.value
            and (not rule.overdue_only or (row["response_due"] and row["response_due"] < as_of))
            and all(getattr(filters, f) in (None, row.get(f)) for f in FILTERS)
        ]

        def key(item: QueueItem) -> tuple[str, str]:
            return sort_value(item, rule.order), str(item.id)

        items.sort(key=key, reverse=rule.descending)
        if after is not None:
            mark = (after.value, str(after.case_id))
            items = [i for i in items if (key(i) < mark if rule.descending else key(i) > mark)]
        return items[:limit], position

    def clear(self) -> None:
        with self._lock:
            self._rows.clear()
            self._position = 0


def case_queues_for(recorder: Any) -> CaseQueues:
    """The queue store beside the application's events, in the same database."""
    datastore = getattr(recorder, "datastore", None)
    if isinstance(datastore, SQLiteDatastore):
        return SQLiteCaseQueues(datastore)
    if isinstance(datastore, PostgresDatastore):
        prefix = recorder.events_table_name.removesuffix("_events")
        return PostgresCaseQueues(datastore, prefix)
    return MemoryCaseQueues()
