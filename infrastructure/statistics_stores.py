"""The statistics read model in SQLite, in PostgreSQL and in memory.

Two tables per copy: each case's facts, and the counters (bucket, period, kind, line, count);
see application/case_statistics.py for what the buckets and kinds are. A batch of events is
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
                    # Finds the counters back at zero without reading the others.
                    c.execute(
                        f"CREATE INDEX IF NOT EXISTS {TABLES}_zero_{each} "
                        f"ON {TABLES}_counters_{each} (bucket) WHERE count = 0"
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
                [
                    (bucket, period.isoformat(), kind, line, delta)
                    for (bucket, period, kind, line), delta in bucketed(deltas).items()
                ],
            )
            c.execute(f"DELETE FROM {TABLES}_counters_{copy} WHERE count = 0")  # noqa: S608
            self.state.record(c, self.state_name, position)
            return True

    def counters(self, first: date | None, last: date | None, as_of: date) -> Counters:
        ranges = covering(first, last)
        where = " OR ".join("(bucket = ? AND period BETWEEN ? AND ?)" for _ in ranges)
        parameters = [value for r in ranges for value in (r[0], r[1].isoformat(), r[2].isoformat())]
        with self.datastore.transaction(commit=False) as c:
            position, copy = self.state.peek(c, self.state_name, self.copy)
            c.execute(
                f"SELECT kind, line, SUM(count) AS count FROM {TABLES}_counters_{copy} "  # noqa: S608
                f"WHERE ({where}) AND (kind <> ? OR line >= ?) "
                "GROUP BY kind, line HAVING SUM(count) != 0",
                [*parameters, Kind.AWAITING.value, overdue_cutoff(as_of).isoformat()],
            )
            rows = c.fetchall()
        return [(r["kind"], r["line"], int(r["count"])) for r in rows], position

    def standby(self) -> SQLiteCaseStatistics:
        def empty(c: Any, copy: str) -> None:
            c.execute(f"DELETE FROM {TABLES}_facts_{copy}")  # noqa: S608
            c.execute(f"DELETE FROM {TABLES}_counters_{copy}")  # noqa: S608

        copy = self.state.start_rebuild(empty)
        return SQLiteCaseStatistics(self.datastore, copy=copy, name=rebuild_name(LIVE))

    def switch_to(self, standby: CaseStatistics) -> bool:
        return self.state.switch()


# PostgreSQL


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
                        ).format(facts=self.facts(each))
                    )
                    # Lines compare byte by byte ("C"): AWAITING lines start with a date.
                    curs.execute(
                        SQL(
                            "CREATE TABLE IF NOT EXISTS {counters} (bucket text NOT NULL, "
                            'period date NOT NULL, kind text NOT NULL, line text COLLATE "C" '
                            "NOT NULL, count bigint NOT NULL, "
                            "PRIMARY KEY (bucket, period, kind, line))"
                        ).format(counters=self.counters_table(each))
                    )
                    # Finds the counters back at zero without reading the others.
                    curs.execute(
                        SQL(
                            "CREATE INDEX IF NOT EXISTS {name} ON {counters} (bucket) "
                            "WHERE count = 0"
                        ).format(
                            name=Identifier(f"{self.prefix}_{TABLES}_zero_{each}"),
                            counters=self.counters_table(each),
                        )
                    )

    def facts(self, copy: str) -> Identifier:
        return Identifier(self.datastore.schema, f"{self.prefix}_{TABLES}_facts_{copy}")

    def counters_table(self, copy: str) -> Identifier:
        return Identifier(self.datastore.schema, f"{self.prefix}_{TABLES}_counters_{copy}")

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
                        facts=self.facts(copy)
                    ),
                    (ids,),
                )
                return {r["case_id"]: CaseFacts.from_json(r["facts"]) for r in curs.fetchall()}

            facts, deltas = compute(known)
            # executemany pipelines the rows: one round trip, not one per row.
            curs.executemany(
                SQL(
                    "INSERT INTO {facts} (case_id, facts) VALUES (%s, %s) "
                    "ON CONFLICT (case_id) DO UPDATE SET facts = excluded.facts"
                ).format(facts=self.facts(copy)),
                [(case_id, new.to_json()) for case_id, new in facts.items()],
            )
            curs.executemany(
                SQL(
                    "INSERT INTO {counters} (bucket, period, kind, line, count) "
                    "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (bucket, period, kind, line) "
                    "DO UPDATE SET count = {counters}.count + excluded.count"
                ).format(counters=self.counters_table(copy)),
                [(*key, delta) for key, delta in bucketed(deltas).items()],
            )
            curs.execute(
                SQL("DELETE FROM {counters} WHERE count = 0").format(
                    counters=self.counters_table(copy)
                )
            )
            self.state.record(curs, self.state_name, position)
            return True

    def counters(self, first: date | None, last: date | None, as_of: date) -> Counters:
        ranges = covering(first, last)
        where = SQL(" OR ").join(SQL("(bucket = %s AND period BETWEEN %s AND %s)") for _ in ranges)
        with self.datastore.transaction(commit=False) as curs:
            position, copy = self.state.peek(curs, self.state_name, self.copy)
            curs.execute(
                SQL(
                    "SELECT kind, line, SUM(count) AS count FROM {counters} "
                    "WHERE ({where}) AND (kind <> %s OR line >= %s) "
                    "GROUP BY kind, line HAVING SUM(count) != 0"
                ).format(counters=self.counters_table(copy), where=where),
                [
                    *(value for r in ranges for value in r),
                    Kind.AWAITING.value,
                    overdue_cutoff(as_of).isoformat(),
                ],
            )
            rows = curs.fetchall()
        return [(r["kind"], r["line"], int(r["count"])) for r in rows], position

    def standby(self) -> PostgresCaseStatistics:
        def empty(curs: Any, copy: str) -> None:
            curs.execute(SQL("DELETE FROM {t}").format(t=self.facts(copy)))
            curs.execute(SQL("DELETE FROM {t}").format(t=self.counters_table(copy)))

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
