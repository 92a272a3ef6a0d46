"""The caseworkers' queues: the read model, its projection, and GET /queues/{queue}.

Four tiers, each on every store it can run on:
1. the CaseQueues contract, against the in-memory, SQLite and PostgreSQL implementations;
2. the projection through the application: random workflows built event by event equal the
   same workflows built from scratch, and every case sits in the queue its status says, as an
   independent reference written here from the commands issued decides;
3. exactly once: a projection interrupted at random points and resumed ends identical to an
   uninterrupted run, and every event is committed exactly once;
4. HTTP: roles, validation, the shape of an answer, read-your-writes (min_position, 503 with
   Retry-After), keyset pages while cases move, and erasure leaving the queue row alone.

No test sleeps to wait for a projection: each waits for a position (`min_position`, or the
runner's `catch_up` / `wait_for`).
"""

from __future__ import annotations

import base64
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.sqlite import SQLiteDatastore
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from application.case_queues import (
    QUEUES,
    CaseQueues,
    Cursor,
    Order,
    Queue,
    QueueFilters,
    QueueItem,
    sort_value,
)
from application.clock import SettableClock
from application.mediation import MediationApplication, ReportRequest
from application.projections import EventLog, ProjectionRunner, QueueProjection
from domain.errors import CommandNotAllowed, InvalidValue
from domain.platforms import Platform
from domain.values import (
    Category,
    Channel,
    EscalationReason,
    Outcome,
    PersonalText,
    Priority,
    Stance,
    Status,
)
from infrastructure.queue_stores import (
    MemoryCaseQueues,
    PostgresCaseQueues,
    SQLiteCaseQueues,
    case_queues_for,
)
from infrastructure.settings import Settings, Store
from interfaces.composition import open_application, projection_runner
from interfaces.http.app import create_app
from tests.conftest import (
    START,
    PostgresSchema,
    auth,
    report_body,
    require_postgres,
    settings_for,
)
from tests.domain.factories import company
from tests.interfaces.problems import assert_problem

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
}


class Injected(Exception):
    """The failure a test injects into a projection."""


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


def model_at(log: EventLog, position: int) -> MemoryCaseQueues:
    """The queues as they must be once the events up to `position` are applied, and no more."""
    view = MemoryCaseQueues()

    def read(start: int, limit: int) -> list[tuple[int, Any]]:
        return [e for e in log.read(start, limit) if e[0] <= position]

    ProjectionRunner(EventLog(head=lambda: position, read=read), [QueueProjection(view)]).catch_up()
    assert view.position() in (position, 0)
    return view


# 1. The contract of every CaseQueues implementation.


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def queues(
    request: pytest.FixtureRequest, tmp_path: Path, clock: SettableClock
) -> Iterator[CaseQueues]:
    """An empty queue store: in memory, or beside the events of a SQLite / PostgreSQL store."""
    if request.param == "memory":
        yield MemoryCaseQueues()
        return
    with application_on(request.param, tmp_path, request, clock) as (_, app):
        view = case_queues_for(app.recorder)
        expected = SQLiteCaseQueues if request.param == "sqlite" else PostgresCaseQueues
        assert isinstance(view, expected)
        yield view


def at(minutes: float) -> datetime:
    return START + timedelta(minutes=minutes)


def row(status: Status = Status.REPORTED, reported_at: datetime = START, **fields: Any) -> dict:
    """A full queue row as the handlers write it for a case in `status`."""
    values: dict[str, Any] = {
        "status": status.value,
        "platform": "amazon",
        "category": "delisting",
        "priority": None if status is Status.REPORTED else "normal",
        "assignee": None,
        "company_name": "Atelier Dupont",
        "reported_at": reported_at,
        "updated_at": reported_at,
        "response_due": None,
        "resolved_at": None,
    }
    values.update(fields)
    return values


def load(view: CaseQueues, rows: dict[UUID, dict[str, Any]]) -> int:
    """Apply the rows as the next position; that position."""
    position = view.position() + 1
    assert view.apply(rows, position) is True
    return position


def by_key(*keys: Callable[[QueueItem], Any]) -> Callable[[QueueItem], tuple[Any, ...]]:
    return lambda item: tuple(k(item) for k in keys)


def ids(items: list[QueueItem]) -> list[UUID]:
    return [i.id for i in items]


def uuids(n: int) -> list[UUID]:
    return [uuid4() for _ in range(n)]


