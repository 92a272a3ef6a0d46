"""The platform in the loop: it acknowledges a case, it is reminded while silent, and the
measure it took decides how urgent the case is."""

from __future__ import annotations

from datetime import date
from datetime import timedelta

import pytest

from domain.case import Case
from domain.deadlines import Deadlines
from domain.errors import CommandNotAllowed
from domain.errors import InvalidValue
from domain.measures import Measure
from domain.measures import MeasureFacts
from domain.measures import StatementOfReasons
from domain.measures import UrgencyRule
from domain.platforms import Platform
from domain.values import Category
from domain.values import PersonalText
from domain.values import Priority
from domain.values import Status
from tests.domain.factories import DEADLINES
from tests.domain.factories import NOW
from tests.domain.factories import TODAY
from tests.domain.factories import case_in
from tests.domain.factories import company
from tests.domain.factories import qualify
from tests.domain.factories import reported_case
from tests.domain.factories import respond
from tests.domain.factories import send

PLATFORM = "platform:amazon"
SYSTEM = "system:deadlines"


def awaiting(priority: Priority = Priority.NORMAL) -> Case:
    case = case_in(Status.REPORTED)
    qualify(case, priority)
    send(case)
    case.collect_events()
    return case


def on_day(n: int) -> date:
    """The day `n` days after the case was sent (it is sent on TODAY)."""
    return TODAY + timedelta(days=n)


def remind_on(case: Case, n: int, deadlines: Deadlines = DEADLINES) -> list[Case.PlatformReminded]:
    later = NOW + timedelta(days=n)
    case.remind(deadlines=deadlines, as_of=on_day(n), actor=SYSTEM, now=later)
    events = case.collect_events()
    assert all(isinstance(e, Case.PlatformReminded) for e in events)
    return list(events)  # type: ignore[arg-type]


# Acknowledgement.


def test_a_platform_acknowledges_a_case_awaiting_it_once_a_round() -> None:
    case = awaiting()
    assert case.acknowledge(actor=PLATFORM, now=NOW) is True
    [event] = case.collect_events()
    assert isinstance(event, Case.PlatformAcknowledged)
    assert (event.actor, event.acknowledged_on) == (PLATFORM, TODAY)
    assert case.status is Status.AWAITING_PLATFORM  # it changes no status
    # Again: nothing more is recorded, and no error (a portal may send it twice).
    assert case.acknowledge(actor=PLATFORM, now=NOW + timedelta(hours=1)) is False
    assert case.collect_events() == []
    # A follow-up round is acknowledged anew.
    respond(case)
    send(case)
    assert case.acknowledged_on is None
    assert case.acknowledge(actor=PLATFORM, now=NOW) is True


@pytest.mark.parametrize(
    "status", [s for s in Status if s is not Status.AWAITING_PLATFORM], ids=lambda s: s.value
)
def test_only_a_case_awaiting_its_platform_can_be_acknowledged(status: Status) -> None:
    case = case_in(status)
    with pytest.raises(CommandNotAllowed, match=status.value):
        case.acknowledge(actor=PLATFORM, now=NOW)
    assert case.collect_events() == []


# Reminders.


def test_a_silent_platform_is_reminded_on_day_7_and_day_14() -> None:
    case = awaiting()
    assert remind_on(case, 6) == []
    [first] = remind_on(case, 7)
    assert (first.number, first.after_days, first.actor) == (1, 7, SYSTEM)
    assert first.response_due == case.response_due
    assert remind_on(case, 7) == []  # the same day again: nothing
    assert remind_on(case, 13) == []
    [second] = remind_on(case, 14)
    assert (second.number, second.after_days) == (2, 14)
    assert remind_on(case, 15) == []
    assert case.reminders == 2


def test_an_urgent_case_is_reminded_on_its_own_clock() -> None:
    case = awaiting(Priority.URGENT)
    assert remind_on(case, 1) == []
    assert [e.after_days for e in remind_on(case, 2)] == [2]
    assert [e.after_days for e in remind_on(case, 4)] == [4]


def test_reminders_missed_on_their_day_are_all_recorded_at_the_next_run() -> None:
    case = awaiting()
    assert [(e.number, e.after_days) for e in remind_on(case, 20)] == [(1, 7), (2, 14)]


def test_the_rule_in_force_is_the_one_recorded() -> None:
    case = awaiting()
    later_rule = Deadlines(standard_days=15, urgent_days=5, standard_reminders=(5, 10))
    assert [e.after_days for e in remind_on(case, 10, later_rule)] == [5, 10]


