"""Exactly once: a statistics projection failing inside apply (in its computation, after its
rows were written but before the commit, after the commit) and resumed ends identical to an
uninterrupted run, every event committed exactly once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from application.case_statistics import CaseStatistics
from application.clock import SettableClock
from application.projections import ProjectionRunner
from application.projections import StatisticsProjection
from infrastructure.settings import Settings
from infrastructure.statistics_stores import SQLCaseStatistics
from infrastructure.statistics_stores import case_statistics_for
from interfaces.composition import open_application
from interfaces.composition import projection_runner
from tests.conftest import START
from tests.conftest import require_postgres
from tests.faults import Faults
from tests.faults import FaultyDatastore
from tests.faults import Injected
from tests.statistics_workflows import AppWorkflow
from tests.statistics_workflows import application_on
from tests.statistics_workflows import check_against_reference
from tests.statistics_workflows import counter_rows
from tests.statistics_workflows import fresh_folder
from tests.statistics_workflows import run_scenario
from tests.statistics_workflows import scratch_statistics
from tests.statistics_workflows import truncated_log

# 3. Exactly once.


class FaultyView:
    """A statistics store (the real one underneath) that fails where the test says, and checks
    that a failed apply left the store as it was; notes every position it committed."""

    def __init__(self, view: CaseStatistics, faults: Faults, committed: list[int]) -> None:
        self.view, self.faults, self.committed = view, faults, committed
        self.name = view.name

    def position(self) -> int:
        return self.view.position()

    def apply(self, position: int, compute: Callable[..., Any]) -> bool:
        faults = self.faults
        before = counter_rows(self.view)

        def failing_compute(known: Any) -> Any:
            result = compute(known)  # the facts were read
            if faults.kind == "in-compute" and faults.hit():
                raise Injected("inside compute, after reading the facts")
            return result

        faults.armed = faults.kind == "mid-transaction" and faults.hit()
        try:
            done = self.view.apply(position, failing_compute)
        except Injected:
            assert counter_rows(self.view) == before, "a failed apply changed the store"
            raise
        finally:
            faults.armed = False
        if done:
            self.committed.append(position)
        if faults.kind == "after-commit" and faults.hit():
            raise Injected("after the commit, before the runner went on")
        return done


FAULTS = ["in-compute", "mid-transaction", "after-commit"]


@pytest.mark.parametrize(
    ("store", "kind"),
    [
        pytest.param(store, kind, marks=[pytest.mark.postgres] if store == "postgres" else [])
        for store in ("memory", "sqlite", "postgres")
        for kind in FAULTS
        if not (store == "memory" and kind == "mid-transaction")  # memory has no transaction
    ],
)
def test_an_interrupted_projection_resumes_to_the_same_figures_exactly_once(
    store: str, kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if store == "postgres":
        require_postgres()
    clock = SettableClock(START)
    with application_on(store, fresh_folder(tmp_path), request, clock) as (_, app):
        flow = AppWorkflow(app, clock)
        run_scenario(flow)
        calm = projection_runner(app)
        calm.catch_up()  # the uninterrupted run
        calm_view = calm.projections[1].view
        expected = counter_rows(calm_view)
        assert expected[1] == app.log_position()
        check_against_reference(calm_view, flow)
        log = app.event_log()

        @hypothesis_settings(
            max_examples=6 if store == "postgres" else 15,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
            derandomize=True,
        )
        @given(
            failing=st.sets(st.integers(min_value=1, max_value=25), min_size=1, max_size=6),
            batch=st.integers(min_value=1, max_value=7),
        )
        def interrupted(failing: set[int], batch: int) -> None:
            faults = Faults(kind, failing)
            committed: list[int] = []
            with scratch_statistics(store, app, fresh_folder(tmp_path)) as open_view:

                def restart() -> FaultyView:
                    view = open_view()
                    if kind == "mid-transaction":
                        view.datastore = FaultyDatastore(  # type: ignore[attr-defined]
                            view.datastore,  # type: ignore[attr-defined]
                            lambda: faults.armed,
                        )
                    return FaultyView(view, faults, committed)

                failures = 0
                for _ in range(100):
                    projection = StatisticsProjection(restart())  # type: ignore[arg-type]
                    runner = ProjectionRunner(log, [projection], batch=batch)
                    try:
                        runner.catch_up()
                        break
                    except Injected:
                        failures += 1
                        assert runner.errors
                        # Nothing half applied: the store holds exactly the events up to its
                        # position.
                        reopened = open_view()
                        reached = reopened.position()
                        model = SQLCaseStatistics.in_memory()
                        ProjectionRunner(
                            truncated_log(log, reached), [StatisticsProjection(model)]
                        ).catch_up()
                        assert counter_rows(reopened)[0] == counter_rows(model)[0]
                else:
                    raise AssertionError("the projection never finished")
                assert failures == faults.fired
                fired.append(failures)
                view = open_view()
                assert counter_rows(view) == expected
                check_against_reference(view, flow)
                # Every batch committed once, at increasing positions, up to the log's head.
                assert committed == sorted(set(committed))
                assert committed[-1] == app.log_position()

        fired: list[int] = []
        interrupted()
        assert sum(fired) > 0, "no fault was ever injected"


def test_a_batch_another_runner_already_committed_is_refused_as_a_whole(
    durable_settings: Settings, clock: SettableClock
) -> None:
    """Two runners (two processes) on one store: no event is counted twice."""
    app = open_application(durable_settings, clock)
    try:
        flow = AppWorkflow(app, clock)
        run_scenario(flow)
        first = ProjectionRunner(
            app.event_log(), [StatisticsProjection(case_statistics_for(app.recorder))], batch=4
        )
        stale = app.event_log().read(1, 4)  # what the second read before the first committed
        first.catch_up()
        view = case_statistics_for(app.recorder)
        before = counter_rows(view)
        second = StatisticsProjection(case_statistics_for(app.recorder))
        second.apply(stale)
        assert counter_rows(view) == before
        assert ProjectionRunner(app.event_log(), [second]).catch_up() == 0
        check_against_reference(view, flow)
    finally:
        app.close()