class TestCaseQueuesContract:
    """What every implementation of CaseQueues answers, the same way."""

    def test_the_position_starts_at_zero_and_follows_what_is_applied(
        self, queues: CaseQueues
    ) -> None:
        assert queues.position() == 0
        assert everything(queues, Queue.TO_QUALIFY) == []
        case = uuid4()
        assert queues.apply({case: row()}, 3) is True
        assert queues.position() == 3
        assert queues.apply({}, 7) is True  # events that change no queue still move it on
        assert queues.position() == 7
        items, position = queues.page(Queue.TO_QUALIFY, QueueFilters(), TODAY, 10, None)
        assert position == 7
        assert ids(items) == [case]

    def test_an_item_carries_what_the_row_says(self, queues: CaseQueues) -> None:
        case = uuid4()
        load(
            queues,
            {
                case: row(
                    Status.AWAITING_PLATFORM,
                    platform="cdiscount",
                    category="funds_withheld",
                    priority="urgent",
                    assignee="alice",
                    company_name="Brasserie Martin",
                    updated_at=at(60),
                    response_due=TODAY + timedelta(days=5),
                )
            },
        )
        (item,) = everything(queues, Queue.AWAITING_PLATFORM)
        assert item == QueueItem(
            id=case,
            status=Status.AWAITING_PLATFORM,
            platform="cdiscount",
            category="funds_withheld",
            priority="urgent",
            assignee="alice",
            company_name="Brasserie Martin",
            reported_at=START,
            updated_at=at(60),
            response_due=TODAY + timedelta(days=5),
            resolved_at=None,
        )
        assert item.reported_at.utcoffset() is not None

    def test_apply_refuses_a_position_already_reached_and_changes_nothing(
        self, queues: CaseQueues
    ) -> None:
        first, second = uuids(2)
        assert queues.apply({first: row()}, 5) is True
        before = snapshot(queues, [TODAY])

        # The same position again (a replayed batch), and an older one: refused, no effect.
        moved = {"status": Status.QUALIFIED.value, "category": "ranking", "priority": "high"}
        assert queues.apply({first: moved}, 5) is False
        assert queues.apply({second: row()}, 4) is False
        assert queues.apply({second: row()}, 1) is False
        assert queues.position() == 5
        assert snapshot(queues, [TODAY]) == before
        assert ids(everything(queues, Queue.TO_QUALIFY)) == [first]

        # The next position is taken, once.
        assert queues.apply({first: moved}, 6) is True
        assert queues.apply({first: {"status": Status.REPORTED.value}}, 6) is False
        assert ids(everything(queues, Queue.TO_SEND)) == [first]
        assert everything(queues, Queue.TO_QUALIFY) == []

    def test_an_update_changes_only_the_fields_it_names(self, queues: CaseQueues) -> None:
        case = uuid4()
        load(queues, {case: row(category="delisting", company_name="Savonnerie Leroy")})
        load(
            queues,
            {
                case: {
                    "status": Status.QUALIFIED.value,
                    "category": "ranking",
                    "priority": "high",
                    "assignee": "bob",
                    "updated_at": at(30),
                }
            },
        )
        (item,) = everything(queues, Queue.TO_SEND)
        assert (item.category, item.priority, item.assignee) == ("ranking", "high", "bob")
        assert (item.company_name, item.platform, item.reported_at) == (
            "Savonnerie Leroy",
            "amazon",
            START,
        )
        assert item.updated_at == at(30)

    def test_a_case_is_in_the_queue_of_its_status_and_no_other(self, queues: CaseQueues) -> None:
        due_past, due_later = TODAY - timedelta(days=1), TODAY + timedelta(days=3)
        cases = {
            Status.REPORTED: row(Status.REPORTED),
            Status.QUALIFIED: row(Status.QUALIFIED),
            Status.AWAITING_PLATFORM: row(Status.AWAITING_PLATFORM, response_due=due_past),
            Status.PLATFORM_RESPONDED: row(Status.PLATFORM_RESPONDED),
            Status.WITH_MEDIATOR: row(Status.WITH_MEDIATOR),
            Status.RESOLVED: row(Status.RESOLVED, resolved_at=at(10)),
        }
        named = {status: uuid4() for status in cases}
        later = uuid4()  # awaiting, not yet due
        load(queues, {named[s]: fields for s, fields in cases.items()})
        load(queues, {later: row(Status.AWAITING_PLATFORM, response_due=due_later)})
        for status, queue in STATUS_QUEUES.items():
            expected = {named[status]} | ({later} if queue is Queue.AWAITING_PLATFORM else set())
            assert set(ids(everything(queues, queue))) == expected, queue
            assert {i.status for i in everything(queues, queue)} == {status}
        assert ids(everything(queues, Queue.OVERDUE)) == [named[Status.AWAITING_PLATFORM]]

    @pytest.mark.parametrize(
        ("queue", "status"),
        [(Queue.TO_QUALIFY, Status.REPORTED), (Queue.TO_SEND, Status.QUALIFIED)],
    )
    def test_oldest_report_first_ties_broken_by_id(
        self, queues: CaseQueues, queue: Queue, status: Status
    ) -> None:
        paris = timezone(timedelta(hours=2))
        reported = [
            at(0),
            datetime(2026, 3, 2, 10, 0, tzinfo=paris),  # 08:00 UTC: the oldest
            at(30),
            at(30),
            at(30),
            at(0.5 / 60),  # half a second after 09:00
            at(-24 * 60),  # the day before
            at(24 * 60),
        ]
        cases = {
            uuid4(): row(status, reported_at=r, updated_at=at(999 - i))
            for i, r in enumerate(reported)
        }
        load(queues, cases)
        expected = sorted(cases, key=lambda c: (cases[c]["reported_at"], str(c)))
        assert ids(everything(queues, queue)) == expected
        assert [cases[c]["reported_at"] for c in expected[:2]] == [at(-24 * 60), at(-60)]

    @pytest.mark.parametrize("queue", [Queue.AWAITING_PLATFORM, Queue.OVERDUE])
    def test_awaiting_and_overdue_by_due_date_ties_broken_by_id(
        self, queues: CaseQueues, queue: Queue
    ) -> None:
        dues = [3, -2, -5, -2, -2, -30, 10, -1]
        cases = {
            uuid4(): row(
                Status.AWAITING_PLATFORM,
                reported_at=at(-i),  # report order is the reverse of nothing in particular
                response_due=TODAY + timedelta(days=d),
            )
            for i, d in enumerate(dues)
        }
        load(queues, cases)
        expected = sorted(cases, key=lambda c: (cases[c]["response_due"], str(c)))
        if queue is Queue.OVERDUE:
            expected = [c for c in expected if cases[c]["response_due"] < TODAY]
        assert ids(everything(queues, queue)) == expected
        assert len(expected) >= 5

    def test_resolved_newest_first(self, queues: CaseQueues) -> None:
        resolved = [at(60), at(600), at(5), at(600), at(600), at(-60), at(24 * 60)]
        cases = {
            uuid4(): row(Status.RESOLVED, reported_at=at(-100 - i), resolved_at=r, updated_at=r)
            for i, r in enumerate(resolved)
        }
        load(queues, cases)
        items = everything(queues, Queue.RESOLVED)
        assert [i.resolved_at for i in items] == sorted(resolved, reverse=True)
        # Ties by id, in the order of the keyset (the whole key reversed).
        expected = sorted(cases, key=lambda c: (cases[c]["resolved_at"], str(c)), reverse=True)
        assert ids(items) == expected

    def test_filters_by_platform_category_priority_and_assignee(self, queues: CaseQueues) -> None:
        combos = [
            (platform, category, priority, assignee)
            for platform in ("amazon", "cdiscount")
            for category in ("delisting", "ranking")
            for priority in ("normal", "urgent")
            for assignee in ("alice", "bob", None)
        ]
        cases = {
            uuid4(): row(
                Status.QUALIFIED,
                reported_at=at(i),
                platform=p,
                category=c,
                priority=pr,
                assignee=a,
            )
            for i, (p, c, pr, a) in enumerate(combos)
        }
        load(queues, cases)

        def expected(**wanted: str) -> list[UUID]:
            return [
                c
                for c in sorted(cases, key=lambda c: (cases[c]["reported_at"], str(c)))
                if all(cases[c][k] == v for k, v in wanted.items())
            ]

        for wanted in (
            {"platform": "cdiscount"},
            {"category": "ranking"},
            {"priority": "urgent"},
            {"assignee": "alice"},
            {"platform": "amazon", "category": "delisting", "priority": "normal"},
            {"platform": "amazon", "category": "ranking", "priority": "urgent", "assignee": "bob"},
        ):
            got = ids(everything(queues, Queue.TO_SEND, filters=QueueFilters(**wanted)))
            assert got == expected(**wanted), wanted
            assert got
        nobody = QueueFilters(platform="ebay")
        assert everything(queues, Queue.TO_SEND, filters=nobody) == []
        nobody = QueueFilters(platform="amazon", assignee="carol")
        assert everything(queues, Queue.TO_SEND, filters=nobody) == []
        # A filter is applied within its queue, not across queues.
        assert everything(queues, Queue.TO_QUALIFY, filters=QueueFilters(platform="amazon")) == []

    def test_filters_apply_to_the_overdue_queue(self, queues: CaseQueues) -> None:
        amazon, cdiscount, future = uuids(3)
        load(
            queues,
            {
                amazon: row(Status.AWAITING_PLATFORM, response_due=TODAY - timedelta(days=1)),
                cdiscount: row(
                    Status.AWAITING_PLATFORM,
                    platform="cdiscount",
                    response_due=TODAY - timedelta(days=1),
                ),
                future: row(Status.AWAITING_PLATFORM, response_due=TODAY + timedelta(days=1)),
            },
        )
        got = everything(queues, Queue.OVERDUE, filters=QueueFilters(platform="amazon"))
        assert ids(got) == [amazon]

    def test_overdue_means_due_before_as_of_and_the_due_day_is_not_overdue(
        self, queues: CaseQueues
    ) -> None:
        day = date(2026, 3, 20)
        yesterday, today, tomorrow, answered, resolved = uuids(5)
        load(
            queues,
            {
                yesterday: row(Status.AWAITING_PLATFORM, response_due=day - timedelta(days=1)),
                today: row(Status.AWAITING_PLATFORM, response_due=day),
                tomorrow: row(Status.AWAITING_PLATFORM, response_due=day + timedelta(days=1)),
                # Past due dates on cases no longer awaiting the platform are not overdue.
                answered: row(Status.PLATFORM_RESPONDED, response_due=day - timedelta(days=9)),
                resolved: row(
                    Status.RESOLVED, response_due=day - timedelta(days=9), resolved_at=at(1)
                ),
            },
        )
        assert ids(everything(queues, Queue.OVERDUE, day)) == [yesterday]
        assert ids(everything(queues, Queue.OVERDUE, day + timedelta(days=1))) == [yesterday, today]
        assert ids(everything(queues, Queue.OVERDUE, day + timedelta(days=2))) == [
            yesterday,
            today,
            tomorrow,
        ]
        assert everything(queues, Queue.OVERDUE, day - timedelta(days=1)) == []
        # as_of decides nothing for the awaiting-platform queue itself.
        for as_of in (day - timedelta(days=30), day, day + timedelta(days=30)):
            got = ids(everything(queues, Queue.AWAITING_PLATFORM, as_of))
            assert got == [yesterday, today, tomorrow]

    @pytest.mark.parametrize("limit", [1, 2, 3, 7])
    def test_walking_every_page_yields_every_item_exactly_once(
        self, queues: CaseQueues, limit: int
    ) -> None:
        """Many ties on every sort key, so that the id alone separates pages."""
        statuses = list(STATUS_QUEUES)
        rows: dict[UUID, dict[str, Any]] = {}
        for i in range(42):
            status = statuses[i % len(statuses)]
            rows[uuid4()] = row(
                status,
                reported_at=at(i % 3),
                updated_at=at(10 + i % 2),
                platform=("amazon", "ebay")[i % 2],
                response_due=(
                    TODAY + timedelta(days=(i % 4) - 2)
                    if status is Status.AWAITING_PLATFORM
                    else None
                ),
                resolved_at=at(100 + i % 2) if status is Status.RESOLVED else None,
            )
        load(queues, rows)
        for queue in Queue:
            for filters in (QueueFilters(), QueueFilters(platform="amazon")):
                whole = everything(queues, queue, filters=filters)
                pages = walk(queues, queue, limit, filters=filters)
                assert pages == whole, (queue, filters)
                assert len(set(ids(pages))) == len(pages)
                if filters == QueueFilters():
                    in_status = [
                        c for c, r in rows.items() if r["status"] == QUEUES[queue].status.value
                    ]
                    if queue is not Queue.OVERDUE:
                        assert set(ids(pages)) == set(in_status), queue

    def test_clear_forgets_every_row_and_the_position(self, queues: CaseQueues) -> None:
        load(queues, {c: row(s) for c, s in zip(uuids(6), STATUS_QUEUES, strict=True)})
        load(queues, {uuid4(): row()})
        assert queues.position() == 2
        queues.clear()
        assert queues.position() == 0
        for queue in Queue:
            assert everything(queues, queue, TODAY + timedelta(days=400)) == []
        # A rebuild starts again at the first position.
        case = uuid4()
        assert queues.apply({case: row()}, 1) is True
        assert ids(everything(queues, Queue.TO_QUALIFY)) == [case]
        assert queues.position() == 1


