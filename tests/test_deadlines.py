"""The deadline process: a platform's silence past its due date and grace escalates the case.

Each test runs on a SQLite file and on PostgreSQL (the property test runs on the in-memory
store; its deterministic twin runs on both durable stores):
1. the day boundaries, with the default rules and with others set in the settings: the due day
   is not overdue, the day after is; due + grace is not escalated, the day after is; the event
   keeps the due date and the grace that decided it, whatever the settings say later;
2. a second run for the same date escalates nothing;
3. two runs at once (two applications on one store) escalate every case exactly once;
4. a platform answer recorded before the run, after the queue was read, or between the case's
   load and its save wins: the case is skipped, never escalated for silence;
5. a dry run records nothing and lists what a real run then escalates;
6. the process agrees with the overdue queue and with the statistics' silence;
7. `mediation deadlines run` (dry, real, again, a future --as-of, a malformed --as-of);
8. the schedule in the HTTP service escalates each silent case once, however often it runs.

The expected days are written here from the rules of DOMAIN.md and from the settings each test
sets (a case sent on day 0 is due on day `response days`, overdue the day after, and escalated
from the day after `due + grace`), never read from the code under test. No test sleeps to wait:
projections are caught up by hand, or waited for by position; the schedule by its run count.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from application.case_queues import CaseQueues
from application.case_queues import Queue
from application.case_queues import QueueFilters
from application.case_queues import QueueItem
from application.case_statistics import CaseStatistics
from application.case_statistics import statistics
from application.clock import SettableClock
from application.deadlines import DeadlineProcess
from application.deadlines import DeadlineRun
from application.history import HistoryEntry
from application.mediation import MediationApplication
from application.mediation import ReportRequest
from application.projections import ProjectionRunner
from domain.errors import CaseError
from domain.errors import InvalidValue
from domain.platforms import Platform
from domain.values import Category
from domain.values import PersonalText
from domain.values import Priority
from domain.values import Stance
from domain.values import Status
from infrastructure.settings import Settings
from interfaces.cli import cli
from interfaces.composition import deadline_schedule
from interfaces.composition import open_application
from interfaces.composition import projection_runner
from interfaces.http.app import create_app
from tests.conftest import PLATFORMS_FILE
from tests.conftest import START
from tests.conftest import TOKENS_SETTING
from tests.conftest import settings_for
from tests.conftest import store_environment
from tests.domain.factories import company
from tests.queue_workflows import everything

SYSTEM = "system:deadlines"
"""The actor DOMAIN.md's "system actor" is, as the brief of the deadline process names it."""

ESCALATED = "EscalatedToMediator"
REMINDED = "PlatformReminded"


# The rules a test sets, and what they mean in days.


@dataclass(frozen=True)
class Rules:
    """Response days and grace, standard and urgent: what a test puts in the settings."""

    standard_days: int = 15
    urgent_days: int = 5
    standard_grace: int = 6
    urgent_grace: int = 2

    def settings(self) -> dict[str, int]:
        return {
            "response_days_standard": self.standard_days,
            "response_days_urgent": self.urgent_days,
            "grace_days_standard": self.standard_grace,
            "grace_days_urgent": self.urgent_grace,
        }

    def response_days(self, priority: Priority) -> int:
        return self.urgent_days if priority is Priority.URGENT else self.standard_days

    def grace(self, priority: Priority) -> int:
        return self.urgent_grace if priority is Priority.URGENT else self.standard_grace

    def due_day(self, sent_day: int, priority: Priority) -> int:
        return sent_day + self.response_days(priority)

    def first_escalation_day(self, sent_day: int, priority: Priority) -> int:
        """The first day whose run escalates: the day after due + grace."""
        return self.due_day(sent_day, priority) + self.grace(priority) + 1


DEFAULTS = Rules()
"""DOMAIN.md: due 15 days after sending (urgent 5), grace 6 days (urgent 2)."""
CUSTOM = Rules(standard_days=10, urgent_days=3, standard_grace=3, urgent_grace=1)


def day(n: int) -> date:
    return START.date() + timedelta(days=n)


def on_day(n: int) -> datetime:
    return START + timedelta(days=n)


# Building cases and reading what became of them.