def test_an_answered_platform_is_never_reminded() -> None:
    case = awaiting()
    respond(case)
    case.collect_events()
    with pytest.raises(CommandNotAllowed):
        remind_on(case, 7)
    assert case.collect_events() == []


def test_reminders_start_again_with_a_follow_up_round() -> None:
    case = awaiting()
    remind_on(case, 7)
    respond(case, now=NOW + timedelta(days=8))
    send(case, now=NOW + timedelta(days=9))  # sent again on day 9
    case.collect_events()
    assert case.reminders == 0
    assert remind_on(case, 15) == []  # day 6 of the new round
    assert [e.number for e in remind_on(case, 16)] == [1]


def test_a_reminder_is_not_sent_ahead() -> None:
    case = awaiting()
    with pytest.raises(InvalidValue, match="as_of"):
        case.remind(deadlines=DEADLINES, as_of=on_day(7), actor=SYSTEM, now=NOW)


# The measure, and how urgent it makes a case.


def qualified(
    facts: MeasureFacts | None,
    priority: Priority | None = None,
    reported: MeasureFacts | None = None,
) -> Case.Qualified:
    case = reported_case() if reported is None else reported_with(reported)
    case.collect_events()
    case.qualify(
        category=Category.ACCOUNT_TERMINATION,
        priority=priority,
        summary=PersonalText("Terminated"),
        measure=facts,
        actor="alice",
        now=NOW,
    )
    [event] = case.collect_events()
    assert isinstance(event, Case.Qualified)
    return event


def reported_with(facts: MeasureFacts) -> Case:

    return Case.report(
        company=company(),
        platform=Platform.parse("amazon.fr"),
        description=PersonalText("Terminated"),
        occurred_on=TODAY,
        measure=facts,
        actor="reporter-1",
        now=NOW,
    )


def termination_in(days: int) -> MeasureFacts:
    return MeasureFacts(Measure.TERMINATION, effective_on=TODAY + timedelta(days=days))


@pytest.mark.parametrize(
    ("facts", "rule"),
    [
        (termination_in(30), UrgencyRule.TERMINATION_WITHIN_30_DAYS),
        (termination_in(0), UrgencyRule.TERMINATION_WITHIN_30_DAYS),
        (MeasureFacts(Measure.FUNDS_WITHHELD), UrgencyRule.FUNDS_WITHHELD),
    ],
    ids=["termination-in-30-days", "termination-today", "funds-withheld"],
)
def test_facts_that_make_a_case_urgent_set_its_priority_and_the_rule_is_kept(
    facts: MeasureFacts, rule: UrgencyRule
) -> None:
    event = qualified(facts)
    assert (event.priority, event.urgency_rule, event.measure) == (Priority.URGENT, rule, facts)


@pytest.mark.parametrize(
    "facts",
    [termination_in(31), MeasureFacts(Measure.DELISTING), MeasureFacts(Measure.TERMINATION), None],
    ids=["termination-in-31-days", "delisting", "termination-undated", "no-facts"],
)
def test_other_facts_leave_a_case_normal(facts: MeasureFacts | None) -> None:
    event = qualified(facts)
    assert (event.priority, event.urgency_rule) == (Priority.NORMAL, None)


def test_the_caseworker_may_say_otherwise() -> None:
    event = qualified(MeasureFacts(Measure.FUNDS_WITHHELD), priority=Priority.HIGH)
    assert (event.priority, event.urgency_rule) == (Priority.HIGH, None)


def test_without_facts_of_its_own_the_qualification_takes_the_reported_ones() -> None:
    reported = MeasureFacts(
        Measure.FUNDS_WITHHELD, statement_of_reasons=StatementOfReasons.NOT_GIVEN
    )
    event = qualified(None, reported=reported)
    assert event.measure == reported
    assert event.urgency_rule is UrgencyRule.FUNDS_WITHHELD


@pytest.mark.parametrize(
    ("facts", "field"),
    [
        (MeasureFacts(Measure.TERMINATION, notice_received_on=TODAY + timedelta(days=1)),
         "notice_received_on"),
        (MeasureFacts(Measure.TERMINATION, effective_on=TODAY + timedelta(days=400)),
         "effective_on"),
        (MeasureFacts(Measure.DELISTING, effective_on=date(1999, 12, 31)), "effective_on"),
    ],
    ids=["notice-in-the-future", "effect-too-far-ahead", "effect-too-long-ago"],
)  # fmt: skip
def test_facts_with_impossible_dates_are_refused(facts: MeasureFacts, field: str) -> None:
    with pytest.raises(InvalidValue) as refused:
        reported_with(facts)
    assert refused.value.field == field
