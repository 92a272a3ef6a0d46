"""The store of the cases sent to each platform: its table, generated from `PlatformCase`, and
its one query, for SQLite (a file, or in memory) and PostgreSQL; the skeleton is
`ReadModelStore`'s."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from application.case_queues import Cursor
from application.platform_cases import PlatformCase
from application.platform_cases import PlatformCases
from application.platform_cases import PortalFilters
from application.read_models import RowUpdates
from infrastructure.queue_stores import KEY
from infrastructure.queue_stores import apply_updates
from infrastructure.read_model_store import Index
from infrastructure.read_model_store import ReadModelStore
from infrastructure.read_model_store import Shape
from infrastructure.read_model_store import Table
from infrastructure.read_model_store import columns_of

CASES = Table(
    "cases",
    columns_of(PlatformCase, key=KEY),
    key=(KEY,),
    indexes=(Index("platform", f"platform, last_sent_on, {KEY}"),),
)
SHAPE = Shape(PlatformCases.name, "platform_cases", (CASES,))


class SQLPlatformCases(ReadModelStore, PlatformCases):
    """The cases sent to each platform in a SQL database."""

    shape = SHAPE

    def apply(self, updates: RowUpdates, position: int) -> bool:
        return apply_updates(self, CASES, updates, position)

    def page(
        self, platform: str, filters: PortalFilters, limit: int, after: Cursor | None
    ) -> tuple[list[PlatformCase], int]:
        m, d = self.dialect.mark, self.dialect
        where = [f"platform = {m}", "last_sent_on IS NOT NULL"]
        params: list[Any] = [platform]
        if filters.status is not None:
            where.append(f"status = {m}")
            params.append(filters.status)
        if filters.due_by is not None:
            where.append(f"response_due <= {d.cast(date)}")
            params.append(filters.due_by)
        if after is not None:
            where.append(f"(last_sent_on, {KEY}) < ({d.cast(date)}, {d.cast(UUID)})")
            params += [date.fromisoformat(after.value), after.case_id]
        columns = ", ".join(column.name for column in CASES.columns)
        with self.reading() as (c, copy, position):
            c.execute(
                f"SELECT {columns} FROM {self.table(CASES, copy)} "
                f"WHERE {' AND '.join(where)} "
                f"ORDER BY last_sent_on DESC, {KEY} DESC LIMIT {m}",
                [*map(d.encode, params), limit],
            )
            rows = c.fetchall()
        return self.rows_as(PlatformCase, CASES, rows), position


def platform_cases_for(recorder: Any) -> PlatformCases:
    """The store beside the application's events, in the same database."""
    return SQLPlatformCases.beside(recorder)