def a_report(now: datetime, platform: str = "amazon.fr") -> ReportRequest:
    return ReportRequest(
        company=company(),
        platform=Platform.parse(platform),
        description=PersonalText("Delisted overnight without any explanation"),
        occurred_on=now.date() - timedelta(days=3),
        category_hint=Category.DELISTING,
    )


def send_case(
    app: MediationApplication, priority: Priority, platform: str = "amazon.fr"
) -> tuple[UUID, date]:
    """A case reported, qualified and sent to the platform today (the application's clock);
    its id and the due date the sending recorded."""
    case_id = app.report_case(a_report(app.clock.now(), platform), actor="reporter-1").case_id
    app.qualify_case(
        case_id,
        category=Category.DELISTING,
        priority=priority,
        summary=PersonalText("Delisting of 40 offers"),
        actor="caseworker-1",
    )
    sent = app.send_to_platform(
        case_id, message=PersonalText("Please explain"), actor="caseworker-1"
    )
    assert sent.response_due is not None
    return case_id, sent.response_due


def answer(app: MediationApplication, case_id: UUID) -> None:
    app.record_platform_response(
        case_id, stance=Stance.REFUSED, response=PersonalText("Our policy"), actor="caseworker-1"
    )


def escalations(app: MediationApplication, case_id: UUID) -> list[HistoryEntry]:
    return [e for e in app.case_history(case_id) if e.type == ESCALATED]


def reminders(app: MediationApplication, case_id: UUID) -> list[HistoryEntry]:
    return [e for e in app.case_history(case_id) if e.type == REMINDED]


def status(app: MediationApplication, case_id: UUID) -> Status:
    return app.get_case(case_id).status


def escalated_ids(run: DeadlineRun) -> list[UUID]:
    return [e.case_id for e in run.escalated]


def skipped_ids(run: DeadlineRun) -> list[UUID]:
    return [s.case_id for s in run.skipped]


@dataclass
class Service:
    """An application with its read models and its deadline process, as a process has them."""

    app: MediationApplication
    runner: ProjectionRunner
    process: DeadlineProcess

    @property
    def queues(self) -> CaseQueues:
        view: CaseQueues = self.runner.view(CaseQueues.name)
        return view

    def overdue(self, as_of: date, priority: Priority | None = None) -> set[UUID]:
        filters = QueueFilters(priority=None if priority is None else priority.value)
        return {item.id for item in everything(self.queues, Queue.OVERDUE, as_of, filters)}

    def silent(self, as_of: date) -> int:
        """The statistics' `silent` count over every platform, as of `as_of`."""
        view: CaseStatistics = self.runner.view(CaseStatistics.name)
        counters, _ = view.counters(None, None, as_of)
        return sum(p["silent"] for p in statistics(counters, as_of)["platforms"])

    def no_response_escalations(self, as_of: date) -> int:
        view: CaseStatistics = self.runner.view(CaseStatistics.name)
        counters, _ = view.counters(None, None, as_of)
        return int(statistics(counters, as_of)["mediation"]["by_reason"].get("no_response", 0))


@contextmanager
def service(settings: Settings, clock: SettableClock | None = None) -> Iterator[Service]:
    app = open_application(settings, clock)
    try:
        runner = projection_runner(app)
        yield Service(app, runner, DeadlineProcess(app, runner.view(CaseQueues.name)))
    finally:
        app.close()


# 1. The day boundaries, and the event keeping the rule that decided.


