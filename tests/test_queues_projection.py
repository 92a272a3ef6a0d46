"""The queue projection through the application: random workflows built event by event equal
the same workflows built from scratch, and every case sits in the queue its status says, as
the reference (tests/queue_reference.py) decides; erasure and format changes.

No test sleeps to wait for a projection: each waits for a position."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import closing
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings as hypothesis_settings

from application.case_queues import Queue
from application.clock import SettableClock
from application.mediation import MediationApplication
from application.projections import ProjectionRunner
from application.projections import QueueProjection
from domain.values import Category
from domain.values import PersonalText
from domain.values import Priority
from domain.values import Status
from infrastructure.settings import Settings
from infrastructure.settings import Store
from interfaces.composition import open_application
from tests.conftest import START
from tests.conftest import PostgresSchema
from tests.conftest import require_postgres
from tests.queue_reference import WORKFLOWS
from tests.queue_reference import Expected
from tests.queue_reference import a_report
from tests.queue_reference import allowed
from tests.queue_reference import check_against_reference
from tests.queue_reference import concrete
from tests.queue_reference import issue
from tests.queue_reference import scratch_store
from tests.queue_workflows import STATUS_QUEUES
from tests.queue_workflows import TODAY
from tests.queue_workflows import application_on
from tests.queue_workflows import everything
from tests.queue_workflows import fresh_folder
from tests.queue_workflows import ids
from tests.queue_workflows import runner_for
from tests.queue_workflows import snapshot
from tests.queue_workflows import whole_log


@pytest.mark.parametrize(
    ("store", "examples"),
    [("memory", 30), ("sqlite", 30), pytest.param("postgres", 12, marks=pytest.mark.postgres)],
)
def test_event_by_event_equals_from_scratch_and_the_reference(
    store: str, examples: int, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if store == "postgres":
        require_postgres()

    @hypothesis_settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        # The same examples on every run: the reach check below must not depend on luck.
        derandomize=True,
    )
    @given(workflow=WORKFLOWS)
    def check(workflow: list[tuple[tuple[Any, ...], int]]) -> None:
        clock = SettableClock(START)
        folder = fresh_folder(tmp_path)
        with application_on(store, folder, request, clock) as (settings, app):
            runner = runner_for(settings, app)
            view = runner.projections[0].view
            cases: list[Expected] = []
            first = ("report", "Cdiscount", None, "Atelier Dupont")
            for drawn, pause in [(first, 0), *workflow]:
                clock.advance(timedelta(minutes=pause))
                step = concrete(drawn, cases)
                expected = allowed(step, cases)
                assert issue(app, clock, step, cases) == expected, step
                reached.update(c.status for c in cases)
                facts.update(f"reminded {c.reminders}" for c in cases if c.reminders)
                facts.update("acknowledged" for c in cases if c.acknowledged_on)
                runner.catch_up()
                assert view.position() == app.log_position()
            today = clock.now().date()
            days = [today, today + timedelta(days=6), today + timedelta(days=30), TODAY]
            incremental = snapshot(view, days)

            scratch, datastore = scratch_store(store, app, folder)
            try:
                rebuild = ProjectionRunner(app.event_log(), [QueueProjection(scratch)])
                assert rebuild.catch_up() == len(whole_log(app))
                assert scratch.position() == view.position() == app.log_position()
                assert snapshot(scratch, days) == incremental
            finally:
                if datastore is not None:
                    datastore.close()
            check_against_reference(view, cases, days, app)

    reached: set[Status] = set()
    facts: set[str] = set()
    check()
    if examples >= 30:  # the generator's reach, not the store's: checked where it has room
        assert reached == set(STATUS_QUEUES), "the workflows never reached some statuses"
        assert facts == {"reminded 1", "reminded 2", "acknowledged"}, facts


def test_erasure_reaches_the_queue_row_through_the_destroyed_key(
    mediation: MediationApplication, settings: Settings, clock: SettableClock
) -> None:
    runner = runner_for(settings, mediation)
    view = runner.projections[0].view
    reported = mediation.report_case(
        a_report("Cdiscount", Category.FUNDS_WITHHELD, "Brasserie Martin"), actor="reporter-1"
    )
    clock.advance(timedelta(hours=1))
    mediation.qualify_case(
        reported.case_id,
        category=Category.RANKING,
        priority=Priority.URGENT,
        summary=PersonalText("Demoted"),
        assignee="alice",
        actor="alice",
    )
    runner.catch_up()
    before = snapshot(view, [TODAY])
    erased = mediation.erase_personal_data(reported.case_id, reason="GDPR art. 17", actor="dpo-1")
    assert runner.catch_up() >= 1
    assert view.position() == erased.position
    assert snapshot(view, [TODAY]) == before  # the row is not touched...
    (item,) = everything(view, Queue.TO_SEND)
    assert "Brasserie Martin" not in item.company_name  # ...it never held the name in clear
    # ...and once the case's key is destroyed, its stored name reads erased.
    assert mediation.personal_texts({item.id: item.company_name}) == {item.id: "[effacé]"}


def test_format_1_tables_which_held_names_in_clear_are_dropped_and_the_queues_rebuilt(
    durable_settings: Settings, clock: SettableClock
) -> None:
    app = open_application(durable_settings, clock)
    try:
        reported = app.report_case(a_report("eBay", None, "Brasserie Martin"), actor="r")
    finally:
        app.close()
    former = ["queue_cases_a", "queue_cases_b"]
    states = ["case_queues", "case_queues#rebuild"]
    # What a store written by the previous version holds: the name in clear, a position.
    with raw_connection(durable_settings) as (execute, table):
        for name in former:
            execute(f"CREATE TABLE {table(name)} (case_id text, company_name text)")
            execute(f"INSERT INTO {table(name)} VALUES ('x', 'Brasserie Martin')")
        for name in states:
            execute(f"INSERT INTO {table('projection_state')} VALUES ('{name}', 9, 'a')")

    app = open_application(durable_settings, clock)
    try:
        with raw_connection(durable_settings) as (execute, table):
            tables = execute(TABLE_NAMES[durable_settings.store])
            state_rows = execute(f"SELECT name FROM {table('projection_state')}")
        names = {t for (t,) in tables}
        assert table("projection_state").split(".")[-1].strip('"') in names  # the check sees
        assert not {table(n).split(".")[-1].strip('"') for n in former} & names
        assert not set(states) & {n for (n,) in state_rows}
        runner = runner_for(durable_settings, app)
        runner.catch_up()
        (item,) = everything(runner.projections[0].view, Queue.TO_QUALIFY)
        assert item.id == reported.case_id
        assert app.personal_texts({item.id: item.company_name})[item.id] == "Brasserie Martin"
    finally:
        app.close()


TABLE_NAMES = {
    Store.SQLITE: "SELECT name FROM sqlite_master WHERE type = 'table'",
    Store.POSTGRES: "SELECT table_name FROM information_schema.tables",
}


@contextmanager
def raw_connection(
    settings: Settings,
) -> Iterator[tuple[Callable[[str], list[tuple[Any, ...]]], Callable[[str], str]]]:
    """Plain SQL on the store, beside the application: run a statement, name a table."""
    if settings.store is Store.SQLITE:
        assert settings.sqlite_path is not None
        with closing(sqlite3.connect(settings.sqlite_path)) as connection, connection:
            yield (lambda q: connection.execute(q).fetchall()), (lambda name: name)
        return
    schema = settings.database_schema
    with PostgresSchema(settings.database_url).connect() as connection:
        yield (
            lambda q: connection.execute(q).fetchall() if q.startswith("SELECT") else [],  # type: ignore[arg-type]
            lambda name: f'{schema}."mediation_{name}"',
        )


def test_wait_for_a_position_catches_up_a_running_runner(
    mediation: MediationApplication, settings: Settings
) -> None:
    runner = runner_for(settings, mediation)
    runner.poll_seconds = 30  # only a wake-up can make it catch up in time
    runner.start()
    try:
        result = mediation.report_case(a_report("eBay", None, "Atelier Dupont"), actor="r")
        assert runner.wait_for(result.position, timeout=10)
        assert ids(everything(runner.projections[0].view, Queue.TO_QUALIFY)) == [result.case_id]
        assert not runner.wait_for(result.position + 1_000, timeout=0.1)
    finally:
        runner.stop()
    for status in runner.status():
        assert (status.position, status.log_position, status.lag, status.error) == (
            result.position,
            result.position,
            0,
            None,
        )
