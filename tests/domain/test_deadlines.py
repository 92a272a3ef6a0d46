"""The deadline rules (domain.deadlines) and the case's escalation for silence.

Dates are counted from the day a case is sent (day 0), as DOMAIN.md counts them: a standard
answer is due on day 15 and its grace ends on day 21; an urgent one, day 5 and day 7.
"""

from __future__ import annotations

from datetime import date
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.case import Case
from domain.deadlines import Deadlines
from domain.deadlines import is_overdue
from domain.errors import CommandNotAllowed
from domain.errors import InvalidCaseCommand
from domain.errors import InvalidValue
from domain.values import EscalationReason
from domain.values import Priority
from domain.values import Status
from tests.domain.factories import NOW
from tests.domain.factories import TODAY
from tests.domain.factories import case_in
from tests.domain.factories import qualify
from tests.domain.factories import reported_case
from tests.domain.factories import send

SENT = date(2026, 3, 2)


def day(n: int) -> date:
    return SENT + timedelta(days=n)


class TestRules:
    def test_a_response_is_due_in_fifteen_days_or_five_when_urgent(self) -> None:
        deadlines = Deadlines()
        assert deadlines.due(SENT, Priority.NORMAL) == day(15)
        assert deadlines.due(SENT, Priority.URGENT) == day(5)
        assert deadlines.due(SENT, None) == day(15)

    def test_the_due_day_itself_is_not_overdue_the_day_after_is(self) -> None:
        assert not is_overdue(day(15), day(14))
        assert not is_overdue(day(15), day(15))
        assert is_overdue(day(15), day(16))

    @pytest.mark.parametrize(
        ("priority", "last_tolerated"), [(Priority.NORMAL, 21), (Priority.URGENT, 7)]
    )
    def test_silence_expires_the_day_after_due_date_plus_grace(
        self, priority: Priority, last_tolerated: int
    ) -> None:
        deadlines = Deadlines()
        due = deadlines.due(SENT, priority)
        assert deadlines.grace_ends(due, priority) == day(last_tolerated)
        assert not deadlines.silence_expired(due, priority, day(last_tolerated))
        assert deadlines.silence_expired(due, priority, day(last_tolerated + 1))

    def test_every_priority_but_urgent_follows_the_standard_rule(self) -> None:
        deadlines = Deadlines(standard_days=10, urgent_days=3, standard_grace_days=4)
        for priority in (Priority.LOW, Priority.NORMAL, Priority.HIGH, None):
            assert deadlines.due(SENT, priority) == day(10)
            assert deadlines.grace_days(priority) == 4
        assert deadlines.grace_days(Priority.URGENT) == 2

    @pytest.mark.parametrize(("standard", "urgent"), [(5, 15), (0, 0), (15, 0), (400, 5)])
    def test_contradictory_response_days_are_refused(self, standard: int, urgent: int) -> None:
        with pytest.raises(InvalidValue):
            Deadlines(standard, urgent)

    @pytest.mark.parametrize("grace", [-1, 366])
    def test_a_grace_outside_zero_to_a_year_is_refused(self, grace: int) -> None:
        with pytest.raises(InvalidValue):
            Deadlines(standard_grace_days=grace)
        with pytest.raises(InvalidValue):
            Deadlines(urgent_grace_days=grace)

    @given(
        due=st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31)),
        later=st.integers(min_value=-40, max_value=400),
        priority=st.sampled_from(Priority),
        standard_grace=st.integers(min_value=0, max_value=30),
        urgent_grace=st.integers(min_value=0, max_value=30),
    )
    def test_the_overdue_queue_as_of_the_shifted_day_lists_exactly_the_expired_silences(
        self, due: date, later: int, priority: Priority, standard_grace: int, urgent_grace: int
    ) -> None:
        """What the deadline process relies on to read the overdue queue instead of every case."""
        deadlines = Deadlines(standard_grace_days=standard_grace, urgent_grace_days=urgent_grace)
        as_of = due + timedelta(days=later)
        grace = urgent_grace if priority is Priority.URGENT else standard_grace
        expected = as_of > due + timedelta(days=grace)
        assert deadlines.silence_expired(due, priority, as_of) is expected
        assert is_overdue(due, deadlines.overdue_as_of(as_of, priority)) is expected


def awaiting(priority: Priority = Priority.NORMAL) -> Case:
    case = reported_case()
    qualify(case, priority)
    send(case)
    case.collect_events()
    return case


def at_day(n: int) -> dict[str, object]:
    """The instant and the date of day n, as a deadline run on that day passes them."""
    return {"now": NOW + timedelta(days=n), "as_of": TODAY + timedelta(days=n)}


class TestEscalationForSilence:
    def test_it_records_no_response_with_the_due_date_and_the_grace_used(self) -> None:
        case = awaiting(Priority.URGENT)
        deadlines = Deadlines(urgent_grace_days=3)
        due = case.response_due
        assert due == TODAY + timedelta(days=5)
        case.escalate_for_silence(deadlines=deadlines, actor="system:deadlines", **at_day(9))
        [event] = case.collect_events()
        assert isinstance(event, Case.EscalatedToMediator)
        assert event.reason is EscalationReason.NO_RESPONSE
        assert event.actor == "system:deadlines"
        assert (event.response_due, event.grace_days, event.note) == (due, 3, None)
        assert case.status is Status.WITH_MEDIATOR
        assert case.response_due is None

    @pytest.mark.parametrize(
        ("priority", "last_tolerated"), [(Priority.HIGH, 21), (Priority.URGENT, 7)]
    )
    def test_it_is_refused_until_the_grace_has_run_out(
        self, priority: Priority, last_tolerated: int
    ) -> None:
        case = awaiting(priority)
        with pytest.raises(InvalidCaseCommand, match="grace has not run out"):
            case.escalate_for_silence(
                deadlines=Deadlines(), actor="system:deadlines", **at_day(last_tolerated)
            )
        assert case.collect_events() == []
        case.escalate_for_silence(
            deadlines=Deadlines(), actor="system:deadlines", **at_day(last_tolerated + 1)
        )
        assert len(case.collect_events()) == 1

    def test_an_answered_case_is_never_escalated_for_silence(self) -> None:
        case = case_in(Status.PLATFORM_RESPONDED)
        with pytest.raises(InvalidCaseCommand):
            case.escalate_for_silence(deadlines=Deadlines(), actor="system:deadlines", **at_day(90))
        assert case.collect_events() == []

    @pytest.mark.parametrize(
        "status", [Status.REPORTED, Status.QUALIFIED, Status.WITH_MEDIATOR, Status.RESOLVED]
    )
    def test_a_case_not_sent_or_already_past_the_platform_is_refused(self, status: Status) -> None:
        case = case_in(status)
        with pytest.raises(CommandNotAllowed):
            case.escalate_for_silence(deadlines=Deadlines(), actor="system:deadlines", **at_day(90))
        assert case.collect_events() == []

    def test_silence_is_not_judged_on_a_day_to_come(self) -> None:
        case = awaiting()
        with pytest.raises(InvalidValue, match="future"):
            case.escalate_for_silence(
                deadlines=Deadlines(),
                actor="system:deadlines",
                now=NOW,
                as_of=TODAY + timedelta(days=30),
            )
        assert case.collect_events() == []

    def test_a_caseworkers_escalation_records_no_deadline(self) -> None:
        case = awaiting()
        case.escalate(reason=EscalationReason.NO_RESPONSE, actor="alice", now=NOW)
        [event] = case.collect_events()
        assert (event.response_due, event.grace_days) == (None, None)
