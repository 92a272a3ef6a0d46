"""The queue read model in SQLite, in PostgreSQL and in memory.

Each store keeps its rows and its position in the event log in the same database as the events,
and writes both in one transaction: an event's effect is committed with the position that says
it was applied, so a crash at any instant neither loses nor repeats it.

There are two copies of the rows ("a" and "b"): one answers, the other is where a rebuild
works; a switch makes the rebuilt copy answer, in one transaction, so readers never see a
half-built queue.
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
COPIES = ("a", "b")
LIVE = "case_queues"
REBUILD = "case_queues#rebuild"


def other(copy: str) -> str:
    return "b" if copy == "a" else "a"


def _item(row: Any) -> QueueItem:
    def instant(value: Any) -> Any:
        return datetime.fromisoformat(value) if isinstance(value, str) else value

    due = row["response_due"]
    case_id = row["case_id"]
    return QueueItem(
        id=case_id if isinstance(case_id, UUID) else UUID(case_id),
        status=Status(row["status"]),
        platform=row["platform"],
        category=row["category"],
        priority=row["priority"],
        assignee=row["assignee"],
        company_name=row["company_name"],
        reported_at=instant(row["reported_at"]),
        updated_at=instant(row["updated_at"]),
        response_due=date.fromisoformat(due) if isinstance(due, str) else due,
        resolved_at=instant(row["resolved_at"]),
    )


def _sqlite_value(value: Any) -> Any:
    """SQLite keeps instants as fixed-width UTC text (see `sortable`): text order is time order."""
    if isinstance(value, date):
        return sortable(value)
    if isinstance(value, UUID):
        return value.hex
    return value


def _where(
    queue: Queue, filters: QueueFilters, as_of: date, after: Cursor | None, mark: str
) -> tuple[list[str], list[Any]]:
    """The conditions of a queue page, with `mark` as the parameter placeholder."""
    rule = QUEUES[queue]
    where: list[str] = [f"status = {mark}"]
    params: list[Any] = [rule.status.value]
    if rule.overdue_only:
        where.append(f"response_due < {mark}")
        params.append(as_of)
    for name in FILTERS:
        if getattr(filters, name) is not None:
            where.append(f"{name} = {mark}")
            params.append(getattr(filters, name))
    if after is not None:
        where.append(
            f"({rule.order.value}, case_id) {'<' if rule.descending else '>'} ({mark}, {mark})"
        )
        params += [after.value, after.case_id]
    return where, params


# SQLite

SQLITE_STATE = (
    "CREATE TABLE IF NOT EXISTS projection_state ("
    "name TEXT PRIMARY KEY, position INTEGER NOT NULL, live_copy TEXT)"
)
SQLITE_TABLE = (
    "CREATE TABLE IF NOT EXISTS queue_cases_{copy} ("
    "case_id TEXT PRIMARY KEY, status TEXT NOT NULL, platform TEXT, category TEXT, "
    "priority TEXT, assignee TEXT, company_name TEXT, reported_at TEXT, updated_at TEXT, "
    "response_due TEXT, resolved_at TEXT)"
)
INDEXES = (
    ("report", "status, reported_at, case_id"),
    ("due", "status, response_due, case_id"),
    ("news", "status, updated_at, case_id"),
    ("resolution", "status, resolved_at, case_id"),
    ("platform", "platform, status"),
    ("category", "category, status"),
    ("assignee", "assignee, status"),
)


class SQLiteCaseQueues(CaseQueues):
    def __init__(
        self, datastore: SQLiteDatastore, copy: str | None = None, name: str = LIVE
    ) -> None:
        self.datastore = datastore
        self.copy = copy  # None: whichever copy is live
        self.state_name = name
        if copy is None:
            with self.datastore.transaction(commit=True) as c:
                c.execute(SQLITE_STATE)
                for each in COPIES:
                    c.execute(SQLITE_TABLE.format(copy=each))
                    for suffix, columns in INDEXES:
                        c.execute(
                            f"CREATE INDEX IF NOT EXISTS queue_{each}_by_{suffix} "
                            f"ON queue_cases_{each} ({columns})"
                        )

    def _state(self, c: Any) -> tuple[int, str]:
        """This view's position and copy; the first statement writes, so the transaction
        holds the write lock from its start."""
        c.execute(
            "INSERT INTO projection_state (name, position, live_copy) VALUES (?, 0, ?) "
            "ON CONFLICT (name) DO NOTHING",
            (self.state_name, self.copy or "a"),
        )
        c.execute(
            "SELECT position, live_copy FROM projection_state WHERE name = ?", (self.state_name,)
        )
        row = c.fetchone()
        return int(row["position"]), self.copy or row["live_copy"]

    def position(self) -> int:
        with self.datastore.transaction(commit=False) as c:
            c.execute("SELECT position FROM projection_state WHERE name = ?", (self.state_name,))
            row = c.fetchone()
        return int(row["position"]) if row else 0

    def apply(self, updates: RowUpdates, position: int) -> bool:
        with self.datastore.transaction(commit=True) as c:
            reached, copy = self._state(c)
            if reached >= position:
                return False
            for case_id, fields in updates.items():
                columns = ["case_id", *fields]
                assignments = ", ".join(f"{column} = excluded.{column}" for column in fields)
                c.execute(
                    f"INSERT INTO queue_cases_{copy} ({', '.join(columns)}) "  # noqa: S608
                    f"VALUES ({', '.join('?' for _ in columns)}) "
                    f"ON CONFLICT (case_id) DO UPDATE SET {assignments}",
                    [_sqlite_value(v) for v in [case_id, *fields.values()]],
                )
            c.execute(
                "UPDATE projection_state SET position = ? WHERE name = ?",
                (position, self.state_name),
            )
            return True

    def page(
        self, queue: Queue, filters: QueueFilters, as_of: date, limit: int, after: Cursor | None
    ) -> tuple[list[QueueItem], int]:
        rule = QUEUES[queue]
        where, params = _where(queue, filters, as_of, after, "?")
        direction = "DESC" if rule.descending else "ASC"
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                "SELECT position, live_copy FROM projection_state WHERE name = ?",
                (self.state_name,),
            )
            row = c.fetchone()
            position, copy = (
                (int(row["position"]), self.copy or row["live_copy"])
                if row
                else (
                    0,
                    self.copy or "a",
                )
            )
            c.execute(
                f"SELECT {', '.join(COLUMNS)} FROM queue_cases_{copy} "  # noqa: S608
                f"WHERE {' AND '.join(where)} "
                f"ORDER BY {rule.order.value} {direction}, case_id {direction} LIMIT ?",
                [*map(_sqlite_value, params), limit],
            )
            rows = c.fetchall()
        return [_item(row) for row in rows], position

    def clear(self) -> None:
        with self.datastore.transaction(commit=True) as c:
            _, copy = self._state(c)
            c.execute(f"DELETE FROM queue_cases_{copy}")  # noqa: S608
            c.execute("UPDATE projection_state SET position = 0 WHERE name = ?", (self.state_name,))

    def standby(self) -> SQLiteCaseQueues:
        with self.datastore.transaction(commit=True) as c:
            _, live = self._state(c)
            copy = other(live)
            c.execute("SELECT 1 FROM projection_state WHERE name = ?", (REBUILD,))
            if c.fetchone() is None:
                c.execute(f"DELETE FROM queue_cases_{copy}")  # noqa: S608
                c.execute(
                    "INSERT INTO projection_state (name, position, live_copy) VALUES (?, 0, ?)",
                    (REBUILD, copy),
                )
            else:
                c.execute("SELECT live_copy FROM projection_state WHERE name = ?", (REBUILD,))
                copy = c.fetchone()["live_copy"]
        return SQLiteCaseQueues(self.datastore, copy=copy, name=REBUILD)

    def switch_to(self, standby: CaseQueues) -> bool:
        assert isinstance(standby, SQLiteCaseQueues)
        with self.datastore.transaction(commit=True) as c:
            live_position, _ = self._state(c)
            if standby.position() < live_position:
                return False
            c.execute(
                "UPDATE projection_state SET position = "
                "(SELECT position FROM projection_state WHERE name = ?), live_copy = ? "
                "WHERE name = ?",
                (REBUILD, standby.copy, self.state_name),
            )
            c.execute("DELETE FROM projection_state WHERE name = ?", (REBUILD,))
            return True


# PostgreSQL


class PostgresCaseQueues(CaseQueues):
    def __init__(
        self,
        datastore: PostgresDatastore,
        prefix: str = "mediation",
        copy: str | None = None,
        name: str = LIVE,
    ) -> None:
        self.datastore = datastore
        self.prefix = prefix
        self.copy = copy
        self.state_name = name
        self.state = Identifier(datastore.schema, f"{prefix}_projection_state")
        if copy is None:
            self._create_tables()

    def table(self, copy: str) -> Identifier:
        return Identifier(self.datastore.schema, f"{self.prefix}_queue_cases_{copy}")

    def _create_tables(self) -> None:
        statements: list[Composed] = [
            SQL(
                "CREATE TABLE IF NOT EXISTS {state} (name text PRIMARY KEY, "
                "position bigint NOT NULL, live_copy text)"
            ).format(state=self.state)
        ]
        for copy in COPIES:
            statements.append(
                SQL(
                    "CREATE TABLE IF NOT EXISTS {table} ("
                    "case_id uuid PRIMARY KEY, status text NOT NULL, platform text, "
                    "category text, priority text, assignee text, company_name text, "
                    "reported_at timestamptz, updated_at timestamptz, response_due date, "
                    "resolved_at timestamptz)"
                ).format(table=self.table(copy))
            )
            for suffix, columns in INDEXES:
                statements.append(
                    SQL("CREATE INDEX IF NOT EXISTS {index} ON {table} (" + columns + ")").format(
                        index=Identifier(f"{self.prefix}_queue_{copy}_by_{suffix}"),
                        table=self.table(copy),
                    )
                )
        with self.datastore.transaction(commit=True) as curs:
            for statement in statements:
                curs.execute(statement)

    def _state(self, curs: Any, name: str | None = None) -> tuple[int, str]:
        """A view's position and copy, its row locked until the transaction ends."""
        name = name or self.state_name
        curs.execute(
            SQL(
                "INSERT INTO {state} (name, position, live_copy) VALUES (%s, 0, %s) "
                "ON CONFLICT (name) DO NOTHING"
            ).format(state=self.state),
            (name, self.copy or "a"),
        )
        curs.execute(
            SQL("SELECT position, live_copy FROM {state} WHERE name = %s FOR UPDATE").format(
                state=self.state
            ),
            (name,),
        )
        row = curs.fetchone()
        return int(row["position"]), self.copy or row["live_copy"]

    def position(self) -> int:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                SQL("SELECT position FROM {state} WHERE name = %s").format(state=self.state),
                (self.state_name,),
            )
            row = curs.fetchone()
        return int(row["position"]) if row else 0

    def apply(self, updates: RowUpdates, position: int) -> bool:
        with self.datastore.transaction(commit=True) as curs:
            reached, copy = self._state(curs)
            if reached >= position:
                return False
            for case_id, fields in updates.items():
                columns = ["case_id", *fields]
                curs.execute(
                    SQL(
                        "INSERT INTO {table} ({columns}) VALUES ({values}) "
                        "ON CONFLICT (case_id) DO UPDATE SET {assignments}"
                    ).format(
                        table=self.table(copy),
                        columns=SQL(", ").join(map(Identifier, columns)),
                        values=SQL(", ").join(SQL("%s") for _ in columns),
                        assignments=SQL(", ").join(
                            SQL("{c} = excluded.{c}").format(c=Identifier(c)) for c in fields
                        ),
                    ),
                    [case_id, *fields.values()],
                )
            curs.execute(
                SQL("UPDATE {state} SET position = %s WHERE name = %s").format(state=self.state),
                (position, self.state_name),
            )
            return True

    def page(
        self, queue: Queue, filters: QueueFilters, as_of: date, limit: int, after: Cursor | None
    ) -> tuple[list[QueueItem], int]:
        rule = QUEUES[queue]
        where, params = _where(queue, filters, as_of, after, "%s")
        if after is not None:
            kind = "date" if rule.order.value == "response_due" else "timestamptz"
            where[-1] = where[-1].replace("(%s, %s)", f"(%s::{kind}, %s::uuid)")
        direction = "DESC" if rule.descending else "ASC"
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                SQL("SELECT position, live_copy FROM {state} WHERE name = %s").format(
                    state=self.state
                ),
                (self.state_name,),
            )
            row = curs.fetchone()
            position = int(row["position"]) if row else 0
            copy = self.copy or (row["live_copy"] if row else "a")
            curs.execute(
                SQL(
                    "SELECT {columns} FROM {table} WHERE {where} "
                    "ORDER BY {order} {direction}, case_id {direction} LIMIT %s"
                ).format(
                    columns=SQL(", ").join(map(Identifier, COLUMNS)),
                    table=self.table(copy),
                    # The conditions are this module's own text, with %s for every value.
                    where=SQL(" AND ".join(where)),
                    order=Identifier(rule.order.value),
                    direction=SQL(direction),
                ),
                [*params, limit],
            )
            rows = curs.fetchall()
        return [_item(row) for row in rows], position

    def clear(self) -> None:
        with self.datastore.transaction(commit=True) as curs:
            _, copy = self._state(curs)
            curs.execute(SQL("DELETE FROM {table}").format(table=self.table(copy)))
            curs.execute(
                SQL("UPDATE {state} SET position = 0 WHERE name = %s").format(state=self.state),
                (self.state_name,),
            )

    def standby(self) -> PostgresCaseQueues:
        with self.datastore.transaction(commit=True) as curs:
            _, live = self._state(curs)
            curs.execute(
                SQL("SELECT live_copy FROM {state} WHERE name = %s").format(state=self.state),
                (REBUILD,),
            )
            row = curs.fetchone()
            if row is None:
                copy = other(live)
                curs.execute(SQL("DELETE FROM {table}").format(table=self.table(copy)))
                curs.execute(
                    SQL(
                        "INSERT INTO {state} (name, position, live_copy) VALUES (%s, 0, %s)"
                    ).format(state=self.state),
                    (REBUILD, copy),
                )
            else:
                copy = row["live_copy"]
        return PostgresCaseQueues(self.datastore, self.prefix, copy=copy, name=REBUILD)

    def switch_to(self, standby: CaseQueues) -> bool:
        assert isinstance(standby, PostgresCaseQueues)
        with self.datastore.transaction(commit=True) as curs:
            live_position, _ = self._state(curs)
            rebuilt, _ = self._state(curs, REBUILD)
            if rebuilt < live_position:
                return False
            curs.execute(
                SQL("UPDATE {state} SET position = %s, live_copy = %s WHERE name = %s").format(
                    state=self.state
                ),
                (rebuilt, standby.copy, self.state_name),
            )
            curs.execute(
                SQL("DELETE FROM {state} WHERE name = %s").format(state=self.state), (REBUILD,)
            )
            return True


