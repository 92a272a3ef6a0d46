"""The statistics read model's store: its tables and queries, once for SQLite (a file, or in
memory) and PostgreSQL; the skeleton is `ReadModelStore`'s.

Three tables per copy: each case's facts; the counters (bucket, period, kind, line, count),
see application/case_statistics.py for what the buckets and kinds are; and the AWAITING
counters, by due date, in a table of their own so that a read reaches those not yet overdue
through the index and never reads the past ones (they grow with history). A batch of events is
applied in one transaction that also records the new position; the facts it starts from are
read inside that transaction, after the position check, so two runners can never both count
the same event. Counters back at zero are deleted, so that what a read adds up is bounded by
what exists.

The format version follows the tables, the fields of `CaseFacts` (kept as JSON in the facts
table) and the kinds of counters; a change of any builds the statistics anew from the log at
the next start, and the tables of other formats are dropped when the store opens (see
read_model_store.py).
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from datetime import date
from typing import Any
from uuid import UUID

from application.case_statistics import DAY
from application.case_statistics import SEP
from application.case_statistics import CaseFacts
from application.case_statistics import CaseStatistics
from application.case_statistics import Deltas
from application.case_statistics import Kind
from application.case_statistics import bucketed
from application.case_statistics import covering
from domain.deadlines import overdue_cutoff
from infrastructure.read_model_store import Column
from infrastructure.read_model_store import Index
from infrastructure.read_model_store import ReadModelStore
from infrastructure.read_model_store import Shape
from infrastructure.read_model_store import Table

FACTS = Table(
    "facts", (Column("case_id", UUID, not_null=True), Column("facts", str, not_null=True)),
    key=("case_id",),
)  # fmt: skip


def counter_table(name: str, *line: Column) -> Table:
    """A table of counters: the bucket and period, what the counter counts, its count."""
    columns = (Column("bucket", str, True), Column("period", date, True), *line,
               Column("count", int, True))  # fmt: skip
    return Table(
        name,
        columns,
        key=tuple(column.name for column in columns[:-1]),
        indexes=(Index("zero", "bucket", where="count = 0"),),  # those back at zero, at once
        without_rowid=True,
    )


COUNTERS = counter_table("counters", Column("kind", str, True), Column("line", str, True))
AWAITING = counter_table("awaiting", Column("due", date, True), Column("platform", str, True))


def statistics_shape(facts: type = CaseFacts, kinds: Iterable[Any] = Kind) -> Shape:
    """The statistics' tables, the fields of the facts its facts table holds as JSON, and the
    kinds of counters its counters table holds (a new kind's counters exist only once built
    from the log)."""
    return Shape(
        "case_statistics",
        "stats",
        (FACTS, COUNTERS, AWAITING),
        also=(
            *(f"{name}: {getattr(kind, '__forward_arg__', kind)}"
              for name, kind in facts.__annotations__.items()),
            "margins by day, month and all time",  # what the counters mean
            *(f"kind {kind.value}" for kind in kinds),  # what they count
        ),
    )  # fmt: skip


SHAPE = statistics_shape()
LIVE = SHAPE.live
TABLES = SHAPE.stem
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


class SQLCaseStatistics(ReadModelStore, CaseStatistics):
    """The statistics in a SQL database."""

    shape = SHAPE

    def apply(self, position: int, compute: Compute) -> bool:
        dialect = self.dialect

        def write(c: Any, copy: str) -> None:
            facts_table = self.table(FACTS, copy)

            def known(case_ids: Iterable[UUID]) -> dict[UUID, CaseFacts]:
                rows = dialect.select_in(
                    c,
                    f"SELECT case_id, facts FROM {facts_table} WHERE case_id IN {{values}}",  # noqa: S608
                    list(case_ids),
                )
                return {
                    dialect.decode(UUID, r["case_id"]): CaseFacts.from_json(r["facts"])
                    for r in rows
                }

            facts, deltas = compute(known)
            counters, awaiting = rows_to_write(deltas)
            name = self.shape.table_name
            dialect.upsert(
                c, FACTS, name(FACTS, copy), ["case_id", "facts"],
                [(case_id, new.to_json()) for case_id, new in facts.items()],
            )  # fmt: skip
            for table, rows in ((COUNTERS, counters), (AWAITING, awaiting)):
                columns = [column.name for column in table.columns]
                dialect.upsert(c, table, name(table, copy), columns, rows, add=frozenset({"count"}))
                if any(row[-1] < 0 for row in rows):  # else none of them can be back at zero
                    c.execute(f"DELETE FROM {self.table(table, copy)} WHERE count = 0")  # noqa: S608

        return self.applied(position, write)

    def counters(self, first: date | None, last: date | None, as_of: date) -> Counters:
        dialect = self.dialect
        where, values = bucket_filter(covering(first, last), dialect.mark)
        parameters = [dialect.encode(v) for v in values]
        with self.reading() as (c, copy, position):
            c.execute(
                f"SELECT kind, line, SUM(count) AS count FROM {self.table(COUNTERS, copy)} "  # noqa: S608
                f"WHERE {where} GROUP BY kind, line HAVING SUM(count) != 0",
                parameters,
            )
            rows = [(r["kind"], r["line"], int(r["count"])) for r in c.fetchall()]
            c.execute(
                f"SELECT due, platform, SUM(count) AS count FROM {self.table(AWAITING, copy)} "  # noqa: S608
                f"WHERE {where} AND due >= {dialect.mark} "
                "GROUP BY due, platform HAVING SUM(count) != 0",
                [*parameters, dialect.encode(overdue_cutoff(as_of))],
            )
            rows += [
                awaiting_row(dialect.decode(date, r["due"]).isoformat(), r["platform"],
                             int(r["count"]))
                for r in c.fetchall()
            ]  # fmt: skip
        return rows, position

    def first_reported_on(self) -> date | None:
        with self.reading() as (c, copy, _):
            c.execute(
                f"SELECT MIN(period) AS first FROM {self.table(COUNTERS, copy)} "  # noqa: S608
                f"WHERE bucket = {self.dialect.mark} AND kind = {self.dialect.mark}",
                [DAY, Kind.PLATFORM_CATEGORY.value],
            )
            row = c.fetchone()
        return None if row is None else self.dialect.decode(date, row["first"])


def case_statistics_for(recorder: Any) -> CaseStatistics:
    """The statistics store beside the application's events, in the same database."""
    return SQLCaseStatistics.beside(recorder)
