"""`mediation demo`: a first look that keeps the service's promises, in an empty store only.

Checked from the store itself, never from what the demo says of itself: every case is read
back (the event log gives their ids), and the deadline rules are applied here, by hand.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from uuid import UUID

from application.clock import SystemClock
from application.mediation import MediationApplication
from domain.case import Case
from domain.values import Priority
from domain.values import Status
from infrastructure.settings import Settings
from interfaces.composition import open_application
from interfaces.composition import projection_runner
from tests.test_projections import run

CASES = 40


@contextmanager
def opened(settings: Settings) -> Iterator[MediationApplication]:
    application = open_application(settings, SystemClock())
    try:
        yield application
    finally:
        application.close()


def case_ids(application: MediationApplication) -> list[UUID]:
    """Every case in the log, by its Reported event."""
    log = application.event_log()
    found, start = [], 1
    while events := log.read(start, 500):
        found += [e.originator_id for _, e in events if isinstance(e, Case.Reported)]
        start = events[-1][0] + 1
    return found


def silent_past_grace(application: MediationApplication, case: Case, today: date) -> bool:
    """DOMAIN.md: still awaiting the platform past its due date plus grace (6 days, urgent 2)."""
    if case.status is not Status.AWAITING_PLATFORM:
        return False
    grace = 2 if case.priority is Priority.URGENT else 6
    assert application.deadlines.grace_days(case.priority) == grace  # the defaults in force
    assert case.response_due is not None
    return case.response_due + timedelta(days=grace) < today


def test_the_demo_fills_an_empty_store_and_brings_its_deadlines_up_to_date(
    durable_settings: Settings,
) -> None:
    done = run(durable_settings, "demo", "--cases", str(CASES), "--seed", "11")
    assert done.returncode == 0, done.stderr
    today = datetime.now(UTC).date()
    assert f"{CASES} demo cases written" in done.stdout

    with opened(durable_settings) as application:
        # The read models are up to date without anyone running them.
        for status in projection_runner(application).status():
            assert status.lag == 0, status
        ids = case_ids(application)
        assert len(ids) == CASES
        cases = [application.get_case(case_id) for case_id in ids]
        assert not [c.id for c in cases if silent_past_grace(application, c, today)]

        # Escalated for silence the day after the grace ran out (today too, perhaps), or later.
        on_time, on_time_today, late = 0, 0, 0
        for case in cases:
            for entry in application.case_history(case.id):
                if entry.type != "EscalatedToMediator" or entry.actor != "system:deadlines":
                    continue
                # As the deadline process records it: what was due, the grace, after it ran out.
                assert entry.data["reason"] == "no_response"
                grace = entry.data["grace_days"]
                assert grace == (2 if case.priority is Priority.URGENT else 6)
                first_day = date.fromisoformat(entry.data["response_due"]) + timedelta(
                    days=grace + 1
                )
                day = entry.recorded_at.astimezone(UTC).date()
                assert day >= first_day, entry
                on_time += day == first_day
                on_time_today += day == first_day == today
                late += day > first_day
                assert day in (first_day, today), entry  # late only by today's run
        assert on_time, "no silence escalated on the day its grace ran out, over a year"
        # Today's run escalated the late ones, and perhaps some whose grace ended yesterday.
        (escalated,) = re.findall(rf"deadlines as of {today}: (\d+) case\(s\) silent", done.stdout)
        assert late <= int(escalated) <= late + on_time_today, done.stdout
        assert late, "no case left silent for today's run to escalate"

        # Reminded on day 7 and day 14 after sending (urgent: day 2 and day 4), on the day or,
        # for those the year left pending, by today's run; none left due, none after an answer.
        on_their_day = 0
        for case in cases:
            days = (2, 4) if case.priority is Priority.URGENT else (7, 14)
            sent_on, numbers = None, []
            for entry in application.case_history(case.id):
                if entry.type == "SentToPlatform":
                    sent_on, numbers = date.fromisoformat(entry.data["sent_on"]), []
                elif entry.type == "PlatformReminded":
                    assert sent_on is not None
                    assert entry.actor == "system:deadlines"
                    numbers.append(entry.data["number"])
                    due = sent_on + timedelta(days=days[entry.data["number"] - 1])
                    day = entry.recorded_at.astimezone(UTC).date()
                    assert day in (due, today), entry
                    on_their_day += day == due
            assert numbers == list(range(1, len(numbers) + 1)), case.id
            if case.status is Status.AWAITING_PLATFORM:
                assert sent_on is not None
                assert len(numbers) == sum(sent_on + timedelta(days=d) <= today for d in days)
        assert on_their_day, "no reminder recorded on its day, over a year"
        position = application.log_position()

    # Run again on the same store: refused, in one line, and nothing is recorded.
    again = run(durable_settings, "demo", "--cases", "5")
    assert again.returncode == 2, again.stdout + again.stderr
    (line,) = again.stderr.strip().splitlines()
    assert line.startswith("mediation: the store already holds cases"), line
    assert "--append" in line
    with opened(durable_settings) as application:
        assert application.log_position() == position

    added = run(durable_settings, "demo", "--cases", "5", "--append")
    assert added.returncode == 0, added.stderr
    with opened(durable_settings) as application:
        assert application.log_position() > position
        assert len(case_ids(application)) == CASES + 5