SOME_ID = "3f2b8c1e-5d4a-4e6f-9a7b-1c2d3e4f5a6b"


def b64(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def test_a_cursor_goes_through_text_and_back() -> None:
    cursor = Cursor("2026-03-02T09:00:00.000000+00:00", uuid4())
    text = cursor.encode()
    assert Cursor.decode(text, Order.REPORTED_FIRST) == cursor
    assert "=" not in text


@pytest.mark.parametrize(
    "text",
    [
        "",
        "garbage",
        "!!!!",
        b64('"just a string"'),
        b64('["x", null]'),
        b64('["x", "not-a-uuid"]'),
        b64('["x", 5]'),
        b64('["x", ["a"]]'),
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
    ],
)
def test_a_cursor_the_service_did_not_give_is_an_invalid_value(text: str) -> None:
    with pytest.raises(InvalidValue):
        Cursor.decode(text, Order.REPORTED_FIRST)


# 2. The projection through the application: event by event = from scratch = the reference.

PLATFORMS = {
    "Amazon Marketplace": "amazon",
    "amazon.fr": "amazon",
    "Cdiscount": "cdiscount",
    "eBay": "ebay",
}
COMPANIES = ("Atelier Dupont", "Brasserie Martin", "Savonnerie Leroy")
CASE = st.integers(min_value=0, max_value=7)

FORWARD = st.tuples(
    st.just("forward"),
    CASE,
    st.integers(min_value=0, max_value=5),
    st.sampled_from(Category),
    st.sampled_from(Priority),
    st.none() | st.sampled_from(["alice", "bob"]),
    st.sampled_from(Stance),
    st.sampled_from(EscalationReason),
)
"""A command that moves the case on, chosen from its status: so that random workflows also
reach the end of the workflow."""

REPORT = st.tuples(
    st.just("report"),
    st.sampled_from(sorted(PLATFORMS)),
    st.none() | st.sampled_from(Category),
    st.sampled_from(COMPANIES),
)
STEPS = st.one_of(
    REPORT,
    st.tuples(
        st.just("qualify"),
        CASE,
        st.sampled_from(Category),
        st.sampled_from(Priority),
        st.none() | st.sampled_from(["alice", "bob"]),
    ),
    st.tuples(st.just("send"), CASE),
    st.tuples(st.just("respond"), CASE, st.sampled_from(Stance)),
    st.tuples(st.just("escalate"), CASE, st.sampled_from(EscalationReason)),
    st.tuples(st.just("resolve"), CASE, st.sampled_from(Outcome)),
    *[FORWARD] * 6,
)
PAUSES = st.sampled_from([0, 0, 1, 45, 24 * 60, 6 * 24 * 60])
"""Minutes between two commands: often none (ties), sometimes days (overdue cases)."""

WORKFLOWS = st.builds(
    lambda reports, steps: reports + steps,
    st.lists(st.tuples(REPORT, PAUSES), min_size=2, max_size=6),
    st.lists(st.tuples(STEPS, PAUSES), min_size=8, max_size=50),
)
"""A few reports, then random steps over them (more reports among them)."""


@dataclass
class Expected:
    """A case as the reference sees it, from the commands that were accepted."""

    id: UUID
    status: Status
    platform: str
    category: str
    priority: str | None
    assignee: str | None
    company_name: str
    reported_at: datetime
    response_due: date | None = None
    resolved_at: datetime | None = None


ALLOWED: dict[Status, dict[str, set[Outcome]]] = {
    Status.REPORTED: {"qualify": set(), "resolve": {Outcome.WITHDRAWN, Outcome.INADMISSIBLE}},
    Status.QUALIFIED: {
        "qualify": set(),
        "send": set(),
        "resolve": {Outcome.WITHDRAWN, Outcome.INADMISSIBLE},
    },
    Status.AWAITING_PLATFORM: {
        "respond": set(),
        "escalate": set(),
        "resolve": {Outcome.WITHDRAWN},
    },
    Status.PLATFORM_RESPONDED: {
        "send": set(),
        "escalate": set(),
        "resolve": set(Outcome) - {Outcome.INADMISSIBLE},
    },
    Status.WITH_MEDIATOR: {"resolve": set(Outcome) - {Outcome.INADMISSIBLE}},
    Status.RESOLVED: {},
}
"""DOMAIN.md's table of the commands each status allows (and the outcomes of `resolve`)."""

ONWARD = {
    Status.REPORTED: ["qualify"],
    Status.QUALIFIED: ["send", "send", "qualify"],
    Status.AWAITING_PLATFORM: ["respond", "escalate", "respond", "escalate", "resolve"],
    Status.PLATFORM_RESPONDED: ["escalate", "send", "resolve"],
    Status.WITH_MEDIATOR: ["resolve"],
    Status.RESOLVED: ["resolve"],
}


def concrete(step: tuple[Any, ...], cases: list[Expected]) -> tuple[Any, ...]:
    """A `forward` step made the command it stands for, from the case's reference status."""
    if step[0] != "forward" or not cases:
        return step
    _, index, pick, category, priority, assignee, stance, reason = step
    status = cases[index % len(cases)].status
    kind = ONWARD[status][pick % len(ONWARD[status])]
    outcomes = sorted(ALLOWED[status].get("resolve", {Outcome.RESOLVED}), key=lambda o: o.value)
    return {
        "qualify": ("qualify", index, category, priority, assignee),
        "send": ("send", index),
        "respond": ("respond", index, stance),
        "escalate": ("escalate", index, reason),
        "resolve": ("resolve", index, outcomes[pick % len(outcomes)]),
    }[kind]


def allowed(step: tuple[Any, ...], cases: list[Expected]) -> bool:
    """Whether DOMAIN.md allows the step, in the reference state."""
    if step[0] == "report":
        return True
    if not cases:
        return False
    rules = ALLOWED[cases[step[1] % len(cases)].status]
    if step[0] not in rules:
        return False
    return step[0] != "resolve" or step[2] in rules["resolve"]


def a_report(platform: str, hint: Category | None, name: str) -> ReportRequest:
    return ReportRequest(
        company=replace(company(), name=PersonalText(name)),
        platform=Platform.parse(platform),
        description=PersonalText("Delisted overnight without any explanation"),
        occurred_on=TODAY - timedelta(days=10),
        category_hint=hint,
        channel=Channel.WEB,
    )


def issue(
    app: MediationApplication,
    clock: SettableClock,
    step: tuple[Any, ...],
    cases: list[Expected],
    idempotency_key: str | None = None,
) -> bool:
    """Run one step on the application and update the reference; whether it was accepted."""
    kind, *args = step
    now = clock.now()
    if kind == "report":
        platform, hint, name = args
        result = app.report_case(
            a_report(platform, hint, name), actor="reporter-1", idempotency_key=idempotency_key
        )
        cases.append(
            Expected(
                id=result.case_id,
                status=Status.REPORTED,
                platform=PLATFORMS[platform],
                category=hint.value if hint else "unqualified",
                priority=None,
                assignee=None,
                company_name=name,
                reported_at=now,
            )
        )
        return True
    if not cases:
        return False
    case = cases[args[0] % len(cases)]
    try:
        if kind == "qualify":
            _, category, priority, assignee = args
            app.qualify_case(
                case.id,
                category=category,
                priority=priority,
                summary=PersonalText("Summary"),
                assignee=assignee,
                actor="alice",
            )
            case.status = Status.QUALIFIED
            case.category, case.priority, case.assignee = (
                category.value,
                priority.value,
                assignee,
            )
        elif kind == "send":
            sent = app.send_to_platform(case.id, message=PersonalText("Why?"), actor="alice")
            case.status, case.response_due = Status.AWAITING_PLATFORM, sent.response_due
            assert sent.response_due is not None
            assert sent.response_due > now.date()
        elif kind == "respond":
            app.record_platform_response(
                case.id, stance=args[1], response=PersonalText("Policy"), actor="alice"
            )
            case.status, case.response_due = Status.PLATFORM_RESPONDED, None
        elif kind == "escalate":
            app.escalate_case(case.id, reason=args[1], note=None, actor="alice")
            case.status, case.response_due = Status.WITH_MEDIATOR, None
        elif kind == "resolve":
            app.resolve_case(case.id, outcome=args[1], summary=PersonalText("Done"), actor="alice")
            case.status, case.response_due, case.resolved_at = Status.RESOLVED, None, now
        else:
            raise AssertionError(kind)
    except CommandNotAllowed:
        return False
    return True


def check_against_reference(
    view: CaseQueues, cases: list[Expected], days: list[date], app: MediationApplication
) -> None:
    """Every case in exactly the queue of its status, with its fields, in API.md's order (the
    company's name as the application reveals it from the row's stored form)."""
    places: dict[UUID, list[Queue]] = {c.id: [] for c in cases}
    by_id = {c.id: c for c in cases}
    for queue in STATUS_QUEUES.values():
        items = everything(view, queue, days[0])
        names = app.personal_texts({item.id: item.company_name for item in items})
        for item in items:
            assert item.id in by_id, f"{item.id} in {queue} was never reported"
            places[item.id].append(queue)
            case = by_id[item.id]
            seen = (
                item.status,
                item.platform,
                item.category,
                item.priority,
                item.assignee,
                names[item.id],
                item.reported_at,
                item.response_due,
            )
            assert seen == (
                case.status,
                case.platform,
                case.category,
                case.priority,
                case.assignee,
                case.company_name,
                case.reported_at,
                case.response_due,
            ), item
    for case in cases:
        assert places[case.id] == [STATUS_QUEUES[case.status]], (case, places[case.id])

    def of(status: Status) -> list[Expected]:
        return [c for c in cases if c.status is status]

    def oldest_report_first(status: Status) -> list[UUID]:
        return [c.id for c in sorted(of(status), key=lambda c: (c.reported_at, str(c.id)))]

    assert ids(everything(view, Queue.TO_QUALIFY)) == oldest_report_first(Status.REPORTED)
    assert ids(everything(view, Queue.TO_SEND)) == oldest_report_first(Status.QUALIFIED)
    awaiting = sorted(of(Status.AWAITING_PLATFORM), key=lambda c: (c.response_due, str(c.id)))
    assert ids(everything(view, Queue.AWAITING_PLATFORM)) == [c.id for c in awaiting]
    for day in days:
        overdue = [c.id for c in awaiting if c.response_due < day]  # type: ignore[operator]
        assert ids(everything(view, Queue.OVERDUE, day)) == overdue, day
    resolved = sorted(of(Status.RESOLVED), key=lambda c: (c.resolved_at, str(c.id)), reverse=True)
    assert ids(everything(view, Queue.RESOLVED)) == [c.id for c in resolved]


def scratch_store(store: str, app: MediationApplication, folder: Path) -> Any:
    """A second, empty queue store in the same kind of database, for a rebuild from scratch."""
    if store == "memory":
        return MemoryCaseQueues(), None
    if store == "sqlite":
        datastore = SQLiteDatastore(str(folder / "scratch.db"))
        return SQLiteCaseQueues(datastore), datastore
    return PostgresCaseQueues(app.recorder.datastore, prefix="scratch"), None  # type: ignore[attr-defined]


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
    check()
    if examples >= 30:  # the generator's reach, not the store's: checked where it has room
        assert reached == set(STATUS_QUEUES), "the workflows never reached some statuses"


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


# 3. Exactly once, when the projection is interrupted between handling and commit.

SCRIPT: list[tuple[tuple[Any, ...], int]] = [
    (("report", "Amazon Marketplace", Category.DELISTING, "Atelier Dupont"), 0),
    (("report", "Cdiscount", None, "Brasserie Martin"), 0),
    (("report", "eBay", Category.RANKING, "Savonnerie Leroy"), 5),
    (("report", "amazon.fr", None, "Atelier Dupont"), 5),
    (("report", "Cdiscount", Category.FUNDS_WITHHELD, "Brasserie Martin"), 0),
    (("report", "eBay", None, "Savonnerie Leroy"), 60),
    (("report", "Amazon Marketplace", None, "Atelier Dupont"), 0),
    (("report", "Cdiscount", Category.OTHER, "Brasserie Martin"), 1),
    (("qualify", 1, Category.DELISTING, Priority.NORMAL, "alice"), 30),
    (("qualify", 2, Category.RANKING, Priority.URGENT, None), 0),
    (("qualify", 3, Category.FUNDS_WITHHELD, Priority.HIGH, "bob"), 0),
    (("qualify", 4, Category.OTHER, Priority.LOW, "alice"), 10),
    (("qualify", 5, Category.TERMS_CHANGE, Priority.URGENT, "bob"), 0),
    (("qualify", 6, Category.DATA_ACCESS, Priority.NORMAL, None), 0),
    (("qualify", 1, Category.ACCOUNT_SUSPENSION, Priority.HIGH, "bob"), 0),
    (("send", 2), 24 * 60),
    (("send", 3), 0),
    (("send", 4), 0),
    (("send", 5), 60),
    (("send", 6), 0),
    (("respond", 3, Stance.REFUSED), 2 * 24 * 60),
    (("respond", 4, Stance.ACCEPTED), 0),
    (("escalate", 4, EscalationReason.UNSATISFACTORY_RESPONSE), 0),
    (("resolve", 4, Outcome.RESOLVED), 24 * 60),
    (("resolve", 5, Outcome.WITHDRAWN), 0),
    (("resolve", 7, Outcome.INADMISSIBLE), 0),
    (("send", 3), 0),
    (("escalate", 6, EscalationReason.NO_RESPONSE), 20 * 24 * 60),
    (("resolve", 0, Outcome.RESOLVED), 0),  # refused: a reported case cannot be resolved so
]


def run_script(app: MediationApplication, clock: SettableClock) -> list[Expected]:
    """The same commands, the same instants and (through idempotency keys) the same case ids
    on every application it runs on."""
    cases: list[Expected] = []
    accepted = []
    for n, (step, pause) in enumerate(SCRIPT):
        clock.advance(timedelta(minutes=pause))
        expected = allowed(step, cases)
        accepted.append(issue(app, clock, step, cases, idempotency_key=f"case-{n}"))
        assert accepted[-1] == expected, step
    assert accepted.count(False) == 1
    return cases


FAULTS = ["before-apply", "after-commit", "mid-transaction", "log-read"]


class FaultyDatastore:
    """The store's datastore, failing a transaction after its last statement, before the
    commit: whatever the apply wrote must be rolled back with it."""

    def __init__(self, datastore: Any, armed: Callable[[], bool]) -> None:
        self._datastore, self._armed = datastore, armed

    @contextmanager
    def transaction(self, *, commit: bool) -> Iterator[Any]:
        with self._datastore.transaction(commit=commit) as cursor:
            yield cursor
            if commit and self._armed():
                raise Injected("after the rows and the position were written, before the commit")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._datastore, name)


