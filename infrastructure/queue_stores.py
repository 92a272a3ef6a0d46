"""The queue read model's store: its table, generated from `QueueItem`, and its queries, once
for SQLite (a file, or in memory) and PostgreSQL; the skeleton is `ReadModelStore`'s.

A field added to `QueueItem` (and set by the handlers) is a column: the format version follows,
so the queues are built anew from the log at the next start (see read_model_store.py). The
tables of other formats are dropped when the store opens: format 1's held company names in
clear.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from application.case_queues import QUEUES
from application.case_queues import CaseQueues
from application.case_queues import Cursor
from application.case_queues import Order
from application.case_queues import Queue
from application.case_queues import QueueFilters
from application.case_queues import QueueItem
from application.read_models import RowUpdates
from domain.deadlines import overdue_cutoff
from domain.values import Status
from infrastructure.read_model_store import Dialect
from infrastructure.read_model_store import Index
from infrastructure.read_model_store import ReadModelStore
from infrastructure.read_model_store import Shape
from infrastructure.read_model_store import Table
from infrastructure.read_model_store import columns_of

FILTERS = ("platform", "category", "priority", "assignee")
KEY = "id"


def queue_shape(row: type = QueueItem) -> Shape:
    """The queue's table: a column per field of its row, an index per order and filter."""
    cases = Table(
        "cases",
        columns_of(row, key=KEY),
        key=(KEY,),
        indexes=(
            *(Index(order.name.lower(), f"status, {order.value}, {KEY}") for order in Order),
            *(Index(name, f"{name}, status") for name in ("platform", "category", "assignee")),
            Index("reminders", f"status, priority, reminders, last_sent_on, {KEY}"),
        ),
    )
    return Shape("case_queues", "queue", (cases,))


SHAPE = queue_shape()
(CASES,) = SHAPE.tables
LIVE = SHAPE.live


def by_columns(updates: RowUpdates) -> dict[tuple[str, ...], list[list[Any]]]:
    """The updates grouped by the columns they set, each row led by its case id: one
    statement per group."""
    groups: dict[tuple[str, ...], list[list[Any]]] = {}
    for case_id, fields in updates.items():
        groups.setdefault(tuple(fields), []).append([case_id, *fields.values()])
    return groups


def apply_updates(store: ReadModelStore, table: Table, updates: RowUpdates, position: int) -> bool:
    """Write the updates into the store's copy of `table`, one row per case keyed by its id,
    and record `position`, in one transaction, once."""

    def write(c: Any, copy: str) -> None:
        name = store.shape.table_name(table, copy)
        for fields, rows in by_columns(updates).items():
            store.dialect.upsert(c, table, name, [KEY, *fields], rows)

    return store.applied(position, write)


def _where(
    dialect: Dialect, queue: Queue, filters: QueueFilters, as_of: date, after: Cursor | None
) -> tuple[list[str], list[Any]]:
    """The conditions of a queue page, and their values."""
    rule, mark = QUEUES[queue], dialect.mark
    where: list[str] = [f"status = {mark}"]
    params: list[Any] = [rule.status.value]
    if rule.overdue_only:
        where.append(f"response_due < {mark}")  # domain.deadlines.is_overdue, in SQL
        params.append(overdue_cutoff(as_of))
    if rule.unacknowledged_only:
        where.append("acknowledged_on IS NULL")
    for name in FILTERS:
        if getattr(filters, name) is not None:
            where.append(f"{name} = {mark}")
            params.append(getattr(filters, name))
    if after is not None:
        order = CASES.column(rule.order.value).type
        where.append(
            f"({rule.order.value}, {KEY}) {'<' if rule.descending else '>'} "
            f"({dialect.cast(order)}, {dialect.cast(UUID)})"
        )
        params += [after.value, after.case_id]
    return where, params


class SQLCaseQueues(ReadModelStore, CaseQueues):
    """The queues in a SQL database."""

    shape = SHAPE

    def apply(self, updates: RowUpdates, position: int) -> bool:
        return apply_updates(self, CASES, updates, position)

    def page(
        self, queue: Queue, filters: QueueFilters, as_of: date, limit: int, after: Cursor | None
    ) -> tuple[list[QueueItem], int]:
        rule = QUEUES[queue]
        where, params = _where(self.dialect, queue, filters, as_of, after)
        direction = "DESC" if rule.descending else "ASC"
        order = f"{rule.order.value} {direction}, {KEY} {direction}"
        return self._select(where, params, order, limit)

    def counts(self, filters: QueueFilters, as_of: date) -> dict[Queue, int]:
        counted = {}
        with self.reading() as (c, copy, _):
            for queue in Queue:
                where, params = _where(self.dialect, queue, filters, as_of, None)
                c.execute(
                    f"SELECT COUNT(*) AS n FROM {self.table(CASES, copy)} "  # noqa: S608
                    f"WHERE {' AND '.join(where)}",
                    list(map(self.dialect.encode, params)),
                )
                counted[queue] = int(c.fetchone()["n"])
        return counted

    def awaiting_reminder(
        self, priority: str, reminders: int, sent_by: date, limit: int, after: Cursor | None
    ) -> list[QueueItem]:
        mark = self.dialect.mark
        where = [
            f"status = {mark}",
            f"priority = {mark}",
            f"reminders = {mark}",
            f"last_sent_on <= {mark}",
        ]
        params: list[Any] = [Status.AWAITING_PLATFORM.value, priority, reminders, sent_by]
        if after is not None:
            where.append(
                f"(last_sent_on, {KEY}) > ({self.dialect.cast(date)}, {self.dialect.cast(UUID)})"
            )
            params += [after.value, after.case_id]
        items, _ = self._select(where, params, f"last_sent_on, {KEY}", limit)
        return items

    def _select(
        self, where: list[str], params: list[Any], order: str, limit: int
    ) -> tuple[list[QueueItem], int]:
        """The items that meet every condition, in `order`, and the position they reflect."""
        with self.reading() as (c, copy, position):
            c.execute(
                f"SELECT {', '.join(column.name for column in CASES.columns)} "  # noqa: S608
                f"FROM {self.table(CASES, copy)} WHERE {' AND '.join(where)} "
                f"ORDER BY {order} LIMIT {self.dialect.mark}",
                [*map(self.dialect.encode, params), limit],
            )
            rows = c.fetchall()
        return self.rows_as(QueueItem, CASES, rows), position


def case_queues_for(recorder: Any) -> CaseQueues:
    """The queue store beside the application's events, in the same database."""
    return SQLCaseQueues.beside(recorder)
