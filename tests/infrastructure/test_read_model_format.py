"""A read model's format version follows its row shape, and a store opened with another shape
is built anew from the log (its former tables dropped)."""

from __future__ import annotations

import dataclasses
import typing
from datetime import date
from datetime import datetime
from enum import StrEnum
from typing import NamedTuple

import pytest

from application.case_queues import CaseQueues
from application.case_queues import Queue
from application.case_queues import QueueFilters
from application.case_queues import QueueItem
from application.case_statistics import CaseFacts
from application.case_statistics import CaseStatistics
from application.case_statistics import Kind
from application.clock import SettableClock
from application.projections import ProjectionRunner
from application.projections import QueueProjection
from infrastructure.queue_stores import SHAPE as QUEUE_SHAPE
from infrastructure.queue_stores import SQLCaseQueues
from infrastructure.queue_stores import case_queues_for
from infrastructure.queue_stores import queue_shape
from infrastructure.read_model_store import Shape
from infrastructure.settings import Settings
from infrastructure.statistics_stores import SHAPE as STATISTICS_SHAPE
from infrastructure.statistics_stores import SQLCaseStatistics
from infrastructure.statistics_stores import statistics_shape
from interfaces.composition import open_application
from interfaces.composition import projection_runner
from tests.application.test_mediation import a_report
from tests.conftest import START


def with_field(row: type, name: str, kind: object) -> type:
    """The row dataclass with one more field."""
    fields = list(typing.get_type_hints(row).items())
    return dataclasses.make_dataclass(row.__name__, [*fields, (name, kind)], frozen=True)


def test_the_queue_format_follows_the_row_shape() -> None:
    assert queue_shape(QueueItem).version == QUEUE_SHAPE.version  # derived, so stable
    changed = [
        queue_shape(with_field(QueueItem, "platform_answer", str | None)),
        queue_shape(with_field(QueueItem, "escalated_at", datetime | None)),
    ]
    retyped = dataclasses.make_dataclass(
        "QueueItem",
        [
            (name, date | None if name == "reported_at" else kind)
            for name, kind in typing.get_type_hints(QueueItem).items()
        ],
    )
    changed.append(queue_shape(retyped))
    versions = {QUEUE_SHAPE.version, *(shape.version for shape in changed)}
    assert len(versions) == 1 + len(changed)
    for shape in changed:  # new names: a store of this shape starts at position 0
        assert shape.live != QUEUE_SHAPE.live
        assert shape.is_other_format(QUEUE_SHAPE.table_name(QUEUE_SHAPE.tables[0], "a"))


def test_the_statistics_format_follows_the_facts_kept() -> None:
    assert statistics_shape(CaseFacts).version == STATISTICS_SHAPE.version

    class MoreFacts(NamedTuple):
        platform: str
        reported_on: date
        category: str | None = None
        answered_twice: bool = False

    fields = [(name, kind) for name, kind in CaseFacts.__annotations__.items()]
    extended = NamedTuple("CaseFacts", [*fields, ("reminded_on", date | None)])  # type: ignore[misc]
    versions = {
        STATISTICS_SHAPE.version,
        statistics_shape(MoreFacts).version,
        statistics_shape(extended).version,
    }
    assert len(versions) == 3


def test_the_statistics_format_follows_the_kinds_of_counters() -> None:
    """A new kind of counter is counted only from the log: a store kept before it has none."""
    assert statistics_shape(CaseFacts, Kind).version == STATISTICS_SHAPE.version
    more = StrEnum("Kind", {**{k.name: k.value for k in Kind}, "BY_WEEKDAY": "by_weekday"})
    assert statistics_shape(CaseFacts, more).version != STATISTICS_SHAPE.version


def other_queue_shape() -> Shape:
    return queue_shape(with_field(QueueItem, "platform_answer", str | None))


def test_a_queue_store_opened_with_another_shape_is_built_again_from_the_log(
    durable_settings: Settings, clock: SettableClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = open_application(durable_settings, clock)
    try:
        reported = app.report_case(a_report(), actor="reporter")
        runner = projection_runner(app)
        runner.catch_up()
        assert runner.reached() == app.log_position()
        former = QUEUE_SHAPE.table_name(QUEUE_SHAPE.tables[0], "a")
        assert former in tables_of(runner.view(CaseQueues.name))

        # The next version of the service: its queue row has one more field.
        monkeypatch.setattr(SQLCaseQueues, "shape", other_queue_shape())
        view = case_queues_for(app.recorder)
        assert view.position() == 0
        names = tables_of(view)
        assert former not in names  # the former shape's tables are dropped
        assert view.shape.table_name(view.shape.tables[0], "a") in names
        assert ProjectionRunner(app.event_log(), [QueueProjection(view)]).catch_up() > 0
        assert view.position() == app.log_position()
        items, _ = view.page(Queue.TO_QUALIFY, QueueFilters(), START.date(), 10, None)
        assert [item.id for item in items] == [reported.case_id]
    finally:
        app.close()


def test_a_statistics_store_opened_with_other_facts_is_built_again_from_the_log(
    durable_settings: Settings, clock: SettableClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = open_application(durable_settings, clock)
    try:
        app.report_case(a_report(), actor="reporter")
        projection_runner(app).catch_up()
        before = projection_runner(app).view(CaseStatistics.name)
        counters = before.counters(None, None, START.date())[0]
        assert counters

        class MoreFacts(NamedTuple):
            platform: str
            reported_on: date
            reminded_on: date | None = None

        monkeypatch.setattr(SQLCaseStatistics, "shape", statistics_shape(MoreFacts))
        runner = projection_runner(app)
        view = runner.view(CaseStatistics.name)
        assert view.position() == 0
        runner.catch_up()
        assert view.position() == app.log_position()
        assert view.counters(None, None, START.date())[0] == counters
    finally:
        app.close()


def tables_of(store: CaseQueues) -> set[str]:
    """The names of the tables beside the events (without the PostgreSQL prefix)."""
    assert isinstance(store, SQLCaseQueues)
    with store.datastore.transaction(commit=False) as c:
        return set(store.dialect.table_names(c))