@pytest.mark.parametrize("rules", [DEFAULTS, CUSTOM], ids=["default rules", "rules set"])
def test_a_case_is_overdue_after_its_due_day_and_escalated_after_its_grace(
    durable_store: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    clock: SettableClock,
    rules: Rules,
) -> None:
    overrides = {} if rules == DEFAULTS else rules.settings()
    settings = settings_for(durable_store, tmp_path, request, **overrides)
    priorities = [Priority.NORMAL, Priority.HIGH, Priority.URGENT]
    with service(settings, clock) as svc:
        sent = {p: send_case(svc.app, p) for p in priorities}  # all on day 0
        cases = {p: case_id for p, (case_id, _) in sent.items()}
        for priority, (_, due) in sent.items():
            assert due == day(rules.due_day(0, priority))
        escalating = {p: rules.first_escalation_day(0, p) for p in priorities}
        if rules == DEFAULTS:  # DOMAIN.md's own example, in days
            assert escalating == {Priority.NORMAL: 22, Priority.HIGH: 22, Priority.URGENT: 8}

        runs: dict[Priority, DeadlineRun] = {}
        for n in range(max(escalating.values()) + 2):
            clock.set(on_day(n))
            svc.runner.catch_up()
            overdue = svc.overdue(day(n))
            for priority in priorities:
                due_day = rules.due_day(0, priority)
                # Overdue from the day after the due day, until the run that escalates it.
                expected = due_day < n <= escalating[priority]
                assert (cases[priority] in overdue) is expected, (priority, n, due_day)
            for priority in priorities:
                if n <= escalating[priority]:  # still awaiting the platform
                    expired = svc.app.silence_expired(cases[priority], day(n))
                    assert expired is (n == escalating[priority]), (priority, n)
                if n == escalating[priority] - 1:  # the last day of grace: not even on demand
                    with pytest.raises(CaseError):
                        svc.app.escalate_for_silence(cases[priority], as_of=day(n), actor=SYSTEM)
            run = svc.process.run(day(n))
            assert run.skipped == []
            expected_now = {cases[p] for p in priorities if escalating[p] == n}
            assert set(escalated_ids(run)) == expected_now, f"day {n}"
            for escalation in run.escalated:
                priority = Priority(escalation.priority)
                runs[priority] = run
                assert escalation.case_id == cases[priority]
                assert escalation.platform == "amazon"
                assert escalation.response_due == day(rules.due_day(0, priority))
                assert escalation.grace_days == rules.grace(priority)
                assert escalation.mediator_reference is not None

        recorded: dict[Priority, list[HistoryEntry]] = {}
        for priority in priorities:
            case_id = cases[priority]
            assert status(svc.app, case_id) is Status.WITH_MEDIATOR
            [event] = escalations(svc.app, case_id)
            [escalation] = [e for e in runs[priority].escalated if e.case_id == case_id]
            assert event.actor == SYSTEM
            assert event.recorded_at == on_day(escalating[priority])
            assert event.data == {
                "reason": "no_response",
                "note": None,
                "mediator_reference": escalation.mediator_reference,
                "response_due": day(rules.due_day(0, priority)).isoformat(),
                "grace_days": rules.grace(priority),
            }
            recorded[priority] = svc.app.case_history(case_id)

    # Longer grace in the settings afterwards: the recorded events keep the grace they used,
    # while the new grace decides for the cases still awaiting the platform.
    later = replace(
        rules, standard_grace=rules.standard_grace + 5, urgent_grace=rules.urgent_grace + 3
    )
    changed = settings.model_copy(update=later.settings())
    sent_day = max(escalating.values()) + 1
    with service(changed, clock) as svc:
        for priority in priorities:
            assert svc.app.case_history(cases[priority]) == recorded[priority]
        clock.set(on_day(sent_day))
        fresh, _ = send_case(svc.app, Priority.NORMAL)
        old_rule_day = sent_day + rules.first_escalation_day(0, Priority.NORMAL)
        new_rule_day = sent_day + later.first_escalation_day(0, Priority.NORMAL)
        for n, expected in [(old_rule_day, []), (new_rule_day - 1, []), (new_rule_day, [fresh])]:
            clock.set(on_day(n))
            svc.runner.catch_up()
            assert escalated_ids(svc.process.run(day(n))) == expected, f"day {n}"
        [event] = escalations(svc.app, fresh)
        assert event.data["grace_days"] == later.standard_grace
        assert (
            event.data["response_due"] == day(rules.due_day(sent_day, Priority.NORMAL)).isoformat()
        )
        for priority in priorities:
            assert svc.app.case_history(cases[priority]) == recorded[priority]


# 2. Running again.


