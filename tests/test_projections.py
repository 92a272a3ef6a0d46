"""Running and rebuilding read models: the demo data, status, rebuild with a switch, resumption."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from application.case_queues import Queue
from application.case_queues import QueueFilters
from application.clock import SettableClock
from application.mediation import MediationApplication
from application.projections import ProjectionRunner
from application.projections import rebuild
from application.projections import rebuild_all
from infrastructure.settings import Settings
from interfaces.composition import open_application
from interfaces.composition import projection_runner
from tests.conftest import store_environment

MEDIATION = [sys.executable, "-c", "from interfaces.cli import main; main()"]


def environment(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIATION_")}
    return env | store_environment(settings)


def run(settings: Settings, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*MEDIATION, *arguments],
        env=environment(settings),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def every_queue(runner: ProjectionRunner, as_of: Any) -> dict[Queue, list[Any]]:
    view = runner.projections[0].view
    return {q: view.page(q, QueueFilters(), as_of, 10_000, None)[0] for q in Queue}


@pytest.fixture
def demo_store(durable_settings: Settings) -> Settings:
    done = run(durable_settings, "demo", "--cases", "60", "--seed", "7")
    assert done.returncode == 0, done.stderr
    assert "60 demo cases written" in done.stdout
    return durable_settings


def test_the_demo_fills_every_queue_and_a_rebuild_catches_up(
    demo_store: Settings, clock: SettableClock
) -> None:
    before = run(demo_store, "projections", "status")
    assert before.returncode == 0, before.stderr
    lines = before.stdout.strip().splitlines()
    assert lines, before.stdout
    assert all(line.endswith(" 0 event(s) behind") for line in lines), before.stdout  # by the demo
    rebuilt = run(demo_store, "projections", "rebuild")
    assert rebuilt.returncode == 0, rebuilt.stderr
    after = run(demo_store, "projections", "status")
    assert " 0 event(s) behind" in after.stdout

    application = open_application(demo_store, clock)
    try:
        runner = projection_runner(application)
        queues = every_queue(runner, clock.now().date())
        within = {Queue.OVERDUE, Queue.AWAITING_ACKNOWLEDGEMENT}  # parts of awaiting-platform
        listed = [i.id for q, items in queues.items() if q not in within for i in items]
        assert len(listed) == len(set(listed)) == 60  # every case in exactly one queue
        assert all(queues[q] for q in (Queue.RESOLVED, Queue.WITH_MEDIATOR, Queue.TO_QUALIFY))
        assert run(demo_store, "audit", "verify").returncode == 0
    finally:
        application.close()


def test_every_read_model_rebuilt_in_one_pass_ends_as_followed_event_by_event(
    demo_store: Settings, clock: SettableClock
) -> None:
    application = open_application(demo_store, clock)
    try:
        runner = projection_runner(application)
        rebuild_all(runner.rebuildable, application.event_log(), batch=1)  # one event at a time
        today = clock.now().date()
        statistics = runner.view("case_statistics")
        followed = (
            every_queue(runner, today),
            sorted(map(repr, statistics.counters(None, None, date.min)[0])),
        )
        reads: list[int] = []
        log = application.event_log()
        read = log.read
        log.read = lambda start, limit: reads.append(start) or read(start, limit)  # type: ignore[method-assign]

        position = rebuild_all(runner.rebuildable, log, batch=97)

        assert position == application.log_position()
        rebuilt = (
            every_queue(runner, today),
            sorted(map(repr, statistics.counters(None, None, date.min)[0])),
        )
        assert rebuilt == followed
        assert len(reads) == len(set(reads)), "the log was read once for both read models"
    finally:
        application.close()


def test_a_rebuild_answers_from_the_old_copy_until_it_switches(
    demo_store: Settings, clock: SettableClock
) -> None:
    application = open_application(demo_store, clock)
    try:
        runner = projection_runner(application)
        runner.catch_up()
        today = clock.now().date()
        live = every_queue(runner, today)
        seen_during: list[dict[Queue, list[Any]]] = []

        def midway(done: int, head: int) -> None:
            seen_during.append(every_queue(runner, today))

        projection = runner.projections[0]
        rebuild(projection, application.event_log(), batch=50, progress=midway)
        assert len(seen_during) > 3
        assert all(snapshot == live for snapshot in seen_during)
        assert every_queue(runner, today) == live
    finally:
        application.close()


def test_an_interrupted_rebuild_resumes_and_ends_as_an_uninterrupted_one(
    demo_store: Settings, clock: SettableClock
) -> None:
    application = open_application(demo_store, clock)
    try:
        runner = projection_runner(application)
        runner.catch_up()
        today = clock.now().date()
        expected = every_queue(runner, today)
        calls = 0

        def crash(done: int, head: int) -> None:
            nonlocal calls
            calls += 1
            if calls == 3:
                raise RuntimeError("the power went out")

        projection = runner.projections[0]
        with pytest.raises(RuntimeError):
            rebuild(projection, application.event_log(), batch=40, progress=crash)
        standby = projection.standby()
        assert 0 < standby.position() < application.log_position()  # resumed, not restarted
        rebuild(projection, application.event_log(), batch=40)
        assert every_queue(runner, today) == expected
    finally:
        application.close()


def test_a_worker_killed_during_a_rebuild_leaves_the_read_model_whole(
    demo_store: Settings, clock: SettableClock, tmp_path: Path
) -> None:
    application: MediationApplication = open_application(demo_store, clock)
    try:
        runner = projection_runner(application)
        runner.catch_up()
        today = clock.now().date()
        expected = every_queue(runner, today)
        rebuilding = subprocess.Popen(
            [*MEDIATION, "projections", "rebuild", "--batch", "1"],
            env=environment(demo_store),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        try:
            standby = runner.projections[0].standby()
            # Wait for the rebuild to be under way (a position, not a time), then kill it.
            for _ in range(100_000):
                if standby.position() > 20 or rebuilding.poll() is not None:
                    break
            rebuilding.send_signal(signal.SIGKILL)
        finally:
            rebuilding.wait(timeout=30)
        assert every_queue(runner, today) == expected  # the live copy never moved
        finished = run(demo_store, "projections", "rebuild")
        assert finished.returncode == 0, finished.stderr
        assert every_queue(runner, today) == expected
    finally:
        application.close()
