"""The queue read model in SQLite, in PostgreSQL and in memory.

Each store keeps its rows and its position in the event log in the same database as the events,
and writes both in one transaction: an event's effect is committed with the position that says
it was applied, so a crash at any instant neither loses nor repeats it.

There are two copies of the rows ("a" and "b"): one answers, the other is where a rebuild
works; a switch makes the rebuilt copy answer, in one transaction, so readers never see a
half-built queue.

The tables' names and the read model's state carry FORMAT: a version that keeps its rows
differently starts at position 0 in tables of its own and is built from the log. Format 1's
tables are dropped when the store opens, since they held company names in clear.
"""

from __future__ import annotations

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
from domain.deadlines import is_overdue, overdue_cutoff
from domain.values import Status
from infrastructure.projection_state import (
    COPIES,
    MemoryProjectionState,
    PostgresProjectionState,
    SQLiteProjectionState,
    rebuild_name,
)

FILTERS = ("platform", "category", "priority", "assignee")

FORMAT = 2  # 2: the company's name kept encrypted, as the events store it (1: in clear)
LIVE = f"case_queues.v{FORMAT}"
TABLE = f"queue_v{FORMAT}_cases"
FORMER_TABLES = ("queue_cases_a", "queue_cases_b")
"""Format 1's tables: they hold company names in clear, so they are dropped, not kept."""
FORMER_STATES = ("case_queues", "case_queues#rebuild")


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
        where.append(f"response_due < {mark}")  # domain.deadlines.is_overdue, in SQL
        params.append(overdue_cutoff(as_of))
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


def by_columns(updates: RowUpdates) -> dict[tuple[str, ...], list[list[Any]]]:
    """The updates grouped by the columns they set, each row led by its case id: one
    statement per group."""
    groups: dict[tuple[str, ...], list[list[Any]]] = {}
    for case_id, fields in updates.items():
        groups.setdefault(tuple(fields), []).append([case_id, *fields.values()])
    return groups


# SQLite

SQLITE_TABLE = (
    f"CREATE TABLE IF NOT EXISTS {TABLE}_{{copy}} ("
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
        self.state = SQLiteProjectionState(datastore, LIVE)
        if copy is None:
            self._drop_former_format()
            with self.datastore.transaction(commit=True) as c:
                self.state.create(c)
                for each in COPIES:
                    c.execute(SQLITE_TABLE.format(copy=each))
                    for suffix, columns in INDEXES:
                        c.execute(
                            f"CREATE INDEX IF NOT EXISTS {TABLE}_{each}_by_{suffix} "
                            f"ON {TABLE}_{each} ({columns})"
                        )

    def _drop_former_format(self) -> None:
        """Drop format 1's tables, only where they are: a write transaction that begins with a
        read could not wait for another process's write (SQLite refuses it at once)."""
        with self.datastore.transaction(commit=False) as c:
            names = ", ".join("?" for _ in FORMER_TABLES)
            c.execute(f"SELECT 1 FROM sqlite_master WHERE name IN ({names})", FORMER_TABLES)  # noqa: S608
            if c.fetchone() is None:
                return
        with self.datastore.transaction(commit=True) as c:
            for former in FORMER_TABLES:
                c.execute(f"DROP TABLE IF EXISTS {former}")
            c.execute("DELETE FROM projection_state WHERE name IN (?, ?)", FORMER_STATES)

    def position(self) -> int:
        return self.state.position(self.state_name)

    def apply(self, updates: RowUpdates, position: int) -> bool:
        with self.datastore.transaction(commit=True) as c:
            reached, copy = self.state.claim(c, self.state_name, self.copy)
            if reached >= position:
                return False
            for fields, rows in by_columns(updates).items():
                columns = ["case_id", *fields]
                assignments = ", ".join(f"{column} = excluded.{column}" for column in fields)
                c.executemany(
                    f"INSERT INTO {TABLE}_{copy} ({', '.join(columns)}) "  # noqa: S608
                    f"VALUES ({', '.join('?' for _ in columns)}) "
                    f"ON CONFLICT (case_id) DO UPDATE SET {assignments}",
                    [[_sqlite_value(v) for v in row] for row in rows],
                )
            self.state.record(c, self.state_name, position)
            return True

    def page(
        self, queue: Queue, filters: QueueFilters, as_of: date, limit: int, after: Cursor | None
    ) -> tuple[list[QueueItem], int]:
        rule = QUEUES[queue]
        where, params = _where(queue, filters, as_of, after, "?")
        direction = "DESC" if rule.descending else "ASC"
        with self.datastore.transaction(commit=False) as c:
            position, copy = self.state.peek(c, self.state_name, self.copy)
            c.execute(
                f"SELECT {', '.join(COLUMNS)} FROM {TABLE}_{copy} "  # noqa: S608
                f"WHERE {' AND '.join(where)} "
                f"ORDER BY {rule.order.value} {direction}, case_id {direction} LIMIT ?",
                [*map(_sqlite_value, params), limit],
            )
            rows = c.fetchall()
        return [_item(row) for row in rows], position

    def clear(self) -> None:
        with self.datastore.transaction(commit=True) as c:
            _, copy = self.state.claim(c, self.state_name, self.copy)
            c.execute(f"DELETE FROM {TABLE}_{copy}")  # noqa: S608
            self.state.record(c, self.state_name, 0)

    def standby(self) -> SQLiteCaseQueues:
        def empty(c: Any, copy: str) -> None:
            c.execute(f"DELETE FROM {TABLE}_{copy}")  # noqa: S608

        copy = self.state.start_rebuild(empty)
        return SQLiteCaseQueues(self.datastore, copy=copy, name=rebuild_name(LIVE))

    def switch_to(self, standby: CaseQueues) -> bool:
        return self.state.switch()


# PostgreSQL

# The type of each column, as the table below declares it.
POSTGRES_TYPES = {
    "case_id": "uuid", "status": "text", "platform": "text", "category": "text",
    "priority": "text", "assignee": "text", "company_name": "text",
    "reported_at": "timestamptz", "updated_at": "timestamptz", "response_due": "date",
    "resolved_at": "timestamptz",
}  # fmt: skip


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
        self.state = PostgresProjectionState(datastore, prefix, LIVE)
        if copy is None:
            self._create_tables()

    def table(self, copy: str) -> Identifier:
        return Identifier(self.datastore.schema, f"{self.prefix}_{TABLE}_{copy}")

    def _create_tables(self) -> None:
        statements: list[Composed] = [
            SQL("DROP TABLE IF EXISTS {table}").format(
                table=Identifier(self.datastore.schema, f"{self.prefix}_{former}")
            )
            for former in FORMER_TABLES
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
                        index=Identifier(f"{self.prefix}_{TABLE}_{copy}_by_{suffix}"),
                        table=self.table(copy),
                    )
                )
        with self.datastore.transaction(commit=True) as curs:
            self.state.create(curs)
            curs.execute(
                SQL("DELETE FROM {state} WHERE name = ANY(%s)").format(state=self.state.table),
                (list(FORMER_STATES),),
            )
            for statement in statements:
                curs.execute(statement)

    def position(self) -> int:
        return self.state.position(self.state_name)

    def apply(self, updates: RowUpdates, position: int) -> bool:
        with self.datastore.transaction(commit=True) as curs:
            reached, copy = self.state.claim(curs, self.state_name, self.copy)
            if reached >= position:
                return False
            for fields, rows in by_columns(updates).items():
                columns = ["case_id", *fields]
                # The rows as one binary array per column, in one statement: executemany's
                # work per row was a large part of a rebuild (as for the statistics).
                curs.execute(
                    SQL(
                        "INSERT INTO {table} ({columns}) SELECT * FROM unnest({arrays}) "
                        "ON CONFLICT (case_id) DO UPDATE SET {assignments}"
                    ).format(
                        table=self.table(copy),
                        columns=SQL(", ").join(map(Identifier, columns)),
                        arrays=SQL(", ").join(
                            SQL("%b::{}[]").format(SQL(POSTGRES_TYPES[c])) for c in columns
                        ),
                        assignments=SQL(", ").join(
                            SQL("{c} = excluded.{c}").format(c=Identifier(c)) for c in fields
                        ),
                    ),
                    [list(column) for column in zip(*rows, strict=True)],
                )
            self.state.record(curs, self.state_name, position)
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
            position, copy = self.state.peek(curs, self.state_name, self.copy)
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
            _, copy = self.state.claim(curs, self.state_name, self.copy)
            curs.execute(SQL("DELETE FROM {table}").format(table=self.table(copy)))
            self.state.record(curs, self.state_name, 0)

    def standby(self) -> PostgresCaseQueues:
        def empty(curs: Any, copy: str) -> None:
            curs.execute(SQL("DELETE FROM {table}").format(table=self.table(copy)))

        copy = self.state.start_rebuild(empty)
        return PostgresCaseQueues(self.datastore, self.prefix, copy=copy, name=rebuild_name(LIVE))

    def switch_to(self, standby: CaseQueues) -> bool:
        return self.state.switch()