def test_a_second_run_for_the_same_date_escalates_nothing(
    durable_settings: Settings, clock: SettableClock
) -> None:
    with service(durable_settings, clock) as svc:
        case_id, _ = send_case(svc.app, Priority.NORMAL)
        today = DEFAULTS.first_escalation_day(0, Priority.NORMAL)
        clock.set(on_day(today))
        svc.runner.catch_up()

        first = svc.process.run(day(today))
        assert escalated_ids(first) == [case_id]
        position = svc.app.log_position()

        # The queue has not moved yet and proposes the case again: the case itself refuses.
        second = svc.process.run(day(today))
        assert second.escalated == []
        assert skipped_ids(second) == [case_id]
        # Once the queue has moved, it is not even proposed.
        svc.runner.catch_up()
        third = svc.process.run(day(today))
        assert (third.escalated, third.skipped) == ([], [])

        assert svc.app.log_position() == position
        assert len(escalations(svc.app, case_id)) == 1
        assert status(svc.app, case_id) is Status.WITH_MEDIATOR


# 3. Two runs at once.


def test_two_runs_at_once_escalate_every_silent_case_exactly_once(
    durable_settings: Settings, clock: SettableClock
) -> None:
    today = 30
    with service(durable_settings, clock) as one, service(durable_settings, clock) as two:
        priorities = [Priority.NORMAL, Priority.URGENT, Priority.HIGH, Priority.LOW]
        due = [send_case(one.app, priorities[i % 4])[0] for i in range(16)]
        clock.set(on_day(today - 3))  # still within its grace on `today`
        waiting = [send_case(two.app, p)[0] for p in (Priority.NORMAL, Priority.URGENT)]
        clock.set(on_day(today))
        one.runner.catch_up()
        two.runner.catch_up()
        assert set(due) <= one.overdue(day(today) - timedelta(days=DEFAULTS.standard_grace))

        barrier = threading.Barrier(2)

        def run(svc: Service) -> DeadlineRun:
            barrier.wait(timeout=10)
            return svc.process.run(day(today))

        with ThreadPoolExecutor(max_workers=2) as pool:
            first, second = pool.map(run, [one, two])

    with service(durable_settings, clock) as svc:
        ids_first, ids_second = set(escalated_ids(first)), set(escalated_ids(second))
        assert ids_first.isdisjoint(ids_second)
        assert ids_first | ids_second == set(due)
        assert len(first.escalated) + len(second.escalated) == len(due)
        for run_ in (first, second):
            # Every case proposed was either escalated by this run or left to the other one;
            # the urgent case still waiting is proposed for its first reminder (due on day 29).
            proposed = set(escalated_ids(run_)) | set(skipped_ids(run_))
            assert proposed - {waiting[1]} == set(due)
            assert set(skipped_ids(run_)).isdisjoint(escalated_ids(run_))
        for case_id in due:
            [event] = escalations(svc.app, case_id)
            assert (event.actor, event.data["reason"]) == (SYSTEM, "no_response")
            # Every reminder once, recorded before the escalation, by one run or the other.
            kinds = [e.type for e in svc.app.case_history(case_id)][-3:]
            assert kinds == [REMINDED, REMINDED, ESCALATED]
            assert [e.data["number"] for e in reminders(svc.app, case_id)] == [1, 2]
        for case_id in waiting:
            assert escalations(svc.app, case_id) == []
            assert status(svc.app, case_id) is Status.AWAITING_PLATFORM
        assert [len(reminders(svc.app, case_id)) for case_id in waiting] == [0, 1]
        recorded = [(r.case_id, r.number) for r in first.reminded + second.reminded]
        assert sorted(recorded) == sorted([(c, n) for c in due for n in (1, 2)] + [(waiting[1], 1)])


# 4. A platform answer racing the escalation.


class AnswerAfterRead:
    """The overdue queue, with a platform answer recorded right after the page that proposed
    the case was read: the process holds a stale proposal."""

    def __init__(self, queues: CaseQueues, case_id: UUID, record: Callable[[], None]) -> None:
        self.queues = queues
        self.case_id = case_id
        self.record = record

    def page(self, *args: Any) -> tuple[list[QueueItem], int]:
        items, position = self.queues.page(*args)
        if any(item.id == self.case_id for item in items):
            self.record()
        return items, position

    def __getattr__(self, name: str) -> Any:
        return getattr(self.queues, name)  # the reminders' query, read before the overdue one


