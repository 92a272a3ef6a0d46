"""The statistics projection through the application: random workflows built event by event
equal the same workflows built from scratch (a second store, and a rebuild into the standby
copy), and the figures equal those of the independent reference (tests/statistics_oracle.py);
erasure changes no figure; an upgrade builds the counters again from the log.

No test sleeps to wait for a projection: each waits for a position."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from dataclasses import field
from datetime import date
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from application.case_statistics import CaseStatistics
from application.case_statistics import annual
from application.clock import SettableClock
from application.mediation import MediationApplication
from application.projections import ProjectionRunner
from application.projections import StatisticsProjection
from application.projections import rebuild
from domain.values import EscalationReason
from domain.values import Outcome
from domain.values import Status
from infrastructure.settings import Settings
from interfaces.composition import open_application
from interfaces.composition import projection_runner
from tests.conftest import require_postgres
from tests.statistics_oracle import UNQUALIFIED
from tests.statistics_oracle import answered_after_reminder
from tests.statistics_oracle import answered_on_time
from tests.statistics_workflows import FIRST_INSTANT
from tests.statistics_workflows import WORKFLOWS
from tests.statistics_workflows import AppWorkflow
from tests.statistics_workflows import Workflow
from tests.statistics_workflows import application_on
from tests.statistics_workflows import as_of_days
from tests.statistics_workflows import check_against_reference
from tests.statistics_workflows import counter_rows
from tests.statistics_workflows import figures
from tests.statistics_workflows import fresh_folder
from tests.statistics_workflows import periods_of
from tests.statistics_workflows import play
from tests.statistics_workflows import run_scenario
from tests.statistics_workflows import scratch_statistics

# 1. The projection: event by event = from scratch = the reference.


@dataclass
class Reach:
    """What the generated workflows exercised, across examples."""

    seen: Counter[str] = field(default_factory=Counter)

    def note(self, flow: Workflow) -> None:
        for r in flow.records:
            self.seen[f"status:{r.status.value}"] += 1
            self.seen["requalified-or-hinted"] += bool(r.hint and r.category)
            self.seen["unqualified"] += r.shown_category == UNQUALIFIED
            self.seen["follow-up"] += len(r.sends) > 1
            self.seen["urgent"] += bool(r.sends and (r.sends[0][1] - r.sends[0][0]).days == 5)
            self.seen["late"] += bool(r.answers and not answered_on_time(r))
            self.seen["on-time"] += answered_on_time(r)
            self.seen["erased"] += r.erased
            self.seen["silent-unanswered"] += bool(r.sends and not r.answers)
            self.seen["acknowledged"] += bool(r.acknowledgements)
            self.seen["acknowledged-later-round"] += any(
                sent != r.sends[0][0] for sent, _ in r.acknowledgements
            )
            self.seen["reminded"] += bool(r.reminders)
            self.seen["after-reminder"] += answered_after_reminder(r)
            self.seen["answered-unreminded"] += bool(r.answers and not r.reminders)
            self.seen["measure-established"] += r.established not in (None, r.stated)
            self.seen[f"reasons:{r.shown_measure[1]}"] += 1
            if r.escalated:
                self.seen[f"reason:{r.escalated[1]}"] += 1
            if r.resolved:
                self.seen[f"outcome:{r.resolved[1]}"] += 1
        self.seen["refused"] += flow.refused
        self.seen["years"] += len({r.reported_on.year for r in flow.records}) > 1


@pytest.mark.parametrize(
    ("store", "examples"),
    [("memory", 25), ("sqlite", 25), pytest.param("postgres", 8, marks=pytest.mark.postgres)],
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
        # The same examples on every run: CI cannot fail (or pass) by luck.
        derandomize=True,
    )
    @given(workflow=WORKFLOWS, batch=st.integers(min_value=1, max_value=9))
    def check(workflow: list[tuple[tuple[Any, ...], int]], batch: int) -> None:
        clock = SettableClock(FIRST_INSTANT)
        folder = fresh_folder(tmp_path)
        with application_on(store, folder, request, clock) as (_, app):
            runner = projection_runner(app)
            view = runner.projections[1].view
            assert isinstance(runner.projections[1], StatisticsProjection)
            flow = AppWorkflow(app, clock)
            for step, hours in [(("report", "Cdiscount", None), 0), *workflow]:
                clock.advance(timedelta(hours=hours))
                play(flow, step)
                runner.catch_up()  # event by event
                assert view.position() == app.log_position()
            reach.note(flow)
            incremental = counter_rows(view)
            assert incremental[1] == app.log_position()

            # From scratch, in one catch_up over the whole log, in another store.
            with scratch_statistics(store, app, folder) as open_scratch:
                scratch = open_scratch()
                ProjectionRunner(
                    app.event_log(), [StatisticsProjection(scratch)], batch=batch
                ).catch_up()
                assert counter_rows(scratch) == incremental
                check_against_reference(scratch, flow)

            # Rebuilt into the standby copy of the live store, then switched to.
            live = runner.projections[1]
            assert rebuild(live, app.event_log(), batch=batch) == app.log_position()
            assert counter_rows(view) == incremental
            check_against_reference(view, flow)

    reach = Reach()
    check()
    if examples >= 20:  # the generator's reach, checked where it has room
        wanted = [f"status:{s.value}" for s in Status]
        wanted += [f"reason:{r.value}" for r in EscalationReason]
        wanted += [f"outcome:{o.value}" for o in Outcome]
        wanted += ["follow-up", "urgent", "late", "on-time", "erased", "unqualified"]
        wanted += ["requalified-or-hinted", "silent-unanswered", "refused", "years"]
        wanted += ["acknowledged", "reminded", "after-reminder", "answered-unreminded"]
        wanted += ["measure-established", "reasons:not_given", "reasons:partly", "reasons:None"]
        missing = [w for w in wanted if not reach.seen[w]]
        assert not missing, f"the workflows never reached {missing}: {reach.seen}"


# 4. Erasure.


def test_erasure_changes_no_figure(mediation: MediationApplication, clock: SettableClock) -> None:
    runner = projection_runner(mediation)
    view = runner.projections[1].view
    flow = AppWorkflow(mediation, clock)
    cases = run_scenario(flow)
    runner.catch_up()
    days = as_of_days(flow)
    periods = periods_of(flow.records)
    before = {(p, d): figures(view, *p, d) for p in periods for d in days}
    years = {y: annual(view.counters(date(y, 1, 1), date(y, 12, 31), date.max)[0]) for y in (2026,)}
    for name in "abcdefghi":  # every status, open and closed
        clock.advance(timedelta(hours=1))
        assert flow.act(cases[name], "erase")
        runner.catch_up()
        assert view.position() == flow.position
    assert {(p, d): figures(view, *p, d) for p in periods for d in days} == before
    assert {
        y: annual(view.counters(date(y, 1, 1), date(y, 12, 31), date.max)[0]) for y in years
    } == years
    check_against_reference(view, flow)


def test_after_an_upgrade_the_counters_are_built_again_from_the_log(
    durable_settings: Settings, clock: SettableClock
) -> None:
    """A database kept by the format before (its state at the log's head, under the old
    name) does not lend the new counters its position: they start at 0 and are built from
    the log, and answer as the reference does."""
    mediation = open_application(durable_settings, clock)
    try:
        flow = AppWorkflow(mediation, clock)
        run_scenario(flow)
        runner = projection_runner(mediation)
        view = runner.view(CaseStatistics.name)
        with view.datastore.transaction(commit=True) as c:  # what format 1 left behind
            view.state.claim(c, "case_statistics", None)
            view.state.record(c, "case_statistics", mediation.log_position())
        assert view.position() == 0
        runner.catch_up()
        assert view.position() == mediation.log_position()
        check_against_reference(view, flow)
    finally:
        mediation.close()