# In memory


class MemoryCaseQueues(CaseQueues):
    def __init__(
        self,
        state: MemoryProjectionState | None = None,
        rows: dict[str, dict[UUID, dict[str, Any]]] | None = None,
        name: str = LIVE,
    ) -> None:
        self.state = state or MemoryProjectionState(LIVE)
        self.rows = rows if rows is not None else {copy: {} for copy in COPIES}
        self.state_name = name

    def position(self) -> int:
        return self.state.position(self.state_name)

    def apply(self, updates: RowUpdates, position: int) -> bool:
        with self.state.lock:
            view = self.state.view(self.state_name)
            if view[0] >= position:
                return False
            rows = self.rows[view[1]]
            for case_id, fields in updates.items():
                rows.setdefault(case_id, {"case_id": case_id}).update(fields)
            view[0] = position
            return True

    def page(
        self, queue: Queue, filters: QueueFilters, as_of: date, limit: int, after: Cursor | None
    ) -> tuple[list[QueueItem], int]:
        rule = QUEUES[queue]
        with self.state.lock:
            position, copy = self.state.view(self.state_name)
            rows = [dict(r) for r in self.rows[copy].values()]
        items = [
            _item({c: row.get(c) for c in COLUMNS})
            for row in rows
            if row["status"] == rule.status.value
            and (
                not rule.overdue_only
                or (row["response_due"] and is_overdue(row["response_due"], as_of))
            )
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
        with self.state.lock:
            view = self.state.view(self.state_name)
            self.rows[view[1]].clear()
            view[0] = 0

    def standby(self) -> MemoryCaseQueues:
        self.state.start_rebuild(lambda copy: self.rows.update({copy: {}}))
        return MemoryCaseQueues(self.state, self.rows, rebuild_name(LIVE))

    def switch_to(self, standby: CaseQueues) -> bool:
        return self.state.switch()


def case_queues_for(recorder: Any) -> CaseQueues:
    """The queue store beside the application's events, in the same database."""
    datastore = getattr(recorder, "datastore", None)
    if isinstance(datastore, SQLiteDatastore):
        return SQLiteCaseQueues(datastore)
    if isinstance(datastore, PostgresDatastore):
        prefix = recorder.events_table_name.removesuffix("_events")
        return PostgresCaseQueues(datastore, prefix)
    return MemoryCaseQueues()