@pytest.mark.parametrize(
    "when", ["before the run", "after the queue is read", "between load and save"]
)
def test_a_platform_answer_racing_the_escalation_wins(
    durable_settings: Settings,
    clock: SettableClock,
    monkeypatch: pytest.MonkeyPatch,
    when: str,
) -> None:
    with service(durable_settings, clock) as svc, service(durable_settings, clock) as caseworker:
        raced, _ = send_case(svc.app, Priority.NORMAL)
        bystander, _ = send_case(svc.app, Priority.NORMAL)
        today = DEFAULTS.first_escalation_day(0, Priority.NORMAL)
        clock.set(on_day(today))
        svc.runner.catch_up()
        past_grace = day(today) - timedelta(days=DEFAULTS.standard_grace)
        assert {raced, bystander} <= svc.overdue(past_grace)

        answered: list[UUID] = []

        def record() -> None:
            if not answered:  # a caseworker in another process records the answer, once
                answered.append(raced)
                answer(caseworker.app, raced)

        process = svc.process
        if when == "before the run":
            record()  # after the read model last moved: the queue still proposes the case
        elif when == "after the queue is read":
            process = DeadlineProcess(svc.app, AnswerAfterRead(svc.queues, raced, record))  # type: ignore[arg-type]
        else:
            save = svc.app.save

            def save_after_the_answer(*objects: Any, **kwargs: Any) -> Any:
                # The case was loaded and escalated in memory (after its reminders were
                # saved); its save is next.
                case = objects[0] if objects else None
                if getattr(case, "id", None) == raced and case.status is Status.WITH_MEDIATOR:
                    record()
                return save(*objects, **kwargs)

            monkeypatch.setattr(svc.app, "save", save_after_the_answer)

        run = process.run(day(today))
        monkeypatch.undo()

        assert answered == [raced]
        assert escalated_ids(run) == [bystander]
        assert skipped_ids(run) == [raced]
        for app in (svc.app, caseworker.app):
            assert status(app, raced) is Status.PLATFORM_RESPONDED
            assert escalations(app, raced) == []
            assert app.case_history(raced)[-1].type == "PlatformResponded"
        assert len(escalations(svc.app, bystander)) == 1

        # Once the read model has moved, the answered case is not proposed again.
        svc.runner.catch_up()
        again = svc.process.run(day(today))
        assert (again.escalated, again.skipped) == ([], [])
        assert status(svc.app, raced) is Status.PLATFORM_RESPONDED


# 5. Dry runs.


def test_a_dry_run_records_nothing_and_lists_what_a_real_run_escalates(
    durable_settings: Settings, clock: SettableClock
) -> None:
    rules = DEFAULTS
    today = rules.first_escalation_day(0, Priority.NORMAL)
    with service(durable_settings, clock) as svc:
        plan = {
            # name: (sent on day, priority)
            "normal, past grace": (0, Priority.NORMAL),
            "urgent, past grace": (
                today - 1 - rules.urgent_grace - rules.urgent_days,
                Priority.URGENT,
            ),
            "high, last day of grace": (1, Priority.HIGH),
            "urgent, last day of grace": (
                today - rules.urgent_grace - rules.urgent_days,
                Priority.URGENT,
            ),
            "low, answered": (0, Priority.LOW),
            "normal, answered since the queue moved": (0, Priority.NORMAL),
        }
        cases: dict[str, UUID] = {}
        for name, (sent_day, priority) in sorted(plan.items(), key=lambda item: item[1][0]):
            clock.set(on_day(sent_day))
            cases[name], _ = send_case(svc.app, priority)
        clock.set(on_day(today - 1))
        answer(svc.app, cases["low, answered"])
        clock.set(on_day(today))
        svc.runner.catch_up()
        unanswered = [case_id for name, case_id in cases.items() if name != "low, answered"]
        assert set(unanswered) <= svc.overdue(day(today))  # all overdue...
        expected = [cases["normal, past grace"], cases["urgent, past grace"]]  # ...two past grace
        stale = cases["normal, answered since the queue moved"]  # ...and one the queue still shows
        answer(svc.app, stale)

        position = svc.app.log_position()
        histories = {c: svc.app.case_history(c) for c in cases.values()}

        def unchanged() -> None:
            assert svc.app.log_position() == position
            assert {c: svc.app.case_history(c) for c in cases.values()} == histories

        dry = svc.process.run(day(today), dry_run=True)
        unchanged()
        assert dry.dry_run
        assert sorted(escalated_ids(dry)) == sorted(expected)
        assert skipped_ids(dry) == [stale]  # the case decides, in a dry run too
        assert all(e.mediator_reference is None for e in dry.escalated)
        # A dry run may look ahead: tomorrow, both last days of grace are over too.
        ahead = svc.process.run(day(today + 1), dry_run=True)
        unchanged()
        assert sorted(escalated_ids(ahead)) == sorted(
            [*expected, cases["high, last day of grace"], cases["urgent, last day of grace"]]
        )

        # A real run may not: silence is not judged ahead, and nothing is recorded.
        with pytest.raises(InvalidValue):
            svc.app.escalate_for_silence(expected[0], as_of=day(today + 1), actor=SYSTEM)
        with pytest.raises(InvalidValue, match="dry runs only"):
            svc.process.run(day(today + 1))
        unchanged()

        real = svc.process.run(day(today))
        assert escalated_ids(real) == escalated_ids(dry)
        assert skipped_ids(real) == [stale]
        assert [replace(e, mediator_reference=None) for e in real.escalated] == dry.escalated
        assert all(e.mediator_reference for e in real.escalated)
        for case_id in cases.values():
            assert len(escalations(svc.app, case_id)) == (case_id in expected)


