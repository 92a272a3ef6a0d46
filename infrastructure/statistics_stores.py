"""The statistics read model in SQLite, in PostgreSQL and in memory.

Three tables per copy: each case's facts; the counters (bucket, period, kind, line, count),
see application/case_statistics.py for what the buckets and kinds are; and the AWAITING
counters, by due date, in a table of their own so that a read reaches those not yet overdue
through the index and never reads the past ones (they grow with history). A batch of events is
applied in one transaction that also records the new position; the facts it starts from are
read inside that transaction, after the position check, so two runners can never both count
the same event. Counters back at zero are deleted, so that what a read adds up is bounded by
what exists. Two copies ("a" and "b") let a rebuild work beside the copy that answers, as for
the queues.

The tables' names and the read model's state carry FORMAT: a version whose counters are kept
differently starts from new tables at position 0, so the runner builds them from the log on
its first start, and the old tables are left for the operator to drop.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date
from typing import Any
from uuid import UUID

from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore
from psycopg.sql import SQL, Identifier

from application.case_statistics import (
    DAY,
    SEP,
    CaseFacts,
    CaseStatistics,
    Deltas,
    Kind,
    bucketed,
    covering,
)
from domain.deadlines import overdue_cutoff
from infrastructure.projection_state import (
    COPIES,
    MemoryProjectionState,
    PostgresProjectionState,
    SQLiteProjectionState,
    rebuild_name,
)

FORMAT = 2  # 2: margins kept by day, month and all time (1: a cube by day)
LIVE = f"case_statistics.v{FORMAT}"
TABLES = f"stats_v{FORMAT}"
SQLITE_CHUNK = 500  # ids per IN (...): well under SQLite's limit of bound parameters
Compute = Callable[
    [Callable[[Iterable[UUID]], Mapping[UUID, CaseFacts]]], tuple[dict[UUID, CaseFacts], Deltas]
]
Counters = tuple[list[tuple[str, str, int]], int]


def rows_to_write(
    deltas: Deltas,
) -> tuple[list[tuple[str, date, str, str, int]], list[tuple[str, date, str, str, int]]]:
    """The rows by which the counters move, and those by which the AWAITING ones do
    (bucket, period, due, platform, delta)."""
    counters, awaiting = [], []
    for (bucket, period, kind, line), delta in bucketed(deltas).items():
        if kind == Kind.AWAITING:
            due, platform = line.split(SEP)
            awaiting.append((bucket, period, due, platform, delta))
        else:
            counters.append((bucket, period, kind, line, delta))
    return counters, awaiting


def awaiting_row(due: str, platform: str, count: int) -> tuple[str, str, int]:
    return Kind.AWAITING.value, due + SEP + platform, count


def bucket_filter(ranges: list[tuple[str, date, date]], mark: str) -> tuple[str, list[Any]]:
    """The WHERE condition, and its values, that select the buckets `covering` names: an
    equality where a range is one period, so that the index reaches the columns after it."""
    parts, values = [], []
    for bucket, low, high in ranges:
        if low == high:
            parts.append(f"(bucket = {mark} AND period = {mark})")
            values += [bucket, low]
        else:
            parts.append(f"(bucket = {mark} AND period BETWEEN {mark} AND {mark})")
            values += [bucket, low, high]
    return "(" + " OR ".join(parts) + ")", values


# SQLite


class SQLiteCaseStatistics(CaseStatistics):
    def __init__(
        self, datastore: SQLiteDatastore, copy: str | None = None, name: str = LIVE
    ) -> None:
        self.datastore = datastore
        self.copy = copy
        self.state_name = name
        self.state = SQLiteProjectionState(datastore, LIVE)
        if copy is None:
            with self.datastore.transaction(commit=True) as c:
                self.state.create(c)
                for each in COPIES:
                    c.execute(
                        f"CREATE TABLE IF NOT EXISTS {TABLES}_facts_{each} ("
                        "case_id TEXT PRIMARY KEY, facts TEXT NOT NULL)"
                    )
                    c.execute(
                        f"CREATE TABLE IF NOT EXISTS {TABLES}_counters_{each} ("
                        "bucket TEXT NOT NULL, period TEXT NOT NULL, kind TEXT NOT NULL, "
                        "line TEXT NOT NULL, count INTEGER NOT NULL, "
                        "PRIMARY KEY (bucket, period, kind, line)) WITHOUT ROWID"
                    )
                    c.execute(
                        f"CREATE TABLE IF NOT EXISTS {TABLES}_awaiting_{each} ("
                        "bucket TEXT NOT NULL, period TEXT NOT NULL, due TEXT NOT NULL, "
                        "platform TEXT NOT NULL, count INTEGER NOT NULL, "
                        "PRIMARY KEY (bucket, period, due, platform)) WITHOUT ROWID"
                    )
                    # Find the counters back at zero without reading the others.
                    for table in ("counters", "awaiting"):
                        c.execute(
                            f"CREATE INDEX IF NOT EXISTS {TABLES}_{table}_zero_{each} "
                            f"ON {TABLES}_{table}_{each} (bucket) WHERE count = 0"
                        )

    def position(self) -> int:
        return self.state.position(self.state_name)

    def apply(self, position: int, compute: Compute) -> bool:
        with self.datastore.transaction(commit=True) as c:
            reached, copy = self.state.claim(c, self.state_name, self.copy)
            if reached >= position:
                return False

            def known(case_ids: Iterable[UUID]) -> dict[UUID, CaseFacts]:
                found = {}
                ids = [case_id.hex for case_id in case_ids]
                for start in range(0, len(ids), SQLITE_CHUNK):
                    chunk = ids[start : start + SQLITE_CHUNK]
                    c.execute(
                        f"SELECT case_id, facts FROM {TABLES}_facts_{copy} "  # noqa: S608
                        f"WHERE case_id IN ({', '.join('?' for _ in chunk)})",
                        chunk,
                    )
                    for row in c.fetchall():
                        found[UUID(row["case_id"])] = CaseFacts.from_json(row["facts"])
                return found

            facts, deltas = compute(known)
            counters, awaiting = rows_to_write(deltas)
            c.executemany(
                f"INSERT INTO {TABLES}_facts_{copy} (case_id, facts) VALUES (?, ?) "  # noqa: S608
                "ON CONFLICT (case_id) DO UPDATE SET facts = excluded.facts",
                [(case_id.hex, new.to_json()) for case_id, new in facts.items()],
            )
            c.executemany(
                f"INSERT INTO {TABLES}_counters_{copy} "  # noqa: S608
                "(bucket, period, kind, line, count) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (bucket, period, kind, line) "
                "DO UPDATE SET count = count + excluded.count",
                [(b, period.isoformat(), k, line, n) for b, period, k, line, n in counters],
            )
            c.executemany(
                f"INSERT INTO {TABLES}_awaiting_{copy} "  # noqa: S608
                "(bucket, period, due, platform, count) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (bucket, period, due, platform) "
                "DO UPDATE SET count = count + excluded.count",
                [(b, period.isoformat(), due, p, n) for b, period, due, p, n in awaiting],
            )
            for table, rows in (("counters", counters), ("awaiting", awaiting)):
                if any(row[-1] < 0 for row in rows):  # else none of them can be back at zero
                    c.execute(f"DELETE FROM {TABLES}_{table}_{copy} WHERE count = 0")  # noqa: S608
            self.state.record(c, self.state_name, position)
            return True

    def counters(self, first: date | None, last: date | None, as_of: date) -> Counters:
        where, values = bucket_filter(covering(first, last), "?")
        parameters = [v.isoformat() if isinstance(v, date) else v for v in values]
        with self.datastore.transaction(commit=False) as c:
            position, copy = self.state.peek(c, self.state_name, self.copy)
            c.execute(
                f"SELECT kind, line, SUM(count) AS count FROM {TABLES}_counters_{copy} "  # noqa: S608
                f"WHERE {where} GROUP BY kind, line HAVING SUM(count) != 0",
                parameters,
            )
            rows = [(r["kind"], r["line"], int(r["count"])) for r in c.fetchall()]
            c.execute(
                f"SELECT due, platform, SUM(count) AS count FROM {TABLES}_awaiting_{copy} "  # noqa: S608
                f"WHERE {where} AND due >= ? GROUP BY due, platform HAVING SUM(count) != 0",
                [*parameters, overdue_cutoff(as_of).isoformat()],
            )
            rows += [awaiting_row(r["due"], r["platform"], int(r["count"])) for r in c.fetchall()]
        return rows, position

    def first_reported_on(self) -> date | None:
        with self.datastore.transaction(commit=False) as c:
            _, copy = self.state.peek(c, self.state_name, self.copy)
            c.execute(
                f"SELECT MIN(period) AS first FROM {TABLES}_counters_{copy} "  # noqa: S608
                "WHERE bucket = ? AND kind = ?",
                [DAY, Kind.PLATFORM_CATEGORY.value],
            )
            first = c.fetchone()["first"]
        return None if first is None else date.fromisoformat(first)

    def standby(self) -> SQLiteCaseStatistics:
        def empty(c: Any, copy: str) -> None:
            for table in ("facts", "counters", "awaiting"):
                c.execute(f"DELETE FROM {TABLES}_{table}_{copy}")  # noqa: S608

        copy = self.state.start_rebuild(empty)
        return SQLiteCaseStatistics(self.datastore, copy=copy, name=rebuild_name(LIVE))

    def switch_to(self, standby: CaseStatistics) -> bool:
        return self.state.switch()


# PostgreSQL

# Each table's columns and their types, the count last.
COUNTER_COLUMNS = {"bucket": "text", "period": "date", "kind": "text", "line": "text",
                   "count": "bigint"}  # fmt: skip
AWAITING_COLUMNS = {"bucket": "text", "period": "date", "due": "date", "platform": "text",
                    "count": "bigint"}  # fmt: skip


class PostgresCaseStatistics(CaseStatistics):
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
            with self.datastore.transaction(commit=True) as curs:
                self.state.create(curs)
                for each in COPIES:
                    curs.execute(
                        SQL(
                            "CREATE TABLE IF NOT EXISTS {facts} ("
                            "case_id uuid PRIMARY KEY, facts text NOT NULL)"
                        ).format(facts=self.table("facts", each))
                    )
                    curs.execute(
                        SQL(
                            "CREATE TABLE IF NOT EXISTS {counters} (bucket text NOT NULL, "
                            "period date NOT NULL, kind text NOT NULL, line text NOT NULL, "
                            "count bigint NOT NULL, PRIMARY KEY (bucket, period, kind, line))"
                        ).format(counters=self.table("counters", each))
                    )
                    curs.execute(
                        SQL(
                            "CREATE TABLE IF NOT EXISTS {awaiting} (bucket text NOT NULL, "
                            "period date NOT NULL, due date NOT NULL, platform text NOT NULL, "
                            "count bigint NOT NULL, PRIMARY KEY (bucket, period, due, platform))"
                        ).format(awaiting=self.table("awaiting", each))
                    )
                    # Find the counters back at zero without reading the others.
                    for table in ("counters", "awaiting"):
                        curs.execute(
                            SQL(
                                "CREATE INDEX IF NOT EXISTS {name} ON {table} (bucket) "
                                "WHERE count = 0"
                            ).format(
                                name=Identifier(f"{self.prefix}_{TABLES}_{table}_zero_{each}"),
                                table=self.table(table, each),
                            )
                        )

    def table(self, table: str, copy: str) -> Identifier:
        """The facts, counters or awaiting table of a copy."""
        return Identifier(self.datastore.schema, f"{self.prefix}_{TABLES}_{table}_{copy}")

    def position(self) -> int:
        return self.state.position(self.state_name)

    def apply(self, position: int, compute: Compute) -> bool:
        with self.datastore.transaction(commit=True) as curs:
            reached, copy = self.state.claim(curs, self.state_name, self.copy)
            if reached >= position:
                return False

            def known(case_ids: Iterable[UUID]) -> dict[UUID, CaseFacts]:
                ids = list(case_ids)
                if not ids:
                    return {}
                curs.execute(
                    SQL("SELECT case_id, facts FROM {facts} WHERE case_id = ANY(%s)").format(
                        facts=self.table("facts", copy)
                    ),
                    (ids,),
                )
                return {r["case_id"]: CaseFacts.from_json(r["facts"]) for r in curs.fetchall()}

            facts, deltas = compute(known)
            counters, awaiting = rows_to_write(deltas)
            # Each table's rows in one statement, as arrays: a rebuild writes hundreds of
            # thousands, and psycopg's per-row work in executemany was a third of its time.
            # Binary (%b): quoting each element as text costs as much again.
            if facts:
                curs.execute(
                    SQL(
                        "INSERT INTO {facts} (case_id, facts) "
                        "SELECT * FROM unnest(%b::uuid[], %b::text[]) "
                        "ON CONFLICT (case_id) DO UPDATE SET facts = excluded.facts"
                    ).format(facts=self.table("facts", copy)),
                    (list(facts), [new.to_json() for new in facts.values()]),
                )
            self._add(curs, copy, "counters", COUNTER_COLUMNS, counters)
            self._add(curs, copy, "awaiting", AWAITING_COLUMNS, awaiting)
            for table, rows in (("counters", counters), ("awaiting", awaiting)):
                if any(row[-1] < 0 for row in rows):  # else none of them can be back at zero
                    curs.execute(
                        SQL("DELETE FROM {table} WHERE count = 0").format(
                            table=self.table(table, copy)
                        )
                    )
            self.state.record(curs, self.state_name, position)
            return True

    def _add(
        self, curs: Any, copy: str, table: str, columns: dict[str, str], rows: list[Any]
    ) -> None:
        """Add each row's count to its counter (the other columns), creating it if need be."""
        if not rows:
            return
        names = [Identifier(name) for name in columns]
        curs.execute(
            SQL(
                "INSERT INTO {table} ({columns}) SELECT * FROM unnest({arrays}) "
                "ON CONFLICT ({keys}) DO UPDATE SET count = {table}.count + excluded.count"
            ).format(
                table=self.table(table, copy),
                columns=SQL(", ").join(names),
                arrays=SQL(", ").join(SQL("%b::{}[]").format(SQL(t)) for t in columns.values()),
                keys=SQL(", ").join(names[:-1]),
            ),
            [list(column) for column in zip(*rows, strict=True)],
        )

    def counters(self, first: date | None, last: date | None, as_of: date) -> Counters:
        text, values = bucket_filter(covering(first, last), "%s")
        where = SQL(text)  # placeholders only: the values go as parameters
        with self.datastore.transaction(commit=False) as curs:
            position, copy = self.state.peek(curs, self.state_name, self.copy)
            curs.execute(
                SQL(
                    "SELECT kind, line, SUM(count) AS count FROM {counters} "
                    "WHERE {where} GROUP BY kind, line HAVING SUM(count) != 0"
                ).format(counters=self.table("counters", copy), where=where),
                values,
            )
            rows = [(r["kind"], r["line"], int(r["count"])) for r in curs.fetchall()]
            curs.execute(
                SQL(
                    "SELECT due, platform, SUM(count) AS count FROM {awaiting} "
                    "WHERE {where} AND due >= %s "
                    "GROUP BY due, platform HAVING SUM(count) != 0"
                ).format(awaiting=self.table("awaiting", copy), where=where),
                [*values, overdue_cutoff(as_of)],
            )
            rows += [
                awaiting_row(r["due"].isoformat(), r["platform"], int(r["count"]))
                for r in curs.fetchall()
            ]
        return rows, position

    def first_reported_on(self) -> date | None:
        with self.datastore.transaction(commit=False) as curs:
            _, copy = self.state.peek(curs, self.state_name, self.copy)
            curs.execute(
                SQL(
                    "SELECT MIN(period) AS first FROM {counters} WHERE bucket = %s AND kind = %s"
                ).format(counters=self.table("counters", copy)),
                [DAY, Kind.PLATFORM_CATEGORY.value],
            )
            row = curs.fetchone()
        first: date | None = None if row is None else row["first"]
        return first

    def standby(self) -> PostgresCaseStatistics:
        def empty(curs: Any, copy: str) -> None:
            for table in ("facts", "counters", "awaiting"):
                curs.execute(SQL("DELETE FROM {t}").format(t=self.table(table, copy)))

        copy = self.state.start_rebuild(empty)
        return PostgresCaseStatistics(
            self.datastore, self.prefix, copy=copy, name=rebuild_name(LIVE)
        )

    def switch_to(self, standby: CaseStatistics) -> bool:
        return self.state.switch()