class Faults:
    """Counts the calls a fault can hit, across restarts, and fails the chosen ones."""

    def __init__(self, kind: str, failing: set[int]) -> None:
        self.kind, self.failing = kind, failing
        self.calls = 0
        self.fired = 0

    def hit(self) -> bool:
        self.calls += 1
        if self.calls in self.failing:
            self.fired += 1
            return True
        return False

    def install(self, view: CaseQueues, log: EventLog) -> tuple[CaseQueues, EventLog]:
        if self.kind == "log-read":
            read = log.read

            def failing_read(start: int, limit: int) -> Any:
                if self.hit():
                    raise Injected("the log failed mid-way")
                return read(start, limit)

            return view, EventLog(head=log.head, read=failing_read)

        # The class's own apply, never a wrapper installed before a restart.
        apply = type(view).apply.__get__(view)
        if self.kind == "mid-transaction":
            armed = {"now": False}
            view.datastore = FaultyDatastore(  # type: ignore[attr-defined]
                view.datastore,  # type: ignore[attr-defined]
                lambda: armed["now"],
            )

            def apply_mid(updates: Any, position: int) -> bool:
                armed["now"] = self.hit()
                try:
                    return apply(updates, position)
                finally:
                    armed["now"] = False

            view.apply = apply_mid  # type: ignore[method-assign]
        elif self.kind == "before-apply":

            def apply_before(updates: Any, position: int) -> bool:
                if self.hit():
                    raise Injected("before the transaction")
                return apply(updates, position)

            view.apply = apply_before  # type: ignore[method-assign]
        elif self.kind == "after-commit":

            def apply_after(updates: Any, position: int) -> bool:
                done = apply(updates, position)
                if self.hit():
                    raise Injected("after the commit, before the runner went on")
                return done

            view.apply = apply_after  # type: ignore[method-assign]
        else:
            raise AssertionError(self.kind)
        return view, log


