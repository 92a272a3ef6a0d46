"""The deadline process reminds a silent platform: on day 7 and day 14 after sending (urgent: day
2 and day 4), never after an answer, never twice, and before it escalates.

Each test runs on a SQLite file and on PostgreSQL. The expected days are written here from
DOMAIN.md ("Deadlines") and from the settings a test sets, never read from the code under test.
No test sleeps: projections are caught up by hand, racing runs meet at a barrier.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC
from datetime import datetime
from datetime import time
from datetime import timedelta
from pathlib import Path
from uuid import UUID

import pytest
from typer.testing import CliRunner

from application.clock import SettableClock
from application.deadlines import DeadlineRun
from application.mediation import MediationApplication
from domain.errors import CaseError
from domain.errors import InvalidValue
from domain.values import PersonalText
from domain.values import Priority
from domain.values import Status
from infrastructure.settings import Settings
from interfaces.cli import cli
from tests.conftest import settings_for
from tests.test_deadlines import ESCALATED
from tests.test_deadlines import REMINDED
from tests.test_deadlines import SYSTEM
from tests.test_deadlines import Service
from tests.test_deadlines import answer
from tests.test_deadlines import cli_environment  # noqa: F401 (a fixture)
from tests.test_deadlines import day
from tests.test_deadlines import escalations
from tests.test_deadlines import ids_in
from tests.test_deadlines import lines_starting
from tests.test_deadlines import on_day
from tests.test_deadlines import reminders
from tests.test_deadlines import send_case
from tests.test_deadlines import service
from tests.test_deadlines import skipped_ids

STANDARD_DAYS = (7, 14)
URGENT_DAYS = (2, 4)
"""DOMAIN.md: reminded on day 7 and day 14 after sending (urgent: day 2 and day 4)."""
MESSAGE = PersonalText("Please explain")


def reminded(run: DeadlineRun) -> list[tuple[UUID, int]]:
    return [(r.case_id, r.number) for r in run.reminded]


def numbers(app: MediationApplication, case_id: UUID) -> list[int]:
    return [e.data["number"] for e in reminders(app, case_id)]


def run_on(svc: Service, clock: SettableClock, n: int, *, dry_run: bool = False) -> DeadlineRun:
    """The process as the schedule runs it on day n: the read models caught up first."""
    clock.set(on_day(n))
    svc.runner.catch_up()
    return svc.process.run(day(n), dry_run=dry_run)


# 1. The days.


@pytest.mark.parametrize(
    ("priority", "days"),
    [
        (Priority.NORMAL, STANDARD_DAYS),
        (Priority.LOW, STANDARD_DAYS),
        (Priority.URGENT, URGENT_DAYS),
    ],
)
def test_a_silent_platform_is_reminded_on_its_days_once_each(
    durable_settings: Settings, clock: SettableClock, priority: Priority, days: tuple[int, int]
) -> None:
    with service(durable_settings, clock) as svc:
        case_id, due = send_case(svc.app, priority)  # on day 0
        for n in range(days[1] + 3):
            run = run_on(svc, clock, n)
            assert run.skipped == []
            expected_now = [number for number, d in enumerate(days, 1) if d == n]
            assert reminded(run) == [(case_id, k) for k in expected_now], f"day {n}"
            # D+6 nothing, D+7 one, D+14 two (urgent: D+1 nothing, D+2 one, D+4 two).
            assert numbers(svc.app, case_id) == [k for k, d in enumerate(days, 1) if d <= n]
        assert svc.app.get_case(case_id).status is Status.AWAITING_PLATFORM
        first, second = reminders(svc.app, case_id)
        for event, number, after_days in ((first, 1, days[0]), (second, 2, days[1])):
            assert event.actor == SYSTEM
            assert event.recorded_at == on_day(after_days)
            assert event.data == {
                "number": number,
                "after_days": after_days,
                "response_due": due.isoformat(),
            }
        assert run_on(svc, clock, days[1] + 2, dry_run=True).reminded == []  # nothing left


def test_reminders_missed_on_their_day_are_recorded_at_the_next_run_before_escalation(
    durable_settings: Settings, clock: SettableClock
) -> None:
    with service(durable_settings, clock) as svc:
        late, _ = send_case(svc.app, Priority.NORMAL)
        silent, _ = send_case(svc.app, Priority.URGENT)
        # No run until day 15: both of `late`'s reminders at once; `silent` is past its grace
        # (urgent: due day 5, escalated from day 8) and gets its two reminders first.
        run = run_on(svc, clock, 15)
        assert sorted(reminded(run)) == sorted([(late, 1), (late, 2), (silent, 1), (silent, 2)])
        assert [e.case_id for e in run.escalated] == [silent]
        assert [e.type for e in svc.app.case_history(silent)][-3:] == [
            REMINDED,
            REMINDED,
            ESCALATED,
        ]
        assert [e.data["after_days"] for e in reminders(svc.app, late)] == [7, 14]
        # Nothing more, ever: the reminders are all recorded, the other case is escalated.
        for n in (15, 16, 40):
            again = run_on(svc, clock, n)
            assert (again.reminded, again.skipped) == ([], [])
        assert numbers(svc.app, late) == [1, 2]
        assert numbers(svc.app, silent) == [1, 2]


def test_urgent_cases_follow_their_own_clock_and_settings_change_the_days(
    durable_store: str, tmp_path: Path, request: pytest.FixtureRequest, clock: SettableClock
) -> None:
    settings = settings_for(
        durable_store,
        tmp_path,
        request,
        reminder_days_standard=(3, 5, 9),
        reminder_days_urgent=(1,),
    )
    with service(settings, clock) as svc:
        standard, _ = send_case(svc.app, Priority.HIGH)
        urgent, _ = send_case(svc.app, Priority.URGENT)
        got: dict[int, list[tuple[UUID, int]]] = {}
        for n in range(11):
            got[n] = reminded(run_on(svc, clock, n))
        assert {n: r for n, r in got.items() if r} == {
            1: [(urgent, 1)],
            3: [(standard, 1)],
            5: [(standard, 2)],
            9: [(standard, 3)],
        }
        assert [e.data["after_days"] for e in reminders(svc.app, standard)] == [3, 5, 9]


# 2. Never after an answer.


def test_no_reminder_after_an_answer_and_a_new_round_starts_again(
    durable_settings: Settings, clock: SettableClock
) -> None:
    with service(durable_settings, clock) as svc:
        answered, _ = send_case(svc.app, Priority.NORMAL)
        stale, _ = send_case(svc.app, Priority.NORMAL)
        run_on(svc, clock, 7)
        assert numbers(svc.app, answered) == numbers(svc.app, stale) == [1]
        clock.set(on_day(9))
        answer(svc.app, answered)
        for n in (14, 20, 30):
            assert reminded(run_on(svc, clock, n)) == [(stale, 2)] * (n == 14)
        assert numbers(svc.app, answered) == [1]
        with pytest.raises(CaseError):
            svc.app.remind_platform(answered, as_of=day(30), actor=SYSTEM)

        # Answered after the queue last moved: the queue proposes it, the case refuses.
        clock.set(on_day(31))
        svc.app.send_to_platform(answered, message=MESSAGE, actor="caseworker-1")
        svc.runner.catch_up()
        clock.set(on_day(38))
        answer(svc.app, answered)
        position = svc.app.log_position()
        dry = svc.process.run(day(38), dry_run=True)
        real = svc.process.run(day(38))
        for run in (dry, real):
            assert run.reminded == []
            assert skipped_ids(run) == [answered]
        assert svc.app.log_position() == position
        assert numbers(svc.app, answered) == [1]

        # A new round after the answer: its own reminders, counted from its own sending.
        clock.set(on_day(40))
        svc.app.send_to_platform(answered, message=MESSAGE, actor="caseworker-1")
        assert reminded(run_on(svc, clock, 46)) == []
        assert reminded(run_on(svc, clock, 47)) == [(answered, 1)]
        assert numbers(svc.app, answered) == [1, 1]
        assert svc.app.get_case(answered).reminders == 1


# 3. Two runs at once.


def test_two_runs_at_once_record_every_reminder_exactly_once(
    durable_settings: Settings, clock: SettableClock
) -> None:
    with service(durable_settings, clock) as one, service(durable_settings, clock) as two:
        priorities = [Priority.NORMAL, Priority.URGENT, Priority.HIGH, Priority.LOW]
        cases = [send_case(one.app, priorities[i % 4])[0] for i in range(12)]
        clock.set(on_day(7))
        fresh = [send_case(two.app, Priority.URGENT)[0] for _ in range(2)]
        clock.set(on_day(14))
        one.runner.catch_up()
        two.runner.catch_up()
        barrier = threading.Barrier(2)

        def run(svc: Service) -> DeadlineRun:
            barrier.wait(timeout=10)
            return svc.process.run(day(14))

        with ThreadPoolExecutor(max_workers=2) as pool:
            first, second = pool.map(run, [one, two])

    with service(durable_settings, clock) as svc:
        recorded = reminded(first) + reminded(second)
        # The standard cases: day 7 and day 14; the urgent ones are past grace on day 14 (due
        # day 5, escalated from day 8): reminded, then escalated; the fresh urgent ones (sent on
        # day 7): day 9 and day 11.
        assert sorted(recorded) == sorted([(c, k) for c in [*cases, *fresh] for k in (1, 2)])
        for case_id in [*cases, *fresh]:
            assert numbers(svc.app, case_id) == [1, 2], case_id
            assert all(e.actor == SYSTEM for e in reminders(svc.app, case_id))
        urgent = [c for i, c in enumerate(cases) if priorities[i % 4] is Priority.URGENT]
        assert sorted(e.case_id for e in first.escalated + second.escalated) == sorted(urgent)
        for case_id in urgent:
            assert len(escalations(svc.app, case_id)) == 1
        for run_ in (first, second):
            assert set(skipped_ids(run_)) <= set(cases) | set(fresh)


# 4. Dry runs, and the command line.


def test_a_dry_run_lists_the_reminders_a_real_run_records_and_records_nothing(
    durable_settings: Settings, clock: SettableClock
) -> None:
    with service(durable_settings, clock) as svc:
        normal, _ = send_case(svc.app, Priority.NORMAL)
        urgent, _ = send_case(svc.app, Priority.URGENT)
        clock.set(on_day(7))
        svc.runner.catch_up()
        position = svc.app.log_position()
        dry = svc.process.run(day(7), dry_run=True)
        assert svc.app.log_position() == position
        assert dry.dry_run
        assert sorted(reminded(dry)) == sorted([(normal, 1), (urgent, 1), (urgent, 2)])
        # A dry run may look ahead (day 14: the second reminder); a real run may not.
        ahead = svc.process.run(day(14), dry_run=True)
        assert sorted(reminded(ahead)) == sorted(
            [(normal, 1), (normal, 2), (urgent, 1), (urgent, 2)]
        )
        with pytest.raises(InvalidValue):
            svc.app.remind_platform(normal, as_of=day(14), actor=SYSTEM)
        assert svc.app.log_position() == position
        assert numbers(svc.app, normal) == numbers(svc.app, urgent) == []

        real = svc.process.run(day(7))
        assert real.reminded == dry.reminded
        entry = next(r for r in real.reminded if r.case_id == normal)
        assert (entry.platform, entry.priority, entry.after_days, entry.sent_on) == (
            "amazon",
            "normal",
            7,
            day(0),
        )
        assert numbers(svc.app, normal) == [1]
        assert numbers(svc.app, urgent) == [1, 2]


def test_the_command_line_lists_and_records_reminders(
    cli_environment: Settings,  # noqa: F811 (the fixture)
) -> None:
    real_today = datetime.now(UTC).date()
    past = SettableClock(datetime.combine(real_today - timedelta(days=8), time(9), UTC))
    with service(cli_environment, past) as svc:
        case_id, _ = send_case(svc.app, Priority.NORMAL)  # its first reminder was due yesterday
    mediation = CliRunner()
    with service(cli_environment) as reader:
        position = reader.app.log_position()
        dry = mediation.invoke(cli, ["deadlines", "run", "--dry-run"])
        assert dry.exit_code == 0, dry.output
        assert ids_in(dry.stdout, "would remind ") == {str(case_id)}
        assert "reminder 1, day 7 after sending" in dry.stdout
        assert "1 reminder(s) to record" in dry.stdout
        assert reader.app.log_position() == position

        real = mediation.invoke(cli, ["deadlines", "run"])
        assert real.exit_code == 0, real.output
        assert ids_in(real.stdout, "reminded ") == {str(case_id)}
        assert "1 reminder(s) recorded" in real.stdout
        assert real.stdout.splitlines()[-1].startswith("0 case(s) escalated")
        assert numbers(reader.app, case_id) == [1]

        again = mediation.invoke(cli, ["deadlines", "run"])
        assert again.exit_code == 0, again.output
        assert lines_starting(again.stdout, "reminded ") == []
        assert numbers(reader.app, case_id) == [1]
