"""The contract of every CaseQueues implementation (in memory, SQLite, PostgreSQL): the queues,
their order and filters, keyset pages and cursors, positions, the blue/green switch."""

from __future__ import annotations

import base64
from collections.abc import Callable
from collections.abc import Iterator
from datetime import date
from datetime import datetime
from datetime import timedelta
from datetime import timezone
from pathlib import Path
from typing import Any
from uuid import UUID
from uuid import uuid4

import pytest

from application.case_queues import QUEUES
from application.case_queues import CaseQueues
from application.case_queues import Cursor
from application.case_queues import Order
from application.case_queues import Queue
from application.case_queues import QueueFilters
from application.case_queues import QueueItem
from application.clock import SettableClock
from domain.errors import InvalidValue
from domain.values import Status
from infrastructure.queue_stores import SQLCaseQueues
from infrastructure.queue_stores import case_queues_for
from infrastructure.read_model_store import PostgresDialect
from infrastructure.read_model_store import SQLiteDialect
from tests.conftest import START
from tests.queue_workflows import STATUS_QUEUES
from tests.queue_workflows import TODAY
from tests.queue_workflows import application_on
from tests.queue_workflows import b64
from tests.queue_workflows import everything
from tests.queue_workflows import ids
from tests.queue_workflows import snapshot
from tests.queue_workflows import walk

# 1. The contract of every CaseQueues implementation.


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def queues(
    request: pytest.FixtureRequest, tmp_path: Path, clock: SettableClock
) -> Iterator[CaseQueues]:
    """An empty queue store: in memory, or beside the events of a SQLite / PostgreSQL store."""
    if request.param == "memory":
        yield SQLCaseQueues.in_memory()
        return
    with application_on(request.param, tmp_path, request, clock) as (_, app):
        view = case_queues_for(app.recorder)
        expected = SQLiteDialect if request.param == "sqlite" else PostgresDialect
        assert isinstance(view, SQLCaseQueues)
        assert isinstance(view.dialect, expected)
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
        "last_sent_on": None,
        "reminders": 0,
        "acknowledged_on": None,
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
                    last_sent_on=TODAY,
                    reminders=1,
                    acknowledged_on=TODAY + timedelta(days=1),
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
            last_sent_on=TODAY,
            reminders=1,
            acknowledged_on=TODAY + timedelta(days=1),
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

    def test_counts_are_the_lengths_of_the_queues_with_the_same_filters(
        self, queues: CaseQueues
    ) -> None:
        late = TODAY - timedelta(days=1)
        rows = [
            row(Status.REPORTED),
            row(Status.REPORTED, platform="cdiscount"),
            row(Status.QUALIFIED),
            row(Status.AWAITING_PLATFORM, response_due=late),
            row(Status.AWAITING_PLATFORM, response_due=TODAY, acknowledged_on=TODAY),
            row(Status.PLATFORM_RESPONDED, platform="cdiscount"),
            row(Status.RESOLVED, resolved_at=at(1)),
        ]
        load(queues, {uuid4(): r for r in rows})

        for filters in (QueueFilters(), QueueFilters(platform="cdiscount")):
            counts = queues.counts(filters, TODAY)
            assert counts == {q: len(everything(queues, q, filters=filters)) for q in Queue}
        assert queues.counts(QueueFilters(), TODAY)[Queue.OVERDUE] == 1
        assert sum(queues.counts(QueueFilters(platform="ebay"), TODAY).values()) == 0

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

    def test_awaiting_acknowledgement_is_the_awaited_cases_not_acknowledged_by_due_date(
        self, queues: CaseQueues
    ) -> None:
        dues = [3, -2, 5, -2, 0, 9]
        cases = {
            uuid4(): row(
                Status.AWAITING_PLATFORM,
                response_due=TODAY + timedelta(days=d),
                last_sent_on=TODAY - timedelta(days=2),
                acknowledged_on=TODAY if i % 3 == 1 else None,
                platform=("amazon", "ebay")[i % 2],
            )
            for i, d in enumerate(dues)
        }
        # Acknowledged in an earlier round, or never sent: not in this queue.
        answered = row(Status.PLATFORM_RESPONDED, acknowledged_on=None)
        load(queues, {**cases, uuid4(): answered, uuid4(): row(Status.QUALIFIED)})
        expected = sorted(
            (c for c in cases if cases[c]["acknowledged_on"] is None),
            key=lambda c: (cases[c]["response_due"], str(c)),
        )
        assert len(expected) == 4
        assert ids(everything(queues, Queue.AWAITING_ACKNOWLEDGEMENT)) == expected
        amazon = QueueFilters(platform="amazon")
        got = ids(everything(queues, Queue.AWAITING_ACKNOWLEDGEMENT, filters=amazon))
        assert got == [c for c in expected if cases[c]["platform"] == "amazon"]
        # Acknowledged now: it leaves the queue, and stays awaiting the platform.
        first = expected[0]
        load(queues, {first: {"acknowledged_on": TODAY}})
        assert ids(everything(queues, Queue.AWAITING_ACKNOWLEDGEMENT)) == expected[1:]
        assert first in ids(everything(queues, Queue.AWAITING_PLATFORM))
        # Sent again after an answer: a new round, to acknowledge again.
        load(queues, {first: {"acknowledged_on": None}})
        assert ids(everything(queues, Queue.AWAITING_ACKNOWLEDGEMENT)) == expected

    def test_awaiting_reminder_selects_by_priority_reminders_and_sending_day(
        self, queues: CaseQueues
    ) -> None:
        day = date(2026, 3, 20)
        rows: dict[UUID, dict[str, Any]] = {}
        for i in range(60):
            status = Status.AWAITING_PLATFORM if i % 5 else Status.PLATFORM_RESPONDED
            rows[uuid4()] = row(
                status,
                priority=("normal", "urgent")[i % 2],
                last_sent_on=day - timedelta(days=i % 7),  # many ties on the day
                reminders=i % 3,
                response_due=day + timedelta(days=5),
            )
        load(queues, rows)

        def reference(priority: str, reminders: int, sent_by: date) -> list[UUID]:
            chosen = [
                c
                for c, r in rows.items()
                if r["status"] == Status.AWAITING_PLATFORM.value
                and r["priority"] == priority
                and r["reminders"] == reminders
                and r["last_sent_on"] <= sent_by
            ]
            return sorted(chosen, key=lambda c: (rows[c]["last_sent_on"], str(c)))

        for priority in ("normal", "urgent", "high"):
            for reminders in (0, 1, 2, 3):
                for back in (0, 2, 6, 7):
                    sent_by = day - timedelta(days=back)
                    expected = reference(priority, reminders, sent_by)
                    got = queues.awaiting_reminder(priority, reminders, sent_by, 1_000, None)
                    assert ids(got) == expected, (priority, reminders, back)
                    # Page by page, each after the last item's sending day and id.
                    pages: list[QueueItem] = []
                    after = None
                    while True:
                        page = queues.awaiting_reminder(priority, reminders, sent_by, 2, after)
                        pages += page
                        if len(page) < 2:
                            break
                        last = page[-1]
                        assert last.last_sent_on is not None
                        after = Cursor(last.last_sent_on.isoformat(), last.id)
                    assert pages == got
        # The grid holds cases sent on the very day asked about: that day is included.
        assert any(rows[c]["last_sent_on"] == day for c in reference("normal", 0, day))

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