class CommitLog(QueueProjection):
    """A queue projection that notes the positions of the events each committed apply held."""

    def __init__(self, view: CaseQueues, committed: list[int]) -> None:
        super().__init__(view)
        self.committed = committed

    def apply(self, events: Any) -> None:
        before = self.view.position()
        try:
            super().apply(events)
        finally:
            after = self.view.position()
            if events and after != before:
                assert after == events[-1][0]
                self.committed += [position for position, _ in events]


@pytest.mark.parametrize(
    ("store", "kind"),
    [
        pytest.param(store, kind, marks=[pytest.mark.postgres] if store == "postgres" else [])
        for store in ("memory", "sqlite", "postgres")
        for kind in FAULTS
        if not (store == "memory" and kind == "mid-transaction")  # memory has no transaction
    ],
)
def test_an_interrupted_projection_resumes_to_the_same_read_model_exactly_once(
    store: str, kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if store == "postgres":
        require_postgres()
    days = [TODAY + timedelta(days=d) for d in (0, 2, 6, 10, 30, 60)]

    # The uninterrupted run, on an application of its own.
    calm_clock = SettableClock(START)
    with application_on(store, fresh_folder(tmp_path), request, calm_clock) as (settings, calm):
        expected_cases = run_script(calm, calm_clock)
        calm_runner = runner_for(settings, calm)
        calm_runner.catch_up()
        calm_view = calm_runner.projections[0].view
        expected = readable(snapshot(calm_view, days), calm)
        expected_position = calm_view.position()
        assert expected_position == calm.log_position()
        check_against_reference(calm_view, expected_cases, days[:1], calm)

    # The interrupted one: same commands, another application and store.
    clock = SettableClock(START)
    with application_on(store, fresh_folder(tmp_path), request, clock) as (_, app):
        assert [c.id for c in run_script(app, clock)] == [c.id for c in expected_cases]
        assert app.log_position() == expected_position
        positions = whole_log(app)
        memory_view = MemoryCaseQueues()

        def open_view() -> CaseQueues:
            # A restart: the store opened again from its database (memory keeps its object).
            return memory_view if store == "memory" else case_queues_for(app.recorder)

        @hypothesis_settings(
            max_examples=12 if store == "postgres" else 25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        )
        @given(
            failing=st.sets(st.integers(min_value=1, max_value=30), min_size=1, max_size=6),
            batch=st.integers(min_value=1, max_value=7),
        )
        def interrupted(failing: set[int], batch: int) -> None:
            open_view().clear()
            faults = Faults(kind, failing)
            committed: list[int] = []
            failures = 0
            for _ in range(100):
                view, log = faults.install(open_view(), app.event_log())
                runner = ProjectionRunner(log, [CommitLog(view, committed)], batch=batch)
                try:
                    runner.catch_up()
                    break
                except Injected:
                    failures += 1
                    assert runner.errors  # the runner says why it stopped
                    # Nothing half applied: the store holds exactly the events up to its position.
                    reopened = open_view()
                    reached = reopened.position()
                    assert snapshot(reopened, days) == snapshot(
                        model_at(app.event_log(), reached), days
                    )
            else:
                raise AssertionError("the projection never finished")
            assert failures == faults.fired
            fired.append(failures)
            view = open_view()
            assert view.position() == expected_position
            # Each application encrypts under keys of its own: compare the names they reveal.
            assert readable(snapshot(view, days), app) == expected
            # Every event committed exactly once, in log order.
            assert committed == positions

        fired: list[int] = []
        interrupted()
        assert sum(fired) > 0, "no fault was ever injected"


def test_a_second_runner_on_the_same_store_applies_nothing_again(
    durable_settings: Settings, clock: SettableClock
) -> None:
    """Two runners (two processes) on one store: a batch the other already committed is
    refused as a whole, so no event is applied twice."""
    app = open_application(durable_settings, clock)
    try:
        run_script(app, clock)
        committed: list[int] = []
        first = ProjectionRunner(
            app.event_log(), [CommitLog(case_queues_for(app.recorder), committed)], batch=4
        )
        second = ProjectionRunner(
            app.event_log(), [CommitLog(case_queues_for(app.recorder), committed)], batch=4
        )
        stale = app.event_log().read(1, 4)  # what the second read before the first committed
        assert first.catch_up() == len(whole_log(app))
        view = case_queues_for(app.recorder)
        before = snapshot(view, [TODAY, TODAY + timedelta(days=30)])
        second.projections[0].apply(stale)
        assert second.catch_up() == 0
        assert committed == whole_log(app)
        assert view.position() == app.log_position()
        assert snapshot(view, [TODAY, TODAY + timedelta(days=30)]) == before
    finally:
        app.close()


# 4. HTTP.

QUALIFY = {"category": "ranking", "priority": "high", "summary": "Demoted.", "assignee": "alice"}


def report(http: TestClient, **changes: Any) -> dict[str, Any]:
    answer = http.post("/cases", json=report_body(**changes), headers=auth("reporter"))
    assert answer.status_code == 201, answer.text
    return answer.json()  # type: ignore[no-any-return]


def command(http: TestClient, case_id: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = http.post(f"/cases/{case_id}/{name}", json=body, headers=auth("caseworker"))
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def queue_page(http: TestClient, queue: str, **params: Any) -> dict[str, Any]:
    answer = http.get(f"/queues/{queue}", params=params, headers=auth("caseworker"))
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = answer.json()
    assert set(body) == {"queue", "items", "next_cursor", "position"}, body
    assert body["queue"] == queue
    assert isinstance(body["position"], int)
    assert body["next_cursor"] is None or isinstance(body["next_cursor"], str)
    for item in body["items"]:
        assert set(item) == ITEM_FIELDS, item
        UUID(item["id"])
        assert datetime.fromisoformat(item["reported_at"]).utcoffset() is not None
        if item["response_due"] is not None:
            date.fromisoformat(item["response_due"])
    if "min_position" in params:
        assert body["position"] >= params["min_position"]
    return body


def item_ids(page: dict[str, Any]) -> list[str]:
    return [i["id"] for i in page["items"]]


@pytest.fixture
def impatient_http(
    durable_store: str, tmp_path: Path, request: pytest.FixtureRequest, clock: SettableClock
) -> Iterator[TestClient]:
    """The real app, its read models standing still (no projections run in it), waiting only
    0.2 s for them."""
    settings = settings_for(
        durable_store, tmp_path, request, read_model_wait_seconds=0.2, run_projections=False
    )
    with TestClient(create_app(settings, clock=clock), raise_server_exceptions=False) as client:
        yield client


@pytest.mark.parametrize("role", ["reporter", "auditor", "analyst", "dpo"])
def test_only_caseworkers_read_queues(http: TestClient, role: str) -> None:
    for queue in Queue:
        assert_problem(http.get(f"/queues/{queue.value}", headers=auth(role)), 403)
    queue_page(http, "to-qualify")


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer not-a-known-token"}, {"Authorization": "Basic abc"}],
)
def test_queues_need_a_known_token(http: TestClient, headers: dict[str, str]) -> None:
    assert_problem(http.get("/queues/to-qualify", headers=headers), 401)


@pytest.mark.parametrize("name", ["inbox", "TO-QUALIFY", "awaiting_platform", "to_qualify"])
def test_an_unknown_queue_is_a_422_problem(http: TestClient, name: str) -> None:
    body = assert_problem(http.get(f"/queues/{name}", headers=auth("caseworker")), 422)
    assert body["type"].endswith("/problems/invalid-request")


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 501},
        {"limit": -1},
        {"limit": "ten"},
        {"as_of": "2026-13-01"},
        {"as_of": "02/03/2026"},
        {"as_of": "soon"},
        {"as_of": ""},
        {"min_position": -1},
        {"min_position": "latest"},
        {"platform": "x" * 201},
    ],
)
def test_an_invalid_query_is_a_422_problem(http: TestClient, params: dict[str, Any]) -> None:
    answer = http.get("/queues/overdue", params=params, headers=auth("caseworker"))
    body = assert_problem(answer, 422)
    assert body["type"].endswith("/problems/invalid-request")


