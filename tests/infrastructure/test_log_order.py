"""The event log is read in commit order: a reader following notification ids never skips one.

The projections read the log by position (ProjectionRunner: `read(position + 1, batch)`, then
the position becomes the last id returned). On PostgreSQL an id is drawn from a sequence when
a row is inserted, not when it commits: if a transaction holding a lower id commits after one
holding a higher id, a reader can see the higher id first, move its position past the lower
one, and never see it. The record function (infrastructure.recorders.RECORD_FUNCTION) takes
an exclusive lock on the events table before inserting, so that ids become visible in order.

Here: the interleaving that would skip an id, forced step by step with the lock (the second
writer waits) and without it (the id is skipped: the hazard is real, so the first test tests
something); then writers racing through the application while a reader and the projections
follow the log, on PostgreSQL and on SQLite.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any
from uuid import UUID
from uuid import uuid4

import psycopg
import pytest
from eventsourcing.persistence import Notification
from eventsourcing.persistence import StoredEvent
from psycopg.sql import SQL
from psycopg.sql import Identifier
from psycopg.types.composite import register_composite

from application.case_queues import QUEUES
from application.case_queues import Cursor
from application.case_queues import Queue
from application.case_queues import QueueFilters
from application.case_queues import sort_value
from application.clock import SettableClock
from application.mediation import MediationApplication
from application.mediation import ReportRequest
from application.personal_data import WrappedKey
from domain.platforms import Platform
from domain.values import Category
from domain.values import Channel
from domain.values import PersonalText
from infrastructure.recorders import PostgresMediationRecorder
from infrastructure.settings import Settings
from infrastructure.store_setup import postgres_conninfo
from interfaces.composition import open_application
from interfaces.composition import projection_runner
from tests.conftest import START
from tests.conftest import settings_for
from tests.domain.factories import company

WAIT_SECONDS = 10.0
"""Safety net only: how long a step may take before the test gives up (a hang is a failure)."""

WRITERS = 8
COMMANDS = 60
"""Reports per writer thread in the races."""

PAGE = 7
"""The reader's page size: small, so that it reads many pages while the writers write."""


# Fixtures and helpers.