# 6. The process, the overdue queue and the statistics agree.


@dataclass
class Scenario:
    """Cases sent on given days with given priorities, and what the test expects of them."""

    rules: Rules
    sent: dict[UUID, tuple[int, Priority]] = field(default_factory=dict)
    escalated: set[UUID] = field(default_factory=set)

    def send(self, svc: Service, clock: SettableClock, cases: list[tuple[int, Priority]]) -> None:
        for sent_day, priority in sorted(cases, key=lambda c: c[0]):
            clock.set(on_day(sent_day))
            case_id, due = send_case(svc.app, priority, platform="Cdiscount")
            assert due == day(self.rules.due_day(sent_day, priority))
            self.sent[case_id] = (sent_day, priority)

    def overdue_on(self, n: int) -> set[UUID]:
        """The reference's silent cases as of day n: sent, not answered, past the due day."""
        return {c for c, (s, p) in self.sent.items() if self.rules.due_day(s, p) < n}

    def check_run(self, svc: Service, clock: SettableClock, n: int) -> None:
        clock.set(on_day(max(n, *(s for s, _ in self.sent.values()))))
        svc.runner.catch_up()
        # What the overdue queue shows, each case as of as_of minus the grace of its priority.
        in_queue = {
            c
            for c, (_, p) in self.sent.items()
            if c in svc.overdue(day(n) - timedelta(days=self.rules.grace(p)))
        }
        reference = {
            c
            for c, (s, p) in self.sent.items()
            if self.rules.first_escalation_day(s, p) <= n and c not in self.escalated
        }
        assert in_queue == reference
        silent_before = svc.silent(day(n))
        assert silent_before == len(self.overdue_on(n))

        run = svc.process.run(day(n))
        assert set(escalated_ids(run)) == in_queue
        assert len(run.escalated) == len(in_queue)
        assert run.skipped == []
        self.escalated |= in_queue

        svc.runner.catch_up()
        assert svc.silent(day(n)) == silent_before  # escalated for silence: still silent
        assert svc.no_response_escalations(day(n)) == len(self.escalated)
        for c in self.sent:
            assert status(svc.app, c) is (
                Status.WITH_MEDIATOR if c in self.escalated else Status.AWAITING_PLATFORM
            )


RULES = st.builds(
    lambda urgent, extra, standard_grace, urgent_grace: Rules(
        standard_days=urgent + extra,
        urgent_days=urgent,
        standard_grace=standard_grace,
        urgent_grace=urgent_grace,
    ),
    st.integers(1, 6),
    st.integers(0, 10),
    st.integers(0, 8),
    st.integers(0, 4),
)
CASES = st.lists(st.tuples(st.integers(0, 20), st.sampled_from(Priority)), min_size=1, max_size=8)