@pytest.mark.parametrize(
    ("queue", "cursor"),
    [
        pytest.param("to-qualify", "garbage", id="not-base64-json"),
        pytest.param("to-qualify", "!!!!", id="not-base64"),
        pytest.param("to-qualify", "x" * 501, id="too-long"),
        pytest.param("to-qualify", b64('["x", 5]'), id="id-a-number"),
        pytest.param("to-qualify", b64('{"a": 1, "b": 2}'), id="an-object"),
        pytest.param("to-qualify", b64(f'["not a time", "{SOME_ID}"]'), id="value-not-a-time"),
        pytest.param(
            "awaiting-platform", b64(f'["not a date", "{SOME_ID}"]'), id="value-not-a-date"
        ),
        pytest.param("resolved", b64(f'[[1, 2], "{SOME_ID}"]'), id="value-a-list"),
    ],
)
def test_a_garbage_cursor_is_a_422_problem(http: TestClient, queue: str, cursor: str) -> None:
    report(http)  # a queue with something in it
    answer = http.get(f"/queues/{queue}", params={"cursor": cursor}, headers=auth("caseworker"))
    body = assert_problem(answer, 422)
    assert body["type"].endswith("/problems/invalid-request")


def test_limits_at_the_edges_are_accepted(http: TestClient) -> None:
    last = 0
    for _ in range(3):
        last = report(http)["position"]
    page = queue_page(http, "to-qualify", limit=500, min_position=last)
    assert len(page["items"]) == 3
    assert page["next_cursor"] is None
    exact = queue_page(http, "to-qualify", limit=3)
    assert len(exact["items"]) == 3
    assert exact["next_cursor"] is None  # no empty last page to fetch
    one = queue_page(http, "to-qualify", limit=1)
    assert len(one["items"]) == 1
    assert one["next_cursor"] is not None
    default = queue_page(http, "to-qualify")
    assert len(default["items"]) == 3


