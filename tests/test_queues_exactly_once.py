"""Exactly once: a queue projection interrupted at random points (before its apply, in the
middle of its transaction, after its commit, while reading the log) and resumed ends identical
to an uninterrupted run, and every event is committed exactly once."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from application.case_queues import CaseQueues
from application.clock import SettableClock
from application.mediation import MediationApplication
from application.projections import EventLog
from application.projections import ProjectionRunner
from application.projections import QueueProjection
from domain.values import Category
from domain.values import EscalationReason
from domain.values import Outcome
from domain.values import Priority
from domain.values import Stance
from infrastructure.queue_stores import SQLCaseQueues
from infrastructure.queue_stores import case_queues_for
from infrastructure.settings import Settings
from interfaces.composition import open_application
from tests.conftest import START
from tests.conftest import require_postgres
from tests.faults import Faults
from tests.faults import FaultyDatastore
from tests.faults import Injected
from tests.queue_reference import Expected
from tests.queue_reference import allowed
from tests.queue_reference import check_against_reference
from tests.queue_reference import issue
from tests.queue_workflows import TODAY
from tests.queue_workflows import application_on
from tests.queue_workflows import fresh_folder
from tests.queue_workflows import model_at
from tests.queue_workflows import readable
from tests.queue_workflows import runner_for
from tests.queue_workflows import snapshot
from tests.queue_workflows import whole_log

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


class QueueFaults(Faults):
    """Faults that install themselves into a queue store's apply or into the log."""

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
        memory_view = SQLCaseQueues.in_memory()

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
            faults = QueueFaults(kind, failing)
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