@hypothesis_settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(rules=RULES, cases=CASES, as_of=st.integers(0, 45))
def test_the_process_escalates_what_the_overdue_queue_shows_past_grace(
    tmp_path: Path,
    request: pytest.FixtureRequest,
    rules: Rules,
    cases: list[tuple[int, Priority]],
    as_of: int,
) -> None:
    settings = settings_for("memory", tmp_path, request, **rules.settings())
    clock = SettableClock(START)
    with service(settings, clock) as svc:
        scenario = Scenario(rules)
        scenario.send(svc, clock, cases)
        scenario.check_run(svc, clock, as_of)


def test_the_process_agrees_with_the_queue_and_the_statistics_day_after_day(
    durable_store: str, tmp_path: Path, request: pytest.FixtureRequest, clock: SettableClock
) -> None:
    rules = CUSTOM
    settings = settings_for(durable_store, tmp_path, request, **rules.settings())
    cases = [(0, Priority.NORMAL), (0, Priority.URGENT), (2, Priority.LOW), (3, Priority.URGENT),
             (4, Priority.HIGH), (6, Priority.URGENT), (9, Priority.NORMAL)]  # fmt: skip
    with service(settings, clock) as svc:
        scenario = Scenario(rules)
        scenario.send(svc, clock, cases)
        for n in (9, 10, 13, 14, 15, 17, 25):
            scenario.check_run(svc, clock, n)
        assert scenario.escalated == set(scenario.sent)


# 7. The command line.