def test_every_case_is_in_the_queue_of_its_status_with_its_fields(
    http: TestClient, clock: SettableClock
) -> None:
    """One case per status, then every queue read: the shape of each answer, and its items."""
    by_status: dict[str, str] = {}
    path = ["qualify", "send-to-platform", "platform-response", "escalate", "resolve"]
    bodies = {
        "qualify": QUALIFY,
        "send-to-platform": {"message": "Please explain."},
        "platform-response": {"stance": "refused", "response": "Policy."},
        "escalate": {"reason": "unsatisfactory_response"},
        "resolve": {"outcome": "not_resolved", "summary": "Nothing moved."},
    }
    statuses = [
        "reported",
        "qualified",
        "awaiting_platform",
        "platform_responded",
        "with_mediator",
        "resolved",
    ]
    last = 0
    for steps, status in enumerate(statuses):
        clock.advance(timedelta(minutes=10))
        answer = report(http, name=f"Société {status}", platform="Cdiscount")
        case_id, last = answer["id"], answer["position"]
        for name in path[:steps]:
            result = command(http, case_id, name, bodies[name])
            last = result["position"]
            assert result["status"] != "reported"
        by_status[status] = case_id

    seen: dict[str, list[str]] = {}
    for queue in Queue:
        page = queue_page(http, queue.value, min_position=last)
        for item in page["items"]:
            seen.setdefault(item["id"], []).append(queue.value)
            case = http.get(f"/cases/{item['id']}", headers=auth("caseworker")).json()
            assert item["status"] == case["status"]
            assert item["company_name"] == case["company"]["name"]
            assert item["platform"] == "cdiscount"
            assert item["assignee"] == case["assignee"]
            assert item["priority"] == case["priority"]
            assert item["response_due"] == case["response_due"]
            assert datetime.fromisoformat(item["reported_at"]) == datetime.fromisoformat(
                case["reported_at"]
            )
            assert item["category"] == ("delisting" if item["status"] == "reported" else "ranking")
    for status, case_id in by_status.items():
        assert seen[case_id] == [STATUS_QUEUES[Status(status)].value], status
    assert clock.now().date() == TODAY  # nothing is overdue yet
    due = date.fromisoformat(queue_page(http, "awaiting-platform")["items"][0]["response_due"])
    assert due == TODAY + timedelta(days=15)