# In memory


class MemoryCaseQueues(CaseQueues):
    def __init__(self, shared: dict[str, Any] | None = None, name: str = LIVE) -> None:
        self.shared: dict[str, Any] = (
            shared
            if shared is not None
            else {
                "lock": threading.RLock(),
                "rows": {"a": {}, "b": {}},
                "state": {},
            }
        )
        self.state_name = name

    @property
    def _lock(self) -> Any:
        return self.shared["lock"]

    def _copy(self) -> str:
        return str(self.shared["state"].setdefault(self.state_name, [0, "a"])[1])

    def position(self) -> int:
        with self._lock:
            return int(self.shared["state"].get(self.state_name, [0, "a"])[0])

    def apply(self, updates: RowUpdates, position: int) -> bool:
        with self._lock:
            state = self.shared["state"].setdefault(self.state_name, [0, "a"])
            if state[0] >= position:
                return False
            rows = self.shared["rows"][state[1]]
            for case_id, fields in updates.items():
                rows.setdefault(case_id, {"case_id": case_id}).update(fields)
            state[0] = position
            return True

    def page(
        self, queue: Queue, filters: QueueFilters, as_of: date, limit: int, after: Cursor | None
    ) -> tuple[list[QueueItem], int]:
        rule = QUEUES[queue]
        with self._lock:
            rows = [dict(r) for r in self.shared["rows"][self._copy()].values()]
            position = self.position()
        items = [
            _item({c: row.get(c) for c in COLUMNS})
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
            self.shared["rows"][self._copy()].clear()
            self.shared["state"][self.state_name][0] = 0

    def standby(self) -> MemoryCaseQueues:
        with self._lock:
            if REBUILD not in self.shared["state"]:
                copy = other(self._copy())
                self.shared["rows"][copy] = {}
                self.shared["state"][REBUILD] = [0, copy]
        return MemoryCaseQueues(self.shared, REBUILD)

    def switch_to(self, standby: CaseQueues) -> bool:
        with self._lock:
            live = self.shared["state"].setdefault(self.state_name, [0, "a"])
            rebuilt = self.shared["state"][REBUILD]
            if rebuilt[0] < live[0]:
                return False
            self.shared["state"][self.state_name] = list(rebuilt)
            del self.shared["state"][REBUILD]
            return True


def case_queues_for(recorder: Any) -> CaseQueues:
    """The queue store beside the application's events, in the same database."""
    datastore = getattr(recorder, "datastore", None)
    if isinstance(datastore, SQLiteDatastore):
        return SQLiteCaseQueues(datastore)
    if isinstance(datastore, PostgresDatastore):
        prefix = recorder.events_table_name.removesuffix("_events")
        return PostgresCaseQueues(datastore, prefix)
    return MemoryCaseQueues()