@pytest.fixture
def pg_settings(tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    return settings_for("postgres", tmp_path, request)


@pytest.fixture
def pg_app(pg_settings: Settings, clock: SettableClock) -> Iterator[MediationApplication]:
    app = open_application(pg_settings, clock)
    yield app
    app.close()


@pytest.fixture
def racing_app(
    durable_store: str, tmp_path: Path, request: pytest.FixtureRequest, clock: SettableClock
) -> Iterator[MediationApplication]:
    """The application on a SQLite file, then on PostgreSQL with enough connections for every
    writer to be in the database at once."""
    settings = settings_for(durable_store, tmp_path, request, database_pool_size=WRITERS + 2)
    app = open_application(settings, clock)
    yield app
    app.close()


def pg_recorder(app: MediationApplication) -> PostgresMediationRecorder:
    recorder = app.recorder
    assert isinstance(recorder, PostgresMediationRecorder)
    return recorder


def raw_event(topic: str = "tests.log_order:Raw") -> StoredEvent:
    return StoredEvent(originator_id=uuid4(), originator_version=1, topic=topic, state=b"{}")


def connect(settings: Settings, recorder: PostgresMediationRecorder) -> psycopg.Connection[Any]:
    """A connection of its own (not autocommit: each statement opens a transaction that stays
    open until commit), knowing the stored event type as the recorder's connections do."""
    connection = psycopg.connect(**postgres_conninfo(settings))  # type: ignore[arg-type]
    info = recorder.datastore.psycopg_type_adapters[recorder.stored_event_type_name]
    register_composite(info, connection)
    return connection


def ids(notifications: Iterable[Notification]) -> list[int]:
    return [n.id for n in notifications]


class Worker(threading.Thread):
    """A thread whose failure is raised again where it is joined."""

    def __init__(self, target: Callable[[], Any], name: str) -> None:
        super().__init__(name=name, daemon=True)
        self._work = target
        self.error: BaseException | None = None
        self.result: Any = None

    def run(self) -> None:
        try:
            self.result = self._work()
        except BaseException as error:  # handed to the test by finish()
            self.error = error

    def finish(self) -> Any:
        self.join(timeout=WAIT_SECONDS * 6)
        assert not self.is_alive(), f"{self.name} did not finish"
        if self.error is not None:
            raise self.error
        return self.result


WAITING_FOR_THE_EVENTS_TABLE = """
SELECT a.pid FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid
WHERE a.wait_event_type = 'Lock' AND NOT l.granted
  AND l.relation = %(table)s::regclass AND %(holder)s = ANY(pg_blocking_pids(a.pid))
"""
"""The backends waiting for a lock on the events table that `holder` holds."""


def wait_until_blocked(
    watcher: psycopg.Connection[Any], table: str, holder: int, writer: Worker
) -> bool:
    """Whether `writer` comes to wait for the lock `holder` holds on `table` (False when it
    finished, or failed, without waiting)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if watcher.execute(
            WAITING_FOR_THE_EVENTS_TABLE, {"table": table, "holder": holder}
        ).fetchall():
            return True
        writer.join(timeout=0.005)  # the polling interval, cut short if the writer ends
        if not writer.is_alive():
            return False
    return False


def events_table(recorder: PostgresMediationRecorder) -> str:
    return Identifier(recorder.datastore.schema, recorder.events_table_name).as_string(None)


# 1. With the lock: the second writer waits, and both ids appear at once, in order.


@pytest.mark.postgres
def test_a_writer_waits_for_the_lower_id_to_commit_so_a_reader_skips_nothing(
    pg_app: MediationApplication, pg_settings: Settings
) -> None:
    recorder = pg_recorder(pg_app)
    recorder.insert_events([raw_event()])
    position = ids(recorder.select_notifications(1, 100))[-1]

    a, b = raw_event(), raw_event()
    data_key = pg_app.case_keys.ring.current.id  # the database refuses an unknown one
    b_case, b_key = UUID(str(b.originator_id)), WrappedKey(data_key, b"wrapped key of b")
    with connect(pg_settings, recorder) as holder, connect(pg_settings, recorder) as watcher:
        watcher.autocommit = True
        # A: the recorder's own statement, in a transaction left open: A has an id and the lock.
        a_ids = [
            row[0]
            for row in holder.execute(
                recorder.record_statement,
                (
                    [recorder.construct_pg_stored_event(a.originator_id, 1, a.topic, a.state)],
                    [],
                    [],
                    [],
                ),
            ).fetchall()
        ]
        assert len(a_ids) == 1
        assert a_ids[0] > position
        # B: through the recorder, as the application writes, with a new case key.
        writer_b = Worker(
            lambda: recorder.insert_events([b], new_case_keys={b_case: b_key}),
            name="writer B",
        )
        writer_b.start()
        try:
            blocked = wait_until_blocked(
                watcher, events_table(recorder), holder.info.backend_pid, writer_b
            )
            assert blocked, (
                "B did not wait for A's lock on the events table "
                f"(B finished: {not writer_b.is_alive()}; its ids: {writer_b.result}, "
                f"A's: {a_ids}): it can commit a higher id while A's lower id is not visible"
            )
            # Neither event is visible yet: a reader has nothing to move its position past.
            assert recorder.select_notifications(position + 1, 100) == []
            assert recorder.max_notification_id() == position
        finally:
            holder.commit()
        b_ids = writer_b.finish()

    assert len(b_ids) == 1
    assert a_ids[0] < b_ids[0]
    seen = ids(recorder.select_notifications(position + 1, 100))
    assert seen == [a_ids[0], b_ids[0]]
    assert [n.originator_id for n in recorder.select_notifications(position + 1, 100)] == [
        a.originator_id,
        b.originator_id,
    ]
    assert recorder.wrapped_case_key(b_case) == b_key


# 2. Without the lock: the same interleaving makes a reader skip an id for good.


def plain_insert(
    recorder: PostgresMediationRecorder,
) -> Callable[[psycopg.Connection[Any], StoredEvent], int]:
    statement = SQL(
        "INSERT INTO {table} (originator_id, originator_version, topic, state) "
        "VALUES (%s, %s, %s, %s) RETURNING notification_id"
    ).format(table=Identifier(recorder.datastore.schema, recorder.events_table_name))

    def insert(connection: psycopg.Connection[Any], e: StoredEvent) -> int:
        row = connection.execute(
            statement, (e.originator_id, e.originator_version, e.topic, e.state)
        ).fetchone()
        assert row is not None
        return int(row[0])

    return insert


def library_function(
    recorder: PostgresMediationRecorder,
) -> Callable[[psycopg.Connection[Any], StoredEvent], int]:
    """The library's own database function (POSTGRES_ENABLE_DB_FUNCTIONS), created in the
    schema with the tables: it notifies and inserts, without the lock."""

    def insert(connection: psycopg.Connection[Any], e: StoredEvent) -> int:
        event = recorder.construct_pg_stored_event(
            e.originator_id, e.originator_version, e.topic, e.state
        )
        row = connection.execute(
            recorder.sql_invoke_pg_function_insert_events, ([event],)
        ).fetchone()
        assert row is not None
        return int(row[0])

    return insert


@pytest.mark.postgres
@pytest.mark.parametrize("writes", [plain_insert, library_function], ids=lambda f: f.__name__)
def test_without_the_lock_a_reader_following_ids_skips_an_event_for_good(
    pg_app: MediationApplication,
    pg_settings: Settings,
    writes: Callable[[PostgresMediationRecorder], Callable[..., int]],
) -> None:
    recorder = pg_recorder(pg_app)
    insert = writes(recorder)
    recorder.insert_events([raw_event()])
    position = ids(recorder.select_notifications(1, 100))[-1]

    a, b = raw_event(), raw_event()
    with connect(pg_settings, recorder) as first, connect(pg_settings, recorder) as second:
        a_id = insert(first, a)  # A has the lower id, not committed
        b_id = insert(second, b)  # B, not waiting for A, takes the next id
        second.commit()  # and commits first
        assert a_id < b_id

        # The reader, following ids, sees B's and moves its position past A's.
        page = recorder.select_notifications(position + 1, 100)
        assert ids(page) == [b_id]
        position = page[-1].id

        first.commit()

    # A's event is in the log, below the reader's position: the reader never reads it.
    assert recorder.select_notifications(position + 1, 100) == []
    assert a_id in ids(recorder.select_notifications(1, 100))


# 3. Racing writers, and a reader following the log as the projections do.


def report(writer: int, command: int, shared: bool) -> ReportRequest:
    text = f"Shared report {command}" if shared else f"Report {command} of writer {writer}"
    return ReportRequest(
        company=company(),
        platform=Platform.parse("Cdiscount"),
        description=PersonalText(text),
        occurred_on=START.date() - timedelta(days=10),
        category_hint=Category.FUNDS_WITHHELD,
        channel=Channel.EMAIL,
    )


def report_concurrently(app: MediationApplication) -> set[UUID]:
    """WRITERS threads, started at once, each reporting COMMANDS cases; every tenth command
    of every writer is the same report under the same idempotency key (one case for all the
    writers), every third one a report of its own under a key of its own. The cases opened."""
    start = threading.Barrier(WRITERS, timeout=WAIT_SECONDS)

    def write(writer: int) -> set[UUID]:
        start.wait()
        cases: set[UUID] = set()
        for command in range(COMMANDS):
            shared = command % 10 == 0
            key = (
                f"shared-{command}"
                if shared
                else f"own-{writer}-{command}"
                if command % 3 == 0
                else None
            )
            result = app.report_case(
                report(writer, command, shared), actor="reporter-1", idempotency_key=key
            )
            cases.add(result.case_id)
        return cases

    workers = [Worker(partial(write, w), name=f"writer {w}") for w in range(WRITERS)]
    for worker in workers:
        worker.start()
    cases: set[UUID] = set()
    for worker in workers:
        cases |= worker.finish()
    shared_reports = len(range(0, COMMANDS, 10))
    assert len(cases) == WRITERS * (COMMANDS - shared_reports) + shared_reports
    return cases


def test_a_reader_following_ids_during_racing_writes_sees_every_event_once_in_order(
    racing_app: MediationApplication,
) -> None:
    recorder = racing_app.recorder
    writers_done = threading.Event()
    pages_during_the_race = [0]

    def follow() -> list[int]:
        """ProjectionRunner's loop: read after the position, then move to the last id read."""
        seen: list[int] = []
        position = 0
        while True:
            racing = not writers_done.is_set()
            page = recorder.select_notifications(position + 1, PAGE)
            if page:
                seen += ids(page)
                position = page[-1].id
                pages_during_the_race[0] += racing
            elif not racing and position >= (recorder.max_notification_id() or 0):
                return seen

    reader = Worker(follow, name="reader")
    reader.start()
    try:
        cases = report_concurrently(racing_app)
    finally:
        writers_done.set()
    seen = reader.finish()
    # The reader did follow the log while it was being written (else this tests nothing).
    assert pages_during_the_race[0] > 1

    in_the_log = ids(recorder.select_notifications(1, 1_000_000))
    # Each report records the case and the index of its tracking code.
    assert len(in_the_log) == 2 * len(cases)
    assert len(seen) == len(set(seen))
    assert all(earlier < later for earlier, later in itertools.pairwise(seen))
    skipped = sorted(set(in_the_log) - set(seen))
    assert not skipped, f"the reader skipped {len(skipped)} events: {skipped[:20]}"
    assert seen == in_the_log


# 4. The same race, followed by the projections themselves.


def queue_items(runner: Any, queue: Queue, limit: int = 50) -> list[UUID]:
    """Every case in the queue, page after page, each after the cursor of the previous one."""
    view = runner.view("case_queues")
    order = QUEUES[queue].order
    found: list[UUID] = []
    after: Cursor | None = None
    for _ in range(1_000):
        items, _ = view.page(queue, QueueFilters(), START.date(), limit, after)
        found += [item.id for item in items]
        if len(items) < limit:
            return found
        after = Cursor(sort_value(items[-1], order), items[-1].id)
    raise AssertionError("the pages never end")


def test_projections_following_racing_writes_apply_every_event(
    racing_app: MediationApplication,
) -> None:
    runner = projection_runner(racing_app)
    runner.batch = PAGE
    writers_done = threading.Event()
    # The ids each read model applies, in order (the runner hands them over with the events).
    applied: dict[str, list[int]] = {}
    for projection in runner.projections:
        done: list[int] = []
        applied[projection.name] = done

        def recording(events: Any, apply: Any = projection.apply, done: list[int] = done) -> None:
            apply(events)
            done.extend(position for position, _ in events)

        setattr(projection, "apply", recording)  # noqa: B010 (a method of the instance)

    def project() -> None:
        while not writers_done.is_set():
            runner.catch_up()
            runner.wake.wait(0.05)  # woken by each save in this process
            runner.wake.clear()

    projecting = Worker(project, name="projections")
    projecting.start()
    try:
        cases = report_concurrently(racing_app)
    finally:
        writers_done.set()
    projecting.finish()
    # What the writers wrote after the last pass; an event skipped during the race stays
    # skipped: the position is past it.
    runner.catch_up()

    head = racing_app.log_position()
    assert [status.position for status in runner.status()] == [head] * len(runner.projections)
    in_the_log = ids(racing_app.recorder.select_notifications(1, 1_000_000))
    for name, done in applied.items():
        skipped = sorted(set(in_the_log) - set(done))
        assert not skipped, f"{name} skipped {len(skipped)} events: {skipped[:20]}"
        assert done == in_the_log, name
    to_qualify = queue_items(runner, Queue.TO_QUALIFY)
    assert len(to_qualify) == len(set(to_qualify))
    missing = cases - set(to_qualify)
    assert not missing, f"{len(missing)} reported cases are not in the queue"
    assert set(to_qualify) == cases