def test_min_position_of_a_command_gives_a_page_that_reflects_it(
    http: TestClient, clock: SettableClock
) -> None:
    reported = report(http, platform="amazon.fr")
    case_id = reported["id"]
    page = queue_page(http, "to-qualify", min_position=reported["position"])
    assert item_ids(page) == [case_id]
    (item,) = page["items"]
    assert (item["status"], item["platform"], item["category"]) == (
        "reported",
        "amazon",
        "delisting",
    )
    assert (item["priority"], item["assignee"], item["response_due"]) == (None, None, None)
    assert item["company_name"] == "Atelier Dupont"
    assert datetime.fromisoformat(item["reported_at"]) == START

    qualified = command(http, case_id, "qualify", QUALIFY)
    assert item_ids(queue_page(http, "to-qualify", min_position=qualified["position"])) == []
    (item,) = queue_page(http, "to-send", min_position=qualified["position"])["items"]
    assert (item["status"], item["category"], item["priority"], item["assignee"]) == (
        "qualified",
        "ranking",
        "high",
        "alice",
    )

    clock.advance(timedelta(hours=1))
    sent = command(http, case_id, "send-to-platform", {"message": "Why?"})
    page = queue_page(http, "awaiting-platform", min_position=sent["position"])
    assert [(i["id"], i["response_due"]) for i in page["items"]] == [
        (case_id, sent["response_due"])
    ]
    assert item_ids(queue_page(http, "to-send", min_position=sent["position"])) == []


def test_overdue_over_http_follows_as_of_and_the_clock(
    http: TestClient, clock: SettableClock
) -> None:
    case_id = report(http)["id"]
    command(http, case_id, "qualify", QUALIFY)
    sent = command(http, case_id, "send-to-platform", {"message": "Why?"})
    due = date.fromisoformat(sent["response_due"])
    last = sent["position"]
    assert item_ids(queue_page(http, "overdue", min_position=last)) == []
    assert item_ids(queue_page(http, "overdue", as_of=due.isoformat())) == []
    after = (due + timedelta(days=1)).isoformat()
    assert item_ids(queue_page(http, "overdue", as_of=after)) == [case_id]
    assert item_ids(queue_page(http, "overdue", as_of=after, platform="ebay")) == []
    assert item_ids(queue_page(http, "overdue", as_of=after, priority="high")) == [case_id]
    assert item_ids(queue_page(http, "overdue", as_of=after, assignee="bob")) == []
    # The default as_of is the service's today.
    clock.set(datetime.combine(due, datetime.min.time(), UTC) + timedelta(hours=12))
    assert item_ids(queue_page(http, "overdue")) == []
    clock.advance(timedelta(days=1))
    assert item_ids(queue_page(http, "overdue")) == [case_id]
    assert item_ids(queue_page(http, "awaiting-platform")) == [case_id]


def test_resolved_newest_first_over_http(http: TestClient, clock: SettableClock) -> None:
    cases = [report(http, name=f"Société {i}")["id"] for i in range(3)]
    last = 0
    for case_id in cases[1], cases[0], cases[2]:
        clock.advance(timedelta(minutes=5))
        last = command(http, case_id, "resolve", {"outcome": "withdrawn", "summary": "Withdrawn."})[
            "position"
        ]
    page = queue_page(http, "resolved", min_position=last)
    assert item_ids(page) == [cases[2], cases[0], cases[1]]


def test_a_min_position_not_reached_in_time_answers_503_with_retry_after(
    impatient_http: TestClient,
) -> None:
    position = report(impatient_http)["position"]
    answer = impatient_http.get(
        "/queues/to-qualify", params={"min_position": position}, headers=auth("caseworker")
    )
    body = assert_problem(answer, 503)
    assert body["type"].endswith("/problems/read-model-behind")
    assert int(answer.headers["Retry-After"]) >= 1
    # Once the read models have caught up, the same read answers.
    impatient_http.app.state.runner.catch_up()  # type: ignore[attr-defined]
    assert item_ids(queue_page(impatient_http, "to-qualify", min_position=position))


def test_a_min_position_beyond_the_log_is_a_422_naming_the_head(
    impatient_http: TestClient,
) -> None:
    """No event has that position yet: nothing to wait for (a wait would end in a 503)."""
    position = report(impatient_http)["position"]
    answer = impatient_http.get(
        "/queues/to-qualify", params={"min_position": position + 1}, headers=auth("caseworker")
    )
    body = assert_problem(answer, 422)
    assert body["type"].endswith("/problems/invalid-request")
    assert body["errors"] == [{"field": "min_position", "in": "query", "message": body["detail"]}]
    assert f"head ({position})" in body["detail"]


def test_pages_lose_and_repeat_nothing_while_cases_move(
    http: TestClient, clock: SettableClock
) -> None:
    reported = []
    for i in range(8):
        if i % 3:
            clock.advance(timedelta(minutes=1))  # some cases share their reported_at
        reported.append(report(http, name=f"Société {i}"))
    last = reported[-1]["position"]
    order = item_ids(queue_page(http, "to-qualify", limit=500, min_position=last))
    assert sorted(order) == sorted(r["id"] for r in reported)

    first = queue_page(http, "to-qualify", limit=3, min_position=last)
    page_one = item_ids(first)
    assert page_one == order[:3]
    assert first["next_cursor"] is not None

    # Cases move while the caseworker reads: one already seen, one not yet seen leave the
    # queue, and a new report comes in.
    on_page_one, not_seen = page_one[1], order[5]
    for case_id in on_page_one, not_seen:
        last = command(http, case_id, "qualify", QUALIFY)["position"]
    clock.advance(timedelta(minutes=5))
    newcomer = report(http, name="Nouvelle Société")
    last = newcomer["position"]

    seen = list(page_one)
    cursor = first["next_cursor"]
    for _ in range(20):
        if cursor is None:
            break
        page = queue_page(http, "to-qualify", limit=3, cursor=cursor, min_position=last)
        seen += item_ids(page)
        cursor = page["next_cursor"]
    assert cursor is None
    assert len(seen) == len(set(seen)), seen
    still_there = item_ids(queue_page(http, "to-qualify", limit=500, min_position=last))
    assert on_page_one not in still_there
    assert not_seen not in still_there
    assert newcomer["id"] in still_there
    for case_id in still_there:
        assert seen.count(case_id) == 1, case_id
    assert not_seen not in seen  # it had left before its page was read
    assert set(item_ids(queue_page(http, "to-send", min_position=last))) == {
        on_page_one,
        not_seen,
    }


def test_an_erased_case_keeps_its_queue_row_with_its_name_erased(http: TestClient) -> None:
    case_id = report(http, name="Brasserie Martin", platform="eBay")["id"]
    qualified = command(http, case_id, "qualify", QUALIFY)
    before = queue_page(http, "to-send", min_position=qualified["position"])
    erase = http.post(
        f"/cases/{case_id}/erase-personal-data",
        json={"reason": "GDPR art. 17 request"},
        headers=auth("dpo"),
    )
    assert erase.status_code == 200, erase.text
    erased = erase.json()
    assert erased["position"] > qualified["position"]
    assert before["items"][0]["company_name"] == "Brasserie Martin"
    after = queue_page(http, "to-send", min_position=erased["position"])
    assert [{**i, "company_name": "[effacé]"} for i in before["items"]] == after["items"]
    assert after["position"] >= erased["position"]
    case = http.get(f"/cases/{case_id}", headers=auth("caseworker")).json()
    assert case["company"]["contact_name"] == "[effacé]"
