"""Driving the queue tests: the stores they run on, walking every queue, and the projection
run by hand."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID
from uuid import uuid4

import pytest

from application.case_queues import QUEUES
from application.case_queues import CaseQueues
from application.case_queues import Cursor
from application.case_queues import Queue
from application.case_queues import QueueFilters
from application.case_queues import QueueItem
from application.case_queues import sort_value
from application.clock import SettableClock
from application.mediation import MediationApplication
from application.projections import EventLog
from application.projections import ProjectionRunner
from application.projections import QueueProjection
from domain.values import Status
from infrastructure.queue_stores import SQLCaseQueues
from infrastructure.settings import Settings
from interfaces.composition import open_application
from interfaces.composition import projection_runner
from tests.conftest import START
from tests.conftest import settings_for

TODAY = START.date()
EVERYTHING = 100_000
"""A limit larger than any queue of these tests: one page holds the whole queue."""

STATUS_QUEUES = {
    Status.REPORTED: Queue.TO_QUALIFY,
    Status.QUALIFIED: Queue.TO_SEND,
    Status.AWAITING_PLATFORM: Queue.AWAITING_PLATFORM,
    Status.PLATFORM_RESPONDED: Queue.TO_REVIEW,
    Status.WITH_MEDIATOR: Queue.WITH_MEDIATOR,
    Status.RESOLVED: Queue.RESOLVED,
}
"""API.md: a case is in exactly one of these, the one of its status (written here, not read
from the code's QUEUES table)."""

ITEM_FIELDS = {
    "id",
    "status",
    "platform",
    "category",
    "priority",
    "assignee",
    "company_name",
    "reported_at",
    "response_due",
    "last_sent_on",
    "reminders",
    "acknowledged_on",
}


# Helpers shared by the tiers.


def everything(
    view: CaseQueues,
    queue: Queue,
    as_of: date = TODAY,
    filters: QueueFilters | None = None,
) -> list[QueueItem]:
    items, _ = view.page(queue, filters or QueueFilters(), as_of, EVERYTHING, None)
    return items


def walk(
    view: CaseQueues,
    queue: Queue,
    limit: int,
    as_of: date = TODAY,
    filters: QueueFilters | None = None,
) -> list[QueueItem]:
    """Every page of a queue, each after the cursor of the previous one (sent as text)."""
    seen: list[QueueItem] = []
    after: Cursor | None = None
    for _ in range(1_000):
        items, _ = view.page(queue, filters or QueueFilters(), as_of, limit, after)
        assert len(items) <= limit
        seen += items
        if len(items) < limit:
            return seen
        last = items[-1]
        order = QUEUES[queue].order
        after = Cursor.decode(Cursor(sort_value(last, order), last.id).encode(), order)
    raise AssertionError("the pages never end")


def snapshot(view: CaseQueues, days: list[date]) -> dict[tuple[Queue, date], list[QueueItem]]:
    """Every queue's full item list, the overdue one at each of `days`."""
    shot = {}
    for queue in Queue:
        for day in days if queue is Queue.OVERDUE else days[:1]:
            shot[queue, day] = everything(view, queue, day)
    return shot


def readable(
    shot: dict[tuple[Queue, date], list[QueueItem]], app: MediationApplication
) -> dict[tuple[Queue, date], list[QueueItem]]:
    """A snapshot with each company's name as the application reveals it from its stored form."""
    names = app.personal_texts({i.id: i.company_name for items in shot.values() for i in items})
    return {
        key: [replace(i, company_name=names[i.id]) for i in items] for key, items in shot.items()
    }


def fresh_folder(tmp_path: Path) -> Path:
    folder = tmp_path / uuid4().hex[:12]
    folder.mkdir()
    return folder


@contextmanager
def application_on(
    store: str,
    folder: Path,
    request: pytest.FixtureRequest,
    clock: SettableClock,
    **overrides: Any,
) -> Iterator[tuple[Settings, MediationApplication]]:
    """A fresh application on its own store (a new SQLite file, a new PostgreSQL schema)."""
    settings = settings_for(store, folder, request, **overrides)
    app = open_application(settings, clock)
    try:
        yield settings, app
    finally:
        app.close()


def runner_for(settings: Settings, app: MediationApplication) -> ProjectionRunner:
    """The service's own runner (composition.projection_runner)."""
    return projection_runner(app, settings)


def whole_log(app: MediationApplication) -> list[int]:
    return [position for position, _ in app.event_log().read(1, EVERYTHING)]


def model_at(log: EventLog, position: int) -> SQLCaseQueues:
    """The queues as they must be once the events up to `position` are applied, and no more."""
    view = SQLCaseQueues.in_memory()

    def read(start: int, limit: int) -> list[tuple[int, Any]]:
        return [e for e in log.read(start, limit) if e[0] <= position]

    ProjectionRunner(EventLog(head=lambda: position, read=read), [QueueProjection(view)]).catch_up()
    assert view.position() in (position, 0)
    return view


def ids(items: list[QueueItem]) -> list[UUID]:
    return [i.id for i in items]


SOME_ID = "3f2b8c1e-5d4a-4e6f-9a7b-1c2d3e4f5a6b"


def b64(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