# In memory


class MemoryCaseStatistics(CaseStatistics):
    def __init__(
        self,
        state: MemoryProjectionState | None = None,
        tables: dict[str, dict[str, Any]] | None = None,
        name: str = LIVE,
    ) -> None:
        self.state = state or MemoryProjectionState(LIVE)
        # copy -> {"facts": {case id: facts}, "counters": {(bucket, period, kind, line): count}}
        self.tables = tables if tables is not None else {c: self._empty() for c in COPIES}
        self.state_name = name

    @staticmethod
    def _empty() -> dict[str, Any]:
        return {"facts": {}, "counters": {}}

    def position(self) -> int:
        return self.state.position(self.state_name)

    def apply(self, position: int, compute: Compute) -> bool:
        with self.state.lock:
            view = self.state.view(self.state_name)
            if view[0] >= position:
                return False
            facts_table = self.tables[view[1]]["facts"]
            counters = self.tables[view[1]]["counters"]
            facts, deltas = compute(
                lambda ids: {i: facts_table[i] for i in ids if i in facts_table}
            )
            facts_table.update(facts)
            for key, delta in bucketed(deltas).items():
                counters[key] = counters.get(key, 0) + delta
                if counters[key] == 0:
                    del counters[key]
            view[0] = position
            return True

    def counters(self, first: date | None, last: date | None, as_of: date) -> Counters:
        ranges = covering(first, last)
        cutoff = overdue_cutoff(as_of).isoformat()
        with self.state.lock:
            position, copy = self.state.view(self.state_name)
            summed: dict[tuple[str, str], int] = {}
            for (bucket, period, kind, line), count in self.tables[copy]["counters"].items():
                if kind == Kind.AWAITING and line < cutoff:
                    continue
                if any(bucket == b and low <= period <= high for b, low, high in ranges):
                    summed[(kind, line)] = summed.get((kind, line), 0) + count
            rows = [(str(kind), line, n) for (kind, line), n in summed.items() if n]
            return rows, int(position)

    def first_reported_on(self) -> date | None:
        with self.state.lock:
            _, copy = self.state.view(self.state_name)
            return min(
                (
                    period
                    for (bucket, period, kind, _), _ in self.tables[copy]["counters"].items()
                    if bucket == DAY and kind == Kind.PLATFORM_CATEGORY
                ),
                default=None,
            )

    def standby(self) -> MemoryCaseStatistics:
        self.state.start_rebuild(lambda copy: self.tables.update({copy: self._empty()}))
        return MemoryCaseStatistics(self.state, self.tables, rebuild_name(LIVE))

    def switch_to(self, standby: CaseStatistics) -> bool:
        return self.state.switch()


def case_statistics_for(recorder: Any) -> CaseStatistics:
    """The statistics store beside the application's events, in the same database."""
    datastore = getattr(recorder, "datastore", None)
    if isinstance(datastore, SQLiteDatastore):
        return SQLiteCaseStatistics(datastore)
    if isinstance(datastore, PostgresDatastore):
        return PostgresCaseStatistics(datastore, recorder.events_table_name.removesuffix("_events"))
    return MemoryCaseStatistics()