@pytest.fixture
def cli_environment(durable_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The MEDIATION_* variables of a deployment on the test's store (and nothing else)."""
    for name in list(os.environ):
        if name.startswith("MEDIATION_"):
            monkeypatch.delenv(name)
    for name, value in store_environment(durable_settings).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("MEDIATION_TOKENS", TOKENS_SETTING)
    monkeypatch.setenv("MEDIATION_PLATFORMS_FILE", str(PLATFORMS_FILE))
    return durable_settings


def lines_starting(output: str, prefix: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith(prefix)]


def ids_in(output: str, prefix: str) -> set[str]:
    """The case ids of the lines `<prefix> <id> (...)`."""
    return {line.removeprefix(prefix).split()[0] for line in lines_starting(output, prefix)}


def test_the_command_line_lists_escalates_and_refuses_to_look_ahead(
    cli_environment: Settings,
) -> None:
    real_today = datetime.now(UTC).date()

    def at(n: int) -> datetime:
        return datetime.combine(real_today + timedelta(days=n), time(9), UTC)

    past = SettableClock(at(-60))
    with service(cli_environment, past) as svc:
        silent = {str(send_case(svc.app, p)[0]) for p in (Priority.NORMAL, Priority.URGENT)}
        past.set(at(-1))
        recent, recent_due = send_case(svc.app, Priority.NORMAL)  # due in two weeks
    assert recent_due > real_today

    mediation = CliRunner()
    with service(cli_environment) as reader:  # reads the store as the CLI leaves it
        position = reader.app.log_position()

        dry = mediation.invoke(cli, ["deadlines", "run", "--dry-run"])
        assert dry.exit_code == 0, dry.output
        assert ids_in(dry.stdout, "would escalate ") == silent
        assert lines_starting(dry.stdout, "escalated ") == []
        assert reader.app.log_position() == position

        real = mediation.invoke(cli, ["deadlines", "run"])
        assert real.exit_code == 0, real.output
        assert ids_in(real.stdout, "escalated ") == silent
        assert real.stdout.splitlines()[-1].startswith("2 case(s) escalated")
        for case_id in silent:
            [event] = escalations(reader.app, UUID(case_id))
            assert (event.actor, event.data["reason"]) == (SYSTEM, "no_response")
        assert status(reader.app, recent) is Status.AWAITING_PLATFORM
        position = reader.app.log_position()

        again = mediation.invoke(cli, ["deadlines", "run"])
        assert again.exit_code == 0, again.output
        assert lines_starting(again.stdout, "escalated ") == []
        assert again.stdout.splitlines()[-1].startswith("0 case(s) escalated")
        assert reader.app.log_position() == position

        # A month ahead the recent case would be past its grace: only a dry run may say so.
        ahead = (real_today + timedelta(days=30)).isoformat()
        look = mediation.invoke(cli, ["deadlines", "run", "--as-of", ahead, "--dry-run"])
        assert look.exit_code == 0, look.output
        assert ids_in(look.stdout, "would escalate ") == {str(recent)}
        refused = mediation.invoke(cli, ["deadlines", "run", "--as-of", ahead])
        assert refused.exit_code == 2, refused.output
        assert len(refused.stderr.strip().splitlines()) == 1
        assert ahead in refused.stderr
        assert lines_starting(refused.stdout, "escalated ") == []

        malformed = mediation.invoke(cli, ["deadlines", "run", "--as-of", "not-a-date"])
        assert malformed.exit_code == 2, malformed.output
        assert len(malformed.stderr.strip().splitlines()) == 1
        assert "not-a-date" in malformed.stderr

        assert reader.app.log_position() == position
        assert status(reader.app, recent) is Status.AWAITING_PLATFORM
        assert escalations(reader.app, recent) == []


# 8. The schedule in the HTTP service.


def test_the_schedule_escalates_each_silent_case_once_however_often_it_runs(
    durable_store: str, tmp_path: Path, request: pytest.FixtureRequest, clock: SettableClock
) -> None:
    rules = Rules(standard_days=4, urgent_days=2, standard_grace=2, urgent_grace=1)
    settings = settings_for(
        durable_store, tmp_path, request, deadlines_every_seconds=0.05, **rules.settings()
    )
    today = rules.first_escalation_day(0, Priority.NORMAL) + 2
    with service(settings, clock) as svc:
        silent = [send_case(svc.app, p)[0] for p in (Priority.NORMAL, Priority.URGENT)]
        clock.set(on_day(today - 1))
        waiting, _ = send_case(svc.app, Priority.URGENT)
        position = svc.app.log_position()
    clock.set(on_day(today))

    app = create_app(settings, clock=clock)
    with TestClient(app):
        schedule = app.state.deadlines
        assert schedule is not None
        assert app.state.runner.wait_for(position, timeout=10)
        # The run after the one under way (if any) reads a queue that shows every case.
        runs = schedule.runs
        assert schedule.wait_for_runs(runs + 5, timeout=20)
        mediation: MediationApplication = app.state.mediation
        for case_id in silent:
            [event] = escalations(mediation, case_id)
            assert (event.actor, event.data["reason"]) == (SYSTEM, "no_response")
        assert escalations(mediation, waiting) == []
        assert status(mediation, waiting) is Status.AWAITING_PLATFORM
        assert schedule.last is not None
        assert schedule.last.as_of == day(today)
        assert schedule.last.escalated == []
    assert schedule.stopping.is_set()


def test_the_run_at_start_judges_what_the_log_holds_not_what_the_read_models_had_seen(
    durable_store: str, tmp_path: Path, request: pytest.FixtureRequest, clock: SettableClock
) -> None:
    """A store filled while no projection ran (a demo, a restored backup): its read models are
    behind when the service starts, and the first run of an hourly schedule must not wait an
    hour to escalate what the log already says is silent."""
    settings = settings_for(durable_store, tmp_path, request, deadlines_every_seconds=3600)
    with service(settings, clock) as svc:  # records, never runs the projections
        silent = [send_case(svc.app, Priority.NORMAL)[0] for _ in range(3)]
        position = svc.app.log_position()
    clock.set(on_day(DEFAULTS.first_escalation_day(0, Priority.NORMAL)))

    app = create_app(settings, clock=clock)
    with TestClient(app):
        schedule = app.state.deadlines
        assert schedule is not None
        assert schedule.wait_for_runs(1, timeout=20)
        assert schedule.last is not None
        assert sorted(e.case_id for e in schedule.last.escalated) == sorted(silent)
        assert app.state.runner.wait_for(position + len(silent), timeout=10)


@pytest.mark.parametrize(
    ("every", "run_projections"), [(0, True), (0.05, False)], ids=["every 0 s", "no projections"]
)
def test_the_schedule_is_off_when_set_to_zero_or_without_projections(
    durable_store: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    clock: SettableClock,
    every: float,
    run_projections: bool,
) -> None:
    settings = settings_for(
        durable_store,
        tmp_path,
        request,
        deadlines_every_seconds=every,
        run_projections=run_projections,
    )
    app = create_app(settings, clock=clock)
    with TestClient(app):
        assert app.state.deadlines is None
        if every == 0:
            assert deadline_schedule(app.state.mediation, app.state.runner, settings) is None
