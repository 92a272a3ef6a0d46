"""The contract of every CaseStatistics implementation (in memory, SQLite, PostgreSQL): buckets,
counters, due dates, positions, the blue/green switch."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from datetime import date
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID
from uuid import uuid4

import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from application.case_statistics import ALL
from application.case_statistics import DAY as DAY_BUCKET
from application.case_statistics import MONTH
from application.case_statistics import SEP
from application.case_statistics import CaseFacts
from application.case_statistics import CaseStatistics
from application.case_statistics import Kind
from application.case_statistics import covering
from application.clock import SettableClock
from infrastructure.read_model_store import PostgresDialect
from infrastructure.read_model_store import SQLiteDialect
from infrastructure.statistics_stores import COUNTERS
from infrastructure.statistics_stores import SQLCaseStatistics
from infrastructure.statistics_stores import case_statistics_for
from tests.statistics_workflows import application_on
from tests.statistics_workflows import counter_rows

# 2. The contract of every CaseStatistics implementation.


WINDOW = (date(2025, 10, 1), date(2027, 3, 31))


@hypothesis_settings(max_examples=300, deadline=None, derandomize=True)
@given(
    first=st.none() | st.dates(*WINDOW),
    last=st.none() | st.dates(*WINDOW),
)
def test_the_buckets_read_for_a_period_hold_each_day_of_it_once(
    first: date | None, last: date | None
) -> None:
    ranges = covering(first, last)
    assert len(ranges) <= 3  # whole months and the days around them, never day by day
    day = WINDOW[0]
    while day <= WINDOW[1]:
        held = 0
        for bucket, low, high in ranges:
            if bucket == ALL:
                held += 1
            elif bucket == MONTH:
                assert low.day == high.day == 1
                held += low <= day.replace(day=1) <= high
            else:
                assert bucket == DAY_BUCKET
                held += low <= day <= high
        inside = (first is None or first <= day) and (last is None or day <= last)
        assert held == inside, f"{day} in {ranges}"
        day += timedelta(days=1)


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def stats_store(
    request: pytest.FixtureRequest, tmp_path: Path, clock: SettableClock
) -> Iterator[tuple[CaseStatistics, Callable[[], CaseStatistics]]]:
    """An empty statistics store, and how to open it again (memory: the same object)."""
    if request.param == "memory":
        view = SQLCaseStatistics.in_memory()
        yield view, lambda: view
        return
    with application_on(request.param, tmp_path, request, clock) as (_, app):
        view = case_statistics_for(app.recorder)
        expected = SQLiteDialect if request.param == "sqlite" else PostgresDialect
        assert isinstance(view, SQLCaseStatistics)
        assert isinstance(view.dialect, expected)
        yield view, lambda: case_statistics_for(app.recorder)


DAY = date(2026, 3, 2)


def line(n: int) -> str:
    return f"n{SEP}{n}"


def n_of(line: str) -> int:
    return int(line.split(SEP)[1])


def writing(
    facts: dict[UUID, CaseFacts],
    deltas: dict[tuple[str, date, str], int],
    seen: dict[str, Any] | None = None,
    asked: Iterable[UUID] = (),
) -> Callable[..., Any]:
    """A compute that notes what the store knew of `asked`, then writes facts and deltas."""

    def compute(known: Callable[[Iterable[UUID]], Any]) -> Any:
        if seen is not None:
            seen["known"] = dict(known(list(asked)))
            seen["calls"] = seen.get("calls", 0) + 1
        return facts, deltas

    return compute


def a_fact(**changes: Any) -> CaseFacts:
    return CaseFacts(platform="amazon", reported_on=DAY)._replace(**changes)


def stored_counters(view: CaseStatistics) -> int:
    """How many counter rows the store keeps, zeros included."""
    assert isinstance(view, SQLCaseStatistics)
    with view.datastore.transaction(commit=False) as c:
        c.execute(f"SELECT COUNT(*) AS n FROM {view.table(COUNTERS, 'a')}")
        return int(c.fetchone()["n"])


def rows_of(view: CaseStatistics, first: date | None = None, last: date | None = None) -> Any:
    return counter_rows(view, first, last)


class TestCaseStatisticsContract:
    """What every implementation of CaseStatistics answers, the same way."""

    def test_an_empty_store_is_at_position_zero(self, stats_store: Any) -> None:
        view, _ = stats_store
        assert view.position() == 0
        assert view.counters(None, None, DAY) == ([], 0)
        assert view.name == "case_statistics"

    def test_apply_writes_facts_and_counters_and_records_the_position(
        self, stats_store: Any
    ) -> None:
        view, reopen = stats_store
        case, other = uuid4(), uuid4()
        fact = a_fact(
            category="ranking",
            status="platform_responded",
            first_sent_on=DAY,
            first_due=DAY + timedelta(days=15),
            first_responded_on=DAY + timedelta(days=3),
        )
        deltas = {("cube", DAY, line(1)): 2, ("days", DAY, line(2)): 1}
        assert view.apply(4, writing({case: fact}, deltas)) is True
        assert view.position() == 4
        assert rows_of(view) == ([("cube", line(1), 2), ("days", line(2), 1)], 4)

        # The facts come back as they were written, from a store opened again.
        seen: dict[str, Any] = {}
        again = reopen()
        assert again.apply(5, writing({}, {}, seen, [case, other])) is True
        assert seen["known"] == {case: fact}
        assert again.position() == 5
        assert rows_of(again) == ([("cube", line(1), 2), ("days", line(2), 1)], 5)

    def test_deltas_add_up_and_a_count_back_at_zero_is_not_listed(self, stats_store: Any) -> None:
        view, _ = stats_store
        key = ("cube", DAY, line(1))
        assert view.apply(1, writing({}, {key: 1}))
        assert view.apply(2, writing({}, {key: 2, ("cube", DAY, line(3)): 1}))
        assert rows_of(view)[0] == [("cube", line(1), 3), ("cube", line(3), 1)]
        assert view.apply(3, writing({}, {key: -3}))
        assert rows_of(view) == ([("cube", line(3), 1)], 3)

    def test_a_fact_written_again_replaces_the_first(self, stats_store: Any) -> None:
        view, _ = stats_store
        case = uuid4()
        assert view.apply(1, writing({case: a_fact()}, {}))
        later = a_fact(status="resolved", resolved_on=DAY + timedelta(days=9), outcome="withdrawn")
        assert view.apply(2, writing({case: later}, {}))
        seen: dict[str, Any] = {}
        assert view.apply(3, writing({}, {}, seen, [case]))
        assert seen["known"] == {case: later}

    def test_apply_refuses_a_position_already_reached_and_changes_nothing(
        self, stats_store: Any
    ) -> None:
        view, reopen = stats_store
        case = uuid4()
        assert view.apply(5, writing({case: a_fact()}, {("cube", DAY, line(1)): 1}))
        before = rows_of(view)
        for position in (5, 4, 1):
            seen: dict[str, Any] = {}
            moved = {case: a_fact(status="qualified", category="ranking")}
            assert view.apply(position, writing(moved, {("cube", DAY, line(9)): 1}, seen)) is False
            assert "calls" not in seen  # nothing computed from a position already reached
        assert view.position() == 5
        assert rows_of(view) == before
        assert rows_of(reopen()) == before
        seen = {}
        assert view.apply(6, writing({}, {}, seen, [case]))
        assert seen["known"] == {case: a_fact()}  # the refused batches wrote no fact

    def test_the_first_day_reported_is_the_earliest_day_a_case_is_counted_on(
        self, stats_store: Any
    ) -> None:
        view, reopen = stats_store
        assert view.first_reported_on() is None
        case = Kind.PLATFORM_CATEGORY.value
        later, earlier = DAY + timedelta(days=40), DAY - timedelta(days=3)
        assert view.apply(1, writing({}, {(case, later, f"amazon{SEP}delisting"): 1}))
        assert view.first_reported_on() == later
        # Every case is counted by platform and category: other counters do not say a day.
        assert view.apply(2, writing({}, {(Kind.PLATFORM_STATUS.value, earlier, "x"): 1}))
        assert view.first_reported_on() == later
        assert view.apply(3, writing({}, {(case, earlier, f"ebay{SEP}ranking"): 1}))
        assert view.first_reported_on() == earlier
        assert reopen().first_reported_on() == earlier
        assert view.apply(4, writing({}, {(case, earlier, f"ebay{SEP}ranking"): -1}))
        assert view.first_reported_on() == later

    def test_counters_are_filtered_by_the_day_reported_inclusive(self, stats_store: Any) -> None:
        view, _ = stats_store
        days = [DAY - timedelta(days=1), DAY, DAY + timedelta(days=1), DAY + timedelta(days=40)]
        deltas = {("cube", d, line(i)): i + 1 for i, d in enumerate(days)}
        deltas[("days", DAY, line(7))] = 1
        assert view.apply(3, writing({}, deltas))

        def ns(first: date | None, last: date | None) -> list[int]:
            rows, position = view.counters(first, last, DAY)
            assert position == 3
            return sorted(n_of(line_) for _, line_, _ in rows)

        assert ns(None, None) == [0, 1, 2, 3, 7]
        assert ns(DAY, DAY) == [1, 7]
        assert ns(DAY, None) == [1, 2, 3, 7]
        assert ns(None, DAY) == [0, 1, 7]
        assert ns(DAY + timedelta(days=1), DAY + timedelta(days=40)) == [2, 3]
        assert ns(DAY + timedelta(days=2), DAY + timedelta(days=39)) == []
        assert ns(date(2000, 1, 1), date(2100, 12, 31)) == [0, 1, 2, 3, 7]
        rows, _ = view.counters(DAY - timedelta(days=1), DAY - timedelta(days=1), DAY)
        assert rows == [("cube", line(0), 1)]

    @hypothesis_settings(
        max_examples=30,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(
        deltas=st.lists(
            st.tuples(
                st.dates(date(2025, 11, 1), date(2027, 2, 28)),
                st.integers(0, 3),
                st.integers(-2, 3),
            ),
            max_size=12,
        ),
        period=st.tuples(
            st.none() | st.dates(date(2025, 10, 1), date(2027, 3, 31)),
            st.none() | st.dates(date(2025, 10, 1), date(2027, 3, 31)),
        ),
    )
    def test_any_period_adds_up_the_days_in_it_once(
        self,
        stats_store: Any,
        deltas: list[tuple[date, int, int]],
        period: tuple[date | None, date | None],
    ) -> None:
        view, _ = stats_store
        first, last = period
        moved: Counter[tuple[str, date, str]] = Counter()
        for day, n, delta in deltas:
            moved[("cube", day, line(n))] += delta
        before = view.position()
        assert view.apply(before + 1, writing({}, {k: v for k, v in moved.items() if v}))
        self.applied.update({k: v for k, v in moved.items() if v})
        expected: Counter[tuple[str, str]] = Counter()
        for (kind, day, line_), count in self.applied.items():
            if (first is None or first <= day) and (last is None or day <= last):
                expected[(kind, line_)] += count
        rows, _ = view.counters(first, last, DAY)
        assert sorted(rows) == sorted((k, ln, n) for (k, ln), n in expected.items() if n)

    @pytest.fixture(autouse=True)
    def _applied(self) -> None:
        self.applied: Counter[tuple[str, date, str]] = Counter()

    def test_awaiting_counters_are_read_only_until_their_due_date_is_past(
        self, stats_store: Any
    ) -> None:
        view, _ = stats_store
        dues = [DAY + timedelta(days=1), DAY + timedelta(days=5)]
        deltas = {(Kind.AWAITING.value, DAY, f"{due.isoformat()}{SEP}amazon"): 1 for due in dues}
        deltas[("cube", DAY, line(1))] = 1
        assert view.apply(1, writing({}, deltas))

        def awaiting(as_of: date) -> list[str]:
            rows, _ = view.counters(None, None, as_of)
            assert ("cube", line(1), 1) in rows  # other kinds whatever the day
            return sorted(ln.split(SEP)[0] for kind, ln, _ in rows if kind == Kind.AWAITING)

        assert awaiting(DAY) == [d.isoformat() for d in dues]
        assert awaiting(dues[0]) == [d.isoformat() for d in dues]  # the due day is not past
        assert awaiting(dues[0] + timedelta(days=1)) == [dues[1].isoformat()]
        assert awaiting(dues[1] + timedelta(days=1)) == []

    def test_a_counter_back_at_zero_is_not_kept(self, stats_store: Any) -> None:
        view, _ = stats_store
        assert view.apply(1, writing({}, {("cube", DAY, line(1)): 2, ("cube", DAY, line(2)): 1}))
        assert stored_counters(view) == 6  # each in its day, month and all-time bucket
        assert view.apply(2, writing({}, {("cube", DAY, line(1)): -2}))
        assert stored_counters(view) == 3

    def test_a_standby_copy_is_built_beside_the_live_one_then_switched_to(
        self, stats_store: Any
    ) -> None:
        view, reopen = stats_store
        case = uuid4()
        assert view.apply(3, writing({case: a_fact()}, {("cube", DAY, line(1)): 1}))
        live_before = rows_of(view)

        standby = view.standby()
        assert standby.position() == 0
        assert standby.counters(None, None, DAY) == ([], 0)
        seen: dict[str, Any] = {}
        assert standby.apply(2, writing({}, {("cube", DAY, line(2)): 5}, seen, [case]))
        assert seen["known"] == {}  # the standby copy starts empty
        # The live copy answers as before while the standby one is built.
        assert rows_of(view) == live_before
        assert view.switch_to(standby) is False  # behind the live copy: not switched
        assert rows_of(view) == live_before

        # An interrupted rebuild resumes: the standby asked for again is the same copy.
        resumed = reopen().standby()
        assert rows_of(resumed) == ([("cube", line(2), 5)], 2)
        assert resumed.apply(3, writing({}, {("cube", DAY, line(3)): 1}))
        assert view.switch_to(resumed) is True
        assert view.position() == 3
        assert rows_of(view) == ([("cube", line(2), 5), ("cube", line(3), 1)], 3)
        assert rows_of(reopen()) == rows_of(view)
        # The live store goes on from the switched copy.
        assert view.apply(4, writing({}, {("cube", DAY, line(2)): -5}))
        assert rows_of(view) == ([("cube", line(3), 1)], 4)

        # The next standby is empty: the copy that answered before was cleared.
        again = view.standby()
        assert again.position() == 0
        assert again.counters(None, None, DAY) == ([], 0)
        seen = {}
        assert again.apply(1, writing({}, {}, seen, [case]))
        assert seen["known"] == {}
        assert rows_of(view) == ([("cube", line(3), 1)], 4)

    def test_switching_to_a_standby_that_caught_up_past_the_live_copy(
        self, stats_store: Any
    ) -> None:
        view, _ = stats_store
        assert view.apply(2, writing({}, {("cube", DAY, line(1)): 1}))
        standby = view.standby()
        assert standby.apply(7, writing({}, {("cube", DAY, line(4)): 2}))
        assert view.switch_to(standby) is True
        assert rows_of(view) == ([("cube", line(4), 2)], 7)
        assert view.apply(7, writing({}, {("cube", DAY, line(5)): 1})) is False
        assert view.apply(8, writing({}, {("cube", DAY, line(5)): 1})) is True
